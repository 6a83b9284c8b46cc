//! The error type of the test kit.

use std::time::Duration;

/// Everything that can go wrong while starting or using a test peer.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A test peer is not installed: a broken set-up, never a reason to skip a test.
    #[error(
        "test peer {name} is missing at {}{}: install the test peers with `{}`",
        path.display(),
        if *ci { " (CI=true: a missing peer is a failure, never a skip)" } else { "" },
        crate::peers::INSTALL_COMMAND
    )]
    MissingPeer {
        /// The peer (or file) that is missing.
        name: String,
        /// Where it was looked for.
        path: std::path::PathBuf,
        /// Whether this runs under CI.
        ci: bool,
    },
    /// A file or socket operation failed.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A child process could not be started.
    #[error("cannot start `{command}`")]
    Spawn {
        /// The command line.
        command: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A child process exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its standard error.
        stderr: String,
    },
    /// A peer process exited while it was starting.
    #[error("{peer} exited during start-up ({status}); its output:\n{log}")]
    PeerExited {
        /// Which peer.
        peer: &'static str,
        /// Its exit status.
        status: String,
        /// The tail of what it printed.
        log: String,
    },
    /// An HTTP endpoint did not answer in time.
    #[error("{url} did not answer within {timeout:?}")]
    HttpTimeout {
        /// The URL polled.
        url: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// An HTTP request failed.
    #[error("HTTP request to {url} failed")]
    Http {
        /// The URL requested.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// A PostgreSQL operation failed.
    #[error("PostgreSQL at {url}: {action} failed")]
    Postgres {
        /// The server URL, without any password.
        url: String,
        /// What was being done.
        action: String,
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },
}

impl TestkitError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
