//! Shared state of the handlers.

use crate::auth::hash_token;
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::store::{JobRow, Requeued, Store};
use crate::waiters::{ClaimWaiters, Signal};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::Notify;
use uuid::Uuid;

/// State shared by every handler and the sweeper.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Configuration.
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the user API token.
    pub api_token_hash: String,
    /// SHA-256 of the admin token.
    pub admin_token_hash: String,
    /// SHA-256 of the metrics token, when one is configured.
    pub metrics_token_hash: Option<String>,
    /// The long-polling claims waiting now; a newly QUEUED job wakes one that can take it.
    pub waiters: Arc<ClaimWaiters>,
    /// Woken when logs arrive or a job changes: log streams look again.
    pub job_changed: Arc<Notify>,
    /// Cancelled when the server shuts down (ends long-polls and log streams).
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Counters and histograms.
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// State over a connected store.
    pub fn new(store: Store, config: ServerConfig) -> Self {
        Self {
            store,
            api_token_hash: hash_token(config.api_token.expose()),
            admin_token_hash: hash_token(config.admin_token.expose()),
            metrics_token_hash: config
                .metrics_token
                .as_ref()
                .map(|t| hash_token(t.expose())),
            config: Arc::new(config),
            waiters: Arc::new(ClaimWaiters::default()),
            job_changed: Arc::new(Notify::new()),
            metrics: Arc::new(Metrics::default()),
            shutdown: tokio_util::sync::CancellationToken::new(),
        }
    }

    /// Heartbeats at or after this instant count as online.
    pub fn online_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(self.config.worker_offline_after)
            .unwrap_or(chrono::Duration::MAX)
    }

    /// CLAIMED jobs whose answer a worker may have lost are taken back after this.
    pub fn unacked_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(self.config.claim_ack_timeout)
            .unwrap_or(chrono::Duration::MAX)
    }

    /// A job became QUEUED: wakes one waiting claim that can take it; whether one could.
    pub fn job_queued(&self, job: &JobRow) -> bool {
        self.waiters.job_queued(Signal {
            job_id: job.id,
            job_type: job.job_type(),
            team: job.team.clone(),
            labels: job.labels.0.clone(),
        })
    }

    /// Jobs were taken back from workers: the requeued ones wake waiting claims; log streams
    /// of the cancelled ones end.
    pub fn taken_back(&self, jobs: Vec<Requeued>) {
        let mut cancelled = false;
        for j in jobs {
            if j.queued {
                self.waiters.job_queued(Signal {
                    job_id: j.id,
                    job_type: j.job_type,
                    team: j.team,
                    labels: j.labels,
                });
            } else {
                cancelled = true;
            }
        }
        if cancelled {
            self.wake_streams();
        }
    }

    /// The waiting claims of `worker` look at it again (status, job types, deletion).
    pub fn kick_claims(&self, worker: Uuid) {
        self.waiters.kick(worker);
    }

    /// Wakes every log stream.
    pub fn wake_streams(&self) {
        self.job_changed.notify_waiters();
    }
}
