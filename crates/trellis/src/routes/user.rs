//! User endpoints: jobs, logs (page and SSE stream), cancel, workers, cloud identities; submit
//! and retry are in [`super::submit`] (re-exported here).

pub use super::submit::{retry, submit};

use super::worker::with_identity;
use crate::auth::policy::list_scope;
use crate::auth::{Action, UserAuth};
use crate::error::ApiErr;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::{JobRow, UserAction};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use grape_api::sse::{EVENT_END, EVENT_LOG};
use grape_api::{
    CloudIdentity, CreateIdentityRequest, ErrorBody, IdentityList, Job, JobList, JobStatus,
    JobType, LogPage, WorkerList,
};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;
use uuid::Uuid;

/// Lines per log page / stream read.
const LOG_PAGE: u32 = 5000;
/// Bytes of one log page answer (its JSON) or stream read, at most: 4 MiB. A page always holds
/// at least one line (a line is at most 64 KiB of text, 384 KiB of JSON).
pub const LOG_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// JSON bytes of a page besides its lines.
const PAGE_ENVELOPE: usize = 256;

/// The lines of a page that fit in [`LOG_PAGE_BYTES`] of JSON (at least one).
fn fit_page(mut lines: Vec<grape_api::LogLine>) -> Vec<grape_api::LogLine> {
    let mut total = PAGE_ENVELOPE;
    let mut keep = 0;
    for line in &lines {
        // `{"seq":N,"ts":"…","stream":"stdout","text":"…"}` and a comma: under 96 + the text.
        total += 96 + json_text_len(&line.text);
        if keep > 0 && total > LOG_PAGE_BYTES {
            break;
        }
        keep += 1;
    }
    lines.truncate(keep);
    lines
}

/// Bytes of `text` once JSON-escaped, as serde_json writes it (quotes excluded).
fn json_text_len(text: &str) -> usize {
    text.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..0x20 => 6,
            _ => 1,
        })
        .sum()
}

/// Query of `GET /api/jobs`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Only jobs of this status.
    pub status: Option<String>,
    /// Only jobs of this type (e.g. `PLAN`).
    pub job_type: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Only jobs of this team (an admin; a user sees its own team's jobs only).
    pub team: Option<String>,
}

/// List jobs, newest first: a user's own team's, an admin's of every team (or of `team`).
#[utoipa::path(get, path = "/api/jobs", tag = "jobs", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<JobList>, ApiErr> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            s.parse::<JobStatus>()
                .map_err(|e| ApiErr::bad_request(e.to_string()))?,
        ),
    };
    let job_type = match q.job_type.as_deref() {
        None | Some("") => None,
        Some(t) => match JobType::from_wire(t) {
            JobType::Unknown(_) => {
                return Err(ApiErr::bad_request(format!(
                    "unknown job type `{t}` (expected one of: {})",
                    JobType::expected()
                )));
            }
            known => Some(known),
        },
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let team = list_scope(&caller.0, q.team.as_deref().filter(|t| !t.is_empty()));
    let rows = state
        .store
        .list_jobs(status.as_ref(), job_type.as_ref(), team, limit)
        .await?;
    Ok(Json(JobList {
        jobs: rows.iter().map(crate::store::JobRow::to_job).collect(),
    }))
}

/// One job (with its identity).
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Job), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Job>, ApiErr> {
    let row = visible_job(&state, &caller, id).await?;
    Ok(Json(with_identity(&state, row.to_job()).await?))
}

/// The job `id` if the caller may read it; 404 when it does not exist or is another team's.
pub(super) async fn visible_job(
    state: &AppState,
    caller: &UserAuth,
    id: Uuid,
) -> Result<JobRow, ApiErr> {
    let not_found = || format!("job {id} not found");
    let row = state
        .store
        .get_job(id)
        .await?
        .ok_or_else(|| ApiErr::not_found(not_found()))?;
    caller.authorize(Action::ReadJob, &row.team, not_found)?;
    Ok(row)
}

/// Query of the log endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// Only lines with a greater seq.
    pub after_seq: Option<u64>,
}

