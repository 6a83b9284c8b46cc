//! The Jobs page: newest first, with status, type, identity, worker, age and duration; filters
//! by status and type (a GET form: works without JavaScript); live updates by `console.js`.
//! `GET /api/jobs` for the session, on the page and for the script alike.

use super::or_page;
use crate::console::layout::{self, Nav, badge, short_id, span_text};
use crate::console::session::Console;
use crate::extract::ApiQuery;
use crate::routes::user::{self, ListQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use grape_api::{Job, JobStatus, JobType};
use maud::{Markup, html};
use serde::Deserialize;

/// Query of the page.
#[derive(Debug, Deserialize)]
pub struct Filter {
    /// A status, or empty.
    pub status: Option<String>,
    /// A job type, or empty.
    #[serde(rename = "type")]
    pub job_type: Option<String>,
}

const STATUSES: [JobStatus; 6] = [
    JobStatus::Queued,
    JobStatus::Claimed,
    JobStatus::Running,
    JobStatus::Success,
    JobStatus::Failed,
    JobStatus::Cancelled,
];

/// Every job type a user may pick in the filter.
pub(crate) const TYPES: [JobType; 10] = [
    JobType::Exec,
    JobType::Plan,
    JobType::Apply,
    JobType::Destroy,
    JobType::Bootstrap,
    JobType::ConnectionTest,
    JobType::FetchResources,
    JobType::DeployWorker,
    JobType::UpdateWorker,
    JobType::DestroyWorker,
];

/// How long a job ran (or runs): from its start to its end (or now).
pub(crate) fn duration(job: &Job, now: DateTime<Utc>) -> Option<String> {
    let start = job.started_at?;
    Some(span_text(job.finished_at.unwrap_or(now) - start))
}

/// [`duration`] of a running job as a time the script keeps counting.
pub(crate) fn duration_markup(job: &Job, now: DateTime<Utc>) -> Markup {
    if let (Some(start), None) = (job.started_at, job.finished_at) {
        html! { time datetime=(start.to_rfc3339()) data-since { (span_text(now - start)) } }
    } else {
        html! { (duration(job, now).unwrap_or_else(|| "not started".to_owned())) }
    }
}

impl Filter {
    fn status(&self) -> &str {
        self.status.as_deref().unwrap_or_default()
    }

    fn job_type(&self) -> &str {
        self.job_type.as_deref().unwrap_or_default()
    }

    /// The API's query of this filter: the newest 200 jobs it keeps.
    pub(crate) fn api_query(&self) -> ListQuery {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        ListQuery {
            status: some(self.status()),
            job_type: some(self.job_type()),
            limit: Some(LIMIT),
            team: None,
        }
    }
}

/// Jobs a page shows, newest first.
const LIMIT: u32 = 200;

/// `GET /jobs`: the list, which `console.js` keeps current by polling `/console/live/jobs`
/// with the same filter (rows change in place, new jobs come in at the top).
pub async fn list(
    State(state): State<AppState>,
    console: Console,
    Query(f): Query<Filter>,
) -> Response {
    let Json(list) = match or_page(
        &console,
        user::list(State(state), console.user.clone(), ApiQuery(f.api_query())).await,
    ) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let (status, job_type) = (f.status(), f.job_type());
    let now = Utc::now();
    let body = html! {
        h1 { "Jobs" }
        form method="get" action="/jobs" class="filters" {
            label for="f-status" { "Status" }
            select id="f-status" name="status" {
                option value="" selected[status.is_empty()] { "All" }
                @for s in STATUSES { option value=(s.as_str()) selected[status == s.as_str()] { (s.as_str()) } }
            }
            label for="f-type" { "Type" }
            select id="f-type" name="type" {
                option value="" selected[job_type.is_empty()] { "All" }
                @for t in TYPES { option value=(t.as_str()) selected[job_type == t.as_str()] { (t.as_str()) } }
            }
            button type="submit" { "Filter" }
        }
        p class="muted" id="live-note" hidden { "Updates live while this page is open." }
        @if list.jobs.is_empty() { p id="no-jobs" { "No job" @if !status.is_empty() || !job_type.is_empty() { " matches this filter" } "." } }
        table class="cards" id="jobs" data-status=(status) data-type=(job_type) hidden[list.jobs.is_empty()] {
            caption class="sr-only" { "Jobs, newest first" }
            thead { tr {
                th scope="col" { "Job" } th scope="col" { "Status" } th scope="col" { "Type" }
                th scope="col" { "Identity" } th scope="col" { "Worker" } th scope="col" { "Age" }
                th scope="col" { "Duration" }
            } }
            tbody { @for j in &list.jobs { (row(j, now)) } }
        }
    };
    layout::page(&console, "Jobs", Nav::Jobs, "jobs", &body)
}

/// One job's row of a jobs table (the cells' classes are what `console.js` updates).
pub(crate) fn row(j: &Job, now: DateTime<Utc>) -> Markup {
    html! {
        tr data-job-id=(j.id) {
            th scope="row" data-label="Job" class="j-id" { a href={ "/jobs/" (j.id) } { (short_id(j.id)) } }
            td data-label="Status" class="j-status" { (badge(j.status.as_str())) }
            td data-label="Type" class="j-type" { (j.job_type.as_str()) }
            td data-label="Identity" class="j-identity" {
                @if let Some(i) = j.cloud_identity_id { a href={ "/identities/" (i) } { (short_id(i)) } } @else { span class="muted" { "none" } }
            }
            td data-label="Worker" class="j-worker" {
                @if let Some(w) = j.worker_id { (short_id(w)) } @else { span class="muted" { "none" } }
            }
            td data-label="Age" class="j-age" { (layout::ago(Some(j.created_at), now)) }
            td data-label="Duration" class="j-duration" { (duration_markup(j, now)) }
        }
    }
}
