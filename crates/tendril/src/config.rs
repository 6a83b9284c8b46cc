//! Configuration of `tendril start`: every setting is a flag and an environment variable, but
//! the secrets, which come from their variable or a `--…-file PATH` only ([`SecretArgs`]).
//!
//! [`ENV_VARS`] is the one documented registry of the variables: clap reads them through the
//! constants of [`var`], `--help` prints the table, and the README copies it.
//! [`StartArgs`] is what clap parses (the grape CLI embeds it in `grape worker start`);
//! [`StartArgs::validate`] turns it into a checked [`Config`] or a [`ConfigError`] that names
//! the variable in one line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use grape_api::{Secret, SecretSettingError, WorkerMode};
#[cfg(feature = "worker-jobs")]
use grape_provisioner::PlatformSettings;
use grape_provisioner::{
    AwsAccess, AzureAccess, CloudSettings, ClusterSettings, GcpAccess, GitCredentials,
    InfracostSettings, ProvisionerSettings, RenewalPolicy, StateBackendSettings, VineTemplates,
};
use uuid::Uuid;

/// The log output format of the worker's own logs (stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// The flags of `tendril start` (also `grape worker start`), each with its environment
/// variable. Secrets are read from their variable or file at [`StartArgs::validate`] (see
/// [`SecretArgs`]).
#[derive(Debug, Clone, Args)]
#[command(after_long_help = env_help())]
pub struct StartArgs {
    /// Base URL of the Trellis instance.
    #[arg(long, env = var::TRELLIS_URL, value_name = "URL")]
    pub trellis_url: Option<String>,
    /// Worker id (assigned at registration).
    #[arg(long, env = var::GRAPE_WORKER_ID, value_name = "UUID")]
    pub worker_id: Option<String>,
    /// `cloud-hosted` or `self-hosted`.
    #[arg(long, env = var::GRAPE_WORKER_MODE, default_value = "self-hosted", value_name = "MODE")]
    pub mode: String,
    /// S3 endpoint of the Terraform state bucket (unset: AWS S3).
    #[arg(long, env = var::SUPABASE_S3_ENDPOINT, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// S3 region of the Terraform state bucket.
    #[arg(long, env = var::SUPABASE_S3_REGION, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// S3 bucket of the Terraform state.
    #[arg(long, env = var::SUPABASE_S3_BUCKET, default_value = "terraform-state", value_name = "BUCKET")]
    pub s3_bucket: String,
    /// Register as a new worker named NAME first, when no worker id/token is set and
    /// STATE_DIR/credentials.json does not exist; id and token are stored there (mode 0600) so
    /// a restart reuses them. Needs the admin token (TRELLIS_ADMIN_TOKEN or --admin-token-file).
    #[arg(long, value_name = "NAME")]
    pub register: Option<String>,
    /// With --register: the team the worker belongs to (a self-hosted worker claims only its
    /// team's jobs) [default: Trellis' `default`].
    #[arg(long, value_name = "TEAM", requires = "register")]
    pub team: Option<String>,
    /// With --register: a label `key=value` (or `key`) of the worker (repeatable); a job whose
    /// labels are all among the worker's may be claimed by it.
    #[arg(long = "label", value_name = "KEY=VALUE", requires = "register")]
    pub labels: Vec<String>,
    /// Claim poll interval when the server does not long-poll.
    #[arg(long, env = var::TENDRIL_POLL_INTERVAL, default_value = "10s", value_name = "DURATION")]
    pub poll_interval: String,
    /// Heartbeat interval (a little jitter is added).
    #[arg(long, env = var::TENDRIL_HEARTBEAT_INTERVAL, default_value = "30s", value_name = "DURATION")]
    pub heartbeat_interval: String,
    /// On SIGTERM/SIGINT, how long the running job may finish before it is cancelled.
    #[arg(long, env = var::TENDRIL_GRACE_PERIOD, default_value = "10m", value_name = "DURATION")]
    pub grace_period: String,
    /// At a job's end, how long its log lines may take to reach Trellis before the final status
    /// is reported anyway (the rest stays in the outbox for the next start).
    #[arg(long, env = var::TENDRIL_LOG_FINISH_TIMEOUT, default_value = "10m", value_name = "DURATION")]
    pub log_finish_timeout: String,
    /// Long-poll wait of one claim (0s to 30s; 0s: plain polling).
    #[arg(long, env = var::TENDRIL_CLAIM_WAIT, default_value = "20s", value_name = "DURATION")]
    pub claim_wait: String,
    /// A cancelled child gets SIGINT, then SIGKILL after this.
    #[arg(long, env = var::TENDRIL_INTERRUPT_GRACE, default_value = "30s", value_name = "DURATION")]
    pub interrupt_grace: String,
    /// State directory: outbox and credentials [default: $XDG_STATE_HOME/tendril or
    /// ~/.local/state/tendril].
    #[arg(long, env = var::TENDRIL_STATE_DIR, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Job workspaces [default: STATE_DIR/work].
    #[arg(long, env = var::TENDRIL_WORK_DIR, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Offer the EXEC job type, which runs any command (tests, demos, self-hosted scripting).
    #[arg(long, env = var::TENDRIL_ENABLE_EXEC)]
    pub enable_exec: bool,
    /// Serve /healthz and /metrics on this address (e.g. 0.0.0.0:9464); /metrics needs
    /// `Authorization: Bearer` with the metrics token (TENDRIL_METRICS_TOKEN).
    #[arg(long, env = var::TENDRIL_LISTEN, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Serve /metrics (and /healthz) without a token on this address: bind it to a private
    /// interface (e.g. 127.0.0.1:9465).
    #[arg(long, env = var::TENDRIL_METRICS_LISTEN, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Format of the worker's own logs (stderr).
    #[arg(long, env = var::TENDRIL_LOG_FORMAT, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// The terraform executable [default: terraform on PATH].
    #[arg(long, env = var::TENDRIL_TERRAFORM_BIN, value_name = "PATH")]
    pub terraform_bin: Option<PathBuf>,
    /// Git tokens by origin: a JSON file `{"https://host[:port]": "token", …}` only its owner
    /// may access (0600). A git source gets the token of its URL's exact scheme, host and port;
    /// payloads never name one.
    #[arg(long, env = var::TENDRIL_GIT_CREDENTIALS, value_name = "PATH")]
    pub git_credentials: Option<PathBuf>,
    /// The infracost executable for cost estimates [default: infracost on PATH].
    #[arg(long, env = var::TENDRIL_INFRACOST_BIN, value_name = "PATH")]
    pub infracost_bin: Option<PathBuf>,
    /// The templates vines are rendered with: the providers' own (`provider`), or the
    /// provider-free `terraform_data` stand-in set (`standin`: demos and tests only).
    #[arg(long, env = var::TENDRIL_VINE_TEMPLATES, value_enum, default_value_t = VineTemplatesArg::Provider)]
    pub vine_templates: VineTemplatesArg,
    /// Re-assume a job's cloud identity this long before its temporary credentials expire. A
    /// tool reads its credentials once, at start: one started now keeps valid keys at least this
    /// long (Terraform applies of 15-20 minutes are common; sessions last 1 h by default).
    #[arg(long, env = var::TENDRIL_CREDENTIALS_REFRESH_MARGIN, default_value = "20m", value_name = "DURATION")]
    pub credentials_refresh_margin: String,
    /// Never re-assume a job's cloud identity more often than this.
    #[arg(long, env = var::TENDRIL_CREDENTIALS_REFRESH_MIN_INTERVAL, default_value = "30s", value_name = "DURATION")]
    pub credentials_refresh_min_interval: String,
    /// How the worker reaches the clouds of its jobs' identities.
    #[command(flatten)]
    pub cloud: CloudArgs,
    /// How the worker makes a vine's cluster a platform (Helm, ArgoCD, waits).
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The worker jobs and their platform settings.
    #[command(flatten)]
    pub platform: PlatformArgs,
    /// The files of the secrets (and the refused flags that would carry their values).
    #[command(flatten)]
    pub secrets: SecretArgs,
}

