//! The HTTP router and the OpenAPI document.

pub mod register;
pub mod submit;
pub mod tokens;
pub mod user;
pub mod vines;
pub mod worker;

use crate::auth::MetricsAuth;
use crate::error::ApiErr;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use grape_api::Health;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The OpenAPI document of the Trellis API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Trellis API", description = "Control plane of Vintner: job queue and worker registry. \
        Worker endpoints authenticate with X-Worker-ID and X-Worker-Token; user endpoints with \
        `Authorization: Bearer` (TRELLIS_API_TOKEN, a user of team `default`; a token of `/api/tokens`, \
        a user of its team or an admin; register/delete workers and tokens: an admin, such as \
        TRELLIS_ADMIN_TOKEN). Another team's job, log, identity or worker answers 404. \
        Every error is `{\"error\": …}`. A job's `secrets` are never served back: job documents \
        list their names (`secret_names`); only the claim answer of the worker holding the job carries \
        the values. Submit, retry and register take an `Idempotency-Key` header (kept per token for \
        24 h): a repeat answers the first request's resource, the same key with another body is 422. A successful CONNECTION_TEST or FETCH_RESOURCES job of a \
        cloud identity whose `result` has a `discovery` object stores it (with `result.identity`) \
        in the identity's `credentials`, transactionally with the status change."),
    paths(
        register::register_keyed, worker::heartbeat, worker::claim, worker::update_status, worker::append_logs,
        worker::upload_artifact, worker::download_artifact,
        submit::submit_keyed, user::list, user::get, user::logs, user::stream, user::cancel, submit::retry_keyed,
        user::workers, user::delete_worker, user::create_identity, user::list_identities, user::get_identity,
        tokens::create, tokens::list, tokens::revoke, vines::list, vines::jobs, healthz, metrics,
    ),
    modifiers(&Security),
)]
#[derive(Debug)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "worker_id",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Worker-ID"))),
        );
        components.add_security_scheme(
            "worker_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Worker-Token"))),
        );
        for (path, item) in &mut openapi.paths.paths {
            let worker_path = path.starts_with("/api/workers/heartbeat")
                || path.starts_with("/api/jobs/claim")
                || path.ends_with("/status")
                || path.ends_with("/plan-artifact")
                || (path.ends_with("/logs") && item.post.is_some());
            if worker_path {
                for op in [&mut item.post, &mut item.put, &mut item.get]
                    .into_iter()
                    .flatten()
                {
                    if op.security.is_none() {
                        let req = utoipa::openapi::security::SecurityRequirement::new(
                            "worker_id",
                            Vec::<String>::new(),
                        )
                        .add("worker_token", Vec::<String>::new());
                        op.security = Some(vec![req]);
                    }
                }
            }
        }
    }
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// Prometheus metrics (text exposition). On the API listener it needs `Authorization: Bearer`
/// with TRELLIS_METRICS_TOKEN or the admin token; the `--metrics-listen` listener serves it
/// without a token.
#[utoipa::path(
    get, path = "/metrics", tag = "meta",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Prometheus text"),
        (status = 401, description = "No or wrong metrics/admin token", body = grape_api::ErrorBody),
    ),
)]
pub async fn metrics(
    _auth: MetricsAuth,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, ApiErr> {
    metrics_text(&state).await
}

async fn metrics_text(state: &AppState) -> Result<impl IntoResponse + use<>, ApiErr> {
    let text = crate::metrics::render(state).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

async fn open_metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiErr> {
    metrics_text(&state).await
}

/// The router of the `--metrics-listen` listener: `/metrics` without a token, and `/healthz`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(open_metrics))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn not_found() -> ApiErr {
    ApiErr::not_found("no such endpoint")
}

async fn method_not_allowed() -> ApiErr {
    ApiErr::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

/// The router of every endpoint.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/tendrils/register", post(register::register_keyed))
        .route("/api/workers/heartbeat", post(worker::heartbeat))
        .route("/api/jobs/claim", post(worker::claim))
        .route("/api/jobs/{id}/status", put(worker::update_status))
        .route(
            "/api/jobs/{id}/logs",
            post(worker::append_logs).get(user::logs),
        )
        .route(
            "/api/jobs/{id}/plan-artifact",
            post(worker::upload_artifact).get(worker::download_artifact),
        )
        .route("/api/jobs", post(submit::submit_keyed).get(user::list))
        .route("/api/jobs/{id}", get(user::get))
        .route("/api/jobs/{id}/logs/stream", get(user::stream))
        .route("/api/jobs/{id}/cancel", post(user::cancel))
        .route("/api/jobs/{id}/retry", post(submit::retry_keyed))
        .route("/api/workers", get(user::workers))
        .route(
            "/api/workers/{id}",
            axum::routing::delete(user::delete_worker),
        )
        .route(
            "/api/cloud-identities",
            post(user::create_identity).get(user::list_identities),
        )
        .route("/api/cloud-identities/{id}", get(user::get_identity))
        .route("/api/vines", get(vines::list))
        .route(
            "/api/vines/{team}/{project}/{environment}/{region}/jobs",
            get(vines::jobs),
        )
        .route("/api/tokens", post(tokens::create).get(tokens::list))
        .route("/api/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
        .merge(crate::console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Body sizes are capped by our own extractors (1 MiB, 64 MiB for plan artifacts).
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}
