//! The shared request executor of the clients: auth headers, timeouts, gzip, retries.

use crate::enums::JobStatus;
use crate::error::{ApiError, Result};
use crate::options::ClientOptions;
use crate::secret::Secret;
use crate::types::ErrorBody;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Header carrying the worker id.
pub const WORKER_ID_HEADER: &str = "x-worker-id";
/// Header carrying the worker token.
pub const WORKER_TOKEN_HEADER: &str = "x-worker-token";

/// How a request authenticates.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    /// `X-Worker-ID` + `X-Worker-Token`.
    Worker { id: Uuid, token: Secret },
    /// `Authorization: Bearer`.
    Bearer(Secret),
    /// No credentials (health, openapi).
    None,
}

/// One request, rebuilt on every attempt.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Bytes>,
    pub gzip: bool,
    pub extra_timeout: Duration,
    /// A streaming answer (SSE): no overall timeout, only the connect timeout.
    pub streaming: bool,
}

impl Req {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            gzip: false,
            extra_timeout: Duration::ZERO,
            streaming: false,
        }
    }

    /// Adds a JSON body.
    pub fn json<T: Serialize>(mut self, call: &'static str, body: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|e| ApiError::Encode {
            call,
            source: std::io::Error::other(e),
        })?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// Compresses the body with gzip when it is larger than `threshold` bytes — on a blocking
    /// thread (`spawn_blocking`), not on the async runtime's, when a runtime is there.
    pub async fn gzip_over(mut self, call: &'static str, threshold: usize) -> Result<Self> {
        if let Some(body) = self.body.clone()
            && body.len() > threshold
        {
            let compressed = match tokio::runtime::Handle::try_current() {
                Ok(handle) => handle
                    .spawn_blocking(move || gzip(&body))
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e))),
                Err(_) => gzip(&body),
            };
            let out = compressed.map_err(|source| ApiError::Encode { call, source })?;
            self.body = Some(Bytes::from(out));
            self.gzip = true;
        }
        Ok(self)
    }
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    enc.write_all(body)?;
    enc.finish()
}

/// A base URL, an HTTP client and the options.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    base: String,
    options: ClientOptions,
}

impl Http {
    pub fn new(base_url: &str, options: ClientOptions) -> Result<Self> {
        let parsed = reqwest::Url::parse(base_url).map_err(|e| ApiError::InvalidUrl {
            url: base_url.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ApiError::InvalidUrl {
                url: base_url.to_owned(),
                reason: "the scheme must be http or https".to_owned(),
            });
        }
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .user_agent(options.user_agent.clone())
            .build()
            .map_err(|source| ApiError::Client { source })?;
        Ok(Self {
            client,
            base: base_url.trim_end_matches('/').to_owned(),
            options,
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn build(&self, req: &Req, auth: &Auth) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.base, req.path);
        let mut headers = HeaderMap::new();
        match auth {
            Auth::Worker { id, token } => {
                if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
                    headers.insert(WORKER_ID_HEADER, v);
                }
                if let Ok(mut v) = HeaderValue::from_str(token.expose()) {
                    v.set_sensitive(true);
                    headers.insert(WORKER_TOKEN_HEADER, v);
                }
            }
            Auth::Bearer(token) => {
                if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
                    v.set_sensitive(true);
                    headers.insert(reqwest::header::AUTHORIZATION, v);
                }
            }
            Auth::None => {}
        }
        let mut b = self
            .client
            .request(req.method.clone(), url)
            .headers(headers);
        if !req.streaming {
            b = b.timeout(self.options.timeout + req.extra_timeout);
        }
        if !req.query.is_empty() {
            b = b.query(&req.query);
        }
        if let Some(body) = &req.body {
            b = b
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
            if req.gzip {
                b = b.header(reqwest::header::CONTENT_ENCODING, "gzip");
            }
        }
        b
    }

    /// Sends the request until it succeeds (2xx), fails for good, or the retry policy gives up.
    pub async fn send(
        &self,
        call: &'static str,
        req: &Req,
        auth: &Auth,
    ) -> Result<reqwest::Response> {
        let policy = &self.options.retry;
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let (err, retry_after) = match self.build(req, auth).send().await {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let retry_after = retry_after(resp.headers());
                    (status_error(call, resp).await, retry_after)
                }
                Err(source) => (
                    ApiError::Transport {
                        call,
                        source: source.without_url(),
                    },
                    None,
                ),
            };
            if !err.is_retryable() || attempt >= policy.max_attempts.max(1) {
                return Err(err);
            }
            let delay = retry_after.unwrap_or_else(|| policy.backoff(attempt));
            if let Some(max) = policy.max_elapsed
                && started.elapsed() + delay > max
            {
                return Err(err);
            }
            tracing::debug!(call, attempt, ?delay, error = %err, "retrying Trellis call");
            tokio::time::sleep(delay).await;
        }
    }

    /// Sends and decodes a JSON answer.
    pub async fn json<T: DeserializeOwned>(
        &self,
        call: &'static str,
        req: &Req,
        auth: &Auth,
    ) -> Result<T> {
        let resp = self.send(call, req, auth).await?;
        decode(call, resp).await
    }
}

