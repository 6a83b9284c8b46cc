//! Shared helpers of the `logs_*` tests: the real trellis server (grape-testkit, which can kill
//! it and start it again on the same database and port) and a worker holding a RUNNING job, to
//! stream logs for. Needs `cargo build -p trellis` first.
#![allow(dead_code, clippy::missing_panics_doc)]

use grape_api::{
    ClientOptions, HeartbeatRequest, JobStatus, JobType, LogLine, RetryPolicy, StatusUpdate,
    SubmitJobRequest, UserApiClient, WorkerApiClient, WorkerInfo, WorkerMode, WorkerStatus,
};
use grape_process::Redactor;
use grape_testkit::trellis::TrellisServer;
use std::sync::Arc;
use std::time::Duration;
use tendril::logs::{self, LogConfig, LogPipeline};
use tendril::outbox::Outbox;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A real trellis server (SQLite, test timings), killed on drop.
pub struct Trellis {
    server: TrellisServer,
}

impl Trellis {
    /// Starts a server on a free port with a fresh SQLite database.
    pub async fn start() -> Self {
        Trellis {
            server: TrellisServer::start().await.unwrap(),
        }
    }

    /// Base URL.
    pub fn url(&self) -> String {
        self.server.url().to_owned()
    }

    /// Kills the server (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        self.server.kill();
    }

    /// Starts the killed server again on the same port and database.
    pub async fn restart(&mut self) {
        self.server.start_again().await.unwrap();
    }

    /// A user client.
    pub fn user(&self) -> UserApiClient {
        self.server.user_client()
    }

    /// Registers a worker and announces it can run EXEC jobs.
    pub async fn worker(&self) -> Arc<WorkerApiClient> {
        let (id, token) = self
            .server
            .register_worker(&format!("logs-test-{}", Uuid::new_v4()))
            .await
            .unwrap();
        let api = WorkerApiClient::new(&self.url(), id, token, fast_options()).unwrap();
        api.send_heartbeat(&HeartbeatRequest {
            status: WorkerStatus::Online,
            current_job_id: None,
            info: Some(WorkerInfo {
                version: "test".into(),
                hostname: "localhost".into(),
                mode: WorkerMode::SelfHosted,
                job_types: vec![JobType::Exec],
            }),
        })
        .await
        .unwrap();
        Arc::new(api)
    }

    /// A RUNNING job (see [`Self::running_job`]) with a fresh outbox that knows it started.
    pub async fn streamed_job(&self) -> StreamedJob {
        let (api, job_id) = self.running_job().await;
        let state = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(state.path()).unwrap();
        outbox.job_started(job_id).unwrap();
        StreamedJob {
            api,
            job_id,
            outbox,
            _state: state,
        }
    }

    /// Submits an EXEC job, has a new worker claim it and mark it RUNNING.
    pub async fn running_job(&self) -> (Arc<WorkerApiClient>, Uuid) {
        let api = self.worker().await;
        let id = self.running_job_for(&api).await;
        (api, id)
    }

    /// Submits an EXEC job, has `api`'s worker claim it and mark it RUNNING.
    pub async fn running_job_for(&self, api: &WorkerApiClient) -> Uuid {
        let job = self
            .user()
            .submit_job(&SubmitJobRequest {
                job_type: JobType::Exec,
                payload: serde_json::json!({"argv": ["true"]}),
                cloud_identity_id: None,
                team: None,
                labels: Vec::new(),
                secrets: grape_api::JobSecrets::new(),
            })
            .await
            .unwrap();
        let claimed = api.claim_job(None).await.unwrap().expect("a job to claim");
        assert_eq!(claimed.id, job.id);
        api.update_job_status(job.id, &StatusUpdate::running())
            .await
            .unwrap();
        job.id
    }

    /// Every stored line of a job, through the user API.
    pub async fn logs(&self, job_id: Uuid) -> Vec<LogLine> {
        let user = self.user();
        let mut out: Vec<LogLine> = Vec::new();
        loop {
            let after = out.last().map(|l| l.seq);
            let page = user.get_logs(job_id, after).await.unwrap();
            if page.lines.is_empty() {
                return out;
            }
            out.extend(page.lines);
        }
    }

    /// The job's status.
    pub async fn status(&self, job_id: Uuid) -> (JobStatus, Option<String>) {
        let job = self.user().get_job(job_id).await.unwrap();
        (job.status, job.error)
    }
}

/// Client options for tests: short timeouts and no retry inside the client (the pipeline
/// retries on its own).
pub fn fast_options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(1),
        retry: RetryPolicy::none(),
        ..ClientOptions::default()
    }
}

/// A log configuration with test timings.
pub fn fast_config() -> tendril::logs::LogConfig {
    tendril::logs::LogConfig {
        flush_interval: Duration::from_millis(50),
        retry_initial_backoff: Duration::from_millis(50),
        retry_max_backoff: Duration::from_millis(300),
        ..tendril::logs::LogConfig::default()
    }
}

/// Asserts that `lines` are exactly seq 1..=n with the texts `expected`.
pub fn assert_exactly_once(lines: &[LogLine], expected: &[String]) {
    assert_eq!(lines.len(), expected.len(), "line count");
    for (i, (line, text)) in lines.iter().zip(expected).enumerate() {
        assert_eq!(line.seq, i as u64 + 1, "seq of line {i}");
        assert_eq!(&line.text, text, "text of line {}", line.seq);
    }
}

/// A RUNNING job, its worker's client and an outbox (in a temporary state directory).
pub struct StreamedJob {
    /// The worker's client.
    pub api: Arc<WorkerApiClient>,
    /// The job.
    pub job_id: Uuid,
    /// The worker's outbox.
    pub outbox: Outbox,
    _state: tempfile::TempDir,
}

impl StreamedJob {
    /// Starts the job's log pipeline.
    pub fn pipeline(
        &self,
        redactor: Redactor,
        config: LogConfig,
        cancel: CancellationToken,
    ) -> LogPipeline {
        logs::start(
            self.job_id,
            self.api.clone(),
            redactor,
            &self.outbox,
            config,
            cancel,
        )
    }
}