/// A setting that stops start-up; its `Display` is the one line printed (it names the
/// variable and never contains a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{name} is not set ({hint})")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What to do.
        hint: &'static str,
    },
    /// A variable's value is malformed.
    #[error("{name} is not a valid {what}: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What it should be, e.g. `URL`.
        what: &'static str,
        /// Why the value is not that (never the value of a secret).
        reason: String,
    },
    /// A secret given on the command line, or whose variable or file is unusable.
    #[error(transparent)]
    Secret(#[from] SecretSettingError),
}

fn invalid(name: &'static str, what: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        what,
        reason: reason.into(),
    }
}

/// The worker's id and token.
#[derive(Debug, Clone)]
pub struct WorkerCredentials {
    /// Worker id.
    pub id: Uuid,
    /// Worker token.
    pub token: Secret,
}

/// `--register NAME` with its admin token.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Name of the new worker.
    pub name: String,
    /// Admin token of Trellis.
    pub admin_token: Secret,
    /// The worker's team (`None`: Trellis' default).
    pub team: Option<String>,
    /// The worker's labels.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// The timings of the worker; tests shrink them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// Claim poll interval (without long-poll), also the base of error backoff.
    pub poll_interval: Duration,
    /// Heartbeat interval.
    pub heartbeat_interval: Duration,
    /// Drain grace period.
    pub grace_period: Duration,
    /// How long a finished job's log delivery may take before its status is reported anyway.
    pub log_finish_timeout: Duration,
    /// Long-poll wait of one claim (zero: plain polling).
    pub claim_wait: Duration,
    /// SIGINT → SIGKILL grace of a cancelled child.
    pub interrupt_grace: Duration,
    /// When a job's cloud identity is re-assumed.
    pub credentials_refresh: RenewalPolicy,
}

