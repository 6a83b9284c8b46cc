//! The page shell (header, navigation, sign-out), the sign-in and error pages, and the small
//! pieces every page uses (status badges, times, the CSRF field). HTML comes from maud, which
//! escapes every interpolated value.

use super::session::Console;
use crate::error::ApiErr;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The section of the navigation a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Workers.
    Tendrils,
    /// Jobs.
    Jobs,
    /// Cloud identities.
    Identities,
    /// Vines.
    Vines,
    /// API tokens (admins).
    Tokens,
    /// None (sign-in, errors).
    None,
}

/// An HTML answer. Pages show a team's private data: never cached.
pub fn respond(status: StatusCode, markup: Markup) -> impl IntoResponse {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        markup.into_string(),
    )
}

/// A 200 page.
pub fn ok(markup: Markup) -> Response {
    respond(StatusCode::OK, markup).into_response()
}

/// The hidden CSRF field of a form of `console`'s session.
pub fn csrf_field(console: &Console) -> Markup {
    html! { input type="hidden" name="csrf_token" value=(console.csrf); }
}

fn shell(console: Option<&Console>, title: &str, nav: Nav, page: &str, body: &Markup) -> Markup {
    let link = |href: &str, label: &str, this: Nav| {
        html! {
            @if nav == this { a href=(href) aria-current="page" { (label) } }
            @else { a href=(href) { (label) } }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Trellis" }
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/console.js" defer {}
            }
            body data-page=(page) {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    span class="brand" { "Trellis" }
                    @if let Some(c) = console {
                        nav aria-label="Main" {
                            (link("/tendrils", "Tendrils", Nav::Tendrils))
                            (link("/jobs", "Jobs", Nav::Jobs))
                            (link("/vines", "Vines", Nav::Vines))
                            (link("/identities", "Cloud identities", Nav::Identities))
                            @if c.may(crate::auth::Action::ManageTokens, &c.principal().team) {
                                (link("/tokens", "API tokens", Nav::Tokens))
                            }
                        }
                        div class="who" {
                            span { (role_name(c)) " · team " (c.principal().team) }
                            form method="post" action="/sign-out" class="inline" {
                                (csrf_field(c))
                                button type="submit" class="link" { "Sign out" }
                            }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

fn role_name(c: &Console) -> &'static str {
    match c.principal().role {
        crate::auth::Role::Admin => "admin",
        crate::auth::Role::User => "user",
    }
}

/// A page of the console.
pub fn page(console: &Console, title: &str, nav: Nav, page: &str, body: &Markup) -> Response {
    ok(shell(Some(console), title, nav, page, body))
}

/// The sign-in form.
pub fn sign_in(csrf: &str, next: &str, problem: Option<&str>) -> Markup {
    let body = html! {
        h1 { "Sign in" }
        p { "Sign in with an API token: " code { "TRELLIS_ADMIN_TOKEN" } ", " code { "TRELLIS_API_TOKEN" }
            " or a token made with " code { "grape tokens create" } ". The token is not kept: the session remembers its fingerprint only." }
        @if let Some(p) = problem { p class="problem" role="alert" { (p) } }
        form method="post" action="/sign-in" class="stack" {
            input type="hidden" name="csrf_token" value=(csrf);
            input type="hidden" name="next" value=(next);
            label for="token" { "API token" }
            input id="token" name="token" type="password" autocomplete="off" required autofocus;
            button type="submit" { "Sign in" }
        }
    };
    shell(None, "Sign in", Nav::None, "sign-in", &body)
}

/// 403 for a form without its CSRF token.
pub fn forbidden_csrf() -> impl IntoResponse {
    let body = html! {
        h1 { "Forbidden" }
        p class="problem" role="alert" { "This form has no valid CSRF token (csrf_token). Reload the page and send it again." }
    };
    respond(
        StatusCode::FORBIDDEN,
        shell(None, "Forbidden", Nav::None, "error", &body),
    )
}

/// An API error as a page with the same status and message.
pub fn error_page(console: Option<&Console>, err: ApiErr) -> Response {
    let ApiErr {
        status, message, ..
    } = err;
    let title = status.canonical_reason().unwrap_or("Error").to_owned();
    let body = html! {
        h1 { (title) }
        p class="problem" role="alert" { (message) }
        p { a href="/tendrils" { "Back to the Tendrils" } }
    };
    respond(status, shell(console, &title, Nav::None, "error", &body)).into_response()
}

/// A status in words, coloured by its class (`s-online`, `s-failed`, …).
pub fn badge(status: &str) -> Markup {
    html! { span class={ "badge s-" (status.to_ascii_lowercase()) } data-status=(status) { (status) } }
}

/// "12 s ago" (updated by the script every second), with the exact time as its `datetime`.
pub fn ago(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Markup {
    if let Some(t) = t {
        html! {
            time datetime=(t.to_rfc3339()) data-ago title=(t.to_rfc3339()) { (ago_text(now - t)) }
        }
    } else {
        html! { span class="muted" { "never" } }
    }
}

/// "12 s ago", "3 min ago", "2 h ago", "4 d ago".
pub fn ago_text(d: chrono::Duration) -> String {
    format!("{} ago", span_text(d))
}

/// A length of time: "12 s", "3 min 4 s", "2 h 5 min", "4 d".
pub fn span_text(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// A short id (first 8 hex digits) with the whole id as its title.
pub fn short_id(id: uuid::Uuid) -> Markup {
    let full = id.to_string();
    html! { code title=(full) { (full[..8].to_owned()) } }
}

/// Text kept as is (already escaped HTML, e.g. rendered ANSI).
pub fn raw(html: String) -> Markup {
    PreEscaped(html)
}
