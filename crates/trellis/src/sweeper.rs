//! The sweeper: requeues CLAIMED jobs of workers that went OFFLINE, fails QUEUED jobs no worker
//! offers after `--queue-ttl` ([`crate::queue_ttl`]), deletes expired idempotency keys, and fails RUNNING jobs of
//! OFFLINE workers that had no sign of life for `job_stale_after` (`worker lost`). It starts
//! one offline window after the server did (see [`run`]); a worker whose job it failed learns
//! it from its next heartbeat (`abandoned_job_ids`) or log acknowledgement (`job_status`).

use crate::state::AppState;
use chrono::Utc;

/// One sweep. Returns (requeued, failed).
pub async fn sweep_once(state: &AppState) -> Result<(u64, u64), crate::store::StoreError> {
    let now = Utc::now();
    let online_since = state.online_since(now);
    let stale_before = now
        - chrono::Duration::from_std(state.config.job_stale_after).unwrap_or(chrono::Duration::MAX);
    let requeued = state.store.requeue_orphans(now, online_since).await?;
    let failed = state
        .store
        .fail_lost(now, online_since, stale_before)
        .await?;
    let requeued_n = requeued.len() as u64;
    if requeued_n > 0 {
        tracing::info!(requeued = requeued_n, "requeued jobs of offline workers");
        state.taken_back(requeued);
    }
    if failed > 0 {
        tracing::warn!(failed, "failed running jobs of lost workers");
        state.wake_streams();
    }
    let expired = crate::queue_ttl::expire(state, now).await?;
    if expired > 0 {
        tracing::warn!(expired, "failed queued jobs no worker offers (queue TTL)");
        state.wake_streams();
    }
    let keys = state.store.delete_expired_keys(now).await?;
    if keys > 0 {
        tracing::debug!(keys, "deleted expired idempotency keys");
    }
    Ok((requeued_n, failed + expired))
}

/// Sweeps every `sweep_interval` until shutdown, the first time one full `worker_offline_after`
/// after start: a server back from an outage first gives every live worker the time to
/// heartbeat again (which also marks its running job alive), so it neither requeues their
/// claimed jobs nor fails their running ones `worker lost` while they are still at work.
pub async fn run(state: AppState) {
    let window = state.config.worker_offline_after;
    tracing::info!(after = %humantime::format_duration(window), "sweeper: first sweep after one offline window");
    tokio::select! {
        () = tokio::time::sleep(window) => {}
        () = state.shutdown.cancelled() => return,
    }
    tracing::info!("sweeper: sweeping");
    let mut tick = tokio::time::interval(state.config.sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = state.shutdown.cancelled() => return,
        }
        if let Err(e) = sweep_once(&state).await {
            tracing::error!(error = %e, "sweep failed");
        }
        state.metrics.swept();
    }
}
