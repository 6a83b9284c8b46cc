//! Console sessions: sign-in with an API token into a server-side session (`console_sessions`),
//! an HttpOnly, SameSite=Strict, Secure cookie holding only the session id, and sign-out.
//!
//! A session keeps the SHA-256 of the token it was signed in with (and the id of a per-user
//! token), never the token: every request re-derives the principal with
//! [`crate::auth::resolve_hash`], exactly as a bearer token is resolved — so a revoked per-user
//! token or a rotated environment token ends its sessions at once, and the pages' permissions are
//! the API's ([`crate::auth::policy`]).

use super::csrf::{CsrfForm, SignInForm};
use super::layout;
use crate::auth::policy::{Action, Principal, authorize};
use crate::auth::{UserAuth, generate_token, hash_token, hashes_equal, resolve, resolve_hash};
use crate::error::ApiErr;
use crate::state::AppState;
use crate::store::SessionRow;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

/// The session cookie (its value: the session id, 64 hex characters).
pub const SESSION_COOKIE: &str = "trellis_session";
/// The cookie of the sign-in form's CSRF token (there is no session yet to hold it).
pub const SIGN_IN_COOKIE: &str = "trellis_sign_in";

/// A signed-in console visitor: the principal its session's token resolves to now, and the
/// session's CSRF token.
#[derive(Debug, Clone)]
pub struct Console {
    /// The caller, as the API handlers take it.
    pub user: UserAuth,
    /// The CSRF synchronizer token of this session's forms.
    pub csrf: String,
    /// SHA-256 of the session id.
    pub session_hash: String,
}

impl Console {
    /// The principal.
    pub fn principal(&self) -> &Principal {
        &self.user.0
    }

    /// Whether `action` on a resource of `team` is allowed: what decides which buttons a page
    /// shows (the handler behind each button asks [`authorize`] again).
    pub fn may(&self, action: Action<'_>, team: &str) -> bool {
        authorize(self.principal(), action, team).is_ok()
    }
}

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure (browsers accept Secure cookies from
/// `http://localhost` and loopback addresses; anything else must be served over HTTPS).
fn set_cookie(name: &str, value: &str, path: &str, max_age_secs: u64) -> HeaderValue {
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict; Secure"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Why a request has no console visitor: pages send it to sign in; the live endpoints of the
/// pages' scripts answer 401.
#[derive(Debug)]
pub struct SignedOut {
    live: bool,
    next: String,
}

impl IntoResponse for SignedOut {
    fn into_response(self) -> Response {
        if self.live {
            return ApiErr::unauthorized("signed out: sign in again").into_response();
        }
        let next: String = form_urlencoded(&self.next);
        Redirect::to(&format!("/sign-in?next={next}")).into_response()
    }
}

fn form_urlencoded(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

impl FromRequestParts<AppState> for Console {
    type Rejection = SignedOut;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, SignedOut> {
        let signed_out = || SignedOut {
            live: parts.uri.path().starts_with("/console/live/"),
            next: local_path(
                parts
                    .uri
                    .path_and_query()
                    .map(axum::http::uri::PathAndQuery::as_str),
            ),
        };
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(signed_out());
        };
        let session_hash = hash_token(&id);
        let Ok(Some(row)) = state.store.live_session(&session_hash, Utc::now()).await else {
            return Err(signed_out());
        };
        let Ok(Some(principal)) = resolve_hash(state, &row.token_hash, row.token_id).await else {
            return Err(signed_out());
        };
        Ok(Console {
            user: UserAuth(principal),
            csrf: row.csrf_token,
            session_hash,
        })
    }
}

/// A same-site path to go back to after signing in (anything else: the Tendrils page).
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => {
            if p.starts_with("/sign-in") || p.starts_with("/console/live/") {
                "/tendrils".to_owned()
            } else {
                p.to_owned()
            }
        }
        _ => "/tendrils".to_owned(),
    }
}

/// Query of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    /// Where to go after signing in.
    pub next: Option<String>,
}

/// `GET /sign-in`: the form (a fresh CSRF token in its cookie and its hidden field).
pub async fn sign_in_page(Query(q): Query<SignInQuery>) -> Response {
    sign_in_form(StatusCode::OK, &local_path(q.next.as_deref()), None)
}

fn sign_in_form(status: StatusCode, next: &str, problem: Option<&str>) -> Response {
    let csrf = generate_token();
    let mut response =
        layout::respond(status, layout::sign_in(&csrf, next, problem)).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, &csrf, "/sign-in", 1800),
    );
    response
}

/// `POST /sign-in`: the token becomes a session; a wrong token shows the form again (401).
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: SignInForm,
) -> Response {
    let next = local_path(form.next.as_deref());
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !hashes_equal(&expected, &form.csrf_token) {
        return layout::forbidden_csrf().into_response();
    }
    let token = form.token.trim();
    let principal = match resolve(&state, token).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return sign_in_form(
                StatusCode::UNAUTHORIZED,
                &next,
                Some("That token is not valid (or was revoked)."),
            );
        }
        Err(e) => return layout::error_page(None, e),
    };
    let now = Utc::now();
    let ttl = state.config.console_session_ttl;
    let id = generate_token();
    let row = SessionRow {
        id_hash: hash_token(&id),
        token_hash: hash_token(token),
        token_id: crate::auth::token_id(token),
        csrf_token: generate_token(),
        created_at: now,
        expires_at: now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX),
    };
    let stored = async {
        state.store.delete_expired_sessions(now).await?;
        state.store.insert_session(&row).await
    };
    if let Err(e) = stored.await {
        return layout::error_page(None, e.into());
    }
    tracing::info!(role = ?principal.role, team = %principal.team, "console sign-in");
    let mut response = Redirect::to(&next).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &id, "/", ttl.as_secs()),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, "", "/sign-in", 0),
    );
    response
}

/// `POST /sign-out`: ends the session and clears its cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    CsrfForm(console, _): CsrfForm<super::csrf::NoFields>,
) -> Response {
    if let Err(e) = state.store.delete_session(&console.session_hash).await {
        return layout::error_page(Some(&console), e.into());
    }
    let mut response = Redirect::to("/sign-in").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", "/", 0));
    response
}
