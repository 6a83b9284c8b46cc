//! What the pages' scripts read: the worker list (polled by the Tendrils page), the job list
//! (polled by the Jobs page) and a job's log
//! stream (server-sent events, followed by the job page) — the API's own handlers, called with
//! the session's principal. A signed-out script gets 401.

use super::pages::jobs::Filter;
use super::session::Console;
use crate::error::ApiErr;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::user::{self, LogQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use grape_api::{JobList, WorkerList};
use uuid::Uuid;

/// `GET /console/live/workers`: `GET /api/workers` for the session.
pub async fn workers(state: State<AppState>, console: Console) -> Result<Json<WorkerList>, ApiErr> {
    user::workers(state, console.user).await
}

/// `GET /console/live/jobs?status=&type=`: `GET /api/jobs` with the Jobs page's filter, so
/// the script sees exactly the rows the page would show.
pub async fn jobs(
    state: State<AppState>,
    console: Console,
    ApiQuery(f): ApiQuery<Filter>,
) -> Result<Json<JobList>, ApiErr> {
    user::list(state, console.user, ApiQuery(f.api_query())).await
}

/// `GET /console/live/jobs/{id}/stream?after_seq=N`: `GET /api/jobs/{id}/logs/stream`.
pub async fn stream(
    state: State<AppState>,
    console: Console,
    id: ApiPath<Uuid>,
    q: ApiQuery<LogQuery>,
) -> Result<Response, ApiErr> {
    user::stream(state, console.user, id, q).await
}
