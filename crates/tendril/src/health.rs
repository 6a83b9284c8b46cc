//! The optional `--listen` server: `/healthz` and `/metrics`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::state::WorkerState;

#[derive(Clone)]
struct HealthState {
    worker: Arc<WorkerState>,
    /// `/healthz` answers 503 when the main loop has not ticked for this long.
    liveness_window: Duration,
}

/// Binds `addr` now (so a busy port stops start-up) and serves until `stop` fires.
pub(crate) async fn serve(
    addr: SocketAddr,
    worker: Arc<WorkerState>,
    liveness_window: Duration,
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

async fn metrics(State(s): State<HealthState>) -> Response {
    let text = s.worker.metrics.render(
        s.worker.drain.is_cancelled(),
        s.worker.current_job_id().is_some(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
