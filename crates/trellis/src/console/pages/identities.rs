//! Cloud identities: the list, adding an AWS identity, and one identity's page with its settings,
//! "Test connection" (CONNECTION_TEST) and "Refresh resources" (FETCH_RESOURCES), and its cached
//! discovery as tables (`console::discovery_view`). The API's identity and submit handlers.

use super::or_page;
use crate::auth::Action;
use crate::console::csrf::{CsrfForm, NoFields};
use crate::console::discovery_view;
use crate::console::layout::{self, Nav, csrf_field};
use crate::console::session::Console;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::user;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use grape_api::{CloudIdentity, CloudProvider, CreateIdentityRequest, JobType, SubmitJobRequest};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

fn setting(i: &CloudIdentity, key: &str) -> String {
    match &i.settings[key] {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn fetched_at(i: &CloudIdentity) -> Option<String> {
    let c = i.credentials.as_ref()?;
    c["discovery"]["discovered_at"]
        .as_str()
        .or_else(|| c["discovered_at"].as_str())
        .map(str::to_owned)
}

/// `GET /identities`.
pub async fn list(State(state): State<AppState>, console: Console) -> Response {
    let Json(list) = match or_page(
        &console,
        user::list_identities(State(state), console.user.clone()).await,
    ) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let may_add = console.may(Action::CreateIdentity, &console.principal().team);
    let body = html! {
        h1 { "Cloud identities" }
        @if list.identities.is_empty() { p { "No cloud identity yet." } }
        @else {
            table class="cards" id="identities" {
                caption class="sr-only" { "Cloud identities" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Provider" } th scope="col" { "Team" }
                    th scope="col" { "Role / account" } th scope="col" { "Regions" } th scope="col" { "Discovery fetched" } } }
                tbody { @for i in &list.identities { tr data-identity-id=(i.id) {
                    th scope="row" data-label="Name" { a href={ "/identities/" (i.id) } { (i.name) } }
                    td data-label="Provider" { (i.provider.as_str()) }
                    td data-label="Team" { (i.team) }
                    td data-label="Role / account" { code class="wrap" { (setting(i, "role_arn")) } }
                    td data-label="Regions" { (setting(i, "regions")) }
                    td data-label="Discovery fetched" { (fetched_at(i).unwrap_or_else(|| "never".to_owned())) }
                } } }
            }
        }
        @if may_add { (add_form(&console)) }
    };
    layout::page(
        &console,
        "Cloud identities",
        Nav::Identities,
        "identities",
        &body,
    )
}

fn add_form(console: &Console) -> Markup {
    html! {
        section class="panel" aria-labelledby="add-h" {
            h2 id="add-h" { "Add an AWS identity" }
            p class="muted" { "The worker assumes this role with its own credentials; nothing secret is entered here. GCP and Azure come with their providers." }
            form method="post" action="/identities" class="stack" {
                (csrf_field(console))
                label for="i-name" { "Name" }
                input id="i-name" name="name" required maxlength="200";
                label for="i-role" { "Role ARN" }
                input id="i-role" name="role_arn" required placeholder="arn:aws:iam::123456789012:role/vintner";
                label for="i-ext" { "External id (optional)" }
                input id="i-ext" name="external_id";
                label for="i-regions" { "Regions (comma-separated; the first is the primary one)" }
                input id="i-regions" name="regions" placeholder="eu-west-1, us-east-1";
                button type="submit" { "Add identity" }
            }
        }
    }
}

/// The add form.
#[derive(Debug, Deserialize)]
pub struct AddForm {
    name: String,
    role_arn: String,
    #[serde(default)]
    external_id: String,
    #[serde(default)]
    regions: String,
}

/// `POST /identities`: `POST /api/cloud-identities` (AWS) for the session.
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(console, f): CsrfForm<AddForm>,
) -> Response {
    let mut settings = Map::new();
    settings.insert("role_arn".into(), json!(f.role_arn.trim()));
    if !f.external_id.trim().is_empty() {
        settings.insert("external_id".into(), json!(f.external_id.trim()));
    }
    let regions: Vec<&str> = f
        .regions
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect();
    if !regions.is_empty() {
        settings.insert("regions".into(), json!(regions));
    }
    let req = CreateIdentityRequest {
        name: f.name.trim().to_owned(),
        provider: CloudProvider::Aws,
        settings: Value::Object(settings),
    };
    match or_page(
        &console,
        user::create_identity(State(state), console.user.clone(), ApiJson(req, 0)).await,
    ) {
        Ok((_, Json(i))) => Redirect::to(&format!("/identities/{}", i.id)).into_response(),
        Err(r) => r,
    }
}

/// `GET /identities/{id}`.
pub async fn show(
    State(state): State<AppState>,
    console: Console,
    ApiPath(id): ApiPath<Uuid>,
) -> Response {
    let Json(i) = match or_page(
        &console,
        user::get_identity(State(state), console.user.clone(), ApiPath(id)).await,
    ) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let may_submit = console.may(Action::SubmitJob(&JobType::FetchResources), &i.team);
    let settings = i.settings.as_object().cloned().unwrap_or_default();
    let body = html! {
        p class="crumbs" { a href="/identities" { "Cloud identities" } " / " (i.name) }
        h1 { (i.name) }
        dl class="facts" {
            dt { "Provider" } dd { (i.provider.as_str()) }
            dt { "Team" } dd { (i.team) }
            @for (k, v) in &settings {
                dt { (k) } dd { code class="wrap" { (match v { Value::String(s) => s.clone(), other => other.to_string() }) } }
            }
        }
        @if may_submit {
            div class="actions" {
                form method="post" action={ "/identities/" (i.id) "/test" } class="inline" {
                    (csrf_field(&console)) button type="submit" { "Test connection" } }
                form method="post" action={ "/identities/" (i.id) "/refresh" } class="inline" {
                    (csrf_field(&console)) button type="submit" { "Refresh resources" } }
            }
        }
        h2 { "Discovered resources" }
        (discovery_view::render(i.credentials.as_ref()))
    };
    layout::page(&console, &i.name, Nav::Identities, "identity", &body)
}

async fn submit_for(state: AppState, console: &Console, id: Uuid, job_type: JobType) -> Response {
    let req = SubmitJobRequest {
        job_type,
        payload: json!({ "cloud_identity_id": id }),
        cloud_identity_id: Some(id),
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    };
    // The identity's own team: an admin's submission goes where the identity is.
    let team =
        match user::get_identity(State(state.clone()), console.user.clone(), ApiPath(id)).await {
            Ok(Json(i)) => i.team,
            Err(e) => return layout::error_page(Some(console), e),
        };
    let req = SubmitJobRequest {
        team: Some(team),
        ..req
    };
    match or_page(
        console,
        user::submit(State(state), console.user.clone(), ApiJson(req, 0)).await,
    ) {
        Ok((_, Json(s))) => Redirect::to(&format!("/jobs/{}", s.job.id)).into_response(),
        Err(r) => r,
    }
}

/// `POST /identities/{id}/test`: submits a CONNECTION_TEST; then its job's page.
pub async fn test(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    CsrfForm(console, _): CsrfForm<NoFields>,
) -> Response {
    submit_for(state, &console, id, JobType::ConnectionTest).await
}

/// `POST /identities/{id}/refresh`: submits a FETCH_RESOURCES; then its job's page.
pub async fn refresh(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    CsrfForm(console, _): CsrfForm<NoFields>,
) -> Response {
    submit_for(state, &console, id, JobType::FetchResources).await
}
