//! [`ToolFile`]: a credential that tools read from a file (gcloud's access token, Azure's
//! federated assertion) — written 0600 into each job workspace that asks for it, and rewritten
//! in all of them whenever the session renews, so a long-running tool reads a current one.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{CloudFailure, CloudFailureKind};

/// One credential file, at the same relative path in every workspace it was written to.
#[derive(Debug, Clone)]
pub struct ToolFile {
    relative: &'static str,
    written: Arc<Mutex<BTreeSet<PathBuf>>>,
}

impl ToolFile {
    /// A file at `relative` inside each workspace (e.g. `.vintner/gcp-access-token`).
    pub fn new(relative: &'static str) -> Self {
        Self {
            relative,
            written: Arc::default(),
        }
    }

    /// Writes `value` into `workspace` and remembers the file; its path, or `None` (logged)
    /// when it cannot be written.
    pub fn write(&self, workspace: &Path, value: &str) -> Option<PathBuf> {
        let path = workspace.join(self.relative);
        match write_private_file(&path, value) {
            Ok(()) => {
                if let Ok(mut written) = self.written.lock() {
                    written.insert(path.clone());
                }
                Some(path)
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot write a credential file for tools");
                None
            }
        }
    }

    /// Rewrites every file written so far with `value`; a workspace that is gone is forgotten.
    pub fn rewrite_all(&self, value: &str) {
        let Ok(mut written) = self.written.lock() else {
            return;
        };
        written.retain(|path| {
            let alive = path
                .parent()
                .and_then(Path::parent)
                .is_some_and(Path::is_dir);
            if alive && let Err(e) = write_private_file(path, value) {
                tracing::warn!(file = %path.display(), error = %e, "cannot refresh a credential file");
            }
            alive
        });
    }
}

/// Reads a token the worker is configured with from `path` (set by the variable `setting`),
/// trimmed; a missing, unreadable or empty file is a [`CloudFailureKind::Credentials`]
/// failure of `code` naming the file and the variable, never the content.
pub async fn read_token_file(
    path: &Path,
    what: &str,
    setting: &str,
    code: &str,
) -> Result<crate::Secret, CloudFailure> {
    let failure = |why: String| {
        CloudFailure::new(
            CloudFailureKind::Credentials,
            code,
            format!("the {what} file {} ({setting}) {why}", path.display()),
        )
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| failure(format!("cannot be read: {e}")))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(failure("is empty".to_owned()));
    }
    Ok(crate::Secret::new(token.to_owned()))
}

/// Writes `text` to `path` atomically, readable by this user only (its directory made 0700).
pub fn write_private_file(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn written_0600_and_rewritten_until_the_workspace_goes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let file = ToolFile::new(".vintner/token");
        let pa = file.write(a.path(), "one").unwrap();
        let pb = file.write(b.path(), "one").unwrap();
        let mode = std::fs::metadata(&pa).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir = std::fs::metadata(pa.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir, 0o700);
        drop(b);
        file.rewrite_all("two");
        assert_eq!(std::fs::read_to_string(&pa).unwrap(), "two");
        assert!(!pb.exists(), "a removed workspace is not recreated");
        assert_eq!(file.written.lock().unwrap().len(), 1);
    }
}
