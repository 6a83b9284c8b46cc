//! `Idempotency-Key` of the writes that make something — `POST /api/jobs`, `POST
//! /api/tendrils/register`, `POST /api/jobs/{id}/retry`: a repeat of a request (same token, same
//! key, same request, within `--idempotency-key-ttl`) answers what the first made instead of
//! making it again; the same key with another request is 422. Keys are kept per token, as the
//! token's SHA-256 (never the token), in `idempotency_keys` ([`crate::store::IdemKey`]).

use crate::auth::{bearer, hash_token};
use crate::error::ApiErr;
use crate::store::IdemKey;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use grape_api::{IDEMPOTENCY_KEY_HEADER, valid_idempotency_key};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The answer header of a repeat: `Idempotent-Replayed: true`.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// A write's `Idempotency-Key` and the token it belongs to; none without the header.
#[derive(Debug, Clone, Default)]
pub struct Idempotency(Option<(String, String)>);

impl Idempotency {
    /// No key (the console's writes, which go through a session and CSRF instead).
    pub fn none() -> Self {
        Self(None)
    }

    /// The key of `operation` on `path` with `body`, expiring `ttl` after `now`.
    pub fn key(
        &self,
        operation: &'static str,
        path: &str,
        body: &impl Serialize,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<IdemKey>, ApiErr> {
        let Some((token_hash, key)) = &self.0 else {
            return Ok(None);
        };
        let body = serde_json::to_vec(body)
            .map_err(|e| ApiErr::bad_request(format!("cannot read the request: {e}")))?;
        let mut digest = Sha256::new();
        for part in [operation.as_bytes(), path.as_bytes(), &body] {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part);
        }
        Ok(Some(IdemKey {
            token_hash: token_hash.clone(),
            key: key.clone(),
            operation,
            fingerprint: hex::encode(digest.finalize()),
            expires_at: now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX),
        }))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiErr> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_KEY_HEADER) else {
            return Ok(Self(None));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| valid_idempotency_key(k))
            .ok_or_else(|| {
                ApiErr::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters")
            })?;
        // The caller's token scopes the key; without one the handler's auth answers 401.
        Ok(Self(
            bearer(parts).map(|token| (hash_token(&token), key.to_owned())),
        ))
    }
}

/// The 422 of a key used for another request.
pub fn mismatch() -> ApiErr {
    ApiErr::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Idempotency-Key: this key was used for another request: use a new key for a new request",
    )
}

/// `answer`, marked `Idempotent-Replayed: true` when it repeats an earlier one.
pub fn mark(answer: impl IntoResponse, replayed: bool) -> Response {
    let mut response = answer.into_response();
    if replayed {
        response.headers_mut().insert(
            HeaderName::from_static(REPLAYED_HEADER),
            HeaderValue::from_static("true"),
        );
    }
    response
}
