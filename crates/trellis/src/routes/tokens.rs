//! Per-user API tokens (an admin only): create (the token shown once), list (no secrets),
//! revoke (401 from the next request on; its console sessions end).

use crate::auth::{Action, UserAuth, hash_token, new_user_token};
use crate::error::ApiErr;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::teams::validate_team;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use grape_api::{CreateTokenRequest, CreatedToken, ErrorBody, Secret, TokenList, TokenRole};
use uuid::Uuid;

/// Longest token name.
const MAX_NAME: usize = 200;

/// Create a token for `team` with `role` (`user`: that team only; `admin`: every team). The
/// token is in this answer only; Trellis keeps its SHA-256.
#[utoipa::path(post, path = "/api/tokens", tag = "tokens", request_body = CreateTokenRequest, security(("bearer" = [])),
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "not an admin")))]
pub async fn create(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiJson(req, _): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiErr> {
    caller.authorize(Action::ManageTokens, &req.team, String::new)?;
    validate_team(&req.team).map_err(ApiErr::bad_request)?;
    if req.role.is_unknown() {
        return Err(ApiErr::bad_request(format!(
            "unknown role `{}` (expected one of: {})",
            req.role,
            TokenRole::expected()
        )));
    }
    let name = req.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.len() > MAX_NAME || n.chars().any(char::is_control)) {
        return Err(ApiErr::bad_request(format!(
            "a token name has at most {MAX_NAME} characters and no control characters"
        )));
    }
    let id = Uuid::new_v4();
    let token = new_user_token(id);
    let row = state
        .store
        .insert_token(
            id,
            name,
            &req.team,
            &req.role,
            &hash_token(&token),
            Utc::now(),
        )
        .await?;
    tracing::info!(token_id = %id, team = %row.team, role = %row.role, "API token created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            info: row.to_token(),
            token: Secret::new(token),
        }),
    ))
}

/// Every token, oldest first, revoked ones too; never a secret.
#[utoipa::path(get, path = "/api/tokens", tag = "tokens", security(("bearer" = [])),
    responses((status = 200, body = TokenList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: UserAuth,
) -> Result<Json<TokenList>, ApiErr> {
    caller.authorize(Action::ManageTokens, caller.team(), String::new)?;
    let rows = state.store.list_tokens().await?;
    Ok(Json(TokenList {
        tokens: rows.iter().map(crate::store::TokenRow::to_token).collect(),
    }))
}

/// Revoke a token: it gets 401 from now on (again: 204).
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "tokens", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiErr> {
    caller.authorize(Action::ManageTokens, caller.team(), String::new)?;
    if state.store.revoke_token(id, Utc::now()).await? {
        // Its console sessions end with it (they would be refused anyway: a session re-checks
        // its token on every request).
        let sessions = state.store.delete_sessions_of_token(id).await?;
        tracing::info!(token_id = %id, sessions, "API token revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiErr::not_found(format!("token {id} not found")))
    }
}
