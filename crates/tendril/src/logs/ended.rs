//! [`JobEnded`]: Trellis says a job this worker still runs has ended on its side.

use std::sync::{Arc, OnceLock};
use tokio_util::sync::CancellationToken;

/// Fired when Trellis no longer runs a job on this worker although the worker still does: a
/// log acknowledgement carries a final `job_status` (the sweeper failed it while the worker was
/// cut off), a log batch is answered 403/404/409, or a heartbeat lists it in
/// `abandoned_job_ids`. Not a cancel: the worker stops the job and reports nothing more about
/// it (no lines, no final status); its journal is dropped. Cheap to clone; clones share the
/// state; the first reason wins.
#[derive(Debug, Clone, Default)]
pub struct JobEnded {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    token: CancellationToken,
    reason: OnceLock<String>,
}

impl JobEnded {
    /// Records why the job ended on the server and fires; true the first time.
    pub fn fire(&self, reason: impl Into<String>) -> bool {
        let first = self.inner.reason.set(reason.into()).is_ok();
        self.inner.token.cancel();
        first
    }

    /// Why the job ended on the server, once fired.
    pub fn reason(&self) -> Option<&str> {
        self.inner.reason.get().map(String::as_str)
    }

    /// Whether it fired.
    pub fn is_fired(&self) -> bool {
        self.inner.token.is_cancelled()
    }

    /// Resolves once it fired.
    pub async fn fired(&self) {
        self.inner.token.cancelled().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reason_wins() {
        let ended = JobEnded::default();
        assert!(!ended.is_fired());
        assert!(ended.fire("failed by the sweeper"));
        assert!(!ended.clone().fire("second"));
        assert!(ended.is_fired());
        assert_eq!(ended.reason(), Some("failed by the sweeper"));
    }
}
