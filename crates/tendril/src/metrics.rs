//! Counters and gauges of the worker, rendered as Prometheus text for `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How a job ended, as counted by `tendril_jobs_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// SUCCESS.
    Success,
    /// FAILED.
    Failed,
    /// CANCELLED.
    Cancelled,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// The worker's metrics (all updates are lock-free but the heartbeat time).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    jobs_success: AtomicU64,
    jobs_failed: AtomicU64,
    jobs_cancelled: AtomicU64,
    job_duration_micros: AtomicU64,
    job_count: AtomicU64,
    /// Lines delivered by the logs of finished jobs.
    log_lines_finished: AtomicU64,
    /// Lines delivered so far by the running job's log.
    log_lines_current: AtomicU64,
    /// Lines of the running job's log not yet delivered.
    log_backlog: AtomicU64,
    heartbeats_failed: AtomicU64,
    claim_errors: AtomicU64,
    last_heartbeat: Mutex<Option<Instant>>,
}

impl Metrics {
    /// A job ended with `outcome` after `duration`.
    pub fn job_finished(&self, outcome: Outcome, duration: Duration) {
        match outcome {
            Outcome::Success => &self.jobs_success,
            Outcome::Failed => &self.jobs_failed,
            Outcome::Cancelled => &self.jobs_cancelled,
        }
        .fetch_add(1, Relaxed);
        self.job_duration_micros.fetch_add(
            u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
            Relaxed,
        );
        self.job_count.fetch_add(1, Relaxed);
    }

    /// The running job's log: lines delivered so far and lines waiting.
    pub fn log_progress(&self, delivered: u64, backlog: u64) {
        self.log_lines_current.store(delivered, Relaxed);
        self.log_backlog.store(backlog, Relaxed);
    }

    /// The running job's log is finished with `delivered` lines delivered.
    pub fn log_finished(&self, delivered: u64) {
        self.log_lines_finished.fetch_add(delivered, Relaxed);
        self.log_lines_current.store(0, Relaxed);
        self.log_backlog.store(0, Relaxed);
    }

    /// A heartbeat was acknowledged.
    pub fn heartbeat_ok(&self) {
        *self
            .last_heartbeat
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    /// A heartbeat failed.
    pub fn heartbeat_failed(&self) {
        self.heartbeats_failed.fetch_add(1, Relaxed);
    }

    /// A claim failed.
    pub fn claim_error(&self) {
        self.claim_errors.fetch_add(1, Relaxed);
    }

    /// Time since the last acknowledged heartbeat.
    pub fn since_last_heartbeat(&self) -> Option<Duration> {
        self.last_heartbeat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map(|t| t.elapsed())
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self, draining: bool, running: bool) -> String {
        let mut out = String::with_capacity(1024);
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let jobs: Vec<(String, u64)> = [Outcome::Success, Outcome::Failed, Outcome::Cancelled]
            .into_iter()
            .map(|o| {
                let n = match o {
                    Outcome::Success => &self.jobs_success,
                    Outcome::Failed => &self.jobs_failed,
                    Outcome::Cancelled => &self.jobs_cancelled,
                };
                (format!("{{outcome=\"{}\"}}", o.label()), n.load(Relaxed))
            })
            .collect();
        let jobs: Vec<(&str, String)> = jobs
            .iter()
            .map(|(l, v)| (l.as_str(), v.to_string()))
            .collect();
        metric(
            "tendril_jobs_total",
            "counter",
            "Jobs run, by outcome.",
            &jobs,
        );
        let sum = self.job_duration_micros.load(Relaxed) as f64 / 1e6;
        metric(
            "tendril_job_duration_seconds_sum",
            "counter",
            "Total duration of the jobs run.",
            &[("", format!("{sum:.6}"))],
        );
        metric(
            "tendril_job_duration_seconds_count",
            "counter",
            "Number of jobs whose duration is summed.",
            &[("", self.job_count.load(Relaxed).to_string())],
        );
        let sent = self.log_lines_finished.load(Relaxed) + self.log_lines_current.load(Relaxed);
        metric(
            "tendril_log_lines_sent_total",
            "counter",
            "Log lines delivered to Trellis.",
            &[("", sent.to_string())],
        );
        metric(
            "tendril_log_backlog_lines",
            "gauge",
            "Log lines of the running job not yet delivered.",
            &[("", self.log_backlog.load(Relaxed).to_string())],
        );
        let age = self
            .since_last_heartbeat()
            .map_or_else(|| "NaN".to_owned(), |d| format!("{:.3}", d.as_secs_f64()));
        metric(
            "tendril_seconds_since_last_heartbeat",
            "gauge",
            "Seconds since the last acknowledged heartbeat.",
            &[("", age)],
        );
        metric(
            "tendril_heartbeat_failures_total",
            "counter",
            "Heartbeats that failed.",
            &[("", self.heartbeats_failed.load(Relaxed).to_string())],
        );
        metric(
            "tendril_claim_errors_total",
            "counter",
            "Claims that failed.",
            &[("", self.claim_errors.load(Relaxed).to_string())],
        );
        metric(
            "tendril_draining",
            "gauge",
            "1 while the worker drains.",
            &[("", u8::from(draining).to_string())],
        );
        metric(
            "tendril_job_running",
            "gauge",
            "1 while a job runs.",
            &[("", u8::from(running).to_string())],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.job_finished(Outcome::Success, Duration::from_millis(1500));
        m.job_finished(Outcome::Failed, Duration::from_millis(500));
        m.log_progress(7, 3);
        m.log_finished(10);
        let text = m.render(false, false);
        assert!(
            text.contains("tendril_jobs_total{outcome=\"success\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("tendril_jobs_total{outcome=\"cancelled\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("tendril_job_duration_seconds_sum 2.000000\n"),
            "{text}"
        );
        assert!(
            text.contains("tendril_job_duration_seconds_count 2\n"),
            "{text}"
        );
        assert!(text.contains("tendril_log_lines_sent_total 10\n"), "{text}");
        assert!(
            text.contains("tendril_seconds_since_last_heartbeat NaN\n"),
            "{text}"
        );
        m.heartbeat_ok();
        assert!(!m.render(true, true).contains("heartbeat NaN"));
    }
}
