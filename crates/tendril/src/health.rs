//! The optional `--listen` server (`/healthz` open, `/metrics` with the metrics token only) and
//! the optional `--metrics-listen` server (`/metrics` and `/healthz`, both without a token).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use grape_api::Secret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::state::WorkerState;

/// Who may read `/metrics` on a server.
#[derive(Clone)]
pub(crate) enum MetricsAccess {
    /// Anyone (the `--metrics-listen` server, on an address the operator keeps private).
    Open,
    /// A request whose bearer token has this SHA-256; nobody when no token is configured.
    Bearer(Option<[u8; 32]>),
}

impl MetricsAccess {
    /// Access with `token` as the bearer token (none: `/metrics` always answers 401).
    pub(crate) fn bearer(token: Option<&Secret>) -> Self {
        Self::Bearer(token.map(|t| Sha256::digest(t.expose().as_bytes()).into()))
    }

    /// Whether the request's headers grant access (the digests compared in constant time).
    fn allows(&self, headers: &HeaderMap) -> bool {
        let Self::Bearer(want) = self else {
            return true;
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| <[u8; 32]>::from(Sha256::digest(token.trim().as_bytes())));
        match (want, given) {
            (Some(want), Some(given)) => bool::from(want.ct_eq(&given)),
            _ => false,
        }
    }
}

#[derive(Clone)]
struct HealthState {
    worker: Arc<WorkerState>,
    /// `/healthz` answers 503 when the main loop has not ticked for this long.
    liveness_window: Duration,
    metrics: MetricsAccess,
}

/// Binds `addr` now (so a busy port stops start-up) and serves until `stop` fires.
pub(crate) async fn serve(
    addr: SocketAddr,
    worker: Arc<WorkerState>,
    liveness_window: Duration,
    access: MetricsAccess,
    stop: CancellationToken,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(HealthState {
            worker,
            liveness_window,
            metrics: access,
        });
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
        if let Err(e) = server.await {
            tracing::warn!(error = %e, "health server stopped");
        }
    });
    Ok((local, task))
}

async fn healthz(State(s): State<HealthState>) -> Response {
    let since_tick = s.worker.last_tick().elapsed();
    let alive = since_tick <= s.liveness_window;
    let body = serde_json::json!({
        "status": if alive { "ok" } else { "stalled" },
        "worker_status": s.worker.status().as_str(),
        "current_job_id": s.worker.current_job_id(),
        "seconds_since_loop_tick": since_tick.as_secs_f64(),
        "seconds_since_last_heartbeat": s.worker.metrics.since_last_heartbeat().map(|d| d.as_secs_f64()),
    });
    let code = if alive {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

async fn metrics(State(s): State<HealthState>, headers: HeaderMap) -> Response {
    if !s.metrics.allows(&headers) {
        let body = serde_json::json!({
            "error": "/metrics needs `Authorization: Bearer` with TENDRIL_METRICS_TOKEN \
                      (or is served without a token on TENDRIL_METRICS_LISTEN)",
        });
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(body),
        )
            .into_response();
    }
    let text = s.worker.metrics.render(
        s.worker.drain.is_cancelled(),
        s.worker.current_job_id().is_some(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
