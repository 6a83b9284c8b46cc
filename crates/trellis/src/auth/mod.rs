//! Authentication: worker id + token headers, user, admin and metrics bearer tokens. Tokens are kept
//! only as SHA-256 hashes and compared in constant time. Authorization: [`policy`].

pub mod policy;

pub use policy::{Action, Denied, Principal, Role, authorize};

use crate::error::ApiErr;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use grape_api::{JobType, TokenRole, WORKER_ID_HEADER, WORKER_TOKEN_HEADER};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// Hex SHA-256 of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time equality of two hashes (of equal length: hex SHA-256).
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A new random token (32 bytes, hex).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// An authenticated worker (its id).
#[derive(Debug, Clone, Copy)]
pub struct WorkerAuth(pub Uuid);

impl FromRequestParts<AppState> for WorkerAuth {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiErr> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (Some(id), Some(token)) = (header(WORKER_ID_HEADER), header(WORKER_TOKEN_HEADER))
        else {
            return Err(ApiErr::unauthorized("missing X-Worker-ID / X-Worker-Token"));
        };
        let Ok(id) = id.trim().parse::<Uuid>() else {
            return Err(ApiErr::unauthorized("invalid worker id or token"));
        };
        let Some(worker) = state.store.get_worker(id).await? else {
            return Err(ApiErr::unauthorized("invalid worker id or token"));
        };
        if !hashes_equal(&worker.token_hash, &hash_token(token.trim())) {
            return Err(ApiErr::unauthorized("invalid worker id or token"));
        }
        Ok(WorkerAuth(id))
    }
}

/// The bearer token of a request, if it has one.
pub(crate) fn bearer(parts: &Parts) -> Option<String> {
    let v = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// A user endpoint's caller: the bootstrap admin token (an admin of team `default`), the
/// bootstrap API token (a user of team `default`) or a per-user token of `/api/tokens`.
/// Anything else: 401. What it may do is [`policy::authorize`]'s to say.
#[derive(Debug, Clone)]
pub struct UserAuth(pub Principal);

impl UserAuth {
    /// [`policy::authorize`] of this caller; a denial becomes 404 (`not_found`) or 403.
    pub fn authorize(
        &self,
        action: Action<'_>,
        resource_team: &str,
        not_found: impl FnOnce() -> String,
    ) -> Result<(), ApiErr> {
        policy::authorize(&self.0, action, resource_team).map_err(|d| d.into_api(not_found))
    }

    /// The caller's team.
    pub fn team(&self) -> &str {
        &self.0.team
    }
}

/// The prefix of the per-user tokens Trellis creates: `trl_<id: 32 hex><secret: 64 hex>`.
pub const TOKEN_PREFIX: &str = "trl_";

/// A new per-user token for `id`.
pub fn new_user_token(id: Uuid) -> String {
    format!("{TOKEN_PREFIX}{}{}", id.simple(), generate_token())
}

/// The id a per-user token names (no lookup yet); `None` for any other token.
pub fn token_id(token: &str) -> Option<Uuid> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    if rest.len() != 32 + 64 || !rest.is_ascii() {
        return None;
    }
    Uuid::try_parse(&rest[..32]).ok()
}

/// The principal of a bearer token, or `None` (401).
pub async fn resolve(state: &AppState, token: &str) -> Result<Option<Principal>, ApiErr> {
    resolve_hash(state, &hash_token(token), token_id(token)).await
}

/// The principal of the token whose SHA-256 is `h` (and which names the per-user token `id`,
/// when it is one), or `None`: what [`resolve`] decides, from what a console session keeps of
/// the token it was signed in with. A revoked or rotated token resolves to `None`.
pub async fn resolve_hash(
    state: &AppState,
    h: &str,
    id: Option<Uuid>,
) -> Result<Option<Principal>, ApiErr> {
    // Both comparisons run, whichever token it is.
    let (admin, user) = (
        hashes_equal(h, &state.admin_token_hash),
        hashes_equal(h, &state.api_token_hash),
    );
    let default = || grape_api::DEFAULT_TEAM.to_owned();
    if admin {
        return Ok(Some(Principal {
            role: Role::Admin,
            team: default(),
        }));
    }
    if user {
        return Ok(Some(Principal {
            role: Role::User,
            team: default(),
        }));
    }
    let Some(id) = id else {
        return Ok(None);
    };
    // Only live tokens are found: a revoked one is refused from the next request on.
    let Some(row) = state.store.active_token(id).await? else {
        return Ok(None);
    };
    if !hashes_equal(&row.token_hash, h) {
        return Ok(None);
    }
    Ok(Some(Principal {
        role: Role::from(&TokenRole::from_wire(&row.role)),
        team: row.team,
    }))
}

impl FromRequestParts<AppState> for UserAuth {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiErr> {
        let Some(token) = bearer(parts) else {
            return Err(ApiErr::unauthorized("missing bearer token"));
        };
        match resolve(state, &token).await? {
            Some(p) => Ok(UserAuth(p)),
            None => Err(ApiErr::unauthorized("invalid bearer token")),
        }
    }
}

/// The job types only an admin may submit or retry: the worker jobs, which run with
/// the platform's own AWS credentials and the admin token on the worker.
pub fn admin_only(job_type: &JobType) -> bool {
    matches!(
        job_type,
        JobType::DeployWorker | JobType::UpdateWorker | JobType::DestroyWorker
    )
}

/// A reader of `/metrics` on the API listener: the metrics token or the admin token.
#[derive(Debug, Clone, Copy)]
pub struct MetricsAuth;

impl FromRequestParts<AppState> for MetricsAuth {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiErr> {
        let Some(token) = bearer(parts) else {
            return Err(ApiErr::unauthorized(
                "missing bearer token: /metrics needs TRELLIS_METRICS_TOKEN or the admin token \
                 (or is served without a token on --metrics-listen)",
            ));
        };
        let h = hash_token(&token);
        let metrics = state
            .metrics_token_hash
            .as_deref()
            .is_some_and(|m| hashes_equal(&h, m));
        if metrics {
            return Ok(MetricsAuth);
        }
        // Any other token must be an admin's; a user token gets 401 like a wrong one (the
        // operator's credential is the metrics token).
        let admin = resolve(state, &token)
            .await?
            .is_some_and(|p| policy::authorize(&p, Action::ReadMetrics, &p.team).is_ok());
        if admin {
            Ok(MetricsAuth)
        } else {
            Err(ApiErr::unauthorized("invalid metrics token"))
        }
    }
}
