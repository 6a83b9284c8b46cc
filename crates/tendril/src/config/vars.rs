//! The one documented registry of `tendril start`'s environment variables.

use std::fmt::Write as _;

/// Names of the environment variables (used by clap's `env`).
pub mod var {
    /// Base URL of the Trellis instance.
    pub const TRELLIS_URL: &str = "TRELLIS_URL";
    /// The worker's id.
    pub const GRAPE_WORKER_ID: &str = "GRAPE_WORKER_ID";
    /// The worker's token.
    pub const GRAPE_WORKER_TOKEN: &str = "GRAPE_WORKER_TOKEN";
    /// `cloud-hosted` or `self-hosted`.
    pub const GRAPE_WORKER_MODE: &str = "GRAPE_WORKER_MODE";
    /// S3 endpoint of the Terraform state bucket.
    pub const SUPABASE_S3_ENDPOINT: &str = "SUPABASE_S3_ENDPOINT";
    /// S3 region.
    pub const SUPABASE_S3_REGION: &str = "SUPABASE_S3_REGION";
    /// S3 access key id.
    pub const SUPABASE_STORAGE_KEY_ID: &str = "SUPABASE_STORAGE_KEY_ID";
    /// S3 secret key.
    pub const SUPABASE_STORAGE_SECRET_KEY: &str = "SUPABASE_STORAGE_SECRET_KEY";
    /// S3 bucket of the Terraform state.
    pub const SUPABASE_S3_BUCKET: &str = "SUPABASE_S3_BUCKET";
    /// Infracost API key.
    pub const INFRACOST_API_KEY: &str = "INFRACOST_API_KEY";
    /// Admin token used by `--register`.
    pub const TRELLIS_ADMIN_TOKEN: &str = "TRELLIS_ADMIN_TOKEN";
    /// Claim poll interval.
    pub const TENDRIL_POLL_INTERVAL: &str = "TENDRIL_POLL_INTERVAL";
    /// Heartbeat interval.
    pub const TENDRIL_HEARTBEAT_INTERVAL: &str = "TENDRIL_HEARTBEAT_INTERVAL";
    /// Drain grace period.
    pub const TENDRIL_GRACE_PERIOD: &str = "TENDRIL_GRACE_PERIOD";
    /// How long a finished job's log delivery may take.
    pub const TENDRIL_LOG_FINISH_TIMEOUT: &str = "TENDRIL_LOG_FINISH_TIMEOUT";
    /// Long-poll wait of one claim.
    pub const TENDRIL_CLAIM_WAIT: &str = "TENDRIL_CLAIM_WAIT";
    /// SIGINT → SIGKILL grace of a cancelled child.
    pub const TENDRIL_INTERRUPT_GRACE: &str = "TENDRIL_INTERRUPT_GRACE";
    /// State directory.
    pub const TENDRIL_STATE_DIR: &str = "TENDRIL_STATE_DIR";
    /// Work directory.
    pub const TENDRIL_WORK_DIR: &str = "TENDRIL_WORK_DIR";
    /// Enables the EXEC job type.
    pub const TENDRIL_ENABLE_EXEC: &str = "TENDRIL_ENABLE_EXEC";
    /// Address of the health and metrics server.
    pub const TENDRIL_LISTEN: &str = "TENDRIL_LISTEN";
    /// Address of a server of `/metrics` without a token.
    pub const TENDRIL_METRICS_LISTEN: &str = "TENDRIL_METRICS_LISTEN";
    /// Bearer token of `/metrics` on `TENDRIL_LISTEN`.
    pub const TENDRIL_METRICS_TOKEN: &str = "TENDRIL_METRICS_TOKEN";
    /// `human` or `json`.
    pub const TENDRIL_LOG_FORMAT: &str = "TENDRIL_LOG_FORMAT";
    /// The terraform executable.
    pub const TENDRIL_TERRAFORM_BIN: &str = "TENDRIL_TERRAFORM_BIN";
    /// Endpoint override of the AWS calls made for jobs.
    pub const TENDRIL_AWS_ENDPOINT_URL: &str = "TENDRIL_AWS_ENDPOINT_URL";
    /// Web identity token file for assuming jobs' AWS identities.
    pub const TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE: &str = "TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE";
    /// Google's STS token endpoint, for GCP identities.
    pub const TENDRIL_GCP_STS_URL: &str = "TENDRIL_GCP_STS_URL";
    /// The IAM Credentials API, for service account impersonation.
    pub const TENDRIL_GCP_IAM_CREDENTIALS_URL: &str = "TENDRIL_GCP_IAM_CREDENTIALS_URL";
    /// The Compute Engine API, for GCP discovery.
    pub const TENDRIL_GCP_COMPUTE_URL: &str = "TENDRIL_GCP_COMPUTE_URL";
    /// The Cloud DNS API, for GCP discovery.
    pub const TENDRIL_GCP_DNS_URL: &str = "TENDRIL_GCP_DNS_URL";
    /// The OIDC token file exchanged for GCP identities' tokens.
    pub const TENDRIL_GCP_SUBJECT_TOKEN_FILE: &str = "TENDRIL_GCP_SUBJECT_TOKEN_FILE";
    /// The Microsoft Entra ID authority host, for Azure identities.
    pub const TENDRIL_AZURE_AUTHORITY_HOST: &str = "TENDRIL_AZURE_AUTHORITY_HOST";
    /// The Azure Resource Manager base URL.
    pub const TENDRIL_AZURE_ARM_URL: &str = "TENDRIL_AZURE_ARM_URL";
    /// The federated token file presented for Azure identities.
    pub const TENDRIL_AZURE_FEDERATED_TOKEN_FILE: &str = "TENDRIL_AZURE_FEDERATED_TOKEN_FILE";
    /// The 0600 JSON file of git tokens by origin.
    pub const TENDRIL_GIT_CREDENTIALS: &str = "TENDRIL_GIT_CREDENTIALS";
    /// The infracost executable.
    pub const TENDRIL_INFRACOST_BIN: &str = "TENDRIL_INFRACOST_BIN";
    /// Which templates vines are rendered with: `provider` or `standin`.
    pub const TENDRIL_VINE_TEMPLATES: &str = "TENDRIL_VINE_TEMPLATES";
    /// The helm executable.
    pub const TENDRIL_HELM_BIN: &str = "TENDRIL_HELM_BIN";
    /// Where the ArgoCD chart comes from.
    pub const TENDRIL_ARGOCD_CHART: &str = "TENDRIL_ARGOCD_CHART";
    /// The ArgoCD chart's version.
    pub const TENDRIL_ARGOCD_CHART_VERSION: &str = "TENDRIL_ARGOCD_CHART_VERSION";
    /// The bound of ArgoCD's install.
    pub const TENDRIL_ARGOCD_WAIT: &str = "TENDRIL_ARGOCD_WAIT";
    /// The bound of the Applications' wait (and deletion).
    pub const TENDRIL_APPLICATIONS_WAIT: &str = "TENDRIL_APPLICATIONS_WAIT";
    /// The API server stand-in vines stand for.
    pub const TENDRIL_STANDIN_CLUSTER_ENDPOINT: &str = "TENDRIL_STANDIN_CLUSTER_ENDPOINT";
    /// The CA of that API server.
    pub const TENDRIL_STANDIN_CLUSTER_CA_FILE: &str = "TENDRIL_STANDIN_CLUSTER_CA_FILE";
    /// A file with a token of that API server.
    pub const TENDRIL_STANDIN_CLUSTER_TOKEN_FILE: &str = "TENDRIL_STANDIN_CLUSTER_TOKEN_FILE";
    /// Re-assume a job's cloud identity this long before its credentials expire.
    pub const TENDRIL_CREDENTIALS_REFRESH_MARGIN: &str = "TENDRIL_CREDENTIALS_REFRESH_MARGIN";
    /// Never re-assume a job's cloud identity more often than this.
    pub const TENDRIL_CREDENTIALS_REFRESH_MIN_INTERVAL: &str =
        "TENDRIL_CREDENTIALS_REFRESH_MIN_INTERVAL";
    /// Enables the worker jobs (DEPLOY/UPDATE/DESTROY_WORKER).
    pub const TENDRIL_ENABLE_WORKER_JOBS: &str = "TENDRIL_ENABLE_WORKER_JOBS";
    /// Endpoint override of the platform's AWS calls.
    pub const TENDRIL_PLATFORM_AWS_ENDPOINT: &str = "TENDRIL_PLATFORM_AWS_ENDPOINT";
    /// The Trellis URL deployed workers connect to.
    pub const TENDRIL_DEPLOYED_TRELLIS_URL: &str = "TENDRIL_DEPLOYED_TRELLIS_URL";
    /// The images the worker jobs may deploy.
    pub const TENDRIL_WORKER_IMAGE_ALLOW: &str = grape_provisioner::worker_policy::IMAGE_ALLOW_VAR;
    /// The Secrets Manager ARN prefix of `secret_refs`.
    pub const TENDRIL_WORKER_SECRET_PREFIX: &str =
        grape_provisioner::worker_policy::SECRET_PREFIX_VAR;
    /// The roles deployed workers may assume.
    pub const TENDRIL_WORKER_ASSUMABLE_ROLES: &str =
        grape_provisioner::worker_policy::ASSUMABLE_ROLES_VAR;
}

