//! What the provisioning core needs to know about its host: tools and the state backend.

use std::path::PathBuf;
use std::time::Duration;

use grape_api::Secret;
use grape_cloud_aws::{BaseCredentials, RefreshOptions};

/// Settings shared by every job a worker or the CLI runs.
#[derive(Debug, Clone)]
pub struct ProvisionerSettings {
    /// The `terraform` executable; `None` looks it up on `PATH`.
    pub terraform_bin: Option<PathBuf>,
    /// Where Terraform state lives (the spec's `SUPABASE_S3_*` settings).
    pub state_backend: Option<StateBackendSettings>,
    /// How long a child gets between SIGINT and SIGKILL when a job is cancelled.
    pub interrupt_grace: Duration,
    /// Names of environment variables every child may inherit from the host (e.g. `PATH`).
    pub inherited_env: Vec<String>,
    /// Variables every child gets with these values (e.g. `TF_PLUGIN_CACHE_DIR`). Not secrets:
    /// credentials reach children through [`JobContext::cloud`](crate::JobContext::cloud).
    pub env: Vec<(String, String)>,
    /// The worker's own AWS credentials, from which job identities are assumed (and which
    /// worker jobs use as the platform's credentials). Default: the SDK's provider chain.
    pub aws_base: BaseCredentials,
    /// When assumed credentials are renewed during long jobs.
    pub aws_refresh: RefreshOptions,
}

impl Default for ProvisionerSettings {
    fn default() -> Self {
        Self {
            terraform_bin: None,
            state_backend: None,
            interrupt_grace: Duration::from_secs(30),
            inherited_env: ["PATH", "LANG", "LC_ALL", "TMPDIR", "TF_CLI_CONFIG_FILE"]
                .into_iter()
                .map(String::from)
                .collect(),
            env: Vec::new(),
            aws_base: BaseCredentials::default_chain(),
            aws_refresh: RefreshOptions::default(),
        }
    }
}

impl ProvisionerSettings {
    /// The inherited variable names as the `&str` list `grape_process::Command::inherit_env` takes.
    pub fn inherited_env_names(&self) -> Vec<&str> {
        self.inherited_env.iter().map(String::as_str).collect()
    }
}

/// An S3-compatible bucket holding Terraform state (Supabase storage in the hosted product, any
/// S3 endpoint when self-hosted).
#[derive(Debug, Clone)]
pub struct StateBackendSettings {
    /// Endpoint URL; `None` means AWS S3 itself.
    pub endpoint: Option<String>,
    /// Region of the bucket.
    pub region: String,
    /// Bucket name (`SUPABASE_S3_BUCKET`, default `terraform-state`).
    pub bucket: String,
    /// Access key id.
    pub access_key_id: Secret,
    /// Secret access key.
    pub secret_access_key: Secret,
}