/// The validated configuration of a worker.
#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL of Trellis (http or https).
    pub trellis_url: String,
    /// Id and token, when given by flag or environment.
    pub credentials: Option<WorkerCredentials>,
    /// Registration to do when no credentials are known.
    pub register: Option<Registration>,
    /// Hosting mode.
    pub mode: WorkerMode,
    /// Terraform state bucket, when configured.
    pub state_backend: Option<StateBackendSettings>,
    /// Infracost API key.
    pub infracost_api_key: Option<Secret>,
    /// Intervals and grace periods.
    pub timings: Timings,
    /// Outbox and credentials.
    pub state_dir: PathBuf,
    /// Job workspaces.
    pub work_dir: PathBuf,
    /// The EXEC job type is offered.
    pub enable_exec: bool,
    /// Health and metrics address (`/metrics` with the metrics token only).
    pub listen: Option<SocketAddr>,
    /// Address serving `/metrics` without a token.
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token of `/metrics` on [`Config::listen`].
    pub metrics_token: Option<Secret>,
    /// Log format.
    pub log_format: LogFormat,
    /// The terraform executable.
    pub terraform_bin: Option<PathBuf>,
    /// How the worker reaches AWS (endpoint, web identity token file) to assume job identities.
    pub aws: AwsAccess,
    /// How the worker reaches GCP (endpoints, subject token file).
    pub gcp: GcpAccess,
    /// How the worker reaches Azure (endpoints, federated token file).
    pub azure: AzureAccess,
    /// The infracost executable.
    pub infracost_bin: Option<PathBuf>,
    /// The platform settings of the worker jobs (`--enable-worker-jobs`).
    #[cfg(feature = "worker-jobs")]
    pub platform: Option<PlatformSettings>,
    /// Git tokens by origin (`TENDRIL_GIT_CREDENTIALS`); empty when unset.
    pub git_credentials: GitCredentials,
    /// The templates vines are rendered with.
    pub vine_templates: VineTemplates,
    /// The cluster steps of vines (Helm, ArgoCD chart, waits, stand-in cluster).
    pub cluster: ClusterSettings,
}

