//! A job's page: its summary (status, times, error; a PLAN's changes and cost with "Apply this
//! plan"; an APPLY's outputs), cancel and retry, and its log (see [`super::job_log`]). While the
//! job has not ended, `console.js` reloads the summary fragment (`?part=summary`) and follows the
//! log stream — no page reload.

use super::job_log;
use super::or_page;
use crate::auth::Action;
use crate::console::csrf::{CsrfForm, NoFields};
use crate::console::layout::{self, Nav, badge, csrf_field, short_id};
use crate::console::session::Console;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::user;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use grape_api::{Job, JobStatus, JobType, SubmitJobRequest};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// Query of the page.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// The log window starts at this seq (default: the last lines).
    pub from: Option<u64>,
    /// Search the whole log for this text.
    pub q: Option<String>,
    /// `summary`: only the summary section (for the script).
    pub part: Option<String>,
}

/// `GET /jobs/{id}`.
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    ApiPath(id): ApiPath<Uuid>,
    Query(q): Query<PageQuery>,
) -> Response {
    let got = user::get(State(state.clone()), console.user.clone(), ApiPath(id)).await;
    let Json(job) = match or_page(&console, got) {
        Ok(j) => j,
        Err(r) => return r,
    };
    if q.part.as_deref() == Some("summary") {
        return layout::ok(summary(&console, &job));
    }
    let log = match or_page(
        &console,
        job_log::section(&state, &job, q.from, q.q.as_deref()).await,
    ) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let title = format!("{} job {}", job.job_type, &job.id.to_string()[..8]);
    let body = html! {
        p class="crumbs" { a href="/jobs" { "Jobs" } " / " (short_id(job.id)) }
        h1 { (job.job_type.as_str()) " job " code { (job.id) } }
        (summary(&console, &job))
        (log)
    };
    layout::page(&console, &title, Nav::Jobs, "job", &body)
}

fn summary(console: &Console, job: &Job) -> Markup {
    let now = Utc::now();
    let terminal = job.status.is_terminal();
    let may_cancel = !terminal && console.may(Action::CancelJob, &job.team);
    let may_retry = matches!(job.status, JobStatus::Failed | JobStatus::Cancelled)
        && console.may(Action::RetryJob(&job.job_type), &job.team);
    let result = job.result.as_ref();
    let plan_has_changes = job.job_type == JobType::Plan
        && job.status == JobStatus::Success
        && result.is_some_and(|r| r["has_changes"] != Value::Bool(false));
    let may_apply = plan_has_changes && console.may(Action::SubmitJob(&JobType::Apply), &job.team);
    html! {
        section id="job-summary" data-status=(job.status.as_str()) data-terminal=(u8::from(terminal))
            data-version={ (job.updated_at.to_rfc3339()) "/" (job.status.as_str()) "/" (job.cancel_requested) } {
            dl class="facts" {
                dt { "Status" } dd class="job-status" { (badge(job.status.as_str()))
                    @if job.cancel_requested && !terminal { " " span class="muted" { "(cancel requested)" } } }
                dt { "Team" } dd { (job.team) }
                dt { "Identity" } dd {
                    @if let Some(i) = &job.identity { a href={ "/identities/" (i.id) } { (i.name) } }
                    @else { span class="muted" { "none" } } }
                dt { "Worker" } dd { @if let Some(w) = job.worker_id { (short_id(w)) } @else { span class="muted" { "none" } } }
                dt { "Submitted" } dd { (layout::ago(Some(job.created_at), now)) }
                dt { "Duration" } dd { (super::jobs::duration_markup(job, now)) }
                @if !job.labels.is_empty() { dt { "Labels" } dd { (job.labels.join(", ")) } }
                @if let Some(r) = job.retry_of { dt { "Retry of" } dd { a href={ "/jobs/" (r) } { (short_id(r)) } } }
            }
            @if let Some(e) = &job.error { div class="problem" role="alert" { strong { "Error: " } (e) } }
            div class="actions" {
                @if may_cancel { form method="post" action={ "/jobs/" (job.id) "/cancel" } class="inline" {
                    (csrf_field(console)) button type="submit" class="danger" id="cancel" { "Cancel" } } }
                @if may_retry { form method="post" action={ "/jobs/" (job.id) "/retry" } class="inline" {
                    (csrf_field(console)) button type="submit" id="retry" { "Retry" } } }
                @if may_apply { form method="post" action={ "/jobs/" (job.id) "/apply" } class="inline" {
                    (csrf_field(console)) button type="submit" id="apply" { "Apply this plan" } } }
            }
            @if let Some(r) = result {
                @match job.job_type {
                    JobType::Plan | JobType::Destroy => (plan_result(r)),
                    JobType::Apply => (outputs(r)),
                    _ => {}
                }
            }
        }
    }
}

fn count(v: &Value) -> String {
    v.as_u64().map_or_else(|| "0".to_owned(), |n| n.to_string())
}

