//! Everything a handler gets to run one job.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use grape_api::{CloudSession, Job, JobSecrets};
use grape_process::Redactor;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{JobLog, ProvisionerSettings};

// Every value Trellis accepts as a job secret is long enough for the redactor to mask it.
const _: () = assert!(grape_api::job_secrets::MIN_SECRET_BYTES >= grape_process::MIN_SECRET_LEN);

/// An error from the services of the runtime (for a worker: a Trellis call that failed).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServiceError(pub String);

/// What the runtime does for a handler beyond logging: plan artifacts. A worker implements it
/// over the Trellis worker API; the CLI implements it on local files.
#[async_trait]
pub trait JobServices: Send + Sync {
    /// Stores `artifact` as the plan artifact of job `job_id`.
    async fn upload_plan_artifact(
        &self,
        job_id: Uuid,
        artifact: &Value,
    ) -> Result<(), ServiceError>;
    /// The plan artifact of job `job_id`, `None` when it has none.
    async fn download_plan_artifact(&self, job_id: Uuid) -> Result<Option<Value>, ServiceError>;
}

/// The job being run and the means to run it.
pub struct JobContext {
    /// The claimed job: id, type, payload, identity.
    pub job: Job,
    /// Its log.
    pub log: JobLog,
    /// Fires when the job must stop (user cancel, drain deadline, shutdown).
    pub cancel: CancellationToken,
    /// A private directory (mode 0700) for this job alone, removed after it.
    pub workspace: PathBuf,
    /// Every secret of this job; handlers add the secrets they learn.
    pub redactor: Redactor,
    /// The job's own secrets (the `secrets` of its submission, from the claim answer), every
    /// value already in [`JobContext::redactor`]. Terraform jobs get each as `TF_VAR_<name>`.
    pub secrets: JobSecrets,
    /// Plan artifacts and other runtime services.
    pub services: Arc<dyn JobServices>,
    /// Tools and the state backend.
    pub settings: Arc<ProvisionerSettings>,
    /// The session of the job's cloud identity, when it has one: tools get its
    /// [`CloudSession::tool_env`] at every start.
    pub cloud: Option<Arc<dyn CloudSession>>,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("job_id", &self.job.id)
            .field("job_type", &self.job.job_type)
            .field("workspace", &self.workspace)
            .field("secret_names", &self.secrets.keys().collect::<Vec<_>>())
            .field("has_cloud_credentials", &self.cloud.is_some())
            .finish_non_exhaustive()
    }
}

impl JobContext {
    /// A `grape_process::Command` set up for this job: runs in the workspace, with the inherited
    /// variables of the settings, the cloud credentials, the interrupt grace and the redactor.
    pub fn command(&self, program: impl Into<std::ffi::OsString>) -> grape_process::Command {
        let mut cmd = grape_process::Command::new(program, self.workspace.clone())
            .inherit_env(&self.settings.inherited_env_names())
            .env("HOME", self.workspace.as_os_str())
            .envs(self.settings.env.iter().cloned())
            .grace(self.settings.interrupt_grace)
            .redactor(self.redactor.clone());
        if let Some(cloud) = &self.cloud {
            cmd = cmd.envs(cloud.tool_env(&self.workspace));
        }
        cmd
    }
}
