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
/// Header carrying the idempotency key of a write (`POST /api/jobs`, register, retry).
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// A new idempotency key: one per logical request, the same on its retries.
pub fn new_idempotency_key() -> String {
    Uuid::new_v4().to_string()
}

/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

/// Whether `key` is a usable idempotency key: 1 to 255 visible ASCII characters.
pub fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_BYTES
        && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether a request may be sent again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resend {
    /// Sending it twice does what sending it once does (GET, PUT, DELETE, POSTs idempotent by
    /// design, and writes carrying an `Idempotency-Key`): retried on any transient failure.
    Safe,
    /// A write without a key: retried only when it cannot have reached the server (a connect
    /// error), never after a timeout or an error answer, which it may have been processed for.
    ConnectErrorsOnly,
}

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
    /// The `Idempotency-Key` header, the same on every attempt.
    pub idempotency_key: Option<String>,
    /// When it may be sent again.
    pub resend: Resend,
}

impl Req {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            query: Vec::new(),
            body: None,
            gzip: false,
            extra_timeout: Duration::ZERO,
            streaming: false,
            idempotency_key: None,
            resend: if method == Method::POST {
                Resend::ConnectErrorsOnly
            } else {
                Resend::Safe
            },
            method,
        }
    }

    /// Marks a POST that is idempotent by design (a claim with its `request_id`, a heartbeat,
    /// log lines numbered by seq, a plan artifact, a cancel): retried like a GET.
    pub fn idempotent(mut self) -> Self {
        self.resend = Resend::Safe;
        self
    }

    /// Sends `key` as the `Idempotency-Key` of every attempt: the server answers a repeat with
    /// the first answer, so the request is retried like a GET.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self.resend = Resend::Safe;
        self
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
        if let Some(key) = &req.idempotency_key
            && let Ok(v) = HeaderValue::from_str(key)
        {
            headers.insert(IDEMPOTENCY_KEY_HEADER, v);
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
            let may_resend = match req.resend {
                Resend::Safe => err.is_retryable(),
                Resend::ConnectErrorsOnly => err.is_connect_error(),
            };
            if !may_resend || attempt >= policy.max_attempts.max(1) {
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

    /// Accepts connections, reads each request and closes it without an answer (as a server
    /// that died while processing it); counts them.
    async fn hang_up_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::AsyncReadExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                drop(conn);
            }
        });
        (url, seen)
    }

    #[tokio::test]
    async fn a_write_without_a_key_is_not_resent_after_it_may_have_arrived() {
        let (url, seen) = hang_up_server().await;
        let options = ClientOptions {
            retry: crate::RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(2),
                max_elapsed: None,
            },
            ..ClientOptions::default()
        };
        let http = Http::new(&url, options).unwrap();
        let unkeyed = Req::new(Method::POST, "/api/jobs");
        assert_eq!(unkeyed.resend, Resend::ConnectErrorsOnly);
        let err = http.send("t", &unkeyed, &Auth::None).await.unwrap_err();
        assert!(!err.is_connect_error(), "{err:?}");
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
        let keyed = Req::new(Method::POST, "/api/jobs").idempotency_key("k-1");
        http.send("t", &keyed, &Auth::None).await.unwrap_err();
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1 + 3);
        // A connect error is retried even without a key: nothing reached a server.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gone = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let http = Http::new(&gone, http.options().clone()).unwrap();
        let err = http.send("t", &unkeyed, &Auth::None).await.unwrap_err();
        assert!(err.is_connect_error(), "{err:?}");
        assert!(valid_idempotency_key("k-1"));
        assert!(!valid_idempotency_key(""));
        assert!(!valid_idempotency_key("a b"));
        assert!(!valid_idempotency_key(&"k".repeat(256)));
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
