//! Shared helpers: a real trellis server per test, on SQLite or PostgreSQL.

use grape_api::{
    HeartbeatRequest, JobStatus, JobType, Secret, WorkerApiClient, WorkerInfo, WorkerMode,
    WorkerStatus,
};
use grape_testkit::PgDatabase;
use grape_testkit::trellis::{TrellisBuilder, TrellisServer};
use std::time::Duration;
use uuid::Uuid;

/// Which database the server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server and its database.
pub struct Env {
    pub server: TrellisServer,
    pub _pg: Option<PgDatabase>,
}

/// Starts a server on `backend` with the builder tweaked by `f`.
pub async fn start_with(backend: Backend, f: impl FnOnce(TrellisBuilder) -> TrellisBuilder) -> Env {
    let (builder, pg) = match backend {
        Backend::Sqlite => (TrellisServer::builder(), None),
        Backend::Postgres => {
            let pg = PgDatabase::create()
                .await
                .expect("create a PostgreSQL database");
            (TrellisServer::builder().database_url(pg.url()), Some(pg))
        }
    };
    let server = f(builder).start().await.expect("start trellis");
    Env { server, _pg: pg }
}

/// Starts a server with the default test timings.
pub async fn start(backend: Backend) -> Env {
    start_with(backend, |b| b).await
}

/// A registered worker that sent its first (ONLINE) heartbeat.
pub struct TestWorker {
    pub id: Uuid,
    pub token: Secret,
    pub client: WorkerApiClient,
}

impl TestWorker {
    pub async fn heartbeat(&self, status: WorkerStatus, job: Option<Uuid>) -> Vec<Uuid> {
        let hb = HeartbeatRequest {
            status,
            current_job_id: job,
            info: None,
        };
        self.client
            .send_heartbeat(&hb)
            .await
            .expect("heartbeat")
            .cancel_job_ids
    }
}

/// Registers a worker and sends its first heartbeat (with `job_types` when given).
pub async fn worker(env: &Env, name: &str, job_types: Option<Vec<JobType>>) -> TestWorker {
    let (id, token) = env.server.register_worker(name).await.expect("register");
    let client = env.server.worker_client(id, token.clone());
    let info = job_types.map(|job_types| WorkerInfo {
        version: "test".into(),
        hostname: "localhost".into(),
        mode: WorkerMode::SelfHosted,
        job_types,
    });
    client
        .send_heartbeat(&HeartbeatRequest {
            status: WorkerStatus::Online,
            current_job_id: None,
            info,
        })
        .await
        .expect("first heartbeat");
    TestWorker { id, token, client }
}

/// Polls the job until it has `status` (or panics after `within`).
pub async fn wait_for_status(
    env: &Env,
    id: Uuid,
    status: JobStatus,
    within: Duration,
) -> grape_api::Job {
    let user = env.server.user_client();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let job = user.get_job(id).await.expect("get job");
        if job.status == status {
            return job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {id} is {} and not {status} after {within:?}",
            job.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Defines `mod $name { sqlite, postgres }` running `$body(backend)` on each backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body($crate::common::Backend::Postgres).await;
            }
        }
    };
}

/// One value of the server's `/metrics`.
pub async fn metric(env: &Env, name: &str) -> u64 {
    let text = reqwest::Client::new()
        .get(format!("{}/metrics", env.server.url()))
        .bearer_auth(env.server.metrics_token().expose())
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics body");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
        .trim()
        .parse()
        .expect("a number")
}
