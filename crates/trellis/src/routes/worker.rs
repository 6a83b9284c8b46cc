//! Worker endpoints: heartbeat, claim, status, logs, plan artifacts; registration is in
//! [`super::register`] (re-exported here).

pub use super::register::{register, register_keyed};

use crate::auth::WorkerAuth;
use crate::auth::policy::claim_team;
use crate::error::ApiErr;
use crate::extract::{ARTIFACT_LIMIT, ApiJson, ApiPath, DEFAULT_LIMIT, read_body};
use crate::state::AppState;
use crate::store::{ArtifactAccess, ClaimFilter, ClaimScope, Claimed, LogAppend, StatusChange};
use crate::teams::offered_labels;
use crate::waiters::WaitGuard;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use grape_api::{
    ClaimRequest, ClaimResponse, ErrorBody, HeartbeatRequest, HeartbeatResponse, Job, LogAck,
    LogBatch, PlanArtifactAck, StatusUpdate, WorkerMode, WorkerStatus,
};
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

/// Most lines in one log batch.
pub const MAX_LOG_LINES: usize = 5000;
/// Longest claim long-poll.
pub const MAX_WAIT_SECONDS: u32 = 30;

/// Heartbeat: status, current job, info (first heartbeat). Answers the held jobs to cancel.
///
/// It also takes back CLAIMED jobs whose claim answer the worker lost (it never started them):
/// with `status` OFFLINE, all of the worker's CLAIMED jobs go back to the queue at once; with
/// ONLINE or DRAINING, those claimed more than `--claim-ack-timeout` (default 60 s) ago that
/// `current_job_id` does not name. A job taken back whose cancel was requested becomes
/// CANCELLED instead. Should the worker still hold such a job, its `PUT /status` RUNNING gets
/// 403 (not its job any more), so the job never runs twice.
///
/// A `current_job_id` this worker no longer runs here (ended — e.g. failed `worker lost` by the
/// sweeper while the worker was cut off —, taken back, or gone) comes back in
/// `abandoned_job_ids`: the worker stops it and reports nothing more about it.
#[utoipa::path(post, path = "/api/workers/heartbeat", tag = "workers", request_body = HeartbeatRequest,
    responses((status = 200, body = HeartbeatResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn heartbeat(
    State(state): State<AppState>,
    WorkerAuth(worker): WorkerAuth,
    ApiJson(hb, _): ApiJson<HeartbeatRequest>,
) -> Result<Json<HeartbeatResponse>, ApiErr> {
    if hb.status.is_unknown() {
        return Err(ApiErr::bad_request(format!(
            "unknown status `{}` (expected one of: {})",
            hb.status,
            WorkerStatus::expected()
        )));
    }
    let now = Utc::now();
    let outcome = state
        .store
        .heartbeat(worker, &hb, now, state.unacked_before(now))
        .await?;
    if !outcome.taken_back.is_empty() {
        tracing::info!(%worker, jobs = ?outcome.taken_back, "took back claimed jobs the worker does not hold");
        state.metrics.taken_back(outcome.taken_back.len() as u64);
        state.taken_back(outcome.taken_back);
    }
    // Its waiting claims look again: a DRAINING worker's long-poll ends; new job types apply.
    state.kick_claims(worker);
    if !outcome.abandoned_job_ids.is_empty() {
        tracing::info!(%worker, jobs = ?outcome.abandoned_job_ids, "the worker runs a job it no longer holds here: told to abandon it");
    }
    Ok(Json(HeartbeatResponse {
        cancel_job_ids: outcome.cancel_job_ids,
        abandoned_job_ids: outcome.abandoned_job_ids,
    }))
}

/// Fills the job's identity (settings only).
pub(crate) async fn with_identity(state: &AppState, mut job: Job) -> Result<Job, ApiErr> {
    if let Some(id) = job.cloud_identity_id {
        job.identity = state.store.get_identity(id).await?;
    }
    Ok(job)
}

/// Claim the oldest queued job this worker can run; `wait_seconds` > 0 long-polls.
///
/// One job goes to exactly one worker. A worker is offered only the job types its heartbeat
/// `info` listed (every type before it sent `info`); a DRAINING or OFFLINE worker gets 204.
/// A self-hosted worker is offered its own team's jobs only, a cloud-hosted one any team's; and
/// only jobs whose `labels` are all among its registration labels (`key` or `key=value`).
///
/// **Long-poll**: with `wait_seconds` > 0 the request waits until a job it can take is queued
/// or the time is up (204). A queued job wakes one waiting claim whose worker can run its type
/// (the longest-waiting idle one first); claims of other job types keep waiting. If the woken
/// claim ends without taking that job (it took an older one, timed out, its client went
/// away), the wake-up passes on to another waiting claim.
///
/// **Lost answers**: a claim is committed before its answer is sent, so a worker that timed
/// out or lost the connection may hold a job it never saw. Two safeguards:
/// - `request_id` (optional idempotency key, one per claim, the same on its retries): while
///   the worker holds CLAIMED (not yet RUNNING) the job a claim with that key took, a claim
///   with the same key gets that job again (200, same id) instead of a new one — unless its
///   cancel was requested meanwhile: then it is cancelled and a new job is claimed. A key
///   takes one job: once that job started, the key gets 204;
/// - heartbeats take back CLAIMED jobs the worker does not name once the claim is older than
///   `--claim-ack-timeout`, and all of them when it reports OFFLINE (see
///   `POST /api/workers/heartbeat`).
#[utoipa::path(post, path = "/api/jobs/claim", tag = "jobs", request_body = ClaimRequest,
    responses((status = 200, body = ClaimResponse), (status = 204, description = "no job"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn claim(
    State(state): State<AppState>,
    WorkerAuth(worker): WorkerAuth,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiErr> {
    let bytes = read_body(&headers, body, DEFAULT_LIMIT).await?;
    let req: ClaimRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        ClaimRequest::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiErr::bad_request(format!("invalid JSON body: {e}")))?
    };
    let wait = req.wait_seconds.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(ApiErr::bad_request(format!(
            "wait_seconds must be 0..={MAX_WAIT_SECONDS}"
        )));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(wait));
    let mut guard: Option<WaitGuard> = None;
    loop {
        let now = Utc::now();
        let Some(row) = state.store.get_worker(worker).await? else {
            return Err(ApiErr::unauthorized("invalid worker id or token"));
        };
        if row.status(state.online_since(now)) != WorkerStatus::Online {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        let filter = ClaimScope {
            types: row.job_types().map_or(ClaimFilter::Any, ClaimFilter::Only),
            team: claim_team(&WorkerMode::from_wire(&row.mode), &row.team).map(str::to_owned),
            labels: offered_labels(&row.labels.0),
        };
        // Register before the query, so a job queued after it wakes this claim.
        if wait > 0 && guard.is_none() {
            guard = Some(state.waiters.register(worker, filter.clone()));
        }
        if let Some(g) = &guard {
            g.begin_query(&filter);
        }
        let outcome = state
            .store
            .claim(worker, &filter, req.request_id, now)
            .await?;
        state.taken_back(outcome.released);
        match outcome.claimed {
            Some(Claimed { job, redelivered }) => {
                if let Some(g) = &guard {
                    g.claimed(job.id);
                }
                if redelivered {
                    tracing::info!(%worker, job = %job.id, "claim answered again with the job the worker holds");
                    state.metrics.redelivered();
                } else {
                    let waited = (now - job.queued_at).num_microseconds().unwrap_or(0) as f64 / 1e6;
                    state.metrics.observe_claim(waited);
                }
                state.wake_streams();
                // Only this answer carries the values, to the worker now holding the job.
                let secrets = if job.secret_names.0.is_empty() {
                    grape_api::JobSecrets::new()
                } else {
                    state.store.job_secrets(job.id).await?
                };
                let job = with_identity(&state, job.to_job()).await?;
                return Ok(Json(ClaimResponse { job, secrets }).into_response());
            }
            None => {
                if let Some(g) = &guard {
                    g.found_nothing();
                }
            }
        }
        let Some(g) = &guard else {
            return Ok(StatusCode::NO_CONTENT.into_response());
        };
        if tokio::time::Instant::now() >= deadline {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        tokio::select! {
            () = g.wait() => {}
            () = tokio::time::sleep_until(deadline) => return Ok(StatusCode::NO_CONTENT.into_response()),
            () = state.shutdown.cancelled() => return Ok(StatusCode::NO_CONTENT.into_response()),
        }
    }
}

/// Update the status of a job this worker holds. Same status again: 200 (idempotent); an illegal
/// transition: 409 with `current_status`. A successful CONNECTION_TEST / FETCH_RESOURCES job of a
/// cloud identity whose `result` has a `discovery` object stores it (with `result.identity`) in
/// the identity's `credentials`, in the same transaction.
#[utoipa::path(put, path = "/api/jobs/{id}/status", tag = "jobs", request_body = StatusUpdate,
    params(("id" = Uuid, Path, description = "job id")),
    responses((status = 200, body = Job), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_status(
    State(state): State<AppState>,
    WorkerAuth(worker): WorkerAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(update, _): ApiJson<StatusUpdate>,
) -> Result<Json<Job>, ApiErr> {
    if update.status.is_unknown() {
        return Err(ApiErr::bad_request(format!(
            "unknown status `{}`",
            update.status
        )));
    }
    match state
        .store
        .update_status(worker, id, &update, Utc::now())
        .await?
    {
        StatusChange::NotFound => Err(ApiErr::not_found(format!("job {id} not found"))),
        StatusChange::Forbidden => Err(ApiErr::forbidden(format!(
            "job {id} is not held by this worker"
        ))),
        StatusChange::Conflict(current) => Err(ApiErr::conflict(
            format!("illegal transition {current} -> {}", update.status),
            current,
        )),
        StatusChange::Unchanged(row) => Ok(Json(row.to_job())),
        StatusChange::Changed(row) => {
            state.wake_streams();
            Ok(Json(row.to_job()))
        }
    }
}

/// Append log lines (seq already stored: ignored). ≤ 5,000 lines and ≤ 1 MiB; gzip accepted.
///
/// Only from the worker holding the job, while it is CLAIMED or RUNNING and for
/// `--log-tail-window` after it ended (the tail a worker's outbox delivers after an outage);
/// later: 409 with `current_status`. The answer carries the job's status: a final one while the
/// worker still runs the job means the server ended it (e.g. the sweeper failed it), and the
/// worker abandons it.
#[utoipa::path(post, path = "/api/jobs/{id}/logs", tag = "jobs", request_body = LogBatch,
    params(("id" = Uuid, Path, description = "job id")),
    responses((status = 200, body = LogAck), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub async fn append_logs(
    State(state): State<AppState>,
    WorkerAuth(worker): WorkerAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(batch, _): ApiJson<LogBatch>,
) -> Result<Json<LogAck>, ApiErr> {
    if batch.lines.len() > MAX_LOG_LINES {
        return Err(ApiErr::too_large(format!(
            "at most {MAX_LOG_LINES} lines per batch"
        )));
    }
    if batch
        .lines
        .iter()
        .any(|l| l.seq == 0 || l.seq > i64::MAX as u64)
    {
        return Err(ApiErr::bad_request("seq starts at 1"));
    }
    let now = Utc::now();
    let tail_since = now
        - chrono::Duration::from_std(state.config.log_tail_window())
            .unwrap_or(chrono::Duration::MAX);
    match state
        .store
        .append_logs(worker, id, &batch.lines, now, tail_since)
        .await?
    {
        LogAppend::NotFound => Err(ApiErr::not_found(format!("job {id} not found"))),
        LogAppend::Forbidden => Err(ApiErr::forbidden(format!(
            "job {id} is not held by this worker"
        ))),
        LogAppend::Closed(current) => Err(ApiErr::conflict(
            format!(
                "job {id} ended ({current}) longer than the log tail window ({}) ago: its log is closed",
                humantime::format_duration(state.config.log_tail_window())
            ),
            current,
        )),
        LogAppend::Stored {
            last_seq,
            cancel_requested,
            status,
        } => {
            state.wake_streams();
            Ok(Json(LogAck {
                last_seq,
                cancel_requested,
                job_status: Some(status),
            }))
        }
    }
}

/// Store the plan artifact of a job this worker holds while it runs (CLAIMED or RUNNING; later:
/// 409 with `current_status`), ≤ 64 MiB after gzip decoding: a saved plan of up to about 48 MiB,
/// base64 in JSON.
#[utoipa::path(post, path = "/api/jobs/{id}/plan-artifact", tag = "jobs", request_body = Object,
    params(("id" = Uuid, Path, description = "PLAN job id")),
    responses((status = 200, body = PlanArtifactAck), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn upload_artifact(
    State(state): State<AppState>,
    WorkerAuth(worker): WorkerAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(plan, len): ApiJson<Value, ARTIFACT_LIMIT>,
) -> Result<Json<PlanArtifactAck>, ApiErr> {
    match state.store.artifact_access(worker, id, false).await? {
        ArtifactAccess::NotFound => Err(ApiErr::not_found(format!("job {id} not found"))),
        ArtifactAccess::Forbidden => Err(ApiErr::forbidden(format!(
            "job {id} is not held by this worker"
        ))),
        ArtifactAccess::NotRunning(current) => Err(ApiErr::conflict(
            format!("job {id} is {current}: a plan artifact is accepted only while it runs"),
            current,
        )),
        ArtifactAccess::Allowed => {
            state
                .store
                .put_artifact(id, &plan, len as u64, Utc::now())
                .await?;
            Ok(Json(PlanArtifactAck {
                job_id: id,
                bytes: len as u64,
            }))
        }
    }
}

/// The plan artifact of a PLAN job, only for the worker running (`CLAIMED`/`RUNNING`) an APPLY
/// job whose `payload.plan_job_id` names it: the saved plan holds variables in clear text, so no
/// other worker — not even the one that planned — and no user endpoint serves it. 404 when none
/// is stored.
#[utoipa::path(get, path = "/api/jobs/{id}/plan-artifact", tag = "jobs",
    params(("id" = Uuid, Path, description = "PLAN job id")),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn download_artifact(
    State(state): State<AppState>,
    WorkerAuth(worker): WorkerAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Value>, ApiErr> {
    match state.store.artifact_access(worker, id, true).await? {
        ArtifactAccess::NotFound => Err(ApiErr::not_found(format!("job {id} not found"))),
        ArtifactAccess::Forbidden => Err(ApiErr::forbidden(format!(
            "the plan artifact of job {id} is served only to the worker running an APPLY of it"
        ))),
        ArtifactAccess::Allowed | ArtifactAccess::NotRunning(_) => {
            match state.store.get_artifact(id).await? {
                Some(v) => Ok(Json(v)),
                None => Err(ApiErr::not_found(format!("no plan artifact for job {id}"))),
            }
        }
    }
}
