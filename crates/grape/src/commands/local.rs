//! `--local`: the Terraform jobs run on this machine with the same provisioning code a Tendril
//! uses (`grape_provisioner`), without Trellis. Plan artifacts are kept in
//! `$XDG_STATE_HOME/grape/plans` (else `~/.local/state/grape/plans`) so that
//! `grape apply --local ID` finds the plan `grape plan --local` made.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use grape_api::{Job, JobStatus, JobType, LogStream, Secret};
use grape_process::Redactor;
use grape_provisioner::handlers::{ApplyHandler, BootstrapHandler, DestroyHandler, PlanHandler};
use grape_provisioner::local::{FileArtifacts, LocalRunner, StaticCloudEnv, local_job};
use grape_provisioner::vine::StateBackend;
use grape_provisioner::{
    ClusterSettings, DirectCluster, GitCredentials, InfracostSettings, JobError, JobHandler,
    JobLog, ProvisionerSettings, StateBackendSettings, VineTemplates,
};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::error::{CliError, CliResult};
use crate::output::Printer;

/// Runs a PLAN, APPLY or DESTROY job here and returns it as a finished job. A vine's job names
/// the vine's `cloud_identity_id`; a local run assumes nothing (this machine's own credentials).
pub async fn run(
    printer: &Printer,
    job_type: JobType,
    payload: Value,
    cloud_identity_id: Option<uuid::Uuid>,
    secrets: grape_api::JobSecrets,
) -> CliResult<Job> {
    run_on(printer, job_type, payload, cloud_identity_id, secrets, None).await
}

/// [`run`], with the cluster steps going to `local_cluster` (the user's kubeconfig) when given.
pub async fn run_on(
    printer: &Printer,
    job_type: JobType,
    payload: Value,
    cloud_identity_id: Option<uuid::Uuid>,
    secrets: grape_api::JobSecrets,
    local_cluster: Option<DirectCluster>,
) -> CliResult<Job> {
    let handler: &dyn JobHandler = match job_type {
        JobType::Plan => &PlanHandler,
        JobType::Apply => &ApplyHandler,
        JobType::Destroy => &DestroyHandler,
        JobType::Bootstrap => &BootstrapHandler,
        other => {
            return Err(
                CliError::usage(format!("{other} jobs cannot run with --local."))
                    .hint("leave out --local to run it on a worker"),
            );
        }
    };
    let state = state_dir()?;
    let redactor = Redactor::new();
    let mut settings = settings(&redactor)?;
    if let Some(cluster) = local_cluster {
        redactor.add(cluster.token.expose());
        settings.cluster.local_cluster = Some(cluster);
    }
    let runner = LocalRunner {
        settings: Arc::new(settings),
        services: Arc::new(FileArtifacts::new(state.join("plans"))),
        work_dir: std::env::temp_dir().join("grape-local"),
        // A local run assumes no identity: its tools use this machine's own cloud credentials.
        cloud: Some(Arc::new(machine_cloud_env(&redactor))),
    };
    let mut job = local_job(job_type, payload);
    job.cloud_identity_id = cloud_identity_id;
    job.secret_names = secrets.keys().cloned().collect();
    printer.note(format!(
        "running {} job {} on this machine",
        job.job_type, job.id
    ));
    let color = printer.color_out;
    // With `--output json` stdout carries only the finished job: the log goes to stderr.
    let json = printer.json();
    let log = JobLog::new(Arc::new(
        move |stream: LogStream, text: &str| match stream {
            _ if json => eprintln!("{text}"),
            LogStream::System if color => println!("\x1b[2m{text}\x1b[0m"),
            LogStream::Stderr => eprintln!("{text}"),
            _ => println!("{text}"),
        },
    ));
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    let outcome = runner
        .run_with_secrets(handler, job.clone(), secrets, log, redactor.clone(), cancel)
        .await;
    watcher.abort();
    match outcome {
        Ok(mut result) => {
            job.status = JobStatus::Success;
            // As a worker does: no secret (a job's own, a tool's) in the printed result.
            if let Some(result) = &mut result {
                redactor.redact_json(result);
            }
            job.result = result;
        }
        Err(JobError::Cancelled) => job.status = JobStatus::Cancelled,
        Err(e) => {
            job.status = JobStatus::Failed;
            job.error = Some(redactor.redact(&e.to_string()).into_owned());
        }
    }
    if printer.json() {
        printer.print_json(&job)?;
    }
    Ok(job)
}

