//! Benchmark: claims per second, and the enqueue-to-claim latency of long-polling workers, on
//! SQLite and PostgreSQL. Runs the real server in-process on a free port (a fresh database for
//! every scenario) and drives it over HTTP through grape-api. Prints the figures (no
//! assertions on them).
//!
//! `cargo xtask bench trellis` (PostgreSQL at 127.0.0.1:5432 or `DATABASE_URL`; skipped with a
//! message when unreachable). Scenarios:
//! - throughput: `CLAIM_JOBS` queued jobs drained by 1, 16 and 64 workers claiming at once
//!   (`wait_seconds` 0) until the queue is empty;
//! - latency: jobs submitted one at a time while 1 or 64 workers long-poll
//!   (`wait_seconds` 30); the time from the submit call to the claim answer (client side) and
//!   `claimed_at - created_at` (server side).

use grape_api::{
    ClientOptions, HeartbeatRequest, Job, JobType, RegisterRequest, Secret, SubmitJobRequest,
    UserApiClient, WorkerApiClient, WorkerMode, WorkerStatus,
};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use trellis::{Server, ServerConfig};
use uuid::Uuid;

const CLAIM_JOBS: usize = 5000;
const CLAIM_WORKERS: &[usize] = &[1, 16, 64];
const LATENCY_WAITERS: &[usize] = &[1, 64];
const LATENCY_SAMPLES: usize = 200;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A server on a fresh database, stopped by [`Running::stop`].
struct Running {
    url: String,
    admin: Secret,
    user: UserApiClient,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<Result<(), trellis::ServeError>>,
    _pg: Option<grape_testkit::PgDatabase>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start(postgres: bool) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg) = if postgres {
            match grape_testkit::PgDatabase::create().await {
                Ok(pg) => (pg.url().to_owned(), Some(pg)),
                Err(e) => {
                    println!("postgres: skipped ({e})");
                    return None;
                }
            }
        } else {
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            (url, None)
        };
        let admin = Secret::new("bench-admin");
        let api = Secret::new("bench-api");
        let mut config = ServerConfig::new(database_url, admin.clone(), api.clone());
        config.listen = "127.0.0.1:0".parse().expect("address");
        let server = Server::bind(config).await.expect("bind");
        let url = format!("http://{}", server.local_addr());
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(server.run(async move {
            let _ = stop_rx.await;
        }));
        let user = UserApiClient::new(&url, api).expect("user client");
        Some(Self {
            url,
            admin,
            user,
            stop,
            handle,
            _pg: pg,
            _dir: dir,
        })
    }

    async fn worker(&self, name: &str) -> WorkerApiClient {
        let req = RegisterRequest {
            name: name.into(),
            mode: WorkerMode::SelfHosted,
            labels: std::collections::BTreeMap::new(),
            team: None,
        };
        let reg = WorkerApiClient::register(
            &self.url,
            self.admin.clone(),
            &req,
            ClientOptions::default(),
        )
        .await
        .expect("register");
        let client = WorkerApiClient::new(
            &self.url,
            reg.worker_id,
            reg.worker_token,
            ClientOptions::default(),
        )
        .expect("client");
        client
            .send_heartbeat(&HeartbeatRequest {
                status: WorkerStatus::Online,
                current_job_id: None,
                info: None,
            })
            .await
            .expect("heartbeat");
        client
    }

    async fn workers(&self, n: usize) -> Vec<WorkerApiClient> {
        let mut workers = Vec::with_capacity(n);
        for i in 0..n {
            workers.push(self.worker(&format!("bench-{i}")).await);
        }
        workers
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.await;
    }
}

fn job() -> SubmitJobRequest {
    SubmitJobRequest {
        job_type: JobType::Exec,
        payload: serde_json::json!({"bench": true}),
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    }
}

fn server_latency(job: &Job) -> Duration {
    job.claimed_at
        .and_then(|c| (c - job.created_at).to_std().ok())
        .unwrap_or_default()
}

