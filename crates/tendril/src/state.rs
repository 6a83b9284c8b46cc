//! The state the worker's tasks share: draining or not, the running job, the metrics.

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant;

use grape_api::{ApiError, WorkerStatus};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::logs::JobEnded;
use crate::metrics::Metrics;

/// The job being run and the token that cancels it.
#[derive(Debug, Clone)]
struct CurrentJob {
    id: Uuid,
    cancel: CancellationToken,
    ended: JobEnded,
}

/// Shared by the heartbeat task, the claim loop, the executor, the signal loop and the
/// health server.
#[derive(Debug)]
pub(crate) struct WorkerState {
    /// Fired on the first shutdown signal: no new claims.
    pub drain: CancellationToken,
    /// Fired when the running job (and any job started afterwards) must be cancelled: the
    /// drain grace period ran out or a second signal came.
    pub cancel_jobs: CancellationToken,
    /// Wakes the heartbeat task to send one at once (e.g. DRAINING).
    pub heartbeat_now: Notify,
    /// Fired by the first acknowledged heartbeat: Trellis offers jobs only to workers it has
    /// heard from, so the claim loop waits for it.
    pub online: CancellationToken,
    /// Fired when Trellis refuses the worker's credentials (401: the worker was deleted or its
    /// token revoked): the worker stops with an error instead of retrying for ever.
    pub revoked: CancellationToken,
    revoked_reason: OnceLock<String>,
    /// Counters and gauges of `/metrics`.
    pub metrics: Metrics,
    current: Mutex<Option<CurrentJob>>,
    last_tick: Mutex<Instant>,
}

impl WorkerState {
    pub fn new() -> Self {
        Self {
            drain: CancellationToken::new(),
            cancel_jobs: CancellationToken::new(),
            heartbeat_now: Notify::new(),
            online: CancellationToken::new(),
            revoked: CancellationToken::new(),
            revoked_reason: OnceLock::new(),
            metrics: Metrics::default(),
            current: Mutex::new(None),
            last_tick: Mutex::new(Instant::now()),
        }
    }

    /// ONLINE, or DRAINING once a shutdown signal came.
    pub fn status(&self) -> WorkerStatus {
        if self.drain.is_cancelled() {
            WorkerStatus::Draining
        } else {
            WorkerStatus::Online
        }
    }

    /// A new cancellation token for a job about to run; it fires with [`Self::cancel_jobs`].
    pub fn job_token(&self) -> CancellationToken {
        self.cancel_jobs.child_token()
    }

    /// Records the job being run now.
    pub fn set_current(&self, id: Uuid, cancel: CancellationToken, ended: JobEnded) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(CurrentJob { id, cancel, ended });
    }

    /// No job runs any more.
    pub fn clear_current(&self) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The id of the job being run.
    pub fn current_job_id(&self) -> Option<Uuid> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|j| j.id)
    }

    /// Cancels job `id` if it is the one being run; true when it was.
    pub fn cancel_job(&self, id: Uuid) -> bool {
        let guard = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(job) if job.id == id => {
                job.cancel.cancel();
                true
            }
            _ => false,
        }
    }

    /// Trellis no longer runs job `id` on this worker: if it is the one being run, it is
    /// abandoned (stopped, nothing more reported); true when it was.
    pub fn abandon_job(&self, id: Uuid, reason: &str) -> bool {
        let guard = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(job) if job.id == id => {
                job.ended.fire(reason);
                job.cancel.cancel();
                true
            }
            _ => false,
        }
    }

    /// If `error` is a 401 (the worker was deleted or its token revoked), records it, fires
    /// [`Self::revoked`] and returns true.
    pub fn revoke_on_401(&self, error: &ApiError) -> bool {
        if error.status() != Some(401) {
            return false;
        }
        let _ = self.revoked_reason.set(format!(
            "Trellis refused this worker's credentials ({error}): the worker was deleted or its \
             token revoked; register it again"
        ));
        self.revoked.cancel();
        true
    }

    /// Why the credentials were refused, once [`Self::revoked`] fired.
    pub fn revoked_reason(&self) -> Option<&str> {
        self.revoked_reason.get().map(String::as_str)
    }

    /// The main loop is alive: called by the claim loop on each turn and by the executor
    /// while a job runs.
    pub fn tick(&self) {
        *self
            .last_tick
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// When [`Self::tick`] was last called.
    pub fn last_tick(&self) -> Instant {
        *self
            .last_tick
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
