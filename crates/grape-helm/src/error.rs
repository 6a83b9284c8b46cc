//! Why a Helm command did not do what was asked.

use std::path::PathBuf;

/// A failed Helm command; the message names the command and what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HelmError {
    /// The `helm` binary could not be started.
    #[error("helm {command}: {source}")]
    Spawn {
        /// The subcommand, e.g. `upgrade --install argocd`.
        command: String,
        /// Why.
        #[source]
        source: grape_process::ProcessError,
    },
    /// A file of the command could not be written or read.
    #[error("helm: {action} {}: {source}", path.display())]
    Io {
        /// What was done, e.g. `writing the values file`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The Kubernetes API server could not be reached.
    #[error("helm {command}: the Kubernetes cluster is unreachable: {detail}")]
    ClusterUnreachable {
        /// The subcommand.
        command: String,
        /// Helm's own words (redacted).
        detail: String,
    },
    /// Helm ran and failed.
    #[error("helm {command} {how}: {detail}")]
    Failed {
        /// The subcommand.
        command: String,
        /// "exited with code 1", "timed out", …
        how: String,
        /// The end of Helm's stderr (redacted).
        detail: String,
    },
    /// The run was cancelled.
    #[error("helm {command} cancelled")]
    Cancelled {
        /// The subcommand.
        command: String,
    },
    /// Helm's JSON output could not be read.
    #[error("helm {command}: unreadable JSON output: {source}")]
    Json {
        /// The subcommand.
        command: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}
