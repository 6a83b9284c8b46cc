//! Authentication: worker id + token headers, user, admin and metrics bearer tokens. Tokens are kept
//! only as SHA-256 hashes and compared in constant time.

use crate::error::ApiErr;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use grape_api::{JobType, WORKER_ID_HEADER, WORKER_TOKEN_HEADER};
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

fn bearer(parts: &Parts) -> Option<String> {
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

/// What a bearer token may do on the user endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The API token: every user endpoint, except the job types of [`admin_only`].
    User,
    /// The admin token: everything.
    Admin,
}

/// A user endpoint's caller (API token or admin token) and its role.
#[derive(Debug, Clone, Copy)]
pub struct UserAuth(pub Role);

impl FromRequestParts<AppState> for UserAuth {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiErr> {
        let Some(token) = bearer(parts) else {
            return Err(ApiErr::unauthorized("missing bearer token"));
        };
        let h = hash_token(&token);
        // Both comparisons run, whichever token it is.
        let (admin, user) = (
            hashes_equal(&h, &state.admin_token_hash),
            hashes_equal(&h, &state.api_token_hash),
        );
        if admin {
            Ok(UserAuth(Role::Admin))
        } else if user {
            Ok(UserAuth(Role::User))
        } else {
            Err(ApiErr::unauthorized("invalid bearer token"))
        }
    }
}

/// The job types only the admin token may submit or retry: the worker jobs, which run with
/// the platform's own AWS credentials and the admin token on the worker.
pub fn admin_only(job_type: &JobType) -> bool {
    matches!(
        job_type,
        JobType::DeployWorker | JobType::UpdateWorker | JobType::DestroyWorker
    )
}

impl UserAuth {
    /// Whether this caller may submit (or retry) a job of `job_type`: 403 naming the job type
    /// when not.
    pub fn may_submit(&self, job_type: &JobType) -> Result<(), ApiErr> {
        if self.0 == Role::Admin || !admin_only(job_type) {
            return Ok(());
        }
        Err(ApiErr::forbidden(format!(
            "{job_type} jobs need the admin token: they run with the platform's AWS credentials \
             and the admin token, and the API token may not submit or retry them"
        )))
    }
}

/// An administrator (admin token only).
#[derive(Debug, Clone, Copy)]
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiErr> {
        let Some(token) = bearer(parts) else {
            return Err(ApiErr::unauthorized("missing bearer token"));
        };
        if hashes_equal(&hash_token(&token), &state.admin_token_hash) {
            Ok(AdminAuth)
        } else {
            Err(ApiErr::unauthorized("invalid admin token"))
        }
    }
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
        if metrics | hashes_equal(&h, &state.admin_token_hash) {
            Ok(MetricsAuth)
        } else {
            Err(ApiErr::unauthorized("invalid metrics token"))
        }
    }
}
