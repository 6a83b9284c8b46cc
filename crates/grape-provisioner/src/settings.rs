//! What the provisioning core needs to know about its host: tools and the state backend.

use std::path::PathBuf;
use std::time::Duration;

use grape_api::Secret;
use grape_git::GitCredentials;

#[cfg(feature = "worker-jobs")]
use crate::WorkerJobPolicy;
use crate::cloud::{AwsAccess, CloudSettings};
use crate::handlers::VineTemplates;

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
    /// How this host reaches the clouds of job identities, and when their credentials are
    /// renewed during long jobs.
    pub cloud: CloudSettings,
    /// The platform's own credentials for the worker jobs (DEPLOY/UPDATE/DESTROY_WORKER);
    /// `None`: this host cannot run them.
    #[cfg(feature = "worker-jobs")]
    pub platform: Option<PlatformSettings>,
    /// The host → token map git sources get their tokens from (`TENDRIL_GIT_CREDENTIALS`);
    /// empty: no token is ever sent.
    pub git_credentials: GitCredentials,
    /// Cost estimates of PLAN jobs.
    pub infracost: InfracostSettings,
    /// The templates vines are rendered with (the providers' own, or the stand-in set).
    pub vine_templates: VineTemplates,
    /// How a vine's cluster is made usable after its Terraform (Helm, ArgoCD, waits).
    pub cluster: ClusterSettings,
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
            cloud: CloudSettings::default(),
            #[cfg(feature = "worker-jobs")]
            platform: None,
            git_credentials: GitCredentials::new(),
            infracost: InfracostSettings::default(),
            vine_templates: VineTemplates::default(),
            cluster: ClusterSettings::default(),
        }
    }
}

/// The cluster steps of a vine (after its Terraform apply, before its Terraform destroy):
/// ArgoCD installed with Helm, the repository credential, the platform's Applications.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// The `helm` executable (Helm 4); `None` looks it up on `PATH`.
    pub helm_bin: Option<PathBuf>,
    /// Where the ArgoCD chart comes from (pinned default: argo-helm's `argo-cd`).
    pub argocd_chart: grape_argocd::ArgoCdChart,
    /// The charts of the platform's Applications and the user's apps repository settings.
    pub apps: grape_argocd::AppsOptions,
    /// How long ArgoCD's install may take (`helm --wait --timeout`; default 10 minutes).
    pub argocd_timeout: Duration,
    /// How long the Applications may take to be Synced and Healthy (default 15 minutes).
    pub apps_timeout: Duration,
    /// How long deleting the Applications (and what they made) may take (default 10 minutes).
    pub delete_timeout: Duration,
    /// How often a wait looks again (default 5 s).
    pub poll: Duration,
    /// Whether this host's git tokens ([`ProvisionerSettings::git_credentials`]) may become
    /// ArgoCD's repository credential in a vine's cluster. A self-hosted worker's map is its
    /// team's own (true); a cloud-hosted (platform) worker's map is the platform's, which never
    /// goes into a customer's cluster (false: the repository Secret is left out, and the log
    /// says so).
    pub git_tokens_into_clusters: bool,
    /// The cluster a vine rendered with the stand-in templates stands for (their outputs name
    /// no real cluster); `None`: a stand-in vine has no cluster steps.
    pub standin_cluster: Option<DirectCluster>,
    /// The cluster of the user's kubeconfig, for `grape --local` runs (`--kubeconfig`): every
    /// cluster step of this host goes to it, with its token.
    pub local_cluster: Option<DirectCluster>,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        Self {
            helm_bin: None,
            argocd_chart: grape_argocd::ArgoCdChart::default(),
            apps: grape_argocd::AppsOptions::default(),
            argocd_timeout: Duration::from_secs(600),
            apps_timeout: Duration::from_secs(900),
            delete_timeout: Duration::from_secs(600),
            poll: Duration::from_secs(5),
            git_tokens_into_clusters: true,
            standin_cluster: None,
            local_cluster: None,
        }
    }
}

/// A cluster this host reaches with a token it was given: the one a stand-in vine stands for
/// (demos, end-to-end tests on a local API server), or the user's own kubeconfig cluster.
#[derive(Debug, Clone)]
pub struct DirectCluster {
    /// The API server URL (`https://…`).
    pub endpoint: String,
    /// The PEM of the CA that signed its certificate.
    pub ca_pem: String,
    /// A bearer token of it.
    pub token: Secret,
}

/// How PLAN jobs estimate costs: with Infracost, when both a CLI and an API key are there.
#[derive(Debug, Clone)]
pub struct InfracostSettings {
    /// The `infracost` executable; `None` looks for it on `PATH`.
    pub bin: Option<PathBuf>,
    /// The Infracost API key (`INFRACOST_API_KEY`); `None`: no estimates.
    pub api_key: Option<Secret>,
    /// How long one estimate may take (it is advisory: the PLAN goes on without it).
    pub timeout: Duration,
}

impl Default for InfracostSettings {
    fn default() -> Self {
        Self {
            bin: None,
            api_key: None,
            timeout: grape_infracost::DEFAULT_TIMEOUT,
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

/// What the worker jobs (`DEPLOY_WORKER`, `UPDATE_WORKER`, `DESTROY_WORKER`) run with: the
/// platform's own AWS account (never a user's cloud identity) and the Trellis admin token that
/// registers and removes workers.
#[cfg(feature = "worker-jobs")]
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    /// The platform's AWS credentials (default chain or static keys, endpoint override).
    pub aws: AwsAccess,
    /// The Trellis that registers and removes workers (admin API).
    pub trellis_url: String,
    /// The Trellis URL the deployed workers connect to; `None`: [`Self::trellis_url`].
    pub worker_trellis_url: Option<String>,
    /// The Trellis admin token.
    pub admin_token: Secret,
    /// How `DESTROY_WORKER` waits for AWS to release the worker's resources.
    pub teardown: TeardownWaits,
    /// What the worker jobs may deploy: images, secret references, assumable roles.
    pub policy: WorkerJobPolicy,
}

#[cfg(feature = "worker-jobs")]
impl PlatformSettings {
    /// Platform settings with the default teardown waits, deployed workers connecting to
    /// `trellis_url` and the default [`WorkerJobPolicy`] (no image allowed yet).
    pub fn new(aws: AwsAccess, trellis_url: impl Into<String>, admin_token: Secret) -> Self {
        Self {
            aws,
            trellis_url: trellis_url.into(),
            worker_trellis_url: None,
            admin_token,
            teardown: TeardownWaits::default(),
            policy: WorkerJobPolicy::default(),
        }
    }

    /// The Trellis URL a deployed worker gets as `TRELLIS_URL`.
    pub fn worker_trellis_url(&self) -> &str {
        self.worker_trellis_url
            .as_deref()
            .unwrap_or(&self.trellis_url)
    }
}

/// How `DESTROY_WORKER` waits for the cloud to release a worker's resources.
#[cfg(feature = "worker-jobs")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeardownWaits {
    /// How long to wait for the worker's tasks to stop and its network interfaces to go.
    pub wait: Duration,
    /// How often to look again meanwhile.
    pub poll: Duration,
    /// Remove the cluster too when nothing else uses it.
    pub delete_empty_cluster: bool,
}

#[cfg(feature = "worker-jobs")]
impl Default for TeardownWaits {
    fn default() -> Self {
        let d = grape_fleet_aws::TeardownOptions::default();
        Self {
            wait: d.wait,
            poll: d.poll,
            delete_empty_cluster: d.delete_empty_cluster,
        }
    }
}
