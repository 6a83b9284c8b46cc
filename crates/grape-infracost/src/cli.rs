//! [`Infracost`]: running `infracost breakdown` through grape-process.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use grape_api::Secret;
use grape_process::{CancellationToken, Command, LineSink, Redactor};
use serde_json::Value;

use crate::{CostEstimate, InfracostError};

/// The variable that carries the API key to the CLI (and the name users know it by).
pub const API_KEY_VAR: &str = "INFRACOST_API_KEY";

/// The file name of the plan JSON handed to the CLI.
pub const PLAN_JSON_FILE: &str = "plan.json";

/// Variables copied from this process into the CLI's environment, when set, besides
/// [`grape_process::TOOL_ENV`]: Infracost's own settings for a self-hosted pricing API.
const INFRACOST_ENV: &[&str] = &["INFRACOST_PRICING_API_ENDPOINT", "INFRACOST_CURRENCY"];

/// How long a breakdown may take by default: the estimate is advisory, it must never hold a
/// PLAN for long.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// An `infracost` CLI and the API key it runs with.
#[derive(Debug, Clone)]
pub struct Infracost {
    program: PathBuf,
    api_key: Secret,
    timeout: Duration,
    grace: Duration,
    redactor: Redactor,
}

impl Infracost {
    /// The CLI at `program` with `api_key` (registered with the redactor in
    /// [`Infracost::redactor`]).
    pub fn new(program: impl Into<PathBuf>, api_key: Secret) -> Self {
        let redactor = Redactor::new();
        redactor.add(api_key.expose());
        Self {
            program: program.into(),
            api_key,
            timeout: DEFAULT_TIMEOUT,
            grace: Duration::from_secs(10),
            redactor,
        }
    }

    /// Finds the CLI: `explicit` when given (it must be an executable file), else `infracost`
    /// on `PATH`.
    pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, InfracostError> {
        Self::locate_in(explicit, std::env::var_os("PATH"))
    }

    fn locate_in(
        explicit: Option<&Path>,
        path: Option<OsString>,
    ) -> Result<PathBuf, InfracostError> {
        if let Some(p) = explicit {
            return if is_executable(p) {
                Ok(p.to_path_buf())
            } else {
                Err(InfracostError::NotFound {
                    looked_for: format!("{} is not an executable file", p.display()),
                })
            };
        }
        let path = path.unwrap_or_default();
        std::env::split_paths(&path)
            .map(|dir| dir.join("infracost"))
            .find(|p| p.is_absolute() && is_executable(p))
            .ok_or_else(|| InfracostError::NotFound {
                looked_for: "no `infracost` on PATH".to_owned(),
            })
    }

    /// The binary in use.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The longest a breakdown may run before it is interrupted.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time between SIGINT and SIGKILL when a run is cancelled or times out.
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Redacts every line with `redactor` (the job's), to which the API key is added.
    #[must_use]
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        redactor.add(self.api_key.expose());
        self.redactor = redactor;
        self
    }

    /// Writes `plan` (the output of `terraform show -json PLANFILE`; leave no secret in it) to
    /// `dir/plan.json`, runs `infracost breakdown --path plan.json --format json` in `dir`, removes
    /// the file and parses the estimate. The CLI's stderr lines go to `sink`.
    pub async fn breakdown_plan(
        &self,
        plan: &Value,
        dir: &Path,
        sink: &dyn LineSink,
        cancel: &CancellationToken,
    ) -> Result<CostEstimate, InfracostError> {
        let path = dir.join(PLAN_JSON_FILE);
        let bytes = serde_json::to_vec(plan).map_err(InfracostError::Json)?;
        std::fs::write(&path, bytes).map_err(|source| InfracostError::Io {
            path: path.clone(),
            source,
        })?;
        let result = self
            .breakdown(Path::new(PLAN_JSON_FILE), dir, sink, cancel)
            .await;
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), error = %e, "could not remove the plan JSON");
        }
        result
    }

    /// Runs `infracost breakdown --path PLAN_JSON --format json` in `dir` (also its `HOME`, so
    /// the CLI's own files stay there) and parses its stdout.
    pub async fn breakdown(
        &self,
        plan_json: &Path,
        dir: &Path,
        sink: &dyn LineSink,
        cancel: &CancellationToken,
    ) -> Result<CostEstimate, InfracostError> {
        let out = Command::new(self.program.as_os_str(), dir)
            .args([
                OsString::from("breakdown"),
                "--path".into(),
                plan_json.as_os_str().to_owned(),
                "--format".into(),
                "json".into(),
            ])
            .inherit_env(grape_process::TOOL_ENV)
            .inherit_env(INFRACOST_ENV)
            .env("HOME", dir.as_os_str())
            .env("INFRACOST_SKIP_UPDATE_CHECK", "true")
            .env("INFRACOST_NO_COLOR", "true")
            .env(API_KEY_VAR, self.api_key.expose())
            .grace(self.grace)
            .timeout(Some(self.timeout))
            .redactor(self.redactor.clone())
            .output_with_stderr_sink(sink, cancel)
            .await
            .map_err(|e| match e {
                grape_process::ProcessError::NotFound { program } => InfracostError::NotFound {
                    looked_for: format!("{program} could not be executed"),
                },
                other => InfracostError::Process(other),
            })?;
        if out.report.cancelled {
            return Err(InfracostError::Cancelled);
        }
        if !out.report.success() {
            return Err(InfracostError::Failed {
                status: out.report.describe(),
                stderr: out.report.stderr_tail,
            });
        }
        CostEstimate::parse(&out.stdout)
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_path_must_be_an_executable() {
        let err =
            Infracost::locate_in(Some(Path::new("/nonexistent/infracost")), None).unwrap_err();
        assert!(
            err.to_string()
                .contains("/nonexistent/infracost is not an executable"),
            "{err}"
        );
        let err = Infracost::locate_in(None, Some("/nonexistent".into())).unwrap_err();
        assert!(err.to_string().contains("no `infracost` on PATH"), "{err}");
    }
}
