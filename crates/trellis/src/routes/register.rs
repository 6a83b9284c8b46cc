//! Worker registration (`POST /api/tendrils/register`, an admin), with its `Idempotency-Key`
//! ([`crate::idempotency`]). The console calls [`register`] (no key); the router serves
//! [`register_keyed`].

use crate::auth::{Action, UserAuth, generate_token, hash_token};
use crate::error::ApiErr;
use crate::extract::ApiJson;
use crate::idempotency::{Idempotency, mark, mismatch};
use crate::state::AppState;
use crate::store::{IdemKey, Keyed, NewWorker};
use crate::teams::validate_team;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use grape_api::{ErrorBody, RegisterRequest, RegisterResponse, Secret};
use uuid::Uuid;

type Registered = (StatusCode, Json<RegisterResponse>);

/// Register a worker without an idempotency key (the console's form).
pub async fn register(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiJson(req, _): ApiJson<RegisterRequest>,
) -> Result<Registered, ApiErr> {
    Ok(register_as(&state, &caller, None, &req).await?.0)
}

/// Register a worker (an admin) into `team` (default `default`); the token is shown once and
/// stored only as a hash. A self-hosted worker claims only its team's jobs, a cloud-hosted
/// (platform) one any team's.
///
/// With an `Idempotency-Key`, a repeat (same token, key and body within 24 h) registers no second
/// worker: it answers the same `worker_id` with a **new** token (Trellis keeps only the first
/// one's hash; the repeat makes it void) and `Idempotent-Replayed: true`. The same key with
/// another body is 422.
#[utoipa::path(post, path = "/api/tendrils/register", tag = "workers", request_body = RegisterRequest,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "one per logical request, the same on its retries")),
    responses((status = 201, body = RegisterResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "the worker this key registered was deleted"),
        (status = 422, body = ErrorBody, description = "an Idempotency-Key used for another request")))]
pub async fn register_keyed(
    State(state): State<AppState>,
    caller: UserAuth,
    idempotency: Idempotency,
    ApiJson(req, _): ApiJson<RegisterRequest>,
) -> Result<Response, ApiErr> {
    let ttl = state.config.idempotency_key_ttl;
    let path = "/api/tendrils/register";
    let key = idempotency.key("register", path, &req, ttl, Utc::now())?;
    let (answer, replayed) = register_as(&state, &caller, key.as_ref(), &req).await?;
    Ok(mark(answer, replayed))
}

async fn register_as(
    state: &AppState,
    caller: &UserAuth,
    key: Option<&IdemKey>,
    req: &RegisterRequest,
) -> Result<(Registered, bool), ApiErr> {
    let team = req
        .team
        .clone()
        .unwrap_or_else(|| grape_api::DEFAULT_TEAM.to_owned());
    caller.authorize(Action::RegisterWorker, &team, String::new)?;
    validate_team(&team).map_err(ApiErr::bad_request)?;
    if req.name.trim().is_empty() {
        return Err(ApiErr::bad_request("name must not be empty"));
    }
    if req.mode.is_unknown() {
        return Err(ApiErr::bad_request(format!(
            "unknown mode `{}` (expected one of: {})",
            req.mode,
            grape_api::WorkerMode::expected()
        )));
    }
    let token = generate_token();
    let token_hash = hash_token(&token);
    let worker = NewWorker {
        name: &req.name,
        mode: &req.mode,
        labels: &req.labels,
        team: &team,
        token_hash: &token_hash,
    };
    let (id, replayed) = match state.store.insert_worker(&worker, Utc::now(), key).await? {
        Keyed::Fresh(id) => (id, false),
        Keyed::Replay(id) => (reissue(state, id, &token_hash).await?, true),
        Keyed::Mismatch => return Err(mismatch()),
    };
    Ok((
        (
            StatusCode::CREATED,
            Json(RegisterResponse {
                worker_id: id,
                worker_token: Secret::new(token),
            }),
        ),
        replayed,
    ))
}

/// The worker a repeated registration made, given the new token (its first one is void).
async fn reissue(state: &AppState, id: Uuid, token_hash: &str) -> Result<Uuid, ApiErr> {
    if !state.store.rotate_worker_token(id, token_hash).await? {
        return Err(ApiErr::new(
            StatusCode::CONFLICT,
            format!(
                "the worker this Idempotency-Key registered ({id}) was deleted: register with a new key"
            ),
        ));
    }
    tracing::info!(worker = %id, "repeated registration: the worker's token was reissued");
    Ok(id)
}
