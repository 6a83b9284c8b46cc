//! A job's log on its page, read in windows of [`WINDOW`] lines (the last ones by default, or
//! from a given seq), so a log of 200,000 lines costs one window per page view; search across the
//! whole log on the server; download of the whole log streamed page by page. While the job runs
//! and the window is the last one, `console.js` follows the log stream and appends lines as they
//! arrive (keeping at most a few windows in the page).

use super::or_page;
use crate::console::ansi;
use crate::console::layout;
use crate::console::session::Console;
use crate::error::ApiErr;
use crate::extract::ApiPath;
use crate::routes::user::{self, LOG_PAGE_BYTES};
use crate::state::AppState;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use grape_api::{Job, LogLine, LogStream};
use maud::{Markup, html};
use std::convert::Infallible;
use uuid::Uuid;

/// Lines of one window.
pub const WINDOW: u32 = 1000;
/// Search results shown, at most.
pub const SEARCH_LIMIT: u32 = 200;

fn stream_class(s: &LogStream) -> &'static str {
    match s {
        LogStream::Stderr => "stderr",
        LogStream::System => "system",
        _ => "stdout",
    }
}

/// One line: its number (a link to itself), its stream (words for stderr/system) and its text
/// with ANSI colours.
pub fn line(l: &LogLine) -> Markup {
    let class = stream_class(&l.stream);
    html! {
        li id={ "L" (l.seq) } class={ "l-" (class) } {
            a class="ln" href={ "#L" (l.seq) } aria-label={ "line " (l.seq) } { (l.seq) }
            @if class != "stdout" { span class="st" { (class) } }
            span class="tx" { (layout::raw(ansi::to_html(&l.text))) }
        }
    }
}

/// The log section: navigation between windows, search, download, and the window itself.
pub async fn section(
    state: &AppState,
    job: &Job,
    from: Option<u64>,
    query: Option<&str>,
) -> Result<Markup, ApiErr> {
    let row = state
        .store
        .get_job(job.id)
        .await?
        .ok_or_else(|| ApiErr::not_found(format!("job {} not found", job.id)))?;
    let last_seq = row.last_seq.max(0) as u64;
    let after = match from {
        Some(f) => f.saturating_sub(1),
        None => last_seq.saturating_sub(u64::from(WINDOW)),
    };
    let lines = state
        .store
        .get_logs(job.id, after, WINDOW, LOG_PAGE_BYTES)
        .await?;
    let first = lines.first().map_or(after + 1, |l| l.seq);
    let shown_to = lines.last().map_or(after, |l| l.seq);
    let at_end = shown_to >= last_seq;
    let follow = at_end && !job.status.is_terminal();
    let query = query.map(str::trim).filter(|q| !q.is_empty());
    let found = match query {
        Some(q) => Some(state.store.search_logs(job.id, q, SEARCH_LIMIT).await?),
        None => None,
    };
    let base = format!("/jobs/{}", job.id);
    Ok(html! {
        section aria-labelledby="log-h" class="log-section" {
            h2 id="log-h" { "Log" }
            p class="muted" id="log-range" {
                @if lines.is_empty() { "No line yet." }
                @else { "Lines " (first) "–" (shown_to) " of " span id="log-total" { (last_seq) } "." }
            }
            nav class="log-nav" aria-label="Log windows" {
                @if first > 1 { a href={ (base) "?from=" (first.saturating_sub(u64::from(WINDOW)).max(1)) "#log-h" } { "Earlier lines" } }
                @if !at_end { a href={ (base) "?from=" (shown_to + 1) "#log-h" } { "Later lines" } }
                a href={ (base) "#log-end" } id="jump-end" { "Jump to the end" }
                a href={ (base) "/log.txt" } download { "Download the whole log" }
                label class="js-only" hidden { input type="checkbox" id="follow" checked; " Follow new lines" }
            }
            form method="get" action=(base) class="filters" role="search" {
                label for="log-q" { "Search the whole log (on the server)" }
                input id="log-q" name="q" type="search" value=(query.unwrap_or_default());
                button type="submit" { "Search" }
            }
            @if let (Some(q), Some(found)) = (query, &found) {
                div class="panel" id="search-results" {
                    p { (found.len()) @if found.len() as u32 >= SEARCH_LIMIT { "+" } " line(s) of the whole log contain “" (q) "” (searched on the server"
                        @if found.len() as u32 >= SEARCH_LIMIT { "; the first " (SEARCH_LIMIT) " shown" } ")." }
                    ol class="log" { @for l in found {
                        li class={ "l-" (stream_class(&l.stream)) } {
                            a class="ln" href={ (base) "?from=" (l.seq.saturating_sub(20).max(1)) "#L" (l.seq) } { (l.seq) }
                            span class="tx" { (layout::raw(ansi::to_html(&l.text))) }
                        }
                    } }
                }
            }
            ol class="log" id="log" tabindex="0" aria-label={ "Log of job " (&job.id.to_string()[..8]) }
                data-job-id=(job.id) data-after-seq=(shown_to) data-follow=(u8::from(follow)) {
                @for l in &lines { (line(l)) }
            }
            p id="log-end" class="muted" { @if job.status.is_terminal() { "End of the log (the job is " (job.status.as_str()) ")." } @else { "The job is still going." } }
        }
    })
}

/// `GET /jobs/{id}/log.txt`: the whole log as text, streamed from the database page by page.
pub async fn download(
    State(state): State<AppState>,
    console: Console,
    ApiPath(id): ApiPath<Uuid>,
) -> Response {
    let got = user::get(State(state.clone()), console.user.clone(), ApiPath(id)).await;
    if let Err(r) = or_page(&console, got.map(|Json(j)| j)) {
        return r;
    }
    let chunks = futures::stream::unfold(
        (state, 0u64, false),
        move |(state, after, done)| async move {
            if done {
                return None;
            }
            let lines = match state.store.get_logs(id, after, 5000, LOG_PAGE_BYTES).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, job = %id, "log download cut short");
                    return None;
                }
            };
            let last = lines.last().map(|l| l.seq)?;
            let mut out = String::with_capacity(lines.len() * 80);
            for l in &lines {
                out.push_str(&l.text);
                out.push('\n');
            }
            Some((Ok::<_, Infallible>(Bytes::from(out)), (state, last, false)))
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"job-{id}.log\""),
            ),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}
