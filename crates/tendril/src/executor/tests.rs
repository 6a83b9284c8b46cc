//! The executor against a real Trellis: paths a worker's registry normally keeps away (a job
//! type it does not run, a handler that panics) and the workspace contract.

use std::os::unix::fs::PermissionsExt as _;

use async_trait::async_trait;
use grape_api::{HeartbeatRequest, JobType, SubmitJobRequest, WorkerStatus};
use grape_provisioner::JobHandler;
use grape_testkit::trellis::TrellisServer;
use serde_json::{Value, json};

use super::*;

struct Panics;

#[async_trait]
impl JobHandler for Panics {
    async fn run(&self, _ctx: &JobContext) -> Result<Option<Value>, JobError> {
        panic!("the handler exploded");
    }
}

/// Reports the mode of its workspace and echoes the worker's token in its result.
struct Inspects;

#[async_trait]
impl JobHandler for Inspects {
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError> {
        let mode = std::fs::metadata(&ctx.workspace)
            .map_err(|e| JobError::tool("stat", e))?
            .permissions()
            .mode();
        std::fs::write(ctx.workspace.join("scratch"), "x")
            .map_err(|e| JobError::tool("write", e))?;
        ctx.log.stdout(format!(
            "token {}",
            ctx.job.payload["token"].as_str().unwrap_or_default()
        ));
        Ok(Some(json!({
            "mode": format!("{:o}", mode & 0o777),
            "workspace": ctx.workspace,
            "echo": ctx.job.payload["token"],
        })))
    }
}

#[tokio::test]
async fn unknown_type_and_panic_fail_the_job_and_the_workspace_is_private() {
    let trellis = TrellisServer::start()
        .await
        .expect("trellis (cargo build -p trellis)");
    let (id, token) = trellis
        .register_worker("w-exec-test")
        .await
        .expect("register");
    let api = Arc::new(trellis.worker_client(id, token.clone()));
    // No `info`: Trellis offers this worker every job type.
    api.send_heartbeat(&HeartbeatRequest {
        status: WorkerStatus::Online,
        current_job_id: None,
        info: None,
    })
    .await
    .expect("heartbeat");
    let user = trellis.user_client();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut registry = HandlerRegistry::new();
    registry
        .register(JobType::Exec, Panics)
        .register(JobType::Destroy, Inspects);
    let state = Arc::new(WorkerState::new());
    let executor = Executor {
        api: api.clone(),
        registry,
        outbox: Outbox::open(&dir.path().join("state")).expect("outbox"),
        state: state.clone(),
        settings: Arc::new(ProvisionerSettings::default()),
        work_dir: dir.path().join("work"),
        secrets: vec![token.clone()],
        log_config: LogConfig::default(),
        retry: RetryPolicy::default(),
    };
    let run = async |job_type: JobType, payload: Value| {
        let submitted = user
            .submit_job(&SubmitJobRequest {
                job_type,
                payload,
                cloud_identity_id: None,
                team: None,
                labels: Vec::new(),
                secrets: grape_api::JobSecrets::new(),
            })
            .await
            .expect("submit");
        let claimed = api.claim(None).await.expect("claim").expect("a job");
        assert_eq!(claimed.job.id, submitted.id);
        executor.run(claimed).await;
        assert_eq!(state.current_job_id(), None);
        user.get_job(submitted.id).await.expect("job")
    };

    let unknown = Box::pin(run(JobType::Plan, json!({}))).await;
    assert_eq!(unknown.status, JobStatus::Failed);
    assert_eq!(
        unknown.error.as_deref(),
        Some("unknown job type PLAN: this worker runs DESTROY, EXEC")
    );

    let panicked = Box::pin(run(JobType::Exec, json!({}))).await;
    assert_eq!(panicked.status, JobStatus::Failed);
    assert_eq!(
        panicked.error.as_deref(),
        Some("the job handler panicked: the handler exploded")
    );

    let inspected = Box::pin(run(JobType::Destroy, json!({"token": token.expose()}))).await;
    assert_eq!(inspected.status, JobStatus::Success, "{inspected:?}");
    let result = inspected.result.expect("result");
    assert_eq!(result["mode"], "700");
    assert_eq!(
        result["echo"],
        grape_process::REDACTED,
        "results are redacted"
    );
    let workspace = std::path::PathBuf::from(result["workspace"].as_str().expect("path"));
    assert!(workspace.starts_with(dir.path().join("work")));
    assert!(
        !workspace.exists(),
        "the workspace is removed after the job"
    );
    let logs = user.get_logs(inspected.id, None).await.expect("logs");
    let texts: Vec<&str> = logs.lines.iter().map(|l| l.text.as_str()).collect();
    assert!(texts.contains(&"token [REDACTED]"), "{texts:?}");
    assert!(!texts.iter().any(|t| t.contains(token.expose())));
    assert!(
        executor.outbox.pending_jobs().expect("pending").is_empty(),
        "the outbox is clear"
    );
}