fn plan_result(r: &Value) -> Markup {
    let s = &r["summary"];
    let changes = r["resource_changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    html! {
        section aria-labelledby="changes-h" class="panel" {
            h2 id="changes-h" { "Resource changes" }
            p class="counts" id="change-counts" {
                span class="c-add" { (count(&s["add"])) " to create" } ", "
                span class="c-change" { (count(&s["change"])) " to update" } ", "
                span class="c-destroy" { (count(&s["destroy"])) " to delete" }
            }
            @if !changes.is_empty() {
                table class="cards" id="changes" {
                    caption class="sr-only" { "Planned changes" }
                    thead { tr { th scope="col" { "Resource" } th scope="col" { "Actions" } } }
                    tbody { @for c in &changes { tr {
                        th scope="row" data-label="Resource" { code { (c["address"].as_str().unwrap_or("?")) } }
                        td data-label="Actions" { (actions_text(&c["actions"])) }
                    } } }
                }
            }
            (cost(r))
        }
    }
}

fn actions_text(v: &Value) -> String {
    let words: Vec<&str> = v
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match words.as_slice() {
        ["create"] => "create".to_owned(),
        ["update"] => "update".to_owned(),
        ["delete"] => "delete".to_owned(),
        ["delete", "create"] | ["create", "delete"] => "replace".to_owned(),
        other => other.join(", "),
    }
}

fn amount(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "unknown".to_owned(),
    }
}

fn cost(r: &Value) -> Markup {
    let c = &r["cost"];
    html! {
        @if c.is_object() {
            h3 { "Cost estimate" }
            p id="cost-total" {
                "Monthly: " strong { (amount(&c["total"]["monthly"])) " " (c["currency"].as_str().unwrap_or("USD")) }
                " (change: " (amount(&c["diff"]["monthly"])) ")"
            }
            @if let Some(res) = c["resources"].as_array().filter(|a| !a.is_empty()) {
                table class="cards" {
                    caption class="sr-only" { "Monthly cost by resource" }
                    thead { tr { th scope="col" { "Resource" } th scope="col" { "Monthly" } } }
                    tbody { @for x in res { tr {
                        th scope="row" data-label="Resource" { code { (x["address"].as_str().unwrap_or("?")) } }
                        td data-label="Monthly" { (amount(&x["cost"]["monthly"])) }
                    } } }
                }
            }
        } @else if let Some(why) = r["cost_unavailable"].as_str() {
            p class="muted" { "No cost estimate: " (why) }
        }
    }
}

fn outputs(r: &Value) -> Markup {
    let outs = r["outputs"].as_object().cloned().unwrap_or_default();
    html! {
        section aria-labelledby="outputs-h" class="panel" {
            h2 id="outputs-h" { "Outputs" }
            @if outs.is_empty() { p { "No output." } }
            @else {
                table class="cards" id="outputs" {
                    caption class="sr-only" { "Outputs" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Value" } } }
                    tbody { @for (k, v) in &outs { tr {
                        th scope="row" data-label="Name" { code { (k) } }
                        td data-label="Value" { code class="wrap" { (match v { Value::String(s) => s.clone(), other => other.to_string() }) } }
                    } } }
                }
            }
        }
    }
}

fn back_to(id: Uuid) -> Response {
    Redirect::to(&format!("/jobs/{id}")).into_response()
}

/// `POST /jobs/{id}/cancel`: `POST /api/jobs/{id}/cancel` for the session.
pub async fn cancel(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    CsrfForm(console, _): CsrfForm<NoFields>,
) -> Response {
    match or_page(
        &console,
        user::cancel(State(state), console.user.clone(), ApiPath(id)).await,
    ) {
        Ok(_) => back_to(id),
        Err(r) => r,
    }
}

/// `POST /jobs/{id}/retry`: `POST /api/jobs/{id}/retry`; then the new job's page.
pub async fn retry(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    CsrfForm(console, _): CsrfForm<NoFields>,
) -> Response {
    match or_page(
        &console,
        user::retry(State(state), console.user.clone(), ApiPath(id)).await,
    ) {
        Ok((_, Json(new))) => back_to(new.id),
        Err(r) => r,
    }
}

/// `POST /jobs/{id}/apply`: submits an APPLY of this PLAN (its identity, team and labels), as
/// `grape apply` does; then the APPLY's page.
pub async fn apply(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    CsrfForm(console, _): CsrfForm<NoFields>,
) -> Response {
    let got = user::get(State(state.clone()), console.user.clone(), ApiPath(id)).await;
    let Json(plan) = match or_page(&console, got) {
        Ok(j) => j,
        Err(r) => return r,
    };
    if plan.job_type != JobType::Plan || plan.status != JobStatus::Success {
        let e = crate::error::ApiErr::conflict(
            format!(
                "job {id} is a {} {} job: only a successful PLAN can be applied",
                plan.status, plan.job_type
            ),
            plan.status,
        );
        return layout::error_page(Some(&console), e);
    }
    let req = SubmitJobRequest {
        job_type: JobType::Apply,
        payload: json!({ "plan_job_id": plan.id }),
        cloud_identity_id: plan.cloud_identity_id,
        team: Some(plan.team.clone()),
        labels: plan.labels.clone(),
        secrets: grape_api::JobSecrets::new(),
    };
    let submitted = user::submit(State(state), console.user.clone(), ApiJson(req, 0)).await;
    match or_page(&console, submitted) {
        Ok((_, Json(s))) => back_to(s.job.id),
        Err(r) => r,
    }
}
