//! Running jobs in this process, without Trellis: what `grape plan --local` and the tests use.
//!
//! The worker runtime (`tendril`) does the same around a claimed job, plus status reporting and
//! log delivery; here the caller gets the handler's result directly.

use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use grape_api::discovery::DiscoveryError;
use grape_api::{
    CloudFailure, CloudFailureKind, CloudProvider, CloudSession, Discovery, Job, JobSecrets,
    JobStatus, JobType, VerifiedIdentity,
};
use grape_process::Redactor;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    JobContext, JobError, JobHandler, JobLog, JobServices, ProvisionerSettings, ServiceError,
};

/// A job that exists only in this process (no Trellis), with a fresh id.
pub fn local_job(job_type: JobType, payload: Value) -> Job {
    let now = Utc::now();
    Job {
        id: Uuid::new_v4(),
        job_type,
        status: JobStatus::Running,
        team: grape_api::DEFAULT_TEAM.to_owned(),
        labels: Vec::new(),
        secret_names: Vec::new(),
        payload,
        cloud_identity_id: None,
        identity: None,
        worker_id: None,
        error: None,
        result: None,
        retry_of: None,
        cancel_requested: false,
        created_at: now,
        claimed_at: None,
        started_at: Some(now),
        finished_at: None,
        updated_at: now,
    }
}

/// Plan artifacts kept as `<dir>/<job id>.json` files.
#[derive(Debug, Clone)]
pub struct FileArtifacts {
    dir: PathBuf,
}

impl FileArtifacts {
    /// Artifacts in `dir` (created on first upload).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn path(&self, job_id: Uuid) -> PathBuf {
        self.dir.join(format!("{job_id}.json"))
    }
}

#[async_trait]
impl JobServices for FileArtifacts {
    /// Writes the artifact readable by this user only (a saved plan holds secrets), in a
    /// directory of mode 0700, atomically (a temporary file renamed into place).
    async fn upload_plan_artifact(
        &self,
        job_id: Uuid,
        artifact: &Value,
    ) -> Result<(), ServiceError> {
        let bytes = serde_json::to_vec(artifact).map_err(|e| ServiceError(e.to_string()))?;
        let (dir, path) = (self.dir.clone(), self.path(job_id));
        tokio::task::spawn_blocking(move || write_private(&dir, &path, &bytes))
            .await
            .map_err(|e| ServiceError(e.to_string()))?
            .map_err(|e| {
                ServiceError(format!(
                    "storing the plan artifact in {}: {e}",
                    self.dir.display()
                ))
            })
    }

    async fn download_plan_artifact(&self, job_id: Uuid) -> Result<Option<Value>, ServiceError> {
        match tokio::fs::read(self.path(job_id)).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                ServiceError(format!("plan artifact of job {job_id} is unreadable: {e}"))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ServiceError(format!(
                "reading the plan artifact of job {job_id}: {e}"
            ))),
        }
    }
}

fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let tmp = path.with_extension(format!("tmp-{}", Uuid::new_v4()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Plain environment variables as a cloud session (e.g. a laptop's own AWS profile for
/// `grape --local`): handed to tools as they are, never renewed; it cannot verify or discover
/// (those need a cloud identity, through a worker).
#[derive(Debug, Clone, Default)]
pub struct StaticCloudEnv(pub BTreeMap<String, String>);

#[async_trait]
impl CloudSession for StaticCloudEnv {
    fn provider(&self) -> CloudProvider {
        CloudProvider::Unknown("local".to_owned())
    }

    fn tool_env(&self, _workspace: &Path) -> Vec<(String, String)> {
        self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn expires_at(&self) -> Option<chrono::DateTime<Utc>> {
        None
    }

    fn renewals(&self) -> u64 {
        0
    }

    async fn verify(&self) -> Result<VerifiedIdentity, CloudFailure> {
        Err(Self::unsupported())
    }

    async fn discover(&self) -> Discovery {
        let mut doc = Discovery::new(self.provider(), None, Vec::new());
        let e = Self::unsupported();
        doc.errors.push(DiscoveryError {
            service: "local".into(),
            operation: "discover".into(),
            region: None,
            kind: e.code,
            message: e.message,
        });
        doc
    }

    fn discovery_scope(&self) -> Vec<String> {
        Vec::new()
    }
}

impl StaticCloudEnv {
    fn unsupported() -> CloudFailure {
        CloudFailure::new(
            CloudFailureKind::Unsupported,
            "UNSUPPORTED",
            "a local run uses this machine's own credentials: verify and discover a cloud \
             identity through a worker (`grape identities test ID`)",
        )
    }
}

/// Runs handlers in this process, each job in a private workspace under `work_dir`.
#[derive(Clone)]
pub struct LocalRunner {
    /// Tools and state backend.
    pub settings: Arc<ProvisionerSettings>,
    /// Where plan artifacts go.
    pub services: Arc<dyn JobServices>,
    /// Parent of the per-job workspaces.
    pub work_dir: PathBuf,
    /// Cloud credentials handed to every job, if any.
    pub cloud: Option<Arc<dyn CloudSession>>,
}

impl std::fmt::Debug for LocalRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRunner")
            .field("work_dir", &self.work_dir)
            .finish_non_exhaustive()
    }
}

impl LocalRunner {
    /// Runs `job` with `handler`: assumes its cloud identity (unless [`LocalRunner::cloud`] is
    /// set), creates its workspace (mode 0700), runs, removes the workspace.
    pub async fn run(
        &self,
        handler: &dyn JobHandler,
        job: Job,
        log: JobLog,
        redactor: Redactor,
        cancel: CancellationToken,
    ) -> Result<Option<Value>, JobError> {
        self.run_with_secrets(handler, job, JobSecrets::new(), log, redactor, cancel)
            .await
    }

    /// [`LocalRunner::run`] of a job with `secrets` (each value registered with `redactor`
    /// before anything runs; the job lists their names).
    pub async fn run_with_secrets(
        &self,
        handler: &dyn JobHandler,
        mut job: Job,
        secrets: JobSecrets,
        log: JobLog,
        redactor: Redactor,
        cancel: CancellationToken,
    ) -> Result<Option<Value>, JobError> {
        for value in secrets.values() {
            redactor.add(value.expose());
        }
        job.secret_names = secrets.keys().cloned().collect();
        let cloud = match &self.cloud {
            Some(cloud) => Some(cloud.clone()),
            None => crate::cloud::open_session(&job, &self.settings, &redactor, &log).await?,
        };
        let workspace = create_workspace(&self.work_dir, job.id)?;
        let ctx = JobContext {
            job,
            log,
            cancel,
            workspace: workspace.clone(),
            redactor,
            secrets,
            services: self.services.clone(),
            settings: self.settings.clone(),
            cloud,
        };
        let result = handler.run(&ctx).await;
        if let Err(e) = tokio::fs::remove_dir_all(&workspace).await {
            tracing::warn!(workspace = %workspace.display(), error = %e, "could not remove the job workspace");
        }
        result
    }
}

/// Creates `<parent>/<job id>` readable by this user only.
pub fn create_workspace(parent: &Path, job_id: Uuid) -> Result<PathBuf, JobError> {
    let fail =
        |p: &Path, e| JobError::tool(format!("creating the job workspace {}", p.display()), e);
    std::fs::create_dir_all(parent).map_err(|e| fail(parent, e))?;
    let dir = parent.join(job_id.to_string());
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| fail(&dir, e))?;
    Ok(dir)
}
