//! Server configuration.

use grape_api::Secret;
use std::net::SocketAddr;
use std::time::Duration;

/// Everything `trellis serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// Token for registering and deleting workers (`TRELLIS_ADMIN_TOKEN`).
    pub admin_token: Secret,
    /// Token of the user API (`TRELLIS_API_TOKEN`).
    pub api_token: Secret,
    /// Bearer token of `/metrics` on the API listener (`TRELLIS_METRICS_TOKEN`); the admin
    /// token is accepted too.
    pub metrics_token: Option<Secret>,
    /// A second listener serving `/metrics` (and `/healthz`) without a token, for an operator
    /// to bind to a private interface (`--metrics-listen`).
    pub metrics_listen: Option<SocketAddr>,
    /// A worker without a heartbeat for this long is OFFLINE.
    pub worker_offline_after: Duration,
    /// A RUNNING job of an OFFLINE worker without a sign of life for this long is failed.
    pub job_stale_after: Duration,
    /// How often the sweeper runs.
    pub sweep_interval: Duration,
    /// A CLAIMED job that its worker neither started nor named in a heartbeat for this long
    /// after the claim goes back to the queue at the worker's next heartbeat (the claim's
    /// answer was lost).
    pub claim_ack_timeout: Duration,
    /// Log batches of a job that ended are still accepted (from the worker that held it) for
    /// this long after it ended, then answered 409; `None`: `job_stale_after` +
    /// [`LOG_REPLAY_ALLOWANCE`]. At least `job_stale_after`, so a worker that comes back after
    /// the sweeper failed its job can still deliver the lines its outbox kept.
    pub log_tail_window: Option<Duration>,
    /// After a shutdown signal, requests in flight get this long to finish; then the
    /// connections still open (long-polls, log streams, slow clients) are dropped and the server
    /// returns (`--shutdown-timeout`).
    pub shutdown_timeout: Duration,
    /// A QUEUED job that no online worker could take (none offers its type for its team) for
    /// this long fails `expired: no worker offers TYPE` (`--queue-ttl`).
    pub queue_ttl: Duration,
    /// A console session ends this long after its sign-in (`--console-session-ttl`); it ends
    /// before when its token is revoked or rotated, or on sign-out.
    pub console_session_ttl: Duration,
    /// An `Idempotency-Key` answers its first request's resource for this long, then the sweeper
    /// deletes it (`--idempotency-key-ttl`).
    pub idempotency_key_ttl: Duration,
}

/// The default of [`ServerConfig::idempotency_key_ttl`].
pub const DEFAULT_IDEMPOTENCY_KEY_TTL: Duration = Duration::from_secs(24 * 3600);

/// The default of [`ServerConfig::console_session_ttl`].
pub const DEFAULT_CONSOLE_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// The default of [`ServerConfig::queue_ttl`].
pub const DEFAULT_QUEUE_TTL: Duration = Duration::from_secs(24 * 3600);

/// The default of [`ServerConfig::shutdown_timeout`].
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// The default time a restarted worker is given to replay its outbox, on top of
/// `job_stale_after`, in the log tail window.
pub const LOG_REPLAY_ALLOWANCE: Duration = Duration::from_secs(300);

impl ServerConfig {
    /// A configuration with the spec's default timings.
    pub fn new(database_url: impl Into<String>, admin_token: Secret, api_token: Secret) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: database_url.into(),
            admin_token,
            api_token,
            metrics_token: None,
            metrics_listen: None,
            worker_offline_after: Duration::from_secs(60),
            job_stale_after: Duration::from_secs(300),
            sweep_interval: Duration::from_secs(5),
            claim_ack_timeout: Duration::from_secs(60),
            log_tail_window: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            queue_ttl: DEFAULT_QUEUE_TTL,
            console_session_ttl: DEFAULT_CONSOLE_SESSION_TTL,
            idempotency_key_ttl: DEFAULT_IDEMPOTENCY_KEY_TTL,
        }
    }

    /// How long after a job ended its worker may still send log lines (see
    /// [`ServerConfig::log_tail_window`]).
    pub fn log_tail_window(&self) -> Duration {
        self.log_tail_window
            .unwrap_or(self.job_stale_after + LOG_REPLAY_ALLOWANCE)
    }

    /// Checks the timings that depend on each other; the message names the flag.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(w) = self.log_tail_window
            && w < self.job_stale_after
        {
            return Err(format!(
                "--log-tail-window ({}) must be at least --job-stale-after ({}): a worker back \
                 after an outage must still deliver the log tail of a job the sweeper failed",
                humantime::format_duration(w),
                humantime::format_duration(self.job_stale_after)
            ));
        }
        Ok(())
    }
}
