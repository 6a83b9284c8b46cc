//! The web console at `/`: server-rendered pages (maud) over the same handlers and permission
//! functions as the API, with a little plain JavaScript for live updates.
//!
//! - [`session`]: sign-in with an API token into a `console_sessions` row; the cookie holds only
//!   the session id (HttpOnly, SameSite=Strict, Secure); every request re-resolves the token's
//!   principal, so a revoked token ends its sessions.
//! - [`csrf`]: the synchronizer token of every form (`csrf_token`), 403 without it.
//! - `pages`: Tendrils, jobs and a job (log windows, search, download, cancel/retry, plan →
//!   apply), cloud identities with their cached discovery. A page calls the API handler itself
//!   (`routes::user::…`, `routes::worker::register`) with the session's [`crate::auth::UserAuth`]:
//!   what it may do is [`crate::auth::policy::authorize`]'s to say, as for a bearer token; never
//!   HTTP to itself.
//! - tokens: `/tokens`, an admin's per-user API tokens (`routes::tokens`; the new token shown
//!   once, in the answer of its form).
//! - vines: `/vines` and a vine's jobs (`GET /api/vines`, see [`crate::vines`]).
//! - `live`: what the pages' scripts poll or follow (`/console/live/…`), through the same handlers.
//!
//! Every answer gets a strict Content-Security-Policy (scripts and styles from `/assets` only),
//! `X-Frame-Options: DENY`, `nosniff` and `Referrer-Policy: same-origin`. Nothing secret is in a
//! page or URL (a new worker's token is shown once, in the answer of its registration form), and
//! no plan artifact is ever served.

mod ansi;
mod assets;
pub mod csrf;
pub mod discovery_view;
mod layout;
mod live;
mod pages;
pub mod session;

use crate::state::AppState;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};

/// The console's routes (merged into [`crate::routes::router`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/tendrils") }))
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/assets/console.css", get(assets::css))
        .route("/assets/console.js", get(assets::js))
        .route("/tendrils", get(pages::tendrils::page))
        .route("/tendrils/register", post(pages::tendrils::register))
        .route("/tendrils/{id}/remove", post(pages::tendrils::remove))
        .route("/jobs", get(pages::jobs::list))
        .route("/jobs/{id}", get(pages::job::page))
        .route("/jobs/{id}/log.txt", get(pages::job_log::download))
        .route("/jobs/{id}/cancel", post(pages::job::cancel))
        .route("/jobs/{id}/retry", post(pages::job::retry))
        .route("/jobs/{id}/apply", post(pages::job::apply))
        .route(
            "/identities",
            get(pages::identities::list).post(pages::identities::create),
        )
        .route("/identities/{id}", get(pages::identities::show))
        .route("/identities/{id}/test", post(pages::identities::test))
        .route("/identities/{id}/refresh", post(pages::identities::refresh))
        .route(
            "/tokens",
            get(pages::tokens::list).post(pages::tokens::create),
        )
        .route("/tokens/{id}/revoke", post(pages::tokens::revoke))
        .route("/vines", get(pages::vines::list))
        .route(
            "/vines/{team}/{project}/{environment}/{region}",
            get(pages::vines::show),
        )
        .route("/console/live/workers", get(live::workers))
        .route("/console/live/jobs", get(live::jobs))
        .route("/console/live/jobs/{id}/stream", get(live::stream))
        .layer(axum::middleware::map_response(security_headers))
}

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
