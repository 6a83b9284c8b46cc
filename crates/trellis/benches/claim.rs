//! Benchmark: claims per second, and the enqueue-to-claim latency of a long-polling worker, on
//! SQLite and PostgreSQL. Runs the real server in-process on a free port and drives it over
//! HTTP through grape-api. Prints the figures (no assertions).
//!
//! `cargo bench -p trellis --bench claim` (PostgreSQL at 127.0.0.1:5432 or `DATABASE_URL`;
//! skipped with a message when unreachable).

use grape_api::{
    ClientOptions, HeartbeatRequest, JobType, RegisterRequest, Secret, SubmitJobRequest,
    UserApiClient, WorkerApiClient, WorkerMode, WorkerStatus,
};
use std::time::{Duration, Instant};
use trellis::{Server, ServerConfig};

const CLAIM_JOBS: usize = 2000;
const CLAIM_WORKERS: usize = 16;
const LATENCY_SAMPLES: usize = 200;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn worker(url: &str, admin: &Secret, name: &str) -> WorkerApiClient {
    let req = RegisterRequest {
        name: name.into(),
        mode: WorkerMode::SelfHosted,
        labels: std::collections::BTreeMap::new(),
    };
    let reg = WorkerApiClient::register(url, admin.clone(), &req, ClientOptions::default())
        .await
        .expect("register");
    let client = WorkerApiClient::new(
        url,
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

fn job() -> SubmitJobRequest {
    SubmitJobRequest {
        job_type: JobType::Exec,
        payload: serde_json::json!({"bench": true}),
        cloud_identity_id: None,
    }
}

async fn run(label: &str, database_url: String) {
    let admin = Secret::new("bench-admin");
    let api = Secret::new("bench-api");
    let mut config = ServerConfig::new(database_url, admin.clone(), api.clone());
    config.listen = "127.0.0.1:0".parse().expect("address");
    let server = Server::bind(config).await.expect("bind");
    let url = format!("http://{}", server.local_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(server.run(async move {
        let _ = stop_rx.await;
    }));
    let user = UserApiClient::new(&url, api).expect("user client");

    // 1. Claims per second: CLAIM_JOBS queued, CLAIM_WORKERS claiming at once.
    let request = job();
    for chunk in (0..CLAIM_JOBS).collect::<Vec<_>>().chunks(32) {
        futures::future::join_all(chunk.iter().map(|_| user.submit_job(&request))).await;
    }
    let mut workers = Vec::new();
    for i in 0..CLAIM_WORKERS {
        workers.push(worker(&url, &admin, &format!("bench-{i}")).await);
    }
    let started = Instant::now();
    let tasks: Vec<_> = workers
        .iter()
        .cloned()
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
    println!(
        "{label}: {claimed} claims by {CLAIM_WORKERS} workers in {:.2} s = {:.0} claims/s",
        elapsed.as_secs_f64(),
        claimed as f64 / elapsed.as_secs_f64()
    );

    // 2. Enqueue-to-claim latency of one long-polling worker.
    let poller = workers[0].clone();
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for _ in 0..LATENCY_SAMPLES {
        let p = poller.clone();
        let waiting = tokio::spawn(async move {
            let job = p
                .claim_job(Some(Duration::from_secs(30)))
                .await
                .expect("claim");
            (Instant::now(), job.is_some())
        });
        // Let the claim reach the server and wait there.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let t0 = Instant::now();
        user.submit_job(&job()).await.expect("submit");
        let (t1, got) = waiting.await.expect("task");
        assert!(got, "the long-poll got the job");
        samples.push(t1.saturating_duration_since(t0));
    }
    samples.sort();
    println!(
        "{label}: enqueue-to-claim latency of a long-polling worker over {LATENCY_SAMPLES} jobs: p50 {:.2} ms, p99 {:.2} ms",
        pct(&samples, 0.50).as_secs_f64() * 1e3,
        pct(&samples, 0.99).as_secs_f64() * 1e3
    );
    let _ = stop_tx.send(());
    let _ = handle.await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        run(
            "sqlite",
            format!("sqlite://{}", dir.path().join("bench.db").display()),
        )
        .await;
        match grape_testkit::PgDatabase::create().await {
            Ok(pg) => run("postgres", pg.url().to_owned()).await,
            Err(e) => println!("postgres: skipped ({e})"),
        }
    });
}
