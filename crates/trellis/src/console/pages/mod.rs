//! The console's pages. Each one calls the API handler of what it shows or does with the
//! session's principal, so a page can do exactly what the API lets that token do.

pub mod identities;
pub mod identity_forms;
pub mod job;
pub mod job_log;
pub mod jobs;
pub mod tendrils;
pub mod tokens;
pub mod vines;

use super::layout;
use super::session::Console;
use crate::error::ApiErr;
use axum::response::Response;

/// An API handler's answer, or its error as a page.
#[allow(clippy::result_large_err)] // the Response is what the page handler returns
pub(super) fn or_page<T>(console: &Console, r: Result<T, ApiErr>) -> Result<T, Response> {
    r.map_err(|e| layout::error_page(Some(console), e))
}
