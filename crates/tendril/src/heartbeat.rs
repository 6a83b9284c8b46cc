//! The heartbeat task: ONLINE/DRAINING and the current job every interval (± jitter), the
//! worker's info until one heartbeat is acknowledged, cancel requests and abandoned jobs from
//! the answer. A 401 (deleted or revoked worker) ends it and stops the worker.

use std::sync::Arc;
use std::time::Duration;

use grape_api::{HeartbeatRequest, WorkerApiClient, WorkerInfo, WorkerStatus};
use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::state::WorkerState;

/// `base` ± 10 % (at least 1 ms).
pub(crate) fn jittered(base: Duration) -> Duration {
    let spread = base.as_secs_f64() * 0.1;
    let offset = rand::rng().random_range(-spread..=spread);
    Duration::from_secs_f64((base.as_secs_f64() + offset).max(0.001))
}

/// Sends heartbeats until `stop` fires. Errors are logged and retried sooner, except a 401,
/// which fires `state.revoked` and ends the task.
pub(crate) async fn run(
    api: Arc<WorkerApiClient>,
    state: Arc<WorkerState>,
    interval: Duration,
    info: WorkerInfo,
    stop: CancellationToken,
) {
    let mut info = Some(info);
    loop {
        let request = HeartbeatRequest {
            status: state.status(),
            current_job_id: state.current_job_id(),
            info: info.clone(),
        };
        let sent = tokio::select! {
            r = api.send_heartbeat(&request) => r,
            () = stop.cancelled() => return,
        };
        let wait = match sent {
            Ok(answer) => {
                info = None;
                state.metrics.heartbeat_ok();
                state.online.cancel();
                tracing::debug!(status = %request.status, job = ?request.current_job_id, "heartbeat sent");
                for id in answer.cancel_job_ids {
                    if state.cancel_job(id) {
                        tracing::info!(job_id = %id, "cancel requested by Trellis (heartbeat)");
                    } else {
                        tracing::debug!(job_id = %id, "cancel requested for a job not running here");
                    }
                }
                for id in answer.abandoned_job_ids {
                    let reason = "Trellis no longer runs the job on this worker (heartbeat): \
                        it ended there (e.g. failed `worker lost`), was taken back or removed";
                    if state.abandon_job(id, reason) {
                        tracing::warn!(job_id = %id, "{reason}: abandoning it");
                    }
                }
                jittered(interval)
            }
            Err(e) if state.revoke_on_401(&e) => {
                tracing::error!(error = %e, "heartbeat refused: the worker's credentials are no longer valid");
                return;
            }
            Err(e) => {
                state.metrics.heartbeat_failed();
                tracing::warn!(error = %e, "heartbeat failed; retrying");
                jittered(interval / 3)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.heartbeat_now.notified() => {}
            () = stop.cancelled() => return,
        }
    }
}

/// One last heartbeat saying OFFLINE; gives up after `timeout`.
pub(crate) async fn send_offline(api: &WorkerApiClient, state: &WorkerState, timeout: Duration) {
    let request = HeartbeatRequest {
        status: WorkerStatus::Offline,
        current_job_id: None,
        info: None,
    };
    match tokio::time::timeout(timeout, api.send_heartbeat(&request)).await {
        Ok(Ok(_)) => {
            state.metrics.heartbeat_ok();
            tracing::info!("OFFLINE heartbeat sent");
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "OFFLINE heartbeat failed"),
        Err(_) => tracing::warn!(?timeout, "OFFLINE heartbeat timed out"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_secs(30));
            assert!(
                d >= Duration::from_secs(27) && d <= Duration::from_secs(33),
                "{d:?}"
            );
        }
    }
}