/// Stored log lines after `after_seq` (at most 5,000 and 4 MiB of JSON per page).
#[utoipa::path(get, path = "/api/jobs/{id}/logs", tag = "jobs", params(("id" = Uuid, Path), LogQuery), security(("bearer" = [])),
    responses((status = 200, body = LogPage), (status = 404, body = ErrorBody)))]
pub async fn logs(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<LogPage>, ApiErr> {
    let job = visible_job(&state, &caller, id).await?;
    let lines = state
        .store
        .get_logs(id, q.after_seq.unwrap_or(0), LOG_PAGE, LOG_PAGE_BYTES)
        .await?;
    Ok(Json(LogPage {
        lines: fit_page(lines),
        last_seq: job.last_seq as u64,
        job_status: job.status(),
    }))
}

/// Follow the log live (server-sent events `log` with a LogLine, then `end` with the final
/// status when the job has ended).
#[utoipa::path(get, path = "/api/jobs/{id}/logs/stream", tag = "jobs", params(("id" = Uuid, Path), LogQuery), security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream"), (status = 404, body = ErrorBody)))]
pub async fn stream(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Response, ApiErr> {
    visible_job(&state, &caller, id).await?;
    let init = (state, q.after_seq.unwrap_or(0), false);
    // Each page of lines goes out as one body chunk rather than one chunk per event: with a
    // chunk per line, the per-chunk wake-ups of both ends cost more than everything else.
    let chunks = futures::stream::unfold(init, move |(state, mut after, done)| async move {
        if done {
            return None;
        }
        loop {
            let changed = state.job_changed.clone();
            let notified = changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Read the status first: a job seen ended has all its lines already stored.
            let job = state.store.get_job(id).await.ok()??;
            let lines = state
                .store
                .get_logs(id, after, LOG_PAGE, LOG_PAGE_BYTES)
                .await
                .ok()?;
            let lines = fit_page(lines);
            if let Some(last) = lines.last() {
                after = last.seq;
                let mut out = String::with_capacity(lines.len() * 128);
                for l in &lines {
                    if let Ok(data) = serde_json::to_string(l) {
                        push_event(&mut out, EVENT_LOG, Some(l.seq), &data);
                    }
                }
                return Some((Ok::<_, Infallible>(Bytes::from(out)), (state, after, false)));
            }
            if job.status().is_terminal() {
                let data = serde_json::json!({ "status": job.status() }).to_string();
                let mut out = String::new();
                push_event(&mut out, EVENT_END, None, &data);
                return Some((Ok(Bytes::from(out)), (state, after, true)));
            }
            tokio::select! {
                () = &mut notified => {}
                // A safety net only (every log write and status change notifies); the comment
                // keeps idle connections alive through proxies.
                () = tokio::time::sleep(Duration::from_secs(5)) => {
                    return Some((Ok(Bytes::from_static(b":\n\n")), (state, after, false)));
                }
                () = state.shutdown.cancelled() => return None,
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

/// Appends one server-sent event; `data` must be a single line (JSON is).
fn push_event(out: &mut String, event: &str, id: Option<u64>, data: &str) {
    out.push_str("event: ");
    out.push_str(event);
    if let Some(id) = id {
        out.push_str("\nid: ");
        out.push_str(&id.to_string());
    }
    out.push_str("\ndata: ");
    out.push_str(data);
    out.push_str("\n\n");
}

pub(super) fn action(result: UserAction, what: &str, id: Uuid) -> Result<Box<JobRow>, ApiErr> {
    match result {
        UserAction::NotFound => Err(ApiErr::not_found(format!("job {id} not found"))),
        UserAction::Conflict(s) => Err(ApiErr::conflict(format!("cannot {what} a {s} job"), s)),
        UserAction::AlreadyRetried { retry, status } => Err(ApiErr::conflict(
            format!("job {id} was already retried as job {retry}: retry that one"),
            status,
        )),
        UserAction::Replayed(retry) => Err(ApiErr::new(
            StatusCode::CONFLICT,
            format!("job {id} was already retried as job {retry}"),
        )),
        UserAction::KeyMismatch => Err(crate::idempotency::mismatch()),
        UserAction::Done(row) => Ok(row),
    }
}

/// Cancel: QUEUED → CANCELLED at once; CLAIMED/RUNNING → cancel request for the holder.
#[utoipa::path(post, path = "/api/jobs/{id}/cancel", tag = "jobs", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Job), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Job>, ApiErr> {
    // A job's team never changes: checked once, before the transaction.
    let row = visible_job(&state, &caller, id).await?;
    caller.authorize(Action::CancelJob, &row.team, || {
        format!("job {id} not found")
    })?;
    let job = action(state.store.cancel(id, Utc::now()).await?, "cancel", id)?.to_job();
    state.wake_streams();
    Ok(Json(job))
}

/// Workers with the status computed from their last heartbeat: a user's own team's, an admin's
/// of every team.
#[utoipa::path(get, path = "/api/workers", tag = "workers", security(("bearer" = [])),
    responses((status = 200, body = WorkerList), (status = 401, body = ErrorBody)))]
pub async fn workers(
    State(state): State<AppState>,
    caller: UserAuth,
) -> Result<Json<WorkerList>, ApiErr> {
    let since = state.online_since(Utc::now());
    let rows = state
        .store
        .list_workers(list_scope(&caller.0, None))
        .await?;
    Ok(Json(WorkerList {
        workers: rows.iter().map(|w| w.to_worker(since)).collect(),
    }))
}

/// Delete a worker (an admin); its CLAIMED jobs go back to the queue.
#[utoipa::path(delete, path = "/api/workers/{id}", tag = "workers", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_worker(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiErr> {
    let not_found = || format!("worker {id} not found");
    let team = match state.store.get_worker(id).await? {
        Some(w) => w.team,
        None => caller.team().to_owned(),
    };
    caller.authorize(Action::DeleteWorker, &team, not_found)?;
    match state.store.delete_worker(id, Utc::now()).await? {
        Some(taken_back) => {
            state.kick_claims(id);
            state.taken_back(taken_back);
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiErr::not_found(format!("worker {id} not found"))),
    }
}

/// Create a cloud identity.
#[utoipa::path(post, path = "/api/cloud-identities", tag = "identities", request_body = CreateIdentityRequest, security(("bearer" = [])),
    responses((status = 201, body = CloudIdentity), (status = 400, body = ErrorBody)))]
pub async fn create_identity(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiJson(req, _): ApiJson<CreateIdentityRequest>,
) -> Result<(StatusCode, Json<CloudIdentity>), ApiErr> {
    // In the caller's own team.
    let team = caller.team().to_owned();
    caller.authorize(Action::CreateIdentity, &team, String::new)?;
    if req.name.trim().is_empty() {
        return Err(ApiErr::bad_request("name must not be empty"));
    }
    if req.provider.is_unknown() {
        return Err(ApiErr::bad_request(format!(
            "unknown provider `{}` (expected one of: {})",
            req.provider,
            grape_api::CloudProvider::expected()
        )));
    }
    // Settings choose what to assume, never a worker file or endpoint: unknown and worker-only
    // fields are refused by name before anything is stored.
    grape_api::IdentitySettings::parse(&req.provider, &req.settings)
        .map_err(|e| ApiErr::bad_request(e.message))?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.insert_identity(&req, &team, Utc::now()).await?),
    ))
}

/// The cloud identities of the caller's team (an admin: of every team), newest first, with their
/// cached discovery documents.
#[utoipa::path(get, path = "/api/cloud-identities", tag = "identities", security(("bearer" = [])),
    responses((status = 200, body = IdentityList), (status = 401, body = ErrorBody)))]
pub async fn list_identities(
    State(state): State<AppState>,
    caller: UserAuth,
) -> Result<Json<IdentityList>, ApiErr> {
    let team = list_scope(&caller.0, None);
    Ok(Json(IdentityList {
        identities: state.store.list_identities(team).await?,
    }))
}

/// A cloud identity with its cached `credentials` (discovery results).
#[utoipa::path(get, path = "/api/cloud-identities/{id}", tag = "identities", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = CloudIdentity), (status = 404, body = ErrorBody)))]
pub async fn get_identity(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CloudIdentity>, ApiErr> {
    let not_found = || format!("cloud identity {id} not found");
    let identity = state
        .store
        .get_identity(id)
        .await?
        .ok_or_else(|| ApiErr::not_found(not_found()))?;
    caller.authorize(Action::ReadIdentity, &identity.team, not_found)?;
    Ok(Json(identity))
}
