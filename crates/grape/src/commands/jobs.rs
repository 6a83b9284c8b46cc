//! `grape jobs …`.

use comfy_table::Cell;
use grape_api::{Job, JobFilter, JobStatus, JobType, SubmitJobRequest};
use serde_json::Value;
use uuid::Uuid;

use super::follow::{follow, outcome, print_line, print_outcome};
use super::{Api, Ctx, parse_id, read_stdin};
use crate::cli::{ListArgs, LogsArgs, SubmitArgs};
use crate::error::{CliError, CliResult};
use crate::output::{BOLD, time_cell};

/// Parses a job type, case-insensitively.
pub fn parse_job_type(text: &str) -> CliResult<JobType> {
    text.trim()
        .to_ascii_uppercase()
        .replace('-', "_")
        .parse()
        .map_err(|_| {
            CliError::usage(format!("`{text}` is not a job type."))
                .hint(format!("use one of: {}", JobType::expected()))
        })
}

/// Parses a job status, case-insensitively.
pub fn parse_status(text: &str) -> CliResult<JobStatus> {
    text.trim().to_ascii_uppercase().parse().map_err(|_| {
        CliError::usage(format!("`{text}` is not a job status."))
            .hint(format!("use one of: {}", JobStatus::expected()))
    })
}

/// Reads a JSON payload from a file or `-` (stdin).
fn read_payload(arg: Option<&str>) -> CliResult<Value> {
    let Some(arg) = arg else {
        return Ok(Value::Object(serde_json::Map::new()));
    };
    let (text, name) = if arg == "-" {
        (read_stdin("the payload")?, "standard input".to_owned())
    } else {
        let text = std::fs::read_to_string(arg).map_err(|e| {
            CliError::usage(format!("cannot read the payload file {arg}: {e}."))
                .hint("give a JSON file, or `-` to read the payload from standard input")
        })?;
        (text, arg.to_owned())
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::usage(format!("the payload in {name} is not valid JSON: {e}."))
            .hint("the payload must be a JSON object, for example {\"argv\": [\"echo\", \"hi\"]}")
    })?;
    if !value.is_object() {
        return Err(
            CliError::usage(format!("the payload in {name} is not a JSON object."))
                .hint("wrap it in braces: {\"key\": …}"),
        );
    }
    Ok(value)
}

/// Submits a job (with a new idempotency key, the same on the client's retries), prints its id
/// (or the job as JSON), and follows it when asked.
pub async fn submit_and_follow(
    ctx: &Ctx,
    api: &Api,
    request: &SubmitJobRequest,
    follow_it: bool,
) -> CliResult<Job> {
    let key = grape_api::new_idempotency_key();
    submit_keyed_and_follow(ctx, api, request, &key, follow_it).await
}

/// [`submit_and_follow`] with the idempotency key `key`.
async fn submit_keyed_and_follow(
    ctx: &Ctx,
    api: &Api,
    request: &SubmitJobRequest,
    key: &str,
    follow_it: bool,
) -> CliResult<Job> {
    let submitted = api
        .client
        .submit_job_with_key(request, key)
        .await
        .map_err(|e| api.err(&e))?;
    for warning in &submitted.warnings {
        ctx.printer.note(format!("warning: {warning}"));
    }
    let job = submitted.job;
    if !follow_it {
        if ctx.printer.json() {
            ctx.printer.print_json(&job)?;
        } else {
            ctx.printer.note(format!(
                "Submitted {} job {} (QUEUED).",
                job.job_type, job.id
            ));
            println!("{}", job.id);
        }
        return Ok(job);
    }
    ctx.printer.note(format!(
        "Submitted {} job {}; following its log.",
        job.job_type, job.id
    ));
    let done = follow(ctx, api, job.id, !ctx.printer.json()).await?;
    if ctx.printer.json() {
        ctx.printer.print_json(&done)?;
    }
    print_outcome(&ctx.printer, &done);
    Ok(done)
}

/// `grape jobs submit`.
pub async fn submit(ctx: &Ctx, args: &SubmitArgs) -> CliResult<()> {
    let job_type = parse_job_type(&args.job_type)?;
    if args.payload.as_deref() == Some("-") && args.secrets.iter().any(|s| s.ends_with("=@-")) {
        return Err(
            CliError::usage("--payload - and --secret NAME=@- both read standard input.")
                .hint("give the payload or the secret in a file"),
        );
    }
    let key = match &args.idempotency_key {
        Some(k) if grape_api::valid_idempotency_key(k) => k.clone(),
        Some(_) => {
            return Err(CliError::usage(
                "--idempotency-key must be 1 to 255 visible ASCII characters.",
            )
            .hint("for example --idempotency-key deploy-2026-01-31"));
        }
        None => grape_api::new_idempotency_key(),
    };
    let secrets = super::secrets::read_secrets(&args.secrets)?;
    let payload = read_payload(args.payload.as_deref())?;
    let cloud_identity_id = args
        .identity
        .as_deref()
        .map(|i| parse_id(i, "identity"))
        .transpose()?;
    let api = ctx.client()?;
    let request = SubmitJobRequest {
        job_type,
        payload,
        cloud_identity_id,
        team: args.team.clone(),
        labels: args.labels.clone(),
        secrets,
    };
    let job = submit_keyed_and_follow(ctx, &api, &request, &key, args.follow).await?;
    if args.follow { outcome(&job) } else { Ok(()) }
}

