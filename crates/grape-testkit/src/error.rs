//! The error type of the test kit.

use std::time::Duration;

/// Everything that can go wrong while starting or using a test peer.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
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