/// `--vine-templates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VineTemplatesArg {
    /// The providers' own templates.
    Provider,
    /// The `terraform_data` stand-in set.
    Standin,
}

impl Config {
    /// The settings handed to every job handler.
    pub fn provisioner_settings(&self) -> ProvisionerSettings {
        ProvisionerSettings {
            terraform_bin: self.terraform_bin.clone(),
            state_backend: self.state_backend.clone(),
            interrupt_grace: self.timings.interrupt_grace,
            cloud: CloudSettings {
                aws: self.aws.clone(),
                gcp: self.gcp.clone(),
                azure: self.azure.clone(),
                renewal: self.timings.credentials_refresh,
                ..CloudSettings::default()
            },
            #[cfg(feature = "worker-jobs")]
            platform: self.platform.clone(),
            git_credentials: self.git_credentials.clone(),
            vine_templates: self.vine_templates,
            cluster: self.cluster.clone(),
            infracost: InfracostSettings {
                bin: self.infracost_bin.clone(),
                api_key: self.infracost_api_key.clone(),
                ..InfracostSettings::default()
            },
            ..ProvisionerSettings::default()
        }
    }

    /// Every secret of the worker's configuration (to seed each job's redactor).
    pub fn secrets(&self) -> Vec<Secret> {
        let mut out = Vec::new();
        if let Some(c) = &self.credentials {
            out.push(c.token.clone());
        }
        if let Some(r) = &self.register {
            out.push(r.admin_token.clone());
        }
        if let Some(b) = &self.state_backend {
            out.push(b.access_key_id.clone());
            out.push(b.secret_access_key.clone());
        }
        out.extend(self.infracost_api_key.clone());
        out.extend(self.metrics_token.clone());
        #[cfg(feature = "worker-jobs")]
        out.extend(self.platform.as_ref().map(|p| p.admin_token.clone()));
        out.extend(self.git_credentials.secrets().cloned());
        out.extend(
            self.cluster
                .standin_cluster
                .as_ref()
                .map(|c| c.token.clone()),
        );
        out
    }
}

impl StartArgs {
    /// Checks every setting, with the secrets read from this process's environment (or their
    /// files); the first problem found is returned, naming its variable.
    pub fn validate(&self) -> Result<Config, ConfigError> {
        self.validate_with_env(&|name| std::env::var(name).ok())
    }

