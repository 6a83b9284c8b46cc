//! Vines: the list (`GET /api/vines`) and one vine's jobs (`GET /api/vines/…/jobs`), with its
//! latest PLAN and, when that plan succeeded with changes, "Apply this plan" (the job page's own
//! form handler).

use super::or_page;
use crate::auth::Action;
use crate::console::layout::{self, Nav, badge, csrf_field, short_id};
use crate::console::session::Console;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::vines::{self, VineQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use grape_api::{JobStatus, JobType};
use maud::html;
use serde_json::Value;

/// `GET /vines`.
pub async fn list(State(state): State<AppState>, console: Console) -> Response {
    let got = vines::list(
        State(state),
        console.user.clone(),
        ApiQuery(VineQuery { team: None }),
    )
    .await;
    let Json(list) = match or_page(&console, got) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let now = Utc::now();
    let body = html! {
        h1 { "Vines" }
        p class="muted" { "Each vine is one environment of a project (team / project / environment / region), as its PLAN, APPLY and DESTROY jobs name it." }
        @if list.vines.is_empty() { p { "No vine yet: plan one with " code { "grape vine plan" } "." } }
        @else {
            table class="cards" id="vines" {
                caption class="sr-only" { "Vines" }
                thead { tr { th scope="col" { "Vine" } th scope="col" { "Team" } th scope="col" { "Region" }
                    th scope="col" { "Jobs" } th scope="col" { "Last job" } th scope="col" { "Latest" } } }
                tbody { @for v in &list.vines { tr {
                    th scope="row" data-label="Vine" { a href={ "/vines/" (v.key) } { (v.project) " / " (v.environment) } }
                    td data-label="Team" { (v.team) }
                    td data-label="Region" { (v.region) }
                    td data-label="Jobs" { (v.jobs) }
                    td data-label="Last job" { (layout::ago(Some(v.last_job_at), now)) }
                    td data-label="Latest" {
                        @if let (Some(id), Some(t), Some(s)) = (v.latest_job_id, &v.latest_job_type, &v.latest_status) {
                            a href={ "/jobs/" (id) } { (t.as_str()) } " " (badge(s.as_str()))
                        }
                    }
                } } }
            }
        }
    };
    layout::page(&console, "Vines", Nav::Vines, "vines", &body)
}

/// `GET /vines/{team}/{project}/{environment}/{region}`.
pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Path((team, project, environment, region)): Path<(String, String, String, String)>,
) -> Response {
    let path = vines::VinePath::new(&team, &project, &environment, &region);
    let got = vines::jobs(State(state), console.user.clone(), ApiPath(path)).await;
    let Json(list) = match or_page(&console, got) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let now = Utc::now();
    let plan = list.jobs.iter().find(|j| j.job_type == JobType::Plan);
    let applicable = plan.filter(|p| {
        p.status == JobStatus::Success
            && p.result
                .as_ref()
                .is_some_and(|r| r["has_changes"] != Value::Bool(false))
            && console.may(Action::SubmitJob(&JobType::Apply), &p.team)
    });
    let body = html! {
        p class="crumbs" { a href="/vines" { "Vines" } " / " (project) " / " (environment) }
        h1 { (project) " / " (environment) " " span class="muted" { "(" (region) ", team " (team) ")" } }
        @if let Some(p) = plan {
            div class="panel" {
                p { "Latest plan: " a href={ "/jobs/" (p.id) } { (short_id(p.id)) } " " (badge(p.status.as_str())) }
                @if applicable.is_some() {
                    form method="post" action={ "/jobs/" (p.id) "/apply" } class="inline" {
                        (csrf_field(&console)) button type="submit" { "Apply this plan" } }
                }
            }
        }
        table class="cards" id="vine-jobs" {
            caption class="sr-only" { "The vine's jobs, newest first" }
            thead { tr { th scope="col" { "Job" } th scope="col" { "Status" } th scope="col" { "Type" }
                th scope="col" { "Identity" } th scope="col" { "Worker" } th scope="col" { "Age" } th scope="col" { "Duration" } } }
            tbody { @for j in &list.jobs { (super::jobs::row(j, now)) } }
        }
    };
    layout::page(
        &console,
        &format!("{project} / {environment}"),
        Nav::Vines,
        "vine",
        &body,
    )
}
