//! What is installed where: a chart, a release, and how.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

/// Where a chart comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chart {
    /// A chart repository (`--repo URL NAME --version V`).
    Repository {
        /// The repository URL (`https://…`; `http://` for loopback test repositories).
        url: String,
        /// The chart's name in it.
        name: String,
        /// The version; `None`: the newest.
        version: Option<String>,
    },
    /// An OCI reference, `oci://registry/path/chart`.
    Oci {
        /// The reference.
        reference: String,
        /// The version (tag).
        version: Option<String>,
    },
    /// A chart directory or packaged `.tgz` on this machine.
    Path(PathBuf),
}

impl Chart {
    /// The chart argument and the flags that go with it.
    pub(crate) fn args(&self) -> Vec<String> {
        let version = |v: &Option<String>| {
            v.as_ref()
                .map(|v| vec!["--version".to_owned(), v.clone()])
                .unwrap_or_default()
        };
        match self {
            Self::Repository {
                url,
                name,
                version: v,
            } => {
                let mut a = vec![name.clone(), "--repo".to_owned(), url.clone()];
                a.extend(version(v));
                a
            }
            Self::Oci {
                reference,
                version: v,
            } => {
                let mut a = vec![reference.clone()];
                a.extend(version(v));
                a
            }
            Self::Path(path) => vec![path.display().to_string()],
        }
    }
}

/// A release: its name and namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The release name.
    pub name: String,
    /// The namespace.
    pub namespace: String,
}

impl Release {
    /// Release `name` in `namespace`.
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
        }
    }
}

/// How `upgrade --install` runs.
#[derive(Debug, Clone, PartialEq)]
pub struct UpgradeOptions {
    /// Values documents, each written to a values file (`-f`), in order (later ones win).
    pub values: Vec<Value>,
    /// `--wait`: until the release's resources are ready.
    pub wait: bool,
    /// `--timeout` of the wait (and of the whole command).
    pub timeout: Duration,
    /// `--rollback-on-failure` (Helm 3's `--atomic`): roll back (or uninstall) a release that fails.
    pub atomic: bool,
    /// `--create-namespace`.
    pub create_namespace: bool,
}

impl Default for UpgradeOptions {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            wait: true,
            timeout: Duration::from_secs(600),
            atomic: true,
            create_namespace: true,
        }
    }
}
