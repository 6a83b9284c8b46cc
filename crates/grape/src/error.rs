//! [`CliError`]: one clear sentence, the hint that fixes it, and the exit code.
//!
//! Exit codes (stable, for scripts):
//! - 0: success;
//! - 1: a job ended FAILED or CANCELLED, or the server refused the request (not found, conflict);
//! - 2: usage error (clap's own code for bad arguments; also a bad payload file or URL);
//! - 3: Trellis cannot be reached, or the token is missing, rejected or not allowed to do that
//!   (403: e.g. a worker job submitted with the API token instead of the admin token).

use std::fmt;
use std::process::ExitCode;

use grape_api::ApiError;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: a job failed (or was cancelled), or the server refused the request.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: Trellis unreachable, or an authentication problem (401 or 403).
pub const EXIT_UNREACHABLE: u8 = 3;

/// An error of a grape command, ready to print.
#[derive(Debug)]
pub struct CliError {
    /// One sentence saying what went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// The process exit code.
    pub code: u8,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Result of a grape command.
pub type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            code,
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(EXIT_USAGE, message)
    }

    /// A failure (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(EXIT_FAILED, message)
    }

    /// Trellis unreachable or authentication problem (exit 3).
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(EXIT_UNREACHABLE, message)
    }

    /// Adds the hint line.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The exit code as an [`ExitCode`].
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }

    /// Maps an API error of a call to the server at `url` to a user-facing error. `what` names
    /// the object the call was about (for a 404), for example `job 1234…`.
    pub fn from_api(err: &ApiError, url: &str, what: Option<&str>) -> Self {
        match err {
            ApiError::Transport { source, .. } => {
                let why = if source.is_timeout() {
                    "the request timed out"
                } else if source.is_connect() {
                    "the connection was refused or could not be made"
                } else {
                    "the connection broke"
                };
                Self::unreachable(format!("cannot reach Trellis at {url}: {why}."))
                    .hint("check the URL (`grape status`), that the server runs, or set TRELLIS_URL")
            }
            ApiError::Status { status: 401, .. } => {
                Self::unreachable(format!("Trellis at {url} rejected the API token."))
                    .hint("run `grape login --url URL` with a valid token, or set GRAPE_TOKEN")
            }
            ApiError::Status { status: 403, message, .. } => {
                Self::unreachable(format!("Trellis at {url} refused the request: {}.", trim_dot(message)))
                    .hint("this needs the admin token: give it as GRAPE_TOKEN (or `grape login`) for jobs, as TRELLIS_ADMIN_TOKEN for `grape workers`")
            }
            ApiError::Status { status: 404, message, .. } => {
                let msg = match what {
                    Some(w) => format!("{w} was not found on Trellis."),
                    None => format!("not found: {}.", trim_dot(message)),
                };
                Self::failed(msg).hint("list what exists with `grape jobs list` or `grape workers list`")
            }
            ApiError::Status { status: 409, message, current_status, .. } => {
                let state = current_status.as_ref().map(|s| format!(" (the job is {s})")).unwrap_or_default();
                let msg = format!("Trellis refused the request: {}{state}.", trim_dot(message));
                Self::failed(msg).hint("see the job's current state with `grape jobs show ID`")
            }
            ApiError::Status { status, message, .. } if *status >= 500 => Self::unreachable(format!(
                "Trellis at {url} failed to answer (HTTP {status}): {}.",
                trim_dot(message)
            ))
            .hint("retry later; the server's log tells what went wrong"),
            ApiError::Status { status, message, .. } => {
                Self::failed(format!("Trellis refused the request (HTTP {status}): {}.", trim_dot(message)))
                    .hint("check the arguments with `grape --help`")
            }
            ApiError::InvalidUrl { url, reason, .. } => {
                Self::usage(format!("the Trellis URL `{url}` is not valid: {reason}."))
                    .hint("give a URL like http://127.0.0.1:8080 to `grape login --url` or TRELLIS_URL")
            }
            ApiError::Decode { call, .. } | ApiError::Stream { call, .. } => Self::unreachable(format!(
                "the answer of Trellis at {url} to {call} could not be understood."
            ))
            .hint("grape and trellis versions may differ: compare `grape --version` with `grape status`"),
            other => Self::failed(format!("{}.", trim_dot(&other.to_string())))
                .hint("run again with RUST_LOG=debug for details"),
        }
    }
}

fn trim_dot(s: &str) -> &str {
    s.trim().trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_status_codes() {
        let e = ApiError::Status {
            call: "get_job",
            status: 401,
            message: "no".into(),
            current_status: None,
        };
        let c = CliError::from_api(&e, "http://x", None);
        assert_eq!(c.code, EXIT_UNREACHABLE);
        assert!(c.hint.is_some());
        let e = ApiError::Status {
            call: "get_job",
            status: 404,
            message: "job not found".into(),
            current_status: None,
        };
        let c = CliError::from_api(&e, "http://x", Some("job 1"));
        assert_eq!(c.code, EXIT_FAILED);
        assert_eq!(c.message, "job 1 was not found on Trellis.");
        let e = ApiError::InvalidUrl {
            url: "nope".into(),
            reason: "relative URL without a base".into(),
        };
        assert_eq!(CliError::from_api(&e, "nope", None).code, EXIT_USAGE);
    }
}
