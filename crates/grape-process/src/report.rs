//! What a run returns: [`ExitReport`], [`Output`], and [`ProcessError`].

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// How a child process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitReport {
    /// Exit code, when the process exited normally.
    pub code: Option<i32>,
    /// Signal number, when the process was killed by a signal.
    pub signal: Option<i32>,
    /// The run was cancelled through the cancellation token.
    pub cancelled: bool,
    /// The run hit its timeout.
    pub timed_out: bool,
    /// From spawn until the pipes were drained.
    pub duration: Duration,
    /// The last lines (at most [`STDERR_TAIL_LINES`]) of stderr, redacted, oldest first.
    pub stderr_tail: Vec<String>,
}

/// How many stderr lines [`ExitReport::stderr_tail`] keeps.
pub const STDERR_TAIL_LINES: usize = 20;

impl ExitReport {
    /// Exited with code 0, and was neither cancelled nor timed out.
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.cancelled && !self.timed_out
    }

    /// A short human description: "exited with code 1", "killed by signal 9", "cancelled",
    /// "timed out".
    pub fn describe(&self) -> String {
        if self.cancelled {
            "cancelled".to_owned()
        } else if self.timed_out {
            "timed out".to_owned()
        } else if let Some(code) = self.code {
            format!("exited with code {code}")
        } else if let Some(signal) = self.signal {
            format!("killed by signal {signal}")
        } else {
            "ended with an unknown status".to_owned()
        }
    }
}

/// Result of [`crate::Command::output`]: the whole stdout and the exit report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Everything the child wrote to stdout: lossy UTF-8, redacted, never split.
    pub stdout: String,
    /// How the child ended; `stderr_tail` holds the end of stderr.
    pub report: ExitReport,
}

/// Errors of running a child process. A child that runs and fails is not an error: see
/// [`ExitReport`].
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program was not found (on the PATH searched, or at the path given).
    #[error("program not found: {program}")]
    NotFound {
        /// The program as given to [`crate::Command::new`].
        program: String,
    },
    /// The working directory does not exist or is not a directory.
    #[error("working directory {} of {program} is not usable", cwd.display())]
    Cwd {
        /// The program as given to [`crate::Command::new`].
        program: String,
        /// The working directory.
        cwd: PathBuf,
        /// Why it is not usable.
        #[source]
        source: io::Error,
    },
    /// The process could not be started (permissions, resources, exec failure).
    #[error("could not start {program}")]
    Spawn {
        /// The program as given to [`crate::Command::new`].
        program: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The captured stdout grew past its bound ([`crate::Command::max_output`]); the process
    /// group was killed.
    #[error(
        "{program} wrote more than {limit} bytes to stdout, the limit of captured output (its process group was killed)"
    )]
    OutputTooLarge {
        /// The program as given to [`crate::Command::new`].
        program: String,
        /// The bound, in bytes.
        limit: usize,
    },
    /// Reading the pipes of, signalling or waiting for the running process failed.
    #[error("i/o error while running {program}")]
    Io {
        /// The program as given to [`crate::Command::new`].
        program: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(code: Option<i32>, signal: Option<i32>) -> ExitReport {
        ExitReport {
            code,
            signal,
            cancelled: false,
            timed_out: false,
            duration: Duration::ZERO,
            stderr_tail: Vec::new(),
        }
    }

    #[test]
    fn describe_and_success() {
        assert!(report(Some(0), None).success());
        assert_eq!(report(Some(1), None).describe(), "exited with code 1");
        assert_eq!(report(None, Some(9)).describe(), "killed by signal 9");
        let mut r = report(Some(0), None);
        r.cancelled = true;
        assert!(!r.success());
        assert_eq!(r.describe(), "cancelled");
    }
}
