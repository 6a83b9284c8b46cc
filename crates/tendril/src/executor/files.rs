//! The file work of a job run: its workspace, and outbox calls off the async runtime.

use std::path::{Path, PathBuf};

/// Runs blocking outbox work (files, fsync) off the async runtime's threads.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::outbox::OutboxError> + Send + 'static,
) -> Result<T, crate::outbox::OutboxError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(crate::outbox::OutboxError::Io {
            action: "run",
            path: PathBuf::from("outbox"),
            source: std::io::Error::other(e),
        }),
    }
}

/// Creates `dir` with mode 0700 (a leftover of a crashed run is removed first).
pub(super) fn prepare_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

pub(super) async fn remove_dir(dir: PathBuf) {
    let shown = dir.display().to_string();
    match tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&dir)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
        Ok(Err(e)) => tracing::warn!(dir = %shown, error = %e, "cannot remove the job directory"),
        Err(e) => tracing::warn!(dir = %shown, error = %e, "cannot remove the job directory"),
    }
}
