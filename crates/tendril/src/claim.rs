//! The claim loop: recover the outbox, then claim (long-poll, falling back to polling) and run
//! one job at a time until the worker drains. Errors back off with jitter; only a 401 (the
//! worker was deleted or its token revoked) ends the loop, through `state.revoked`. A claimed
//! job whose answer cannot be decoded is reported FAILED, never stranded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use grape_api::{ApiError, RetryPolicy, StatusUpdate, WorkerApiClient};

use crate::config::Timings;
use crate::executor::Executor;
use crate::outbox::{Outbox, OutboxError};
use crate::state::WorkerState;

/// The error backoff of the claim loop: from `min(poll, 1 s)` up to `2 × poll`, with jitter.
pub(crate) fn error_backoff(timings: &Timings) -> RetryPolicy {
    RetryPolicy {
        max_attempts: u32::MAX,
        initial_backoff: timings.poll_interval.min(Duration::from_secs(1)),
        max_backoff: timings.poll_interval * 2,
        max_elapsed: None,
    }
}

/// How long the claim loop may go without a tick while alive (for `/healthz`).
pub(crate) fn liveness_window(timings: &Timings) -> Duration {
    let longest = timings
        .poll_interval
        .max(timings.claim_wait + Duration::from_secs(2))
        .max(error_backoff(timings).max_backoff);
    longest * 3
}

/// Delivers what the outbox holds from a previous run; retried until it succeeds or the worker
/// drains. Returns false when the worker drained first.
async fn recover(
    outbox: &Outbox,
    api: &WorkerApiClient,
    state: &WorkerState,
    backoff: &RetryPolicy,
) -> bool {
    let mut attempt = 0;
    loop {
        state.tick();
        let done = tokio::select! {
            r = outbox.recover(api) => r,
            () = state.drain.cancelled() => return false,
        };
        match done {
            Ok(report) => {
                tracing::info!(?report, "outbox recovered");
                return true;
            }
            Err(OutboxError::Api { source, .. }) if state.revoke_on_401(&source) => {
                tracing::error!(error = %source, "outbox recovery refused: the worker's credentials are no longer valid");
                return false;
            }
            Err(e) => {
                attempt += 1;
                tracing::warn!(error = %e, "cannot recover the outbox yet; retrying before claiming");
                tokio::select! {
                    () = tokio::time::sleep(backoff.backoff(attempt)) => {}
                    () = state.drain.cancelled() => return false,
                }
            }
        }
    }
}

/// A claim took a job whose answer this worker cannot decode: reports it FAILED with the
/// reason (retrying while Trellis is unreachable, until the worker drains), so the job is not
/// stranded. Without a readable job id only the log says so; Trellis takes the job back once
/// its claim is older than `--claim-ack-timeout` (heartbeats never name it).
async fn fail_undecodable(
    api: &WorkerApiClient,
    state: &WorkerState,
    backoff: &RetryPolicy,
    error: &ApiError,
) {
    let Some(job_id) = error.claimed_job_id() else {
        tracing::error!(error = %error, "claimed a job whose answer cannot be decoded nor its id read; \
            Trellis takes it back after its claim-ack timeout");
        return;
    };
    let update = StatusUpdate::failed(format!(
        "tendril {} cannot read the claimed job: {error}",
        env!("CARGO_PKG_VERSION")
    ));
    tracing::error!(%job_id, error = %error, "claimed a job whose answer cannot be decoded; reporting it FAILED");
    let mut attempt = 0;
    loop {
        let sent = tokio::select! {
            r = api.update_job_status(job_id, &update) => r,
            () = state.drain.cancelled() => return,
        };
        match sent {
            Ok(_) => return,
            Err(e) if state.revoke_on_401(&e) => return,
            Err(e) if e.is_retryable() || matches!(e, ApiError::Transport { .. }) => {
                attempt += 1;
                tracing::warn!(%job_id, error = %e, "cannot report the undecodable job FAILED; retrying");
                tokio::select! {
                    () = tokio::time::sleep(backoff.backoff(attempt)) => {}
                    () = state.drain.cancelled() => return,
                }
            }
            Err(e) => {
                tracing::warn!(%job_id, error = %e, "Trellis refused the FAILED status of the undecodable job");
                return;
            }
        }
    }
}

/// Runs until the worker drains (and the running job, if any, has ended).
pub(crate) async fn run(executor: Arc<Executor>, timings: Timings) {
    let state = executor.state.clone();
    let api = executor.api.clone();
    let backoff = error_backoff(&timings);
    if !recover(&executor.outbox, &api, &state, &backoff).await {
        return;
    }
    // Trellis gives no job to a worker before its first heartbeat.
    while !state.online.is_cancelled() {
        state.tick();
        tokio::select! {
            () = state.online.cancelled() => {}
            () = tokio::time::sleep(timings.poll_interval) => {}
            () = state.drain.cancelled() => return,
        }
    }
    let mut long_poll = !timings.claim_wait.is_zero();
    let mut failures = 0u32;
    loop {
        if state.drain.is_cancelled() {
            return;
        }
        state.tick();
        let began = Instant::now();
        let wait = long_poll.then_some(timings.claim_wait);
        tracing::debug!(?wait, "claiming a job");
        let claimed = tokio::select! {
            biased;
            r = api.claim(wait) => r,
            () = state.drain.cancelled() => {
                tracing::info!("draining: claim aborted");
                return;
            }
        };
        let pause = match claimed {
            Ok(Some(job)) => {
                failures = 0;
                executor.run(job).await;
                continue;
            }
            Ok(None) => {
                failures = 0;
                timings.poll_interval.saturating_sub(began.elapsed())
            }
            Err(e) if state.revoke_on_401(&e) => {
                tracing::error!(error = %e, "claim refused: the worker's credentials are no longer valid");
                return;
            }
            Err(e @ ApiError::UndecodableJob { .. }) => {
                failures = 0;
                state.metrics.claim_error();
                fail_undecodable(&api, &state, &backoff, &e).await;
                Duration::ZERO
            }
            Err(e) if long_poll && matches!(e.status(), Some(400 | 422)) => {
                tracing::warn!(error = %e, "long-poll claim refused; falling back to polling");
                long_poll = false;
                Duration::ZERO
            }
            Err(e) => {
                failures += 1;
                state.metrics.claim_error();
                let pause = backoff.backoff(failures);
                tracing::warn!(error = %e, retry_in = ?pause, "claim failed");
                pause
            }
        };
        state.tick();
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = state.drain.cancelled() => return,
        }
    }
}
