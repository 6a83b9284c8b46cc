//! Cloud identities: the list, adding an AWS, GCP or Azure identity (`identity_forms`), and one
//! identity's page with its settings,
//! "Test connection" (CONNECTION_TEST) and "Refresh resources" (FETCH_RESOURCES), and its cached
//! discovery as tables (`console::discovery_view`). The API's identity and submit handlers.

use super::identity_forms::{self, AddForm, Refused};
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
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use grape_api::{CloudIdentity, CloudProvider, JobType, SubmitJobRequest};
use maud::html;
use serde_json::{Value, json};
use uuid::Uuid;

fn setting(i: &CloudIdentity, key: &str) -> String {
    setting_text(&i.settings[key])
}

/// A setting as text: lists joined, documents (a pasted `external_account`) as JSON.
fn setting_text(v: &Value) -> String {
    match v {
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

/// What an identity works in: the AWS role, the GCP project (and service account), the Azure
/// subscription.
fn target(i: &CloudIdentity) -> String {
    match i.provider {
        CloudProvider::Gcp => {
            let sa = setting(i, "service_account");
            if sa.is_empty() {
                setting(i, "project_id")
            } else {
                format!("{} as {sa}", setting(i, "project_id"))
            }
        }
        CloudProvider::Azure => format!("subscription {}", setting(i, "subscription_id")),
        _ => setting(i, "role_arn"),
    }
}

/// `GET /identities`.
pub async fn list(State(state): State<AppState>, console: Console) -> Response {
    list_page(state, &console, None, StatusCode::OK).await
}

async fn list_page(
    state: AppState,
    console: &Console,
    refused: Option<Refused<'_>>,
    status: StatusCode,
) -> Response {
    let Json(list) = match or_page(
        console,
        user::list_identities(State(state), console.user.clone()).await,
    ) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let may_add = console.may(Action::CreateIdentity, &console.principal().team);
    let body = html! {
        h1 { "Cloud identities" }
        @if list.identities.is_empty() { p id="no-identities" { "No cloud identity yet." } }
        @else {
            table class="cards" id="identities" {
                caption class="sr-only" { "Cloud identities" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Provider" } th scope="col" { "Team" }
                    th scope="col" { "Role / project / subscription" } th scope="col" { "Regions" } th scope="col" { "Discovery fetched" } } }
                tbody { @for i in &list.identities { tr data-identity-id=(i.id) data-provider=(i.provider.as_str()) {
                    th scope="row" data-label="Name" { a href={ "/identities/" (i.id) } { (i.name) } }
                    td data-label="Provider" { (provider_label(&i.provider)) }
                    td data-label="Team" { (i.team) }
                    td data-label="Role / project / subscription" { code class="wrap" { (target(i)) } }
                    td data-label="Regions" { (non_empty(setting(i, "regions"))) }
                    td data-label="Discovery fetched" { (fetched_at(i).unwrap_or_else(|| "never".to_owned())) }
                } } }
            }
        }
        @if may_add { (identity_forms::add_forms(console, refused)) }
    };
    let mut page = layout::page(
        console,
        "Cloud identities",
        Nav::Identities,
        "identities",
        &body,
    );
    *page.status_mut() = status;
    page
}

fn non_empty(s: String) -> String {
    if s.is_empty() { "—".to_owned() } else { s }
}

/// The provider in words.
fn provider_label(p: &CloudProvider) -> &str {
    match p {
        CloudProvider::Aws => "AWS",
        CloudProvider::Gcp => "GCP",
        CloudProvider::Azure => "Azure",
        CloudProvider::Unknown(other) => other,
    }
}

/// `POST /identities`: `POST /api/cloud-identities` for the session (an AWS, GCP or Azure
/// form); a refused form comes back with its problem and values (400).
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(console, f): CsrfForm<AddForm>,
) -> Response {
    let req = match f.request() {
        Ok(r) => r,
        Err(problem) => return refused(state, &console, &f, &problem).await,
    };
    match user::create_identity(State(state.clone()), console.user.clone(), ApiJson(req, 0)).await {
        Ok((_, Json(i))) => Redirect::to(&format!("/identities/{}", i.id)).into_response(),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            refused(state, &console, &f, &e.message).await
        }
        Err(e) => layout::error_page(Some(&console), e),
    }
}

async fn refused(state: AppState, console: &Console, form: &AddForm, problem: &str) -> Response {
    let refused = Refused { form, problem };
    list_page(state, console, Some(refused), StatusCode::BAD_REQUEST).await
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
            dt { "Provider" } dd { (provider_label(&i.provider)) }
            dt { "Team" } dd { (i.team) }
            @for (k, v) in &settings {
                dt { (k) } dd { code class="wrap" { (setting_text(v)) } }
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
