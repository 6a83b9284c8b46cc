//! Shared state of the handlers.

use crate::auth::hash_token;
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::Notify;

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
    /// Woken when a job becomes QUEUED (submit, retry, requeue): long-polling claims retry.
    pub queued: Arc<Notify>,
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
            config: Arc::new(config),
            queued: Arc::new(Notify::new()),
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

    /// Wakes every waiting claim.
    pub fn wake_claims(&self) {
        self.queued.notify_waiters();
    }

    /// Wakes every log stream.
    pub fn wake_streams(&self) {
        self.job_changed.notify_waiters();
    }
}