/// One documented environment variable.
#[derive(Debug, Clone, Copy)]
pub struct EnvVar {
    /// The variable's name.
    pub name: &'static str,
    /// The equivalent flag of `tendril start`; for a secret, the `--…-file PATH` flag naming
    /// a file that holds the value (a secret is never given on the command line).
    pub flag: &'static str,
    /// Its value is a secret: never printed, redacted from every job's log, read from the
    /// environment or a file only.
    pub secret: bool,
    /// Default value, if any.
    pub default: Option<&'static str>,
    /// What it means.
    pub meaning: &'static str,
}

const fn ev(
    name: &'static str,
    flag: &'static str,
    secret: bool,
    default: Option<&'static str>,
    meaning: &'static str,
) -> EnvVar {
    EnvVar {
        name,
        flag,
        secret,
        default,
        meaning,
    }
}

/// Every environment variable `tendril start` reads, in the order of `--help`.
pub const ENV_VARS: &[EnvVar] = &[
    ev(
        var::TRELLIS_URL,
        "--trellis-url",
        false,
        None,
        "Base URL of the Trellis instance (required)",
    ),
    ev(
        var::GRAPE_WORKER_ID,
        "--worker-id",
        false,
        None,
        "Worker id, assigned at registration",
    ),
    ev(
        var::GRAPE_WORKER_TOKEN,
        "--worker-token-file",
        true,
        None,
        "Worker token, for every API call",
    ),
    ev(
        var::GRAPE_WORKER_MODE,
        "--mode",
        false,
        Some("self-hosted"),
        "`cloud-hosted` or `self-hosted`",
    ),
    ev(
        var::SUPABASE_S3_ENDPOINT,
        "--s3-endpoint",
        false,
        None,
        "S3 endpoint of the Terraform state (unset: AWS S3)",
    ),
    ev(
        var::SUPABASE_S3_REGION,
        "--s3-region",
        false,
        None,
        "S3 region of the Terraform state",
    ),
    ev(
        var::SUPABASE_STORAGE_KEY_ID,
        "--s3-key-id-file",
        true,
        None,
        "S3 access key id",
    ),
    ev(
        var::SUPABASE_STORAGE_SECRET_KEY,
        "--s3-secret-key-file",
        true,
        None,
        "S3 secret key",
    ),
    ev(
        var::SUPABASE_S3_BUCKET,
        "--s3-bucket",
        false,
        Some("terraform-state"),
        "S3 bucket of the Terraform state",
    ),
    ev(
        var::INFRACOST_API_KEY,
        "--infracost-api-key-file",
        true,
        None,
        "Infracost API key (optional, cost estimates)",
    ),
    ev(
        var::TRELLIS_ADMIN_TOKEN,
        "--admin-token-file",
        true,
        None,
        "Admin token for `--register` and the worker jobs",
    ),
    ev(
        var::TENDRIL_POLL_INTERVAL,
        "--poll-interval",
        false,
        Some("10s"),
        "Claim poll interval (without long-poll)",
    ),
    ev(
        var::TENDRIL_HEARTBEAT_INTERVAL,
        "--heartbeat-interval",
        false,
        Some("30s"),
        "Heartbeat interval",
    ),
    ev(
        var::TENDRIL_GRACE_PERIOD,
        "--grace-period",
        false,
        Some("10m"),
        "On SIGTERM/SIGINT: how long the running job may finish",
    ),
    ev(
        var::TENDRIL_LOG_FINISH_TIMEOUT,
        "--log-finish-timeout",
        false,
        Some("10m"),
        "At a job's end: how long its log may take to reach Trellis before the status is reported anyway",
    ),
    ev(
        var::TENDRIL_CLAIM_WAIT,
        "--claim-wait",
        false,
        Some("20s"),
        "Long-poll wait of one claim (0s-30s; 0s: plain polling)",
    ),
    ev(
        var::TENDRIL_INTERRUPT_GRACE,
        "--interrupt-grace",
        false,
        Some("30s"),
        "A cancelled child gets SIGINT, then SIGKILL after this",
    ),
    ev(
        var::TENDRIL_STATE_DIR,
        "--state-dir",
        false,
        Some("$XDG_STATE_HOME/tendril or ~/.local/state/tendril"),
        "Outbox and credentials",
    ),
    ev(
        var::TENDRIL_WORK_DIR,
        "--work-dir",
        false,
        Some("STATE_DIR/work"),
        "Job workspaces",
    ),
    ev(
        var::TENDRIL_ENABLE_EXEC,
        "--enable-exec",
        false,
        Some("false"),
        "Offer the EXEC job type (runs any command)",
    ),
    ev(
        var::TENDRIL_LISTEN,
        "--listen",
        false,
        None,
        "ADDR:PORT serving /healthz and /metrics (/metrics with TENDRIL_METRICS_TOKEN only)",
    ),
    ev(
        var::TENDRIL_METRICS_LISTEN,
        "--metrics-listen",
        false,
        None,
        "ADDR:PORT serving /metrics (and /healthz) without a token: bind a private interface",
    ),
    ev(
        var::TENDRIL_METRICS_TOKEN,
        "--metrics-token-file",
        true,
        None,
        "Bearer token of /metrics on TENDRIL_LISTEN",
    ),
    ev(
        var::TENDRIL_LOG_FORMAT,
        "--log-format",
        false,
        Some("human"),
        "`human` or `json`",
    ),
    ev(
        var::TENDRIL_TERRAFORM_BIN,
        "--terraform-bin",
        false,
        Some("terraform on PATH"),
        "The terraform executable",
    ),
    ev(
        var::TENDRIL_AWS_ENDPOINT_URL,
        "--aws-endpoint-url",
        false,
        None,
        "Endpoint override of the AWS calls made for jobs (STS, discovery); tools get it as AWS_ENDPOINT_URL",
    ),
    ev(
        var::TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE,
        "--aws-web-identity-token-file",
        false,
        None,
        "Assume jobs' AWS identities with this OIDC token file (AssumeRoleWithWebIdentity) instead of the worker's credentials",
    ),
    ev(
        var::TENDRIL_GCP_STS_URL,
        "--gcp-sts-url",
        false,
        Some("https://sts.googleapis.com/v1/token"),
        "Google's STS token endpoint for GCP identities (http:// for loopback only)",
    ),
    ev(
        var::TENDRIL_GCP_IAM_CREDENTIALS_URL,
        "--gcp-iam-credentials-url",
        false,
        Some("https://iamcredentials.googleapis.com"),
        "The IAM Credentials API (service account impersonation; http:// for loopback only)",
    ),
    ev(
        var::TENDRIL_GCP_COMPUTE_URL,
        "--gcp-compute-url",
        false,
        Some("https://compute.googleapis.com"),
        "The Compute Engine API of GCP discovery (http:// for loopback only)",
    ),
    ev(
        var::TENDRIL_GCP_DNS_URL,
        "--gcp-dns-url",
        false,
        Some("https://dns.googleapis.com"),
        "The Cloud DNS API of GCP discovery (http:// for loopback only)",
    ),
    ev(
        var::TENDRIL_GCP_SUBJECT_TOKEN_FILE,
        "--gcp-subject-token-file",
        false,
        None,
        "The OIDC token file GCP identities with subject_token_source `file` exchange; unset: a GetCallerIdentity request signed with the worker's AWS credentials",
    ),
    ev(
        var::TENDRIL_AZURE_AUTHORITY_HOST,
        "--azure-authority-host",
        false,
        Some("https://login.microsoftonline.com"),
        "The Microsoft Entra ID authority host of Azure identities (http:// for loopback only)",
    ),
    ev(
        var::TENDRIL_AZURE_ARM_URL,
        "--azure-arm-url",
        false,
        Some("https://management.azure.com"),
        "The Azure Resource Manager base URL (http:// for loopback only)",
    ),
    ev(
        var::TENDRIL_AZURE_FEDERATED_TOKEN_FILE,
        "--azure-federated-token-file",
        false,
        None,
        "The federated token file Azure identities with assertion_source `file` present; unset: a web identity token of the worker's AWS identity (sts:GetWebIdentityToken)",
    ),
    ev(
        var::TENDRIL_GIT_CREDENTIALS,
        "--git-credentials",
        false,
        None,
        "0600 JSON file {\"https://host[:port]\": \"token\"}: git sources get the token of their exact origin",
    ),
    ev(
        var::TENDRIL_INFRACOST_BIN,
        "--infracost-bin",
        false,
        Some("infracost on PATH"),
        "The infracost executable (cost estimates of PLAN jobs, with INFRACOST_API_KEY)",
    ),
    ev(
        var::TENDRIL_VINE_TEMPLATES,
        "--vine-templates",
        false,
        Some("provider"),
        "Templates vines render with: provider (the clouds' own) or standin (terraform_data only: demos, tests)",
    ),
    ev(
        var::TENDRIL_HELM_BIN,
        "--helm-bin",
        false,
        Some("helm on PATH"),
        "The helm executable (Helm 4) that installs ArgoCD into a vine's cluster",
    ),
    ev(
        var::TENDRIL_ARGOCD_CHART,
        "--argocd-chart",
        false,
        Some("https://argoproj.github.io/argo-helm"),
        "The ArgoCD chart: a chart repository URL, an oci:// reference (chart argo-cd under it) or a chart directory",
    ),
    ev(
        var::TENDRIL_ARGOCD_CHART_VERSION,
        "--argocd-chart-version",
        false,
        Some("7.7.11"),
        "The ArgoCD chart's version (none for a chart directory)",
    ),
    ev(
        var::TENDRIL_ARGOCD_WAIT,
        "--argocd-wait",
        false,
        Some("10m"),
        "How long ArgoCD's install (helm --wait) may take",
    ),
    ev(
        var::TENDRIL_APPLICATIONS_WAIT,
        "--applications-wait",
        false,
        Some("15m"),
        "How long a vine's Applications may take to be Synced and Healthy, and to be deleted",
    ),
    ev(
        var::TENDRIL_STANDIN_CLUSTER_ENDPOINT,
        "--standin-cluster-endpoint",
        false,
        None,
        "With --vine-templates standin: the API server (https://) stand-in vines' cluster steps run against; unset: none",
    ),
    ev(
        var::TENDRIL_STANDIN_CLUSTER_CA_FILE,
        "--standin-cluster-ca-file",
        false,
        None,
        "The PEM file of the stand-in cluster's CA",
    ),
    ev(
        var::TENDRIL_STANDIN_CLUSTER_TOKEN_FILE,
        "--standin-cluster-token-file",
        false,
        None,
        "A file holding a bearer token of the stand-in cluster",
    ),
    ev(
        var::TENDRIL_CREDENTIALS_REFRESH_MARGIN,
        "--credentials-refresh-margin",
        false,
        Some("20m"),
        "Re-assume a job's identity this long before expiry (a tool started now keeps valid keys at least this long)",
    ),
    ev(
        var::TENDRIL_CREDENTIALS_REFRESH_MIN_INTERVAL,
        "--credentials-refresh-min-interval",
        false,
        Some("30s"),
        "Never re-assume a job's cloud identity more often than this",
    ),
    ev(
        var::TENDRIL_ENABLE_WORKER_JOBS,
        "--enable-worker-jobs",
        false,
        Some("false"),
        "Offer DEPLOY/UPDATE/DESTROY_WORKER (platform AWS credentials + admin token)",
    ),
    ev(
        var::TENDRIL_PLATFORM_AWS_ENDPOINT,
        "--platform-aws-endpoint",
        false,
        None,
        "Endpoint override of the worker jobs' AWS calls",
    ),
    ev(
        var::TENDRIL_DEPLOYED_TRELLIS_URL,
        "--deployed-trellis-url",
        false,
        Some("TRELLIS_URL"),
        "The Trellis URL deployed workers connect to",
    ),
    ev(
        var::TENDRIL_WORKER_IMAGE_ALLOW,
        "--worker-image-allow",
        false,
        None,
        "Images the worker jobs may deploy: registry/repository prefixes, comma-separated (unset: none)",
    ),
    ev(
        var::TENDRIL_WORKER_SECRET_PREFIX,
        "--worker-secret-prefix",
        false,
        None,
        "Secrets Manager ARN prefix (ending in /) of DEPLOY_WORKER's secret_refs (unset: none)",
    ),
    ev(
        var::TENDRIL_WORKER_ASSUMABLE_ROLES,
        "--worker-assumable-roles",
        false,
        Some(grape_provisioner::worker_policy::DEFAULT_ASSUMABLE_ROLES),
        "Role ARN patterns deployed workers may assume (with an external id only)",
    ),
];

/// The table of [`ENV_VARS`] as `--help` prints it.
pub fn env_help() -> String {
    let mut out = String::from(
        "Environment variables and their flags; a (secret) is read from its variable or from the\n\
         file PATH its --…-file flag names (less one trailing newline), never from the command line:\n",
    );
    for v in ENV_VARS {
        let default = v
            .default
            .map(|d| format!(" [default: {d}]"))
            .unwrap_or_default();
        let secret = if v.secret { " (secret)" } else { "" };
        let _ = writeln!(
            out,
            "  {:<28} {:<25} {}{}{}",
            v.name, v.flag, v.meaning, secret, default
        );
    }
    out.push_str(
        "\nWith --register NAME and no worker id/token, the worker registers itself, prints its new id\n\
         once and stores id and token in STATE_DIR/credentials.json (mode 0600); a restart with the\n\
         same state directory reuses them.\n",
    );
    out
}
