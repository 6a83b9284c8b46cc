//! Jobs no worker serves: a warning when one is submitted, and FAILED `expired: no worker
//! offers TYPE` once it has waited `--queue-ttl`. A worker serves a job when it is ONLINE, offers
//! the job's type (or sent no list: it takes every type) and may claim the job's team (its own
//! when self-hosted, any when cloud-hosted). Labels are not considered: a job whose labels no
//! worker carries waits for one.

use chrono::{DateTime, Utc};
use grape_api::{JobType, WorkerMode, WorkerStatus};

use crate::auth::policy::claim_team;
use crate::state::AppState;
use crate::store::{StoreError, WorkerRow};

/// Whether some worker of `workers` serves jobs of `job_type` in `team`.
pub fn served(
    workers: &[WorkerRow],
    online_since: DateTime<Utc>,
    job_type: &JobType,
    team: &str,
) -> bool {
    workers.iter().any(|w| {
        w.status(online_since) == WorkerStatus::Online
            && claim_team(&WorkerMode::from_wire(&w.mode), &w.team).is_none_or(|t| t == team)
            && w.job_types().is_none_or(|types| types.contains(job_type))
    })
}

/// The submit answer's warning for a job no worker serves now, if so.
pub async fn submit_warning(
    state: &AppState,
    job_type: &JobType,
    team: &str,
) -> Result<Option<String>, StoreError> {
    let now = Utc::now();
    let workers = state.store.list_workers(None).await?;
    if served(&workers, state.online_since(now), job_type, team) {
        return Ok(None);
    }
    Ok(Some(format!(
        "no online worker offers {job_type} jobs for team {team}: the job stays QUEUED until one \
         does, and fails as expired after {} (--queue-ttl)",
        humantime::format_duration(state.config.queue_ttl)
    )))
}

/// Fails the jobs queued longer than the TTL that no worker serves; how many.
pub async fn expire(state: &AppState, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let ttl = chrono::Duration::from_std(state.config.queue_ttl).unwrap_or(chrono::Duration::MAX);
    let Some(before) = now.checked_sub_signed(ttl) else {
        return Ok(0);
    };
    let waiting = state.store.queued_before(before).await?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let workers = state.store.list_workers(None).await?;
    let online_since = state.online_since(now);
    let mut expired = 0;
    for job in waiting {
        let job_type = JobType::from_wire(&job.job_type);
        if served(&workers, online_since, &job_type, &job.team) {
            continue;
        }
        let reason = format!(
            "expired: no worker offers {job_type} (queued longer than {})",
            humantime::format_duration(state.config.queue_ttl)
        );
        if state.store.expire_queued(job.id, &reason, now).await? {
            expired += 1;
        }
    }
    Ok(expired)
}
