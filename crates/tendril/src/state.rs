//! The state the worker's tasks share: draining or not, the running job, the metrics.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use grape_api::WorkerStatus;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::metrics::Metrics;

/// The job being run and the token that cancels it.
#[derive(Debug, Clone)]
struct CurrentJob {
    id: Uuid,
    cancel: CancellationToken,
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
    pub fn set_current(&self, id: Uuid, cancel: CancellationToken) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(CurrentJob { id, cancel });
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
