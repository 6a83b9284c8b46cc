//! # grape-process — the one owner of child processes
//!
//! Every child process of Vintner (terraform, git, helm, kubectl, infracost, EXEC jobs) is
//! spawned here. **Architecture invariant:** nothing else spawns a process (`clippy.toml` bans
//! `Command::new` elsewhere).
//!
//! ## What a [`Command`] guarantees
//! - an explicit working directory and an explicit environment (the child starts from an empty
//!   one; see [`Command::inherit_env`]);
//! - the child leads its own process group, is killed when the run future is dropped, and gets
//!   SIGKILL when the spawning thread (the worker) dies, even on `kill -9` (PR_SET_PDEATHSIG);
//! - stdout and stderr are read concurrently, line by line as they come; invalid UTF-8 is
//!   replaced, never dropped; `\r\n` is trimmed; a final line without newline is delivered; a
//!   line longer than [`MAX_LINE_BYTES`] is cut after redaction and ends with a marker
//!   ([`truncate_line`]); the rest of it is discarded as it is read, never buffered;
//! - captured stdout ([`Command::output`]) is bounded ([`DEFAULT_MAX_OUTPUT_BYTES`], 256 MiB):
//!   past it the group is killed and the run fails with [`ProcessError::OutputTooLarge`];
//! - cancel or timeout: SIGINT to the group, wait the grace, SIGKILL to the group;
//! - after the main child exited, the pipes are drained for a bounded time
//!   ([`Command::pipe_drain`]), then the group is killed — grandchildren cannot hang a run;
//! - every line, the captured stdout and [`Command::display`] pass through the [`Redactor`].
//!
//! ## Redaction across reads
//! Lines are buffered whole before redaction, so a secret written by the child in several
//! `write()` calls is still redacted (it must not contain a newline).

#![warn(missing_docs)]

mod command;
mod lines;
mod redact;
mod report;
mod run;

pub use command::{Command, DEFAULT_GRACE, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_PIPE_DRAIN};
pub use lines::{MAX_LINE_BYTES, truncate_line};
pub use redact::{MIN_SECRET_LEN, REDACTED, Redactor, is_secret_env_name};
pub use report::{ExitReport, Output, ProcessError, STDERR_TAIL_LINES};
pub use tokio_util::sync::CancellationToken;

/// The variables a tool may inherit from the worker whatever it is (none is a credential): the
/// basics, TLS trust and HTTPS proxies. Wrappers add their tool's own with another
/// [`Command::inherit_env`].
pub const TOOL_ENV: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Which pipe of the child a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Receives every line (already redacted) as it is read. Must not block for long: it is called
/// from the task that reads the pipes.
pub trait LineSink: Send + Sync {
    /// One line (without its newline), at most [`MAX_LINE_BYTES`] (see [`truncate_line`]).
    fn line(&self, stream: OutputStream, text: &str);
}

impl<F: Fn(OutputStream, &str) + Send + Sync> LineSink for F {
    fn line(&self, stream: OutputStream, text: &str) {
        self(stream, text);
    }
}
