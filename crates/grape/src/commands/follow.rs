//! Following a job: its log live over the SSE stream (reconnecting after the last line seen when
//! the connection breaks), then its final state.

use std::time::Duration;

use futures::StreamExt;
use grape_api::{ApiError, Job, JobStatus, LogLine, LogStream};
use uuid::Uuid;

use super::{Api, Ctx};
use crate::error::{CliError, CliResult};
use crate::output::{DIM, Printer, YELLOW, human_duration, status_color};

/// Consecutive broken connections tolerated while following.
const MAX_RECONNECTS: u32 = 10;

/// Prints one log line: human text (stderr-stream lines yellow, worker lines dim on a terminal)
/// or one JSON object per line.
pub fn print_line(p: &Printer, line: &LogLine) {
    if p.json() {
        if let Ok(s) = serde_json::to_string(line) {
            println!("{s}");
        }
        return;
    }
    match line.stream {
        LogStream::Stderr => println!("{}", p.paint_out(YELLOW, &line.text)),
        LogStream::System => println!("{}", p.paint_out(DIM, &line.text)),
        _ => println!("{}", line.text),
    }
}

/// Follows job `id`: prints its lines after `after_seq` as they come and returns the job once
/// it has ended. A spinner on stderr (terminal only) shows the wait.
pub async fn follow(ctx: &Ctx, api: &Api, id: Uuid, print_lines: bool) -> CliResult<Job> {
    let p = &ctx.printer;
    let spinner = p.spinner(format!("job {id}"));
    let mut last_seq = 0u64;
    let mut failures = 0u32;
    loop {
        let result = stream_once(api, id, &mut last_seq, print_lines, p, &spinner).await;
        let job = match result {
            Ok(()) => api
                .client
                .get_job(id)
                .await
                .map_err(|e| api.err_about(&e, &format!("job {id}")))?,
            Err(e) if is_transient(&e) && failures < MAX_RECONNECTS => {
                failures += 1;
                spinner.set_message(format!("job {id}: reconnecting"));
                tokio::time::sleep(Duration::from_millis(300 * u64::from(failures))).await;
                continue;
            }
            Err(e) => {
                spinner.finish_and_clear();
                return Err(api.err_about(&e, &format!("job {id}")));
            }
        };
        if job.status.is_terminal() {
            spinner.finish_and_clear();
            return Ok(job);
        }
        // The stream ended before the job did (a proxy timeout, a server restart): go on from
        // the last line seen.
        failures += 1;
        if failures > MAX_RECONNECTS {
            spinner.finish_and_clear();
            return Err(CliError::unreachable(format!(
                "the log stream of job {id} keeps closing early."
            ))
            .hint("follow it again with `grape jobs logs ID --follow`"));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn stream_once(
    api: &Api,
    id: Uuid,
    last_seq: &mut u64,
    print_lines: bool,
    p: &Printer,
    spinner: &indicatif::ProgressBar,
) -> Result<(), ApiError> {
    let after = (*last_seq > 0).then_some(*last_seq);
    let mut stream = api.client.stream_logs(id, after).await?;
    while let Some(item) = stream.next().await {
        let line = item?;
        if line.seq <= *last_seq {
            continue;
        }
        *last_seq = line.seq;
        if print_lines {
            spinner.suspend(|| print_line(p, &line));
        }
    }
    Ok(())
}

fn is_transient(e: &ApiError) -> bool {
    matches!(e, ApiError::Transport { .. } | ApiError::Stream { .. })
        || e.status().is_some_and(|s| s >= 500)
}

/// Prints a one-line outcome of a finished job on stderr.
pub fn print_outcome(p: &Printer, job: &Job) {
    let took = match (job.started_at.or(job.claimed_at), job.finished_at) {
        (Some(a), Some(b)) => format!(" in {}", human_duration(b - a)),
        _ => String::new(),
    };
    let mark = match job.status {
        JobStatus::Success => "✔",
        JobStatus::Failed => "✘",
        _ => "■",
    };
    let status = p.paint_err(
        status_color(&job.status),
        &format!("{mark} job {} {}", job.id, job.status),
    );
    // The reason of a failure is not repeated here: the `error:` line that follows says it.
    eprintln!("{status}{took}");
}

/// `text` ending with a full stop (unless it already ends with punctuation).
pub fn sentence(text: String) -> String {
    if text.ends_with(['.', '!', '?']) {
        text
    } else {
        text + "."
    }
}

/// The exit outcome of a finished job: Ok for SUCCESS, exit 1 otherwise.
pub fn outcome(job: &Job) -> CliResult<()> {
    match job.status {
        JobStatus::Success => Ok(()),
        ref s => {
            let why = job
                .error
                .as_deref()
                .map(|e| format!(": {}", e.trim()))
                .unwrap_or_default();
            Err(
                CliError::failed(sentence(format!("job {} ended {s}{why}", job.id))).hint(format!(
                    "read its log with `grape jobs logs {}`; retry with `grape jobs retry {}`",
                    job.id, job.id
                )),
            )
        }
    }
}
