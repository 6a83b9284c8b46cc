//! API tokens (an admin's page): every per-user token (never a secret), creating one (its token
//! shown once, in that answer only) and revoking one. The API's own handlers
//! (`routes::tokens::{list, create, revoke}`) with the session's principal, so a user gets
//! their 403 for the page and for every form.

use super::or_page;
use crate::console::csrf::{CsrfForm, NoFields};
use crate::console::layout::{self, Nav, ago, csrf_field, short_id};
use crate::console::session::Console;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::tokens;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use grape_api::{ApiToken, CreateTokenRequest, TokenRole};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

/// `GET /tokens`: `GET /api/tokens` for the session.
pub async fn list(State(state): State<AppState>, console: Console) -> Response {
    let Json(list) = match or_page(
        &console,
        tokens::list(State(state), console.user.clone()).await,
    ) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let now = Utc::now();
    let body = html! {
        h1 { "API tokens" }
        p class="muted" { "Per-user tokens for the API, grape and this console. Trellis keeps only their SHA-256: a token is shown once, when it is made. A revoked token is refused at once, and its console sessions end." }
        @if list.tokens.is_empty() { p id="no-tokens" { "No per-user token yet." } }
        @else {
            table class="cards" id="tokens" {
                caption class="sr-only" { "API tokens, oldest first" }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Id" } th scope="col" { "Team" } th scope="col" { "Role" }
                    th scope="col" { "Created" } th scope="col" { "State" } th scope="col" { "Actions" }
                } }
                tbody { @for t in &list.tokens { (row(&console, t, now)) } }
            }
        }
        (create_form(&console))
    };
    layout::page(&console, "API tokens", Nav::Tokens, "tokens", &body)
}

fn name_of(t: &ApiToken) -> &str {
    t.name.as_deref().unwrap_or("(no name)")
}

fn row(console: &Console, t: &ApiToken, now: chrono::DateTime<Utc>) -> Markup {
    html! {
        tr data-token-id=(t.id) {
            th scope="row" data-label="Name" { (name_of(t)) }
            td data-label="Id" { (short_id(t.id)) }
            td data-label="Team" { (t.team) }
            td data-label="Role" { (t.role.as_str()) }
            td data-label="Created" { (ago(Some(t.created_at), now)) }
            td data-label="State" class="t-state" {
                @if let Some(at) = t.revoked_at { "revoked " (ago(Some(at), now)) } @else { "active" }
            }
            td data-label="Actions" {
                @if t.revoked_at.is_none() {
                    form method="post" action={ "/tokens/" (t.id) "/revoke" } class="inline" {
                        (csrf_field(console))
                        button type="submit" class="danger" aria-label={ "Revoke " (name_of(t)) } { "Revoke" }
                    }
                } @else { span class="muted" { "none" } }
            }
        }
    }
}

fn create_form(console: &Console) -> Markup {
    html! {
        section class="panel" aria-labelledby="create-h" {
            h2 id="create-h" { "Create a token" }
            form method="post" action="/tokens" class="stack" {
                (csrf_field(console))
                label for="t-name" { "Name (who or what uses it)" }
                input id="t-name" name="name" maxlength="200" autocomplete="off";
                label for="t-team" { "Team" }
                input id="t-team" name="team" required value=(grape_api::DEFAULT_TEAM) autocomplete="off";
                label for="t-role" { "Role" }
                select id="t-role" name="role" {
                    option value="user" selected { "user: its team's jobs, identities and workers" }
                    option value="admin" { "admin: every team, workers and tokens" }
                }
                button type="submit" { "Create token" }
            }
        }
    }
}

/// The create form.
#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    role: String,
}

/// `POST /tokens`: `POST /api/tokens` for the session (an admin; a user gets its 403); the
/// answer shows the token once.
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(console, f): CsrfForm<CreateForm>,
) -> Response {
    let name = f.name.trim();
    let req = CreateTokenRequest {
        team: f.team.trim().to_owned(),
        role: TokenRole::from_wire(f.role.trim()),
        name: (!name.is_empty()).then(|| name.to_owned()),
    };
    let answer = tokens::create(State(state), console.user.clone(), ApiJson(req, 0)).await;
    let (_, Json(created)) = match or_page(&console, answer) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let body = html! {
        h1 { "Token created" }
        dl class="facts" {
            dt { "Name" } dd { (name_of(&created.info)) }
            dt { "Team" } dd { (created.info.team) }
            dt { "Role" } dd { (created.info.role.as_str()) }
            dt { "Id" } dd { code { (created.info.id) } }
        }
        p role="alert" { strong { "Copy the token now: it is shown only once." } " Give it to its user for " code { "grape login" } " or this console's sign-in." }
        label for="new-token" { "API token" }
        input id="new-token" readonly value=(created.token.expose()) class="secret";
        p { a href="/tokens" { "Back to the tokens" } }
    };
    layout::page(
        &console,
        "Token created",
        Nav::Tokens,
        "token-created",
        &body,
    )
}

/// `POST /tokens/{id}/revoke`: `DELETE /api/tokens/{id}` for the session.
pub async fn revoke(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    CsrfForm(console, _): CsrfForm<NoFields>,
) -> Response {
    match or_page(
        &console,
        tokens::revoke(State(state), console.user.clone(), ApiPath(id)).await,
    ) {
        Ok(_) => Redirect::to("/tokens").into_response(),
        Err(r) => r,
    }
}
