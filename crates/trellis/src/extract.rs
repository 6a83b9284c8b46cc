//! Extractors whose rejections are JSON `{error}` 4xx answers: JSON bodies (gzip accepted, size
//! capped before and after decompression), paths and queries.

use crate::error::ApiErr;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use std::io::Read;

/// Default body cap: 1 MiB.
pub const DEFAULT_LIMIT: usize = 1024 * 1024;
/// Plan artifact cap: 64 MiB (a saved plan of up to about 48 MiB: base64 adds a third).
pub const ARTIFACT_LIMIT: usize = 64 * 1024 * 1024;

/// A JSON body of at most `LIMIT` bytes (after gzip decoding), as `T`.
#[derive(Debug)]
pub struct ApiJson<T, const LIMIT: usize = DEFAULT_LIMIT>(pub T, pub usize);

fn gzip_encoded(headers: &HeaderMap) -> Result<bool, ApiErr> {
    match headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
    {
        None => Ok(false),
        Some(e) if e == "gzip" => Ok(true),
        Some(e) if e == "identity" => Ok(false),
        Some(e) => Err(ApiErr::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported Content-Encoding `{e}` (gzip or none)"),
        )),
    }
}

/// A too-large body is still read (and dropped) up to this many bytes, so the client receives
/// the 413 instead of a connection reset while it is still sending.
const DRAIN_CAP: usize = 2 * ARTIFACT_LIMIT;

async fn read_limited(body: Body, limit: usize) -> Result<Vec<u8>, ApiErr> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiErr::bad_request(format!("cannot read the request body: {e}")))?;
        seen += chunk.len();
        if seen <= limit {
            out.extend_from_slice(&chunk);
        } else if seen > DRAIN_CAP {
            break;
        }
    }
    if seen > limit {
        return Err(ApiErr::too_large(format!(
            "request body larger than {limit} bytes"
        )));
    }
    Ok(out)
}

/// Reads a body of at most `limit` bytes, decoding gzip.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, ApiErr> {
    let gzip = gzip_encoded(headers)?;
    let raw = read_limited(body, limit).await?;
    if !gzip {
        return Ok(raw);
    }
    let mut out = Vec::new();
    let mut dec = flate2::read::GzDecoder::new(&raw[..]).take(limit as u64 + 1);
    dec.read_to_end(&mut out)
        .map_err(|e| ApiErr::bad_request(format!("invalid gzip body: {e}")))?;
    if out.len() > limit {
        return Err(ApiErr::too_large(format!(
            "decompressed request body larger than {limit} bytes"
        )));
    }
    Ok(out)
}

impl<S: Send + Sync, T: DeserializeOwned, const LIMIT: usize> FromRequest<S> for ApiJson<T, LIMIT> {
    type Rejection = ApiErr;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiErr> {
        let (parts, body) = req.into_parts();
        let bytes = read_body(&parts.headers, body, LIMIT).await?;
        let len = bytes.len();
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            let status = if e.is_data() {
                axum::http::StatusCode::UNPROCESSABLE_ENTITY
            } else {
                axum::http::StatusCode::BAD_REQUEST
            };
            ApiErr::new(status, format!("invalid JSON body: {e}"))
        })?;
        Ok(ApiJson(value, len))
    }
}

/// Path parameters; a bad one (not a UUID) is a 400.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiErr> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| ApiErr::bad_request(format!("invalid path: {}", e.body_text())))
    }
}

/// Query parameters; bad ones are a 400.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiErr> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| ApiErr::bad_request(format!("invalid query: {}", e.body_text())))
    }
}
