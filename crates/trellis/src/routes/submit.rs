//! The job writes of a user: submit (`POST /api/jobs`) and retry (`POST /api/jobs/{id}/retry`),
//! each with its `Idempotency-Key` ([`crate::idempotency`]). A submission's `secrets` are
//! validated (422 naming the field) and stored apart from the payload; the job lists their
//! names only. The console calls [`submit`] and [`retry`] (no key: a session and CSRF guard its
//! forms); the router serves [`submit_keyed`] and [`retry_keyed`].

use super::user::{action, visible_job};
use super::worker::with_identity;
use crate::auth::{Action, UserAuth};
use crate::error::ApiErr;
use crate::extract::{ApiJson, ApiPath};
use crate::idempotency::{Idempotency, mark, mismatch};
use crate::state::AppState;
use crate::store::{IdemKey, Keyed, NewJob, UserAction};
use crate::teams::{canonical_labels, validate_team};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use grape_api::{
    ErrorBody, Job, JobSecrets, JobType, SubmitJobRequest, SubmittedJob, validate_secrets,
};
use serde_json::Value;
use uuid::Uuid;

type Submitted = (StatusCode, Json<SubmittedJob>);

/// Submit a job without an idempotency key (the console's forms).
pub async fn submit(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiJson(req, _): ApiJson<SubmitJobRequest>,
) -> Result<Submitted, ApiErr> {
    Ok(submit_as(&state, &caller, None, req).await?.0)
}

/// Submit a job (→ QUEUED).
///
/// `secrets` (name → value) are stored apart from the payload and handed only to the worker
/// that claims the job (`ClaimResponse.secrets`); every job document lists their names in
/// `secret_names`, never a value. A PLAN or DESTROY gets each secret as the Terraform variable of
/// its name; an APPLY without secrets of its own gets its PLAN's.
///
/// With an `Idempotency-Key` header (1 to 255 visible ASCII characters), a repeat with the same
/// token, key and body within `--idempotency-key-ttl` (24 h) answers the job the first request
/// made (201, header `Idempotent-Replayed: true`) and makes none; the same key with another body
/// is 422.
#[utoipa::path(post, path = "/api/jobs", tag = "jobs", request_body = SubmitJobRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "one per logical request, the same on its retries")),
    responses((status = 201, body = SubmittedJob), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "a worker job (DEPLOY/UPDATE/DESTROY_WORKER) without the admin token"),
        (status = 422, body = ErrorBody, description = "invalid `secrets` (the message names the field), or an Idempotency-Key used for another request")))]
pub async fn submit_keyed(
    State(state): State<AppState>,
    caller: UserAuth,
    idempotency: Idempotency,
    ApiJson(req, _): ApiJson<SubmitJobRequest>,
) -> Result<Response, ApiErr> {
    let ttl = state.config.idempotency_key_ttl;
    let key = idempotency.key("submit", "/api/jobs", &req, ttl, Utc::now())?;
    let (answer, replayed) = submit_as(&state, &caller, key.as_ref(), req).await?;
    Ok(mark(answer, replayed))
}