/// `CLAIM_JOBS` queued, `n` workers claiming at once until the queue is empty.
async fn throughput(label: &str, postgres: bool, n: usize) {
    let Some(srv) = Running::start(postgres).await else {
        return;
    };
    let request = job();
    for chunk in (0..CLAIM_JOBS).collect::<Vec<_>>().chunks(32) {
        for r in
            futures::future::join_all(chunk.iter().map(|_| srv.user.submit_job(&request))).await
        {
            r.expect("submit");
        }
    }
    let workers = srv.workers(n).await;
    let started = Instant::now();
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|w| {
            tokio::spawn(async move {
                let mut n = 0usize;
                while w.claim_job(None).await.expect("claim").is_some() {
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut claimed = 0;
    for t in tasks {
        claimed += t.await.expect("task");
    }
    let elapsed = started.elapsed();
    assert_eq!(claimed, CLAIM_JOBS, "every job claimed once");
    println!(
        "{label}: throughput: {claimed} claims by {n} workers in {:.2} s = {:.0} claims/s",
        elapsed.as_secs_f64(),
        claimed as f64 / elapsed.as_secs_f64()
    );
    srv.stop().await;
}

/// `n` workers long-poll; jobs are submitted one at a time; each is timed until a worker has it.
async fn latency(label: &str, postgres: bool, n: usize) {
    let Some(srv) = Running::start(postgres).await else {
        return;
    };
    let workers = srv.workers(n).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Job, Instant)>();
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|w| {
            let tx = tx.clone();
            tokio::spawn(async move {
                loop {
                    match w.claim_job(Some(Duration::from_secs(30))).await {
                        Ok(Some(job)) => {
                            if tx.send((job, Instant::now())).is_err() {
                                return;
                            }
                        }
                        Ok(None) => {}
                        Err(e) => panic!("claim: {e}"),
                    }
                }
            })
        })
        .collect();
    // Let every claim reach the server and wait there.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut client = Vec::with_capacity(LATENCY_SAMPLES);
    let mut server = Vec::with_capacity(LATENCY_SAMPLES);
    let mut pending: HashMap<Uuid, (Job, Instant)> = HashMap::new();
    for _ in 0..LATENCY_SAMPLES {
        let t0 = Instant::now();
        let submitted = srv.user.submit_job(&job()).await.expect("submit");
        let (claimed, t1) = loop {
            if let Some(hit) = pending.remove(&submitted.id) {
                break hit;
            }
            let (job, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .expect("a long-polling worker got the job within 30 s")
                .expect("workers alive");
            pending.insert(job.id, (job, at));
        };
        client.push(t1.saturating_duration_since(t0));
        server.push(server_latency(&claimed));
        // Let the worker that got it long-poll again (with one worker, the next job would
        // otherwise measure the claim request too).
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for t in tasks {
        t.abort();
    }
    client.sort();
    server.sort();
    println!(
        "{label}: enqueue-to-claim latency, {n} long-polling worker(s), {LATENCY_SAMPLES} jobs: \
         client (submit call to claim answer) p50 {:.2} ms p99 {:.2} ms; \
         server (created_at to claimed_at) p50 {:.2} ms p99 {:.2} ms",
        ms(pct(&client, 0.50)),
        ms(pct(&client, 0.99)),
        ms(pct(&server, 0.50)),
        ms(pct(&server, 0.99)),
    );
    srv.stop().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |label: &str| filter.is_empty() || filter.iter().any(|f| label.contains(f));
    rt.block_on(async {
        for (label, postgres) in [("sqlite", false), ("postgres", true)] {
            if !wanted(label) {
                continue;
            }
            for &n in CLAIM_WORKERS {
                throughput(label, postgres, n).await;
            }
            for &n in LATENCY_WAITERS {
                latency(label, postgres, n).await;
            }
        }
    });
}
