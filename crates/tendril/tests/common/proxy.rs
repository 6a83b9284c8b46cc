//! A small HTTP proxy in front of Trellis that may rewrite the answers, to give a worker an
//! answer it cannot decode (as a Trellis of another version or a corrupting middlebox would).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;

/// Rewrites an answer: (request path, answer status, answer body) → new body.
pub type Rewrite = Arc<dyn Fn(&str, StatusCode, Bytes) -> Bytes + Send + Sync>;

struct Upstream {
    client: reqwest::Client,
    base: String,
    rewrite: Rewrite,
}

/// A running proxy; stops when dropped.
pub struct Proxy {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Forwards every request to `upstream` (a base URL), passing each answer through `rewrite`.
    pub async fn start(upstream: &str, rewrite: Rewrite) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(Upstream {
            client: reqwest::Client::new(),
            base: upstream.trim_end_matches('/').to_owned(),
            rewrite,
        });
        let app = axum::Router::new().fallback(forward).with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy {
            url: format!("http://{addr}"),
            task,
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(up): State<Arc<Upstream>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let target = format!(
        "{}{}",
        up.base,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return status_only(StatusCode::BAD_REQUEST);
    };
    let mut request = up.client.request(parts.method, target).body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            request = request.header(name, value);
        }
    }
    let Ok(answer) = request.send().await else {
        return status_only(StatusCode::BAD_GATEWAY);
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let Ok(body) = answer.bytes().await else {
        return status_only(StatusCode::BAD_GATEWAY);
    };
    let body = (up.rewrite)(&path, status, body);
    let mut out = Response::builder().status(status);
    for (name, value) in &headers {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            out = out.header(name, value);
        }
    }
    out.body(Body::from(body))
        .unwrap_or_else(|_| status_only(StatusCode::INTERNAL_SERVER_ERROR))
}

fn status_only(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}
