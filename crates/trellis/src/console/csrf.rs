//! CSRF: every console form carries the session's synchronizer token in a `csrf_token` hidden
//! field; a form without it (or with another) gets 403 before anything else happens. The sign-in
//! form, which has no session yet, carries a random token matched against its own short-lived
//! cookie (`trellis_sign_in`, Path=/sign-in). Cookies are SameSite=Strict besides.

use super::layout;
use super::session::Console;
use crate::auth::hashes_equal;
use crate::extract::read_body;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Largest form body: 64 KiB.
const FORM_LIMIT: usize = 64 * 1024;

/// A form posted by a signed-in visitor whose `csrf_token` is its session's, as `T`.
#[derive(Debug)]
pub struct CsrfForm<T>(pub Console, pub T);

/// A form with no field besides `csrf_token`.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct TokenField {
    csrf_token: Option<String>,
}

/// Reads a form body of at most [`FORM_LIMIT`] bytes.
async fn form_bytes(req: Request) -> Result<(axum::http::request::Parts, Vec<u8>), Response> {
    let (parts, body) = req.into_parts();
    match read_body(&parts.headers, body, FORM_LIMIT).await {
        Ok(bytes) => Ok((parts, bytes)),
        Err(e) => Err(layout::error_page(None, e)),
    }
}

#[allow(clippy::result_large_err)] // a page's answer: the Response is what the caller returns
fn parse<T: DeserializeOwned>(bytes: &[u8], console: Option<&Console>) -> Result<T, Response> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| {
        layout::error_page(
            console,
            crate::error::ApiErr::bad_request(format!("invalid form: {e}")),
        )
    })
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let console = Console::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (_, bytes) = form_bytes(Request::from_parts(parts, body)).await?;
        let given = serde_urlencoded::from_bytes::<TokenField>(&bytes)
            .ok()
            .and_then(|t| t.csrf_token)
            .unwrap_or_default();
        if given.is_empty() || !hashes_equal(&given, &console.csrf) {
            tracing::warn!("console form without its CSRF token refused");
            return Err(layout::forbidden_csrf().into_response());
        }
        let value = parse(&bytes, Some(&console))?;
        Ok(CsrfForm(console, value))
    }
}

/// The sign-in form: the token, the CSRF token (checked against the sign-in cookie by the
/// handler) and where to go next. Its `Debug` hides the token.
#[derive(Deserialize)]
pub struct SignInForm {
    /// The API token.
    #[serde(default)]
    pub token: String,
    /// The form's CSRF token.
    #[serde(default)]
    pub csrf_token: String,
    /// Where to go after signing in.
    pub next: Option<String>,
}

impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInForm")
            .field("token", &"[REDACTED]")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl FromRequest<AppState> for SignInForm {
    type Rejection = Response;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, Response> {
        let (_, bytes) = form_bytes(req).await?;
        parse(&bytes, None)
    }
}