/// `grape jobs list`.
pub async fn list(ctx: &Ctx, args: &ListArgs) -> CliResult<()> {
    let filter = JobFilter {
        status: args.status.as_deref().map(parse_status).transpose()?,
        job_type: args.job_type.as_deref().map(parse_job_type).transpose()?,
        limit: args.limit,
        team: None,
    };
    let api = ctx.client()?;
    let jobs = api
        .client
        .list_jobs_where(&filter)
        .await
        .map_err(|e| api.err(&e))?;
    if ctx.printer.json() {
        return ctx.printer.print_json(&jobs);
    }
    if jobs.is_empty() {
        ctx.printer.note("No jobs.");
        return Ok(());
    }
    let mut t = ctx
        .printer
        .table(&["ID", "TYPE", "STATUS", "CREATED", "WORKER", "ERROR"]);
    for j in &jobs {
        t.add_row(vec![
            Cell::new(j.id),
            Cell::new(&j.job_type),
            ctx.printer.status_cell(&j.status),
            Cell::new(time_cell(Some(&j.created_at))),
            Cell::new(j.worker_id.map_or_else(|| "-".to_owned(), short)),
            Cell::new(j.error.as_deref().map_or("-", first_line)),
        ]);
    }
    ctx.printer.print_table(&t);
    Ok(())
}

fn short(id: Uuid) -> String {
    id.to_string().chars().take(8).collect()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// `grape jobs show`.
pub async fn show(ctx: &Ctx, id: &str) -> CliResult<()> {
    let id = parse_id(id, "job")?;
    let api = ctx.client()?;
    let job = api
        .client
        .get_job(id)
        .await
        .map_err(|e| api.err_about(&e, &format!("job {id}")))?;
    if ctx.printer.json() {
        return ctx.printer.print_json(&job);
    }
    print_job(ctx, &job);
    Ok(())
}

/// Prints a job as `key: value` lines.
pub fn print_job(ctx: &Ctx, j: &Job) {
    let p = &ctx.printer;
    let key = |k: &str| p.paint_out(BOLD, &format!("{k:<11}"));
    println!("{} {}", key("ID:"), j.id);
    println!("{} {}", key("Type:"), j.job_type);
    println!(
        "{} {}",
        key("Status:"),
        p.paint_out(crate::output::status_color(&j.status), j.status.as_str())
    );
    if let Some(e) = &j.error {
        println!("{} {e}", key("Error:"));
    }
    if let Some(i) = j.cloud_identity_id {
        println!("{} {i}", key("Identity:"));
    }
    if let Some(w) = j.worker_id {
        println!("{} {w}", key("Worker:"));
    }
    if let Some(r) = j.retry_of {
        println!("{} {r}", key("Retry of:"));
    }
    if j.cancel_requested && !j.status.is_terminal() {
        println!("{} yes", key("Cancelling:"));
    }
    println!("{} {}", key("Created:"), time_cell(Some(&j.created_at)));
    println!("{} {}", key("Started:"), time_cell(j.started_at.as_ref()));
    println!("{} {}", key("Finished:"), time_cell(j.finished_at.as_ref()));
    let payload = serde_json::to_string_pretty(&j.payload).unwrap_or_default();
    println!("{}\n{}", key("Payload:"), indent(&payload));
    if let Some(r) = &j.result {
        println!(
            "{}\n{}",
            key("Result:"),
            indent(&serde_json::to_string_pretty(r).unwrap_or_default())
        );
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `grape jobs logs`.
pub async fn logs(ctx: &Ctx, args: &LogsArgs) -> CliResult<()> {
    let id = parse_id(&args.id, "job")?;
    let api = ctx.client()?;
    if args.follow {
        let job = follow(ctx, &api, id, true).await?;
        print_outcome(&ctx.printer, &job);
        return outcome(&job);
    }
    let mut after = None;
    loop {
        let page = api
            .client
            .get_logs(id, after)
            .await
            .map_err(|e| api.err_about(&e, &format!("job {id}")))?;
        let Some(last) = page.lines.last().map(|l| l.seq) else {
            break;
        };
        for line in &page.lines {
            print_line(&ctx.printer, line);
        }
        if last >= page.last_seq {
            break;
        }
        after = Some(last);
    }
    Ok(())
}

/// `grape jobs cancel`.
pub async fn cancel(ctx: &Ctx, id: &str) -> CliResult<()> {
    let id = parse_id(id, "job")?;
    let api = ctx.client()?;
    let job = api
        .client
        .cancel_job(id)
        .await
        .map_err(|e| api.err_about(&e, &format!("job {id}")))?;
    if ctx.printer.json() {
        return ctx.printer.print_json(&job);
    }
    if job.status.is_terminal() {
        ctx.printer.note(format!("Job {id} is {}.", job.status));
    } else {
        ctx.printer.note(format!(
            "Cancel requested for job {id} ({}); its worker stops it shortly.",
            job.status
        ));
    }
    Ok(())
}

/// `grape jobs retry`.
pub async fn retry(ctx: &Ctx, id: &str) -> CliResult<()> {
    let id = parse_id(id, "job")?;
    let api = ctx.client()?;
    let job = api
        .client
        .retry_job(id)
        .await
        .map_err(|e| api.err_about(&e, &format!("job {id}")))?;
    if ctx.printer.json() {
        return ctx.printer.print_json(&job);
    }
    ctx.printer
        .note(format!("Job {id} retried as job {} (QUEUED).", job.id));
    println!("{}", job.id);
    Ok(())
}
