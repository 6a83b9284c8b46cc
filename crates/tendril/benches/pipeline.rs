//! Tendril end-to-end figures, with a real trellis server (SQLite) and the real `tendril`
//! binary: `cargo bench -p tendril --bench pipeline` (or `cargo xtask bench tendril`).
//!
//! Prints:
//! - enqueue-to-RUNNING latency (p50/p99) of an idle worker, from the server's own timestamps
//!   (`started_at - created_at`) over sequential EXEC `true` jobs;
//! - for an EXEC `seq 1 200000` job: log throughput (lines/s, from RUNNING to the last line
//!   received by a live reader), end-to-end log latency p50/p99 (line timestamp taken by the
//!   worker → line received on the user API's SSE stream), lines lost/duplicated (must be 0);
//! - the worker's RSS (VmRSS) when idle and its peak while streaming.
//!
//! Targets (issue 4): pickup p50 < 50 ms, log latency p99 < 1 s, zero lines lost, idle RSS < 15 MB.
//! The trellis binary is taken from target/release (else target/debug; build it with
//! `cargo build -p trellis`). Set `BENCH_PICKUP_JOBS` / `BENCH_LOG_LINES` to change the sizes.
#![allow(clippy::disallowed_methods)] // spawns the peers under test (trellis, tendril), not product code