/// The largest answer a client reads: a plan artifact (64 MiB) and its envelope. A bigger one
/// is [`ApiError::AnswerTooLarge`], never a worker out of memory.
pub const MAX_ANSWER_BYTES: usize = 80 * 1024 * 1024;

/// Error answers are read up to this many bytes (their message is cut to 200 characters).
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Reads a body of at most `limit` bytes.
pub(crate) async fn read_bounded(
    call: &'static str,
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>> {
    let too_large = ApiError::AnswerTooLarge { call, limit };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|source| ApiError::Transport {
        call,
        source: source.without_url(),
    })? {
        if out.len() + chunk.len() > limit {
            return Err(too_large);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Reads (at most [`MAX_ANSWER_BYTES`]) and decodes a JSON body.
pub(crate) async fn decode<T: DeserializeOwned>(
    call: &'static str,
    resp: reqwest::Response,
) -> Result<T> {
    let bytes = read_bounded(call, resp, MAX_ANSWER_BYTES).await?;
    serde_json::from_slice(&bytes).map_err(|source| ApiError::Decode { call, source })
}

/// Turns an error answer into [`ApiError::Status`].
async fn status_error(call: &'static str, resp: reqwest::Response) -> ApiError {
    let status = resp.status();
    let body = read_bounded(call, resp, MAX_ERROR_BYTES)
        .await
        .unwrap_or_default();
    let (message, current_status) = if let Ok(b) = serde_json::from_slice::<ErrorBody>(&body) {
        (b.error, b.current_status)
    } else {
        let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        let text = if text.trim().is_empty() {
            status.canonical_reason().unwrap_or("error").to_owned()
        } else {
            text
        };
        (text, None::<JobStatus>)
    };
    ApiError::Status {
        call,
        status: status.as_u16(),
        message,
        current_status,
    }
}

/// Parses `Retry-After` (delta seconds or an HTTP date), capped at five minutes.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
        (when.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or_default()
    };
    Some(d.min(Duration::from_secs(300)))
}

/// True for 204 No Content.
pub(crate) fn is_no_content(resp: &reqwest::Response) -> bool {
    resp.status() == StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_retry_after() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    /// Serves one connection with `head` then `body_len` bytes, then closes it.
    async fn serve_once(head: String, body_len: usize) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf).await;
            let _ = conn.write_all(head.as_bytes()).await;
            let chunk = vec![b' '; 64 * 1024];
            let mut left = body_len;
            while left > 0 {
                let n = left.min(chunk.len());
                if conn.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                left -= n;
            }
        });
        url
    }

    #[tokio::test]
    async fn answers_past_their_bound_are_an_error_not_a_worker_out_of_memory() {
        // Announced too big: refused before reading.
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n".into(),
            0,
        )
        .await;
        let resp = reqwest::get(&url).await.unwrap();
        let err = decode::<serde_json::Value>("test_call", resp)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::AnswerTooLarge { limit, .. } if limit == MAX_ANSWER_BYTES),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "test_call: the answer is larger than 83886080 bytes"
        );
        // Not announced (read to the end of the connection): stopped at the bound.
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".into(),
            3 << 20,
        )
        .await;
        let resp = reqwest::get(&url).await.unwrap();
        let err = read_bounded("test_call", resp, 1 << 20).await.unwrap_err();
        assert!(
            matches!(err, ApiError::AnswerTooLarge { limit, .. } if limit == 1 << 20),
            "{err:?}"
        );
    }
}
