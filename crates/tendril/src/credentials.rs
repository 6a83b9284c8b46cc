//! `STATE_DIR/credentials.json`: the id and token a worker got from `--register`, kept
//! (mode 0600) so a restart reuses them instead of registering again.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use grape_api::Secret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::WorkerCredentials;

/// File name inside the state directory.
pub const CREDENTIALS_FILE: &str = "credentials.json";

#[derive(Serialize, Deserialize)]
struct Stored {
    trellis_url: String,
    worker_id: Uuid,
    worker_token: Secret,
    name: String,
}

/// A credentials file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not the JSON this worker writes.
    #[error("{path} is not a valid credentials file: {source}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The JSON error (it never quotes the token).
        #[source]
        source: serde_json::Error,
    },
}

/// The stored credentials for `trellis_url`, if the file exists and was written for it.
pub fn load(
    state_dir: &Path,
    trellis_url: &str,
) -> Result<Option<WorkerCredentials>, CredentialsError> {
    let path = state_dir.join(CREDENTIALS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CredentialsError::Io { path, source }),
    };
    let stored: Stored =
        serde_json::from_slice(&bytes).map_err(|source| CredentialsError::Malformed {
            path: path.clone(),
            source,
        })?;
    if stored.trellis_url != trellis_url {
        tracing::warn!(
            path = %path.display(),
            stored_for = %stored.trellis_url,
            "stored credentials belong to another Trellis; ignoring them"
        );
        return Ok(None);
    }
    Ok(Some(WorkerCredentials {
        id: stored.worker_id,
        token: stored.worker_token,
    }))
}

/// Writes the credentials atomically (temporary file with mode 0600, fsync, rename).
pub fn store(
    state_dir: &Path,
    trellis_url: &str,
    name: &str,
    credentials: &WorkerCredentials,
) -> Result<(), CredentialsError> {
    let path = state_dir.join(CREDENTIALS_FILE);
    let tmp = state_dir.join(format!(".{CREDENTIALS_FILE}.tmp"));
    let io = |source| CredentialsError::Io {
        path: path.clone(),
        source,
    };
    let stored = Stored {
        trellis_url: trellis_url.to_owned(),
        worker_id: credentials.id,
        worker_token: credentials.token.clone(),
        name: name.to_owned(),
    };
    let json = serde_json::to_vec_pretty(&stored).map_err(|e| io(std::io::Error::other(e)))?;
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    file.write_all(&json).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(io)?;
    if let Ok(dir) = std::fs::File::open(state_dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn round_trip_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let creds = WorkerCredentials {
            id: Uuid::new_v4(),
            token: Secret::new("token-abcdef"),
        };
        assert!(load(dir.path(), "http://t").unwrap().is_none());
        store(dir.path(), "http://t", "w1", &creds).unwrap();
        let mode = std::fs::metadata(dir.path().join(CREDENTIALS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = load(dir.path(), "http://t").unwrap().unwrap();
        assert_eq!(back.id, creds.id);
        assert_eq!(back.token.expose(), "token-abcdef");
        assert!(load(dir.path(), "http://other").unwrap().is_none());
        std::fs::write(dir.path().join(CREDENTIALS_FILE), "{ nope").unwrap();
        let err = load(dir.path(), "http://t").unwrap_err().to_string();
        assert!(err.contains("not a valid credentials file"), "{err}");
    }
}