/// The submission; true when it repeats an earlier one with the same key.
async fn submit_as(
    state: &AppState,
    caller: &UserAuth,
    key: Option<&IdemKey>,
    req: SubmitJobRequest,
) -> Result<(Submitted, bool), ApiErr> {
    let now = Utc::now();
    if let Some(key) = key {
        match state.store.find_key(key, now).await? {
            Some(Keyed::Replay(id)) => return Ok((replay(state, id).await?, true)),
            Some(_) => return Err(mismatch()),
            None => {}
        }
    }
    if req.job_type.is_unknown() {
        return Err(ApiErr::bad_request(format!(
            "unknown job type `{}` (expected one of: {})",
            req.job_type,
            JobType::expected()
        )));
    }
    // The token's team, unless an admin names another.
    let team = req.team.clone().unwrap_or_else(|| caller.team().to_owned());
    validate_team(&team).map_err(ApiErr::bad_request)?;
    caller.authorize(Action::SubmitJob(&req.job_type), &team, String::new)?;
    let labels = canonical_labels(&req.labels).map_err(ApiErr::bad_request)?;
    validate_secrets(&req.secrets)
        .map_err(|e| ApiErr::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    // Another team's identity is as unknown as a missing one.
    if let Some(identity) = req.cloud_identity_id {
        let same_team = state
            .store
            .get_identity(identity)
            .await?
            .is_some_and(|i| i.team == team);
        if !same_team {
            return Err(ApiErr::bad_request(format!(
                "unknown cloud identity {identity}"
            )));
        }
    }
    let vine_key =
        crate::vines::key_for_submission(state, &team, &req.job_type, &req.payload).await?;
    let inherited = plan_secrets(state, &team, &req).await?;
    let job = NewJob {
        job_type: &req.job_type,
        payload: &req.payload,
        cloud_identity_id: req.cloud_identity_id,
        retry_of: None,
        team: &team,
        labels: &labels,
        vine_key: vine_key.as_deref(),
        secrets: inherited.as_ref().unwrap_or(&req.secrets),
    };
    let row = match state.store.insert_job(&job, now, key).await? {
        Keyed::Fresh(row) => row,
        Keyed::Replay(id) => return Ok((replay(state, id).await?, true)),
        Keyed::Mismatch => return Err(mismatch()),
    };
    // A waiting claim that fits it serves it: the worker table is read only when none does.
    let mut warnings = if state.job_queued(&row) {
        Vec::new()
    } else {
        crate::queue_ttl::submit_warning(state, &req.job_type, &team)
            .await?
            .into_iter()
            .collect()
    };
    warnings.extend(payload_secret_warnings(&req));
    let job = with_identity(state, row.to_job()).await?;
    Ok((
        (StatusCode::CREATED, Json(SubmittedJob { job, warnings })),
        false,
    ))
}

/// The answer of a repeated submission: the job the first one made, as it is now.
async fn replay(state: &AppState, id: Uuid) -> Result<Submitted, ApiErr> {
    let row = state
        .store
        .get_job(id)
        .await?
        .ok_or_else(|| ApiErr::not_found(format!("job {id} not found")))?;
    let job = with_identity(state, row.to_job()).await?;
    Ok((
        StatusCode::CREATED,
        Json(SubmittedJob {
            job,
            warnings: Vec::new(),
        }),
    ))
}

/// The secrets an APPLY without its own inherits from the PLAN it applies (of its team only), so
/// that its log masks them too; `None` for any other submission.
async fn plan_secrets(
    state: &AppState,
    team: &str,
    req: &SubmitJobRequest,
) -> Result<Option<JobSecrets>, ApiErr> {
    if req.job_type != JobType::Apply || !req.secrets.is_empty() {
        return Ok(None);
    }
    let plan = req
        .payload
        .get(grape_api::PLAN_JOB_ID_FIELD)
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Uuid>().ok());
    let Some(plan) = plan else {
        return Ok(None);
    };
    match state.store.get_job(plan).await? {
        Some(row) if row.team == team && !row.secret_names.0.is_empty() => {
            Ok(Some(state.store.job_secrets(plan).await?))
        }
        _ => Ok(None),
    }
}

/// A PLAN/DESTROY whose `sensitive_variables` have their values in the payload: every reader of
/// the job sees them there.
fn payload_secret_warnings(req: &SubmitJobRequest) -> Vec<String> {
    if !matches!(req.job_type, JobType::Plan | JobType::Destroy) {
        return Vec::new();
    }
    let (Some(Value::Array(names)), Some(Value::Object(vars))) = (
        req.payload.get("sensitive_variables"),
        req.payload.get("variables"),
    ) else {
        return Vec::new();
    };
    names
        .iter()
        .filter_map(Value::as_str)
        .filter(|n| vars.contains_key(*n))
        .map(|n| {
            format!(
                "variable `{n}` is sensitive but its value is in the payload, which every reader \
                 of the job sees: pass it in `secrets` instead (grape: --secret {n}=@FILE)"
            )
        })
        .collect()
}

/// Retry a job without an idempotency key (the console's button).
pub async fn retry(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<Job>), ApiErr> {
    Ok(retry_as(&state, &caller, id, None).await?.0)
}

/// Retry a FAILED/CANCELLED job: a new QUEUED job, `retry_of` the old one, with its secrets.
///
/// With an `Idempotency-Key`, a repeat (same token, key and job within 24 h) answers the retry
/// the first request made (201, `Idempotent-Replayed: true`); the same key for another request
/// is 422.
#[utoipa::path(post, path = "/api/jobs/{id}/retry", tag = "jobs", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "one per logical request, the same on its retries")),
    responses((status = 201, body = Job), (status = 403, body = ErrorBody, description = "a worker job without the admin token"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "an Idempotency-Key used for another request")))]
pub async fn retry_keyed(
    State(state): State<AppState>,
    caller: UserAuth,
    idempotency: Idempotency,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiErr> {
    let ttl = state.config.idempotency_key_ttl;
    let path = format!("/api/jobs/{id}/retry");
    let key = idempotency.key("retry", &path, &(), ttl, Utc::now())?;
    let (answer, replayed) = retry_as(&state, &caller, id, key.as_ref()).await?;
    Ok(mark(answer, replayed))
}

async fn retry_as(
    state: &AppState,
    caller: &UserAuth,
    id: Uuid,
    key: Option<&IdemKey>,
) -> Result<((StatusCode, Json<Job>), bool), ApiErr> {
    let old = visible_job(state, caller, id).await?;
    caller.authorize(Action::RetryJob(&old.job_type()), &old.team, || {
        format!("job {id} not found")
    })?;
    match state.store.retry(id, Utc::now(), key).await? {
        UserAction::Replayed(new) => {
            let row = state
                .store
                .get_job(new)
                .await?
                .ok_or_else(|| ApiErr::not_found(format!("job {new} not found")))?;
            Ok(((StatusCode::CREATED, Json(row.to_job())), true))
        }
        other => {
            let new = action(other, "retry", id)?;
            state.job_queued(&new);
            Ok(((StatusCode::CREATED, Json(new.to_job())), false))
        }
    }
}
