//! A cluster's kubeconfig for one Helm command: a 0600 file removed when dropped.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use grape_api::Secret;

use crate::HelmError;

/// The kubeconfig text of a cluster (it holds a bearer token or a client key: a secret).
#[derive(Debug, Clone)]
pub struct Kubeconfig {
    text: Secret,
    secrets: Vec<Secret>,
}

impl Kubeconfig {
    /// A kubeconfig and the secrets inside it (tokens, keys) to redact from Helm's output.
    pub fn new(text: Secret, secrets: Vec<Secret>) -> Self {
        Self { text, secrets }
    }

    /// The secrets to redact.
    pub fn secrets(&self) -> &[Secret] {
        &self.secrets
    }

    /// Writes the file `dir/NAME` (0600, created new); removed when the guard drops.
    pub(crate) fn write(&self, dir: &Path, name: &str) -> Result<KubeconfigFile, HelmError> {
        let path = dir.join(name);
        let io = |source| HelmError::Io {
            action: "writing the kubeconfig",
            path: path.clone(),
            source,
        };
        let _ = std::fs::remove_file(&path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        file.write_all(self.text.expose().as_bytes()).map_err(io)?;
        Ok(KubeconfigFile { path })
    }
}

/// A written kubeconfig; the file is removed on drop.
#[derive(Debug)]
pub(crate) struct KubeconfigFile {
    path: PathBuf,
}

impl KubeconfigFile {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for KubeconfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
