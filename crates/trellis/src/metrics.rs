//! Prometheus text exposition: jobs by status, workers by status, claim latency histogram.

use crate::state::AppState;
use grape_api::{JobStatus, WorkerStatus};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the claim latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 300.0,
];

/// In-memory counters.
#[derive(Debug, Default)]
pub struct Metrics {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    claims: AtomicU64,
    redelivered: AtomicU64,
    taken_back: AtomicU64,
    sweeps: AtomicU64,
}

impl Metrics {
    /// Records the time a claimed job waited in the queue (enqueue → claim).
    pub fn observe_claim(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.claims.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// A claim answered again with the job an earlier claim with its key took (a lost answer).
    pub fn redelivered(&self) {
        self.redelivered.fetch_add(1, Ordering::Relaxed);
    }

    /// The sweeper ran once.
    pub fn swept(&self) {
        self.sweeps.fetch_add(1, Ordering::Relaxed);
    }

    /// CLAIMED jobs a heartbeat took back from their worker.
    pub fn taken_back(&self, n: u64) {
        self.taken_back.fetch_add(n, Ordering::Relaxed);
    }
}

/// Renders the metrics.
pub async fn render(state: &AppState) -> Result<String, crate::store::StoreError> {
    let now = chrono::Utc::now();
    let counts = state.store.job_counts().await?;
    let workers = state.store.list_workers(None).await?;
    let since = state.online_since(now);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP trellis_jobs Jobs by status.\n# TYPE trellis_jobs gauge"
    );
    for s in JobStatus::ALL {
        let n = counts
            .iter()
            .find(|(k, _)| k == s.as_str())
            .map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "trellis_jobs{{status=\"{s}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP trellis_workers Workers by status.\n# TYPE trellis_workers gauge"
    );
    for s in WorkerStatus::ALL {
        let n = workers.iter().filter(|w| &w.status(since) == s).count();
        let _ = writeln!(out, "trellis_workers{{status=\"{s}\"}} {n}");
    }
    let m = &state.metrics;
    let _ = writeln!(
        out,
        "# HELP trellis_claim_latency_seconds Time a job waited between being queued and claimed.\n\
         # TYPE trellis_claim_latency_seconds histogram"
    );
    for (i, le) in BUCKETS.iter().enumerate() {
        let _ = writeln!(
            out,
            "trellis_claim_latency_seconds_bucket{{le=\"{le}\"}} {}",
            m.buckets[i].load(Ordering::Relaxed)
        );
    }
    let count = m.count.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "trellis_claim_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        out,
        "trellis_claim_latency_seconds_sum {}",
        m.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(out, "trellis_claim_latency_seconds_count {count}");
    let _ = writeln!(
        out,
        "# HELP trellis_claims_total Jobs claimed since start.\n# TYPE trellis_claims_total counter"
    );
    let _ = writeln!(
        out,
        "trellis_claims_total {}",
        m.claims.load(Ordering::Relaxed)
    );
    let wake = state.waiters.stats();
    let counters = [
        (
            "trellis_claims_redelivered_total",
            "Claims answered again with the job an earlier claim with the same request_id took (its answer was lost).",
            m.redelivered.load(Ordering::Relaxed),
        ),
        (
            "trellis_claims_taken_back_total",
            "CLAIMED jobs taken back by a heartbeat of a worker that no longer knew them.",
            m.taken_back.load(Ordering::Relaxed),
        ),
        (
            "trellis_sweeps_total",
            "Sweeps run (the first one offline window after start).",
            m.sweeps.load(Ordering::Relaxed),
        ),
        (
            "trellis_claim_wakeups_total",
            "Wake-ups of waiting long-poll claims by a queued job they can take.",
            wake.delivered,
        ),
        (
            "trellis_claim_wakeups_unmatched_total",
            "Queued jobs (or passed-on wake-ups) no waiting claim could take.",
            wake.unclaimed,
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP trellis_claims_waiting Long-poll claims waiting now.\n\
         # TYPE trellis_claims_waiting gauge\ntrellis_claims_waiting {}",
        state.waiters.waiting()
    );
    Ok(out)
}