use chrono::Utc;
use futures::StreamExt;
use grape_api::{
    AdminClient, ClientOptions, Job, JobStatus, JobType, LogStream, RegisterRequest, Secret,
    SubmitJobRequest, UserApiClient, WorkerMode, WorkerStatus,
};
use std::path::PathBuf;
use std::process::{Child, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ADMIN_TOKEN: &str = "bench-admin-token";
const API_TOKEN: &str = "bench-api-token";

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Kills a child process on drop.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn trellis_bin() -> Option<PathBuf> {
    let root = grape_testkit::workspace_root();
    ["target/release/trellis", "target/debug/trellis"]
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.exists())
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// VmRSS of a process in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn wait_final(user: &UserApiClient, id: uuid::Uuid, timeout: Duration) -> BenchResult<Job> {
    let deadline = Instant::now() + timeout;
    loop {
        let job = user.get_job(id).await?;
        if job.status.is_terminal() {
            return Ok(job);
        }
        if Instant::now() > deadline {
            return Err(format!("job {id} still {} after {timeout:?}", job.status).into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn exec(argv: &[&str]) -> SubmitJobRequest {
    SubmitJobRequest {
        job_type: JobType::Exec,
        payload: serde_json::json!({ "argv": argv }),
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    }
}

fn main() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> BenchResult<()> {
    let Some(trellis) = trellis_bin() else {
        return Err(
            "no trellis binary in target/release or target/debug: run `cargo build -p trellis`"
                .into(),
        );
    };
    let tendril = PathBuf::from(env!("CARGO_BIN_EXE_tendril"));
    let pickup_jobs = env_usize("BENCH_PICKUP_JOBS", 50);
    let log_lines = env_usize("BENCH_LOG_LINES", 200_000);
    let dir = tempfile::tempdir()?;
    let port = grape_testkit::free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    println!("tendril pipeline benchmark");
    println!("  trellis: {} (SQLite)", trellis.display());
    println!("  tendril: {}", tendril.display());

    let _trellis = Peer(
        std::process::Command::new(&trellis)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--database-url")
            .arg(format!(
                "sqlite://{}",
                dir.path().join("trellis.db").display()
            ))
            .env("TRELLIS_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("TRELLIS_API_TOKEN", API_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?,
    );
    grape_testkit::wait_for_http(&format!("{url}/healthz"), Duration::from_secs(30)).await?;
    let admin = AdminClient::new(&url, Secret::new(ADMIN_TOKEN), ClientOptions::default())?;
    let reg = admin
        .register_worker(&RegisterRequest {
            name: "bench".into(),
            mode: WorkerMode::SelfHosted,
            labels: std::collections::BTreeMap::default(),
            team: None,
        })
        .await?;
    let user = UserApiClient::new(&url, Secret::new(API_TOKEN))?;

    let worker = Peer(
        std::process::Command::new(&tendril)
            .args(["start", "--enable-exec"])
            .env("TRELLIS_URL", &url)
            .env("GRAPE_WORKER_ID", reg.worker_id.to_string())
            .env("GRAPE_WORKER_TOKEN", reg.worker_token.expose())
            .env("TENDRIL_STATE_DIR", dir.path().join("state"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?,
    );
    let pid = worker.0.id();

    // Idle: ONLINE, then settled.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let online = user
            .list_workers()
            .await?
            .iter()
            .any(|w| w.id == reg.worker_id && w.status == WorkerStatus::Online);
        if online {
            break;
        }
        if Instant::now() > deadline {
            return Err("the worker did not come ONLINE within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = rss_kib(pid).unwrap_or(0);

    // Pickup latency of an idle worker.
    let mut pickups = Vec::with_capacity(pickup_jobs);
    for _ in 0..pickup_jobs {
        let job = user.submit_job(&exec(&["true"])).await?;
        let done = wait_final(&user, job.id, Duration::from_secs(60)).await?;
        if done.status != JobStatus::Success {
            return Err(format!("pickup job ended {} ({:?})", done.status, done.error).into());
        }
        let started = done.started_at.ok_or("a finished job without started_at")?;
        pickups.push((started - done.created_at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        // Let the worker go back to waiting on its claim.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pickups.sort_by(f64::total_cmp);
    let idle_rss_after = rss_kib(pid).unwrap_or(0);

    // Log streaming: a burst (`seq`, as fast as the child can print), then a paced child.
    let burst = stream_job(&user, pid, &["seq", "1", &log_lines.to_string()], log_lines).await?;
    let paced_lines = 50_000;
    let paced_script = "for b in $(seq 0 99); do seq $((b*500+1)) $((b*500+500)); sleep 0.05; done";
    let paced = stream_job(&user, pid, &["sh", "-c", paced_script], paced_lines).await?;
    drop(worker);

    let p50 = percentile(&pickups, 0.5);
    let p99 = percentile(&pickups, 0.99);
    let ok = |b: bool| if b { "ok" } else { "MISSED" };
    println!();
    println!("pickup (enqueue → RUNNING, idle worker, {pickup_jobs} jobs)");
    println!("  p50 {p50:8.1} ms   target < 50 ms   {}", ok(p50 < 50.0));
    println!("  p99 {p99:8.1} ms");
    let lat99 = burst.latency_p99;
    burst.print(&format!("EXEC `seq 1 {log_lines}` (a burst)"));
    paced.print(&format!(
        "EXEC printing {paced_lines} lines at ~10,000 lines/s (paced)"
    ));
    let bad =
        burst.lost + burst.duplicated + burst.wrong + paced.lost + paced.duplicated + paced.wrong;
    println!(
        "  targets: burst latency p99 < 1000 ms {}, zero lines lost {}",
        ok(lat99 < 1000.0),
        ok(bad == 0)
    );
    println!("memory (VmRSS of the tendril process)");
    println!(
        "  idle {:6.1} MB (after pickups {:.1} MB)   target < 15 MB   {}",
        idle_rss as f64 / 1024.0,
        idle_rss_after as f64 / 1024.0,
        ok((idle_rss as f64 / 1024.0) < 15.0)
    );
    println!(
        "  peak while streaming {:6.1} MB (burst), {:.1} MB (paced)",
        burst.peak_rss_kib as f64 / 1024.0,
        paced.peak_rss_kib as f64 / 1024.0
    );
    Ok(())
}

/// Figures of one streamed job.
struct Streamed {
    status: JobStatus,
    received: u64,
    lost: u64,
    duplicated: u64,
    wrong: u64,
    secs: f64,
    latency_p50: f64,
    latency_p99: f64,
    peak_rss_kib: u64,
}

impl Streamed {
    fn print(&self, what: &str) {
        println!("log streaming: {what}, job {}", self.status);
        println!(
            "  stdout lines received {}, lost {}, duplicated {}, wrong text {}",
            self.received, self.lost, self.duplicated, self.wrong
        );
        println!(
            "  throughput {:10.0} lines/s ({:.2} s from RUNNING to the last line received)",
            self.received as f64 / self.secs,
            self.secs
        );
        println!(
            "  end-to-end latency p50 {:8.1} ms, p99 {:8.1} ms",
            self.latency_p50, self.latency_p99
        );
    }
}

/// Runs an EXEC job whose stdout is the numbers 1..=`lines`, follows its log on the SSE stream
/// and samples the worker's RSS meanwhile.
async fn stream_job(
    user: &UserApiClient,
    pid: u32,
    argv: &[&str],
    lines: usize,
) -> BenchResult<Streamed> {
    let job = user.submit_job(&exec(argv)).await?;
    let mut stream = user.stream_logs(job.id, None).await?;
    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (Arc::clone(&peak), Arc::clone(&sampling));
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                if let Some(r) = rss_kib(pid) {
                    peak.fetch_max(r, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut latencies = Vec::with_capacity(lines + 8);
    let (mut next_seq, mut next_number) = (1u64, 1u64);
    let (mut duplicated, mut wrong, mut seq_gaps) = (0u64, 0u64, 0u64);
    let mut last_arrival = Utc::now();
    let read = tokio::time::timeout(Duration::from_secs(600), async {
        while let Some(line) = stream.next().await {
            let line = line?;
            let now = Utc::now();
            last_arrival = now;
            latencies.push((now - line.ts).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            if line.seq < next_seq {
                duplicated += 1;
                continue;
            }
            seq_gaps += line.seq - next_seq;
            next_seq = line.seq + 1;
            if line.stream == LogStream::Stdout {
                if line.text != next_number.to_string() {
                    wrong += 1;
                }
                next_number += 1;
            }
        }
        BenchResult::Ok(())
    })
    .await;
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    match read {
        Ok(r) => r?,
        Err(_) => return Err("the log stream did not end within 10 minutes".into()),
    }
    let done = wait_final(user, job.id, Duration::from_secs(60)).await?;
    let received = next_number - 1;
    latencies.sort_by(f64::total_cmp);
    let started = done.started_at.ok_or("the log job has no started_at")?;
    let secs = (last_arrival - started).num_microseconds().unwrap_or(1) as f64 / 1e6;
    Ok(Streamed {
        status: done.status,
        received,
        lost: seq_gaps + (lines as u64).saturating_sub(received),
        duplicated,
        wrong,
        secs,
        latency_p50: percentile(&latencies, 0.5),
        latency_p99: percentile(&latencies, 0.99),
        peak_rss_kib: peak.load(Ordering::Relaxed),
    })
}