/// Settings from this machine's environment: `SUPABASE_S3_*` for state, `GRAPE_TERRAFORM_BIN`
/// (else `terraform` on PATH), `GRAPE_GIT_CREDENTIALS` (git tokens by origin, the format of a
/// worker's `TENDRIL_GIT_CREDENTIALS`), `INFRACOST_API_KEY` and `GRAPE_INFRACOST_BIN` (else
/// `infracost` on PATH) for cost estimates.
fn settings(redactor: &Redactor) -> CliResult<ProvisionerSettings> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let state_backend = match (
        var("SUPABASE_STORAGE_KEY_ID"),
        var("SUPABASE_STORAGE_SECRET_KEY"),
    ) {
        (Some(id), Some(secret)) => {
            redactor.add(&id);
            redactor.add(&secret);
            let at = state_location();
            Some(StateBackendSettings {
                endpoint: at.endpoint,
                region: at.region,
                bucket: at.bucket,
                access_key_id: Secret::new(id),
                secret_access_key: Secret::new(secret),
            })
        }
        _ => None,
    };
    let git_credentials = match var(GIT_CREDENTIALS) {
        Some(path) => GitCredentials::load(Path::new(&path)).map_err(|e| {
            CliError::usage(format!("{GIT_CREDENTIALS}: {e}")).hint(
                "a JSON file {\"https://host[:port]\": \"token\"} only you may read (chmod 600)",
            )
        })?,
        None => GitCredentials::new(),
    };
    git_credentials.register(redactor);
    let infracost_key = var("INFRACOST_API_KEY");
    if let Some(key) = &infracost_key {
        redactor.add(key);
    }
    Ok(ProvisionerSettings {
        terraform_bin: var("GRAPE_TERRAFORM_BIN").map(PathBuf::from),
        state_backend,
        git_credentials,
        vine_templates: vine_templates()?,
        cluster: cluster_settings(),
        infracost: InfracostSettings {
            bin: var("GRAPE_INFRACOST_BIN").map(PathBuf::from),
            api_key: infracost_key.map(Secret::new),
            ..InfracostSettings::default()
        },
        ..ProvisionerSettings::default()
    })
}

/// The cluster steps of a local vine APPLY/DESTROY: `GRAPE_HELM_BIN` (default `helm` on
/// PATH), `GRAPE_ARGOCD_CHART` (a chart repository URL, an `oci://` reference or a chart
/// directory) and `GRAPE_ARGOCD_CHART_VERSION`, like a worker's `TENDRIL_*` ones. The
/// machine's own git tokens are the user's: they may become ArgoCD's repository credential.
fn cluster_settings() -> ClusterSettings {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut settings = ClusterSettings {
        helm_bin: var("GRAPE_HELM_BIN").map(PathBuf::from),
        ..ClusterSettings::default()
    };
    if let Some(chart) = var("GRAPE_ARGOCD_CHART") {
        if !chart.contains("://") {
            settings.argocd_chart.version = None;
        }
        settings.argocd_chart.repository = chart;
    }
    if let Some(version) = var("GRAPE_ARGOCD_CHART_VERSION") {
        settings.argocd_chart.version = Some(version);
    }
    settings
}

/// Where this machine keeps Terraform state (no keys): `SUPABASE_S3_BUCKET` (default
/// `terraform-state`), `SUPABASE_S3_REGION` (default `us-east-1`), `SUPABASE_S3_ENDPOINT`.
pub fn state_location() -> StateBackend {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    StateBackend {
        bucket: var("SUPABASE_S3_BUCKET").unwrap_or_else(|| "terraform-state".into()),
        region: var("SUPABASE_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
        endpoint: var("SUPABASE_S3_ENDPOINT"),
    }
}

/// The cloud variables of this machine that a local run's tools get (AWS profile or keys,
/// region, endpoint); the secret ones are registered with the redactor.
fn machine_cloud_env(redactor: &Redactor) -> StaticCloudEnv {
    let mut env = std::collections::BTreeMap::new();
    for name in MACHINE_CLOUD_VARS {
        if let Some(value) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
            if grape_process::is_secret_env_name(name) {
                redactor.add(&value);
            }
            env.insert((*name).to_owned(), value);
        }
    }
    StaticCloudEnv(env)
}

/// The variables of [`machine_cloud_env`].
const MACHINE_CLOUD_VARS: &[&str] = &[
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
];

/// `GRAPE_VINE_TEMPLATES`: `provider` (default) or `standin`, like a worker's
/// `TENDRIL_VINE_TEMPLATES`.
pub fn vine_templates() -> CliResult<VineTemplates> {
    match std::env::var(VINE_TEMPLATES).ok().filter(|v| !v.is_empty()) {
        None => Ok(VineTemplates::Provider),
        Some(v) => VineTemplates::parse(&v).ok_or_else(|| {
            CliError::usage(format!(
                "{VINE_TEMPLATES} is `{v}`, not `provider` or `standin`."
            ))
            .hint("unset it to use the providers' own templates")
        }),
    }
}

/// The variable choosing the templates of `--local` vine runs and `grape vine render`.
const VINE_TEMPLATES: &str = "GRAPE_VINE_TEMPLATES";

/// The variable naming the git credentials file of `--local` runs.
const GIT_CREDENTIALS: &str = "GRAPE_GIT_CREDENTIALS";

fn state_dir() -> CliResult<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir).join("grape"));
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".local/state/grape"))
        .ok_or_else(|| {
            CliError::usage(
                "cannot find a state directory: neither XDG_STATE_HOME nor HOME is set.",
            )
            .hint("set XDG_STATE_HOME")
        })
}

/// The exit of a job run here: like `follow::outcome`, with a hint that fits a local run.
pub fn outcome(job: &Job) -> CliResult<()> {
    match job.status {
        JobStatus::Success => Ok(()),
        ref s => {
            let why = job
                .error
                .as_deref()
                .map(|e| format!(": {}", e.trim()))
                .unwrap_or_default();
            Err(CliError::failed(super::follow::sentence(format!(
                "local {} job {} ended {s}{why}",
                job.job_type, job.id
            )))
            .hint("the log above shows each step; fix the cause and run the command again"))
        }
    }
}
