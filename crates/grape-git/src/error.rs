//! [`GitError`].

use std::path::PathBuf;

/// Errors of git operations. Messages never contain a token: they pass the job's redactor.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The subdirectory `path` of the source is absolute or climbs out of the checkout.
    #[error("invalid source path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// The subdirectory `path` does not exist (or is not a directory) in the checked-out commit.
    #[error("path {path:?} not found in the checked-out commit")]
    PathNotFound {
        /// The path as given.
        path: String,
    },
    /// The URL is not acceptable (e.g. it embeds credentials: pass them as [`crate::GitAuth`]).
    #[error("invalid git url: {reason}")]
    InvalidUrl {
        /// Why it is rejected.
        reason: &'static str,
    },
    /// The reference (branch, tag or commit) is malformed.
    #[error("invalid git reference {reference:?}")]
    InvalidRef {
        /// The reference as given.
        reference: String,
    },
    /// The reference does not exist in the remote repository.
    #[error("reference {reference:?} not found in {url}")]
    RefNotFound {
        /// The repository URL.
        url: String,
        /// The reference that was asked for (`HEAD` for the default branch).
        reference: String,
    },
    /// The destination directory exists and is not empty.
    #[error("destination {} is not empty", dir.display())]
    DestNotEmpty {
        /// The destination directory.
        dir: PathBuf,
    },
    /// A filesystem operation failed.
    #[error("i/o error on {}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// git could not be run at all.
    #[error("could not run git ({step})")]
    Process {
        /// Which step (`fetch`, `checkout`, …).
        step: &'static str,
        /// The process error.
        #[source]
        source: grape_process::ProcessError,
    },
    /// git ran and failed.
    #[error("git {step} {status}: {stderr}")]
    Failed {
        /// Which step (`fetch`, `checkout`, …).
        step: &'static str,
        /// How it ended ("exited with code 128").
        status: String,
        /// The last lines of its stderr, redacted.
        stderr: String,
    },
    /// A push was refused, and again after one rebase onto the branch's new tip.
    #[error("the push to branch {branch} was rejected: {detail}")]
    PushRejected {
        /// The branch.
        branch: String,
        /// What git said.
        detail: String,
    },
    /// The operation was cancelled (or timed out) during `step`.
    #[error("git {step} was cancelled")]
    Cancelled {
        /// Which step was running.
        step: &'static str,
    },
}
