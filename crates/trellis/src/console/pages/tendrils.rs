//! The Tendrils page: every worker the session may see, with its status (coloured and in words),
//! mode, version, labels, job types, last heartbeat and current job; a status filter; live
//! updates by `console.js` (it polls `/console/live/workers` and changes the rows in place).
//! Admins register a worker (its token shown once) and remove one.

use super::or_page;
use crate::console::csrf::CsrfForm;
use crate::console::layout::{self, Nav, ago, badge, csrf_field, short_id};
use crate::console::session::Console;
use crate::error::ApiErr;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::{user, worker};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use grape_api::{RegisterRequest, Worker, WorkerMode};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Query of the page.
#[derive(Debug, Deserialize)]
pub struct Filter {
    /// `ONLINE`, `DRAINING` or `OFFLINE`; empty: all.
    pub status: Option<String>,
}

const STATUSES: [&str; 3] = ["ONLINE", "DRAINING", "OFFLINE"];

/// `GET /tendrils`.
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(f): Query<Filter>,
) -> Response {
    let Json(list) = match or_page(
        &console,
        user::workers(State(state), console.user.clone()).await,
    ) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let filter = f
        .status
        .filter(|s| STATUSES.contains(&s.as_str()))
        .unwrap_or_default();
    let admin = console.may(
        crate::auth::Action::RegisterWorker,
        &console.principal().team,
    );
    let rows: Vec<&Worker> = list
        .workers
        .iter()
        .filter(|w| filter.is_empty() || w.status.as_str() == filter)
        .collect();
    let body = html! {
        h1 { "Tendrils" }
        form method="get" action="/tendrils" class="filters" {
            label for="status" { "Status" }
            select id="status" name="status" {
                option value="" selected[filter.is_empty()] { "All" }
                @for s in STATUSES { option value=(s) selected[filter == s] { (s) } }
            }
            button type="submit" { "Filter" }
        }
        p class="muted" id="live-note" { "Updates live while this page is open." }
        table id="workers" class="cards" data-filter=(filter) data-admin=(u8::from(admin)) {
            caption class="sr-only" { "Workers" }
            thead { tr {
                th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Mode" }
                th scope="col" { "Version" } th scope="col" { "Labels" } th scope="col" { "Job types" }
                th scope="col" { "Last heartbeat" } th scope="col" { "Current job" }
                @if admin { th scope="col" { "Actions" } }
            } }
            tbody {
                @for w in &rows { (row(&console, w, admin)) }
            }
        }
        @if rows.is_empty() { p id="no-workers" { "No worker" @if !filter.is_empty() { " is " (filter) } "." } }
        @if admin {
            template id="remove-template" { (remove_form(&console, None)) }
            (register_form(&console))
        }
    };
    layout::page(&console, "Tendrils", Nav::Tendrils, "tendrils", &body)
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn row(console: &Console, w: &Worker, admin: bool) -> Markup {
    let now = Utc::now();
    let types = w.info.as_ref().map(|i| {
        i.job_types
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect::<Vec<_>>()
            .join(", ")
    });
    html! {
        tr data-worker-id=(w.id) {
            th scope="row" data-label="Name" class="w-name" { (w.name) " " span class="muted" { "(" (w.team) ")" } }
            td data-label="Status" class="w-status" { (badge(w.status.as_str())) }
            td data-label="Mode" class="w-mode" { (w.mode.as_str()) }
            td data-label="Version" class="w-version" { (w.info.as_ref().map_or("—", |i| i.version.as_str())) }
            td data-label="Labels" class="w-labels" { (labels_text(&w.labels)) }
            td data-label="Job types" class="w-types" { (types.unwrap_or_else(|| "all".to_owned())) }
            td data-label="Last heartbeat" class="w-heartbeat" { (ago(w.last_heartbeat_at, now)) }
            td data-label="Current job" class="w-job" {
                @if let Some(j) = w.current_job_id { a href={ "/jobs/" (j) } { (short_id(j)) } } @else { span class="muted" { "none" } }
            }
            @if admin { td data-label="Actions" class="w-actions" { (remove_form(console, Some(w))) } }
        }
    }
}

fn remove_form(console: &Console, w: Option<&Worker>) -> Markup {
    let action = w.map_or(String::new(), |w| format!("/tendrils/{}/remove", w.id));
    let name = w.map_or(String::new(), |w| w.name.clone());
    html! {
        form method="post" action=(action) class="inline" {
            (csrf_field(console))
            button type="submit" class="danger" aria-label={ "Remove " (name) } { "Remove" }
        }
    }
}

fn register_form(console: &Console) -> Markup {
    html! {
        section aria-labelledby="register-h" class="panel" {
            h2 id="register-h" { "Register a Tendril" }
            form method="post" action="/tendrils/register" class="stack" {
                (csrf_field(console))
                label for="r-name" { "Name" }
                input id="r-name" name="name" required maxlength="200";
                label for="r-team" { "Team" }
                input id="r-team" name="team" value=(grape_api::DEFAULT_TEAM);
                label for="r-mode" { "Mode" }
                select id="r-mode" name="mode" {
                    option value="self-hosted" selected { "self-hosted (claims its team's jobs)" }
                    option value="cloud-hosted" { "cloud-hosted (platform: any team's jobs)" }
                }
                label for="r-labels" { "Labels (key=value, comma-separated)" }
                input id="r-labels" name="labels" placeholder="region=eu, gpu";
                button type="submit" { "Register" }
            }
        }
    }
}

/// The register form.
#[derive(Debug, Deserialize)]
pub struct RegisterForm {
    name: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    labels: String,
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.trim().to_owned(), v.trim().to_owned()),
            None => (l.to_owned(), String::new()),
        })
        .collect()
}

/// `POST /tendrils/register`: `POST /api/tendrils/register` for the session (an admin; a user
/// gets its 403); the answer shows the token once.
pub async fn register(
    State(state): State<AppState>,
    CsrfForm(console, f): CsrfForm<RegisterForm>,
) -> Response {
    let team = f.team.trim();
    let req = RegisterRequest {
        name: f.name.trim().to_owned(),
        mode: if f.mode.is_empty() {
            WorkerMode::SelfHosted
        } else {
            WorkerMode::from_wire(&f.mode)
        },
        labels: parse_labels(&f.labels),
        team: (!team.is_empty()).then(|| team.to_owned()),
    };
    let answer = worker::register(State(state), console.user.clone(), ApiJson(req, 0)).await;
    let (_, Json(created)) = match or_page(&console, answer) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let body = html! {
        h1 { "Tendril registered" }
        p { "Worker id: " code { (created.worker_id) } }
        p role="alert" { strong { "Copy the token now: it is shown only once." } " Start the worker with it in " code { "GRAPE_WORKER_TOKEN" } " (or " code { "--worker-token-file" } ")." }
        label for="worker-token" { "Worker token" }
        input id="worker-token" readonly value=(created.worker_token.expose()) class="secret";
        p { a href="/tendrils" { "Back to the Tendrils" } }
    };
    layout::page(
        &console,
        "Tendril registered",
        Nav::Tendrils,
        "registered",
        &body,
    )
}

/// `POST /tendrils/{id}/remove`: `DELETE /api/workers/{id}` for the session.
pub async fn remove(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    CsrfForm(console, _): CsrfForm<crate::console::csrf::NoFields>,
) -> Response {
    let r: Result<_, ApiErr> =
        user::delete_worker(State(state), console.user.clone(), ApiPath(id)).await;
    match or_page(&console, r) {
        Ok(_) => Redirect::to("/tendrils").into_response(),
        Err(r) => r,
    }
}
