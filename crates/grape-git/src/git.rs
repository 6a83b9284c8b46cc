//! Running git through grape-process with a controlled environment.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use grape_process::{CancellationToken, Command, ExitReport, LineSink, Redactor};

use crate::{GitAuth, GitError};

/// Variables copied from this process into git's environment, when set.
const INHERITED_ENV: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// How git is run: which binary, grace on cancel, timeout of each git command.
#[derive(Debug, Clone)]
pub struct Git {
    program: OsString,
    grace: Duration,
    timeout: Option<Duration>,
}

impl Default for Git {
    fn default() -> Self {
        Self {
            program: OsString::from("git"),
            grace: Duration::from_secs(10),
            timeout: None,
        }
    }
}

/// One git invocation's context.
pub(crate) struct Ctx<'a> {
    pub(crate) git: &'a Git,
    pub(crate) auth: Option<&'a GitAuth>,
    pub(crate) sink: &'a dyn LineSink,
    pub(crate) cancel: &'a CancellationToken,
    pub(crate) redactor: &'a Redactor,
}

impl Git {
    /// `git` from the PATH, 10 s grace, no timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses this git binary (a path, or a name searched in the PATH).
    #[must_use]
    pub fn program(mut self, program: impl Into<OsString>) -> Self {
        self.program = program.into();
        self
    }

    /// Time between SIGINT and SIGKILL when cancelled (default 10 s).
    #[must_use]
    pub fn grace(mut self, d: Duration) -> Self {
        self.grace = d;
        self
    }

    /// Limit for each git command (default: none).
    #[must_use]
    pub fn timeout(mut self, d: Option<Duration>) -> Self {
        self.timeout = d;
        self
    }

    /// A git command in `dir` with the controlled environment (and auth header, if any).
    pub(crate) fn command(
        &self,
        dir: &Path,
        auth: Option<&GitAuth>,
        redactor: &Redactor,
    ) -> Command {
        let mut c = Command::new(self.program.clone(), dir)
            .inherit_env(INHERITED_ENV)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_ASKPASS", "")
            .env("SSH_ASKPASS", "")
            .env("GCM_INTERACTIVE", "never")
            .grace(self.grace)
            .timeout(self.timeout)
            .redactor(redactor.clone());
        if let Some(auth) = auth {
            auth.register(redactor);
            let config = auth.git_config();
            c = c.env("GIT_CONFIG_COUNT", config.len().to_string());
            for (i, (key, value)) in config.into_iter().enumerate() {
                c = c
                    .env(format!("GIT_CONFIG_KEY_{i}"), key)
                    .env(format!("GIT_CONFIG_VALUE_{i}"), value);
            }
        }
        c
    }
}

impl Ctx<'_> {
    /// Runs git with `args` in `dir`, lines to the sink; returns the report even on failure.
    pub(crate) async fn run_report(
        &self,
        step: &'static str,
        dir: &Path,
        args: &[&str],
    ) -> Result<ExitReport, GitError> {
        let report = self
            .git
            .command(dir, self.auth, self.redactor)
            .args(args)
            .run(self.sink, self.cancel)
            .await
            .map_err(|source| GitError::Process { step, source })?;
        if report.cancelled || report.timed_out {
            return Err(GitError::Cancelled { step });
        }
        Ok(report)
    }

    /// Runs git; a failure is an error.
    pub(crate) async fn run(
        &self,
        step: &'static str,
        dir: &Path,
        args: &[&str],
    ) -> Result<(), GitError> {
        let report = self.run_report(step, dir, args).await?;
        if report.success() {
            Ok(())
        } else {
            Err(failed(step, &report))
        }
    }

    /// Runs git and returns its stdout, trimmed.
    pub(crate) async fn stdout(
        &self,
        step: &'static str,
        dir: &Path,
        args: &[&str],
    ) -> Result<String, GitError> {
        let out = self
            .git
            .command(dir, self.auth, self.redactor)
            .args(args)
            .output_with_stderr_sink(self.sink, self.cancel)
            .await
            .map_err(|source| GitError::Process { step, source })?;
        if out.report.cancelled || out.report.timed_out {
            return Err(GitError::Cancelled { step });
        }
        if !out.report.success() {
            return Err(failed(step, &out.report));
        }
        Ok(out.stdout.trim().to_owned())
    }
}

pub(crate) fn failed(step: &'static str, report: &ExitReport) -> GitError {
    GitError::Failed {
        step,
        status: report.describe(),
        stderr: report.stderr_tail.join("\n"),
    }
}
