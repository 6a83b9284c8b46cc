//! [`InfracostError`].

use std::path::PathBuf;

/// Why there is no cost estimate. Messages never contain the API key (it reaches the CLI only
/// through its environment, and every line passes the redactor).
#[derive(Debug, thiserror::Error)]
pub enum InfracostError {
    /// No `infracost` executable: neither the configured path nor one on `PATH`.
    #[error("the infracost CLI was not found ({looked_for})")]
    NotFound {
        /// What was searched.
        looked_for: String,
    },
    /// The CLI could not be started or watched.
    #[error("infracost could not be run")]
    Process(#[source] grape_process::ProcessError),
    /// The CLI ran and failed.
    #[error("infracost breakdown {status}{}", tail(stderr))]
    Failed {
        /// How it ended ("exited with code 1", "timed out").
        status: String,
        /// The last lines of its stderr, redacted.
        stderr: Vec<String>,
    },
    /// The run was cancelled.
    #[error("infracost breakdown was cancelled")]
    Cancelled,
    /// Its output is not the documented JSON.
    #[error("infracost breakdown printed unreadable JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// Its output is of a version this crate does not read.
    #[error(
        "infracost breakdown printed output version {found:?}; only version \"0.2\" is understood"
    )]
    Version {
        /// The version found.
        found: String,
    },
    /// The plan file could not be written.
    #[error("writing the plan JSON for infracost to {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

fn tail(stderr: &[String]) -> String {
    let lines: Vec<&str> = stderr
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        String::new()
    } else {
        format!(": {}", lines.join(" | "))
    }
}
