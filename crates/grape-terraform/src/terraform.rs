//! The [`Terraform`] handle: which binary, which minimum version, and the base environment of
//! every run.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use grape_process::{Command, OutputStream, Redactor};
use tokio_util::sync::CancellationToken;

use crate::error::TerraformError;
use crate::version::{Version, VersionInfo};
use crate::workdir::WorkingDir;

/// The lowest Terraform version accepted unless configured otherwise.
pub const DEFAULT_MIN_VERSION: Version = Version::new(1, 5, 0);

/// Default time between SIGINT and SIGKILL when a run is cancelled.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// Variables copied from this process's environment into every run, when set.
pub const INHERITED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "TF_CLI_CONFIG_FILE",
    "TF_PLUGIN_CACHE_DIR",
];

/// Variables every run gets: no prompts, automation mode, no update check.
pub const FIXED_ENV: &[(&str, &str)] = &[
    ("TF_IN_AUTOMATION", "1"),
    ("TF_INPUT", "0"),
    ("CHECKPOINT_DISABLE", "1"),
];

/// The variables given to every run (credentials, `TF_VAR_*` secrets): `Debug` shows their names
/// only.
#[derive(Clone, Default)]
struct RunEnv(BTreeMap<String, String>);

impl std::ops::Deref for RunEnv {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for RunEnv {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl std::fmt::Debug for RunEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// Builds a [`Terraform`] handle.
#[derive(Debug, Clone)]
pub struct TerraformBuilder {
    binary: Option<PathBuf>,
    min_version: Version,
    env: RunEnv,
    grace: Duration,
    timeout: Option<Duration>,
    max_output: usize,
    redactor: Redactor,
}

impl Default for TerraformBuilder {
    fn default() -> Self {
        Self {
            binary: None,
            min_version: DEFAULT_MIN_VERSION,
            env: RunEnv::default(),
            grace: DEFAULT_GRACE,
            timeout: None,
            max_output: grape_process::DEFAULT_MAX_OUTPUT_BYTES,
            redactor: Redactor::new(),
        }
    }
}

impl TerraformBuilder {
    /// Use this binary instead of looking for `terraform` on `PATH`.
    #[must_use]
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Refuse Terraform versions below this one (default 1.5.0).
    #[must_use]
    pub fn min_version(mut self, v: Version) -> Self {
        self.min_version = v;
        self
    }

    /// Adds one variable to the environment of every run (credentials go here).
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Adds variables to the environment of every run.
    #[must_use]
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Time between SIGINT and SIGKILL on cancel (default 30 s).
    #[must_use]
    pub fn grace(mut self, d: Duration) -> Self {
        self.grace = d;
        self
    }

    /// Wall-clock limit of every run (default none).
    #[must_use]
    pub fn timeout(mut self, d: Option<Duration>) -> Self {
        self.timeout = d;
        self
    }

    /// The most output a captured run (`show -json`, `output -json`, …) may write (default
    /// [`grape_process::DEFAULT_MAX_OUTPUT_BYTES`], 256 MiB); past it the run fails with
    /// [`TerraformError::OutputTooLarge`].
    #[must_use]
    pub fn max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes;
        self
    }

    /// The redactor applied to every line and captured output (shared with the job's log).
    #[must_use]
    pub fn redactor(mut self, r: Redactor) -> Self {
        self.redactor = r;
        self
    }

    /// Finds the binary without running it (no version check).
    pub fn build_unchecked(self) -> Result<Terraform, TerraformError> {
        let binary = match self.binary {
            Some(path) => {
                if !is_executable(&path) {
                    return Err(TerraformError::NotFound {
                        looked_for: format!("{} (not an executable file)", path.display()),
                    });
                }
                path
            }
            None => find_on_path(std::env::var_os("PATH"))?,
        };
        Ok(Terraform {
            binary,
            min_version: self.min_version,
            env: self.env,
            grace: self.grace,
            timeout: self.timeout,
            max_output: self.max_output,
            redactor: self.redactor,
            version: None,
        })
    }

    /// Finds the binary, runs `terraform version -json` and refuses versions below the minimum.
    pub async fn build(self, cancel: &CancellationToken) -> Result<Terraform, TerraformError> {
        let mut tf = self.build_unchecked()?;
        let info = tf.version(cancel).await?;
        let found = info.version().map_err(TerraformError::BadVersion)?;
        if found < tf.min_version {
            return Err(TerraformError::VersionTooOld {
                found,
                minimum: tf.min_version.clone(),
                binary: tf.binary.clone(),
            });
        }
        tf.version = Some(found);
        Ok(tf)
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn find_on_path(path: Option<OsString>) -> Result<PathBuf, TerraformError> {
    let path = path.unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("terraform"))
        .find(|p| p.is_absolute() && is_executable(p))
        .ok_or_else(|| TerraformError::NotFound {
            looked_for: format!("\"terraform\" in PATH={}", path.to_string_lossy()),
        })
}

/// A Terraform installation and the settings shared by all its runs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Terraform {
    binary: PathBuf,
    min_version: Version,
    env: RunEnv,
    grace: Duration,
    timeout: Option<Duration>,
    max_output: usize,
    redactor: Redactor,
    version: Option<Version>,
}

impl Terraform {
    /// A builder with the defaults (PATH lookup, minimum 1.5.0, 30 s grace).
    pub fn builder() -> TerraformBuilder {
        TerraformBuilder::default()
    }

    /// The binary in use.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The version checked by [`TerraformBuilder::build`] (`None` after `build_unchecked`).
    pub fn checked_version(&self) -> Option<&Version> {
        self.version.as_ref()
    }

    /// The redactor of every run.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The grace between SIGINT and SIGKILL.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// Runs `terraform version -json`.
    pub async fn version(&self, cancel: &CancellationToken) -> Result<VersionInfo, TerraformError> {
        let cwd = std::env::temp_dir();
        let out = self
            .command(&cwd, &[])
            .args(["version", "-json"])
            .output(cancel)
            .await
            .map_err(|source| TerraformError::Process {
                command: "version".into(),
                source,
            })?;
        if !out.report.success() {
            return Err(crate::exec::failure("version", Vec::new(), out.report));
        }
        serde_json::from_str(&out.stdout).map_err(|source| TerraformError::Json {
            command: "version".into(),
            source,
        })
    }

    /// A working directory (holding a Terraform configuration) to run commands in.
    pub fn working_dir(&self, dir: impl Into<PathBuf>) -> WorkingDir {
        WorkingDir::new(self.clone(), dir.into())
    }

    /// A command for this binary in `cwd`: fixed env, inherited env, caller env, then `extra`
    /// (e.g. backend credentials), grace, timeout and redactor.
    pub(crate) fn command(&self, cwd: &Path, extra: &[(&str, &str)]) -> Command {
        for (_, v) in extra {
            self.redactor.add(v);
        }
        Command::new(self.binary.as_os_str(), cwd)
            .inherit_env(INHERITED_ENV)
            .envs(FIXED_ENV.iter().copied())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra.iter().copied())
            .grace(self.grace)
            .timeout(self.timeout)
            .max_output(self.max_output)
            .redactor(self.redactor.clone())
    }
}

/// A [`grape_process::LineSink`] that drops every line.
pub fn discard_lines() -> impl grape_process::LineSink {
    |_: OutputStream, _: &str| {}
}
