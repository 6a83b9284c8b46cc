//! Shared helpers of the `logs_*` tests: a real trellis server (the binary built from this
//! workspace) that can be killed and restarted on the same database and port, and a worker
//! holding a RUNNING job, to stream logs for.
#![allow(dead_code, clippy::missing_panics_doc)]

use grape_api::{
    AdminClient, ClientOptions, HeartbeatRequest, JobStatus, JobType, LogLine, RegisterRequest,
    RetryPolicy, Secret, StatusUpdate, SubmitJobRequest, UserApiClient, WorkerApiClient,
    WorkerInfo, WorkerMode, WorkerStatus,
};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const ADMIN_TOKEN: &str = "logs-test-admin-token";
const API_TOKEN: &str = "logs-test-api-token";

/// The trellis binary of this workspace (built by `cargo build -p trellis`).
pub fn trellis_bin() -> PathBuf {
    let bin = grape_testkit::workspace_root().join("target/debug/trellis");
    assert!(bin.exists(), "{} is missing: run `cargo build -p trellis` first", bin.display());
    bin
}

/// A real trellis server on SQLite, killed on drop.
pub struct Trellis {
    child: Option<Child>,
    port: u16,
    db_url: String,
    _dir: tempfile::TempDir,
}

impl Trellis {
    /// Starts a server on a free port with a fresh SQLite database.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", dir.path().join("trellis.db").display());
        let port = grape_testkit::free_port().unwrap();
        let mut t = Trellis { child: None, port, db_url, _dir: dir };
        t.spawn().await;
        t
    }

    async fn spawn(&mut self) {
        #[allow(clippy::disallowed_methods)] // a test peer, not product code
        let child = std::process::Command::new(trellis_bin())
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port), "--database-url", &self.db_url])
            .env("TRELLIS_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("TRELLIS_API_TOKEN", API_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        self.child = Some(child);
        grape_testkit::wait_for_http(&format!("{}/healthz", self.url()), Duration::from_secs(30))
            .await
            .unwrap();
    }

    /// Base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and database.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    /// A user client.
    pub fn user(&self) -> UserApiClient {
        UserApiClient::new(&self.url(), Secret::new(API_TOKEN)).unwrap()
    }

    /// Registers a worker and announces it can run EXEC jobs.
    pub async fn worker(&self) -> Arc<WorkerApiClient> {
        let admin = AdminClient::new(&self.url(), Secret::new(ADMIN_TOKEN), ClientOptions::default()).unwrap();
        let reg = admin
            .register_worker(&RegisterRequest {
                name: format!("logs-test-{}", Uuid::new_v4()),
                mode: WorkerMode::SelfHosted,
                labels: Default::default(),
            })
            .await
            .unwrap();
        let api = WorkerApiClient::new(&self.url(), reg.worker_id, reg.worker_token, fast_options()).unwrap();
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
            })
            .await
            .unwrap();
        let claimed = api.claim_job(None).await.unwrap().expect("a job to claim");
        assert_eq!(claimed.id, job.id);
        api.update_job_status(job.id, &StatusUpdate::running()).await.unwrap();
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

impl Drop for Trellis {
    fn drop(&mut self) {
        self.kill();
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