    /// [`StartArgs::validate`] with the secrets' variables looked up by `env`.
    pub fn validate_with_env(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let secrets = self.secrets.resolve(env)?;
        let trellis_url = match non_empty(self.trellis_url.as_ref()) {
            Some(u) => http_url(var::TRELLIS_URL, u)?,
            None => {
                return Err(ConfigError::Missing {
                    name: var::TRELLIS_URL,
                    hint: "the base URL of Trellis, e.g. https://trellis.example.com",
                });
            }
        };
        let worker_id = non_empty(self.worker_id.as_ref())
            .map(|s| {
                Uuid::parse_str(s).map_err(|e| invalid(var::GRAPE_WORKER_ID, "UUID", e.to_string()))
            })
            .transpose()?;
        let credentials = match (worker_id, secrets.worker_token) {
            (Some(id), Some(token)) => Some(WorkerCredentials { id, token }),
            (Some(_), None) => {
                return Err(ConfigError::Missing {
                    name: var::GRAPE_WORKER_TOKEN,
                    hint: "GRAPE_WORKER_ID is set: set the token of that worker too",
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Missing {
                    name: var::GRAPE_WORKER_ID,
                    hint: "GRAPE_WORKER_TOKEN is set: set the id of that worker too",
                });
            }
            (None, None) => None,
        };
        let register = match non_empty(self.register.as_ref()) {
            Some(name) => match secrets.admin_token.clone() {
                Some(admin_token) => Some(Registration {
                    name: name.to_owned(),
                    admin_token,
                    team: non_empty(self.team.as_ref()).map(str::to_owned),
                    labels: parse::labels(&self.labels)?,
                }),
                None => {
                    return Err(ConfigError::Missing {
                        name: var::TRELLIS_ADMIN_TOKEN,
                        hint: "--register needs the admin token of Trellis (or --admin-token-file)",
                    });
                }
            },
            None => None,
        };
        let mode: WorkerMode = self.mode.trim().parse().map_err(|_| {
            invalid(
                var::GRAPE_WORKER_MODE,
                "worker mode",
                "expected `cloud-hosted` or `self-hosted`",
            )
        })?;
        let state_backend = self.state_backend(secrets.s3_key_id, secrets.s3_secret_key)?;
        let timings = self.timings()?;
        let state_dir = match &self.state_dir {
            Some(d) if !d.as_os_str().is_empty() => d.clone(),
            _ => default_state_dir()?,
        };
        let work_dir = match &self.work_dir {
            Some(d) if !d.as_os_str().is_empty() => d.clone(),
            _ => state_dir.join("work"),
        };
        let listen = socket_addr(var::TENDRIL_LISTEN, self.listen.as_ref())?;
        let metrics_listen =
            socket_addr(var::TENDRIL_METRICS_LISTEN, self.metrics_listen.as_ref())?;
        #[cfg_attr(not(feature = "worker-jobs"), allow(unused_variables))]
        let platform = self.platform.validate(&trellis_url, secrets.admin_token)?;
        let git_credentials = match &self.git_credentials {
            Some(path) if !path.as_os_str().is_empty() => {
                GitCredentials::load(path).map_err(|e| {
                    invalid(
                        var::TENDRIL_GIT_CREDENTIALS,
                        "git credentials file",
                        e.to_string(),
                    )
                })?
            }
            _ => GitCredentials::new(),
        };
        let vine_templates = match self.vine_templates {
            VineTemplatesArg::Provider => VineTemplates::Provider,
            VineTemplatesArg::Standin => VineTemplates::StandIn,
        };
        Ok(Config {
            cluster: self.cluster.settings(&mode, vine_templates)?,
            vine_templates,
            aws: self.cloud.aws_access()?,
            gcp: self.cloud.gcp_access()?,
            azure: self.cloud.azure_access()?,
            #[cfg(feature = "worker-jobs")]
            platform,
            git_credentials,
            trellis_url,
            credentials,
            register,
            mode,
            state_backend,
            infracost_api_key: secrets.infracost_api_key,
            timings,
            state_dir,
            work_dir,
            enable_exec: self.enable_exec,
            listen,
            metrics_listen,
            metrics_token: secrets.metrics_token,
            log_format: self.log_format,
            terraform_bin: self
                .terraform_bin
                .clone()
                .filter(|p| !p.as_os_str().is_empty()),
            infracost_bin: self
                .infracost_bin
                .clone()
                .filter(|p| !p.as_os_str().is_empty()),
        })
    }
}

mod cloud;
mod cluster;
mod parse;

use parse::{default_state_dir, http_url, non_empty, socket_addr};
mod platform;
mod secrets;
mod vars;
pub use cloud::CloudArgs;
pub use cluster::ClusterArgs;
pub use platform::PlatformArgs;
pub use secrets::{SECRET_SETTINGS, SecretArgs};
pub use vars::{ENV_VARS, EnvVar, env_help, var};

#[cfg(test)]
mod tests;
