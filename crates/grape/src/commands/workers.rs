//! `grape workers …`.

use std::collections::BTreeMap;

use comfy_table::{Cell, Color};
use grape_api::{AdminClient, RegisterRequest, Secret, WorkerMode, WorkerStatus};
use serde::Serialize;

use super::{Ctx, client_options, parse_id, read_stdin};
use crate::cli::{AdminIdArgs, AdminTokenArgs, RegisterArgs};
use crate::config::ENV_ADMIN_TOKEN;
use crate::error::{CliError, CliResult};
use crate::output::time_cell;

/// `grape workers list`.
pub async fn list(ctx: &Ctx) -> CliResult<()> {
    let api = ctx.client()?;
    let workers = api.client.list_workers().await.map_err(|e| api.err(&e))?;
    if ctx.printer.json() {
        return ctx.printer.print_json(&workers);
    }
    if workers.is_empty() {
        ctx.printer.note("No workers.");
        return Ok(());
    }
    let p = &ctx.printer;
    let mut t = p.table(&[
        "ID",
        "NAME",
        "STATUS",
        "MODE",
        "CURRENT JOB",
        "VERSION",
        "LAST HEARTBEAT",
    ]);
    for w in &workers {
        let mut status = Cell::new(&w.status);
        if p.color_out {
            status = match w.status {
                WorkerStatus::Online => status.fg(Color::Green),
                WorkerStatus::Draining => status.fg(Color::Yellow),
                WorkerStatus::Offline => status.fg(Color::Red),
                WorkerStatus::Unknown(_) => status,
            };
        }
        t.add_row(vec![
            Cell::new(w.id),
            Cell::new(&w.name),
            status,
            Cell::new(&w.mode),
            Cell::new(
                w.current_job_id
                    .map_or_else(|| "-".to_owned(), |j| j.to_string()),
            ),
            Cell::new(w.info.as_ref().map_or("-", |i| i.version.as_str())),
            Cell::new(time_cell(w.last_heartbeat_at.as_ref())),
        ]);
    }
    p.print_table(&t);
    Ok(())
}

/// The admin token from stdin or `TRELLIS_ADMIN_TOKEN` (never from an argument).
pub(crate) fn admin_token(args: &AdminTokenArgs) -> CliResult<Secret> {
    let token = if args.admin_token_stdin {
        read_stdin("the admin token")?
    } else {
        std::env::var(ENV_ADMIN_TOKEN).unwrap_or_default()
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(
            CliError::unreachable("this command needs the Trellis admin token.").hint(format!(
                "set {ENV_ADMIN_TOKEN}, or pipe it in with --admin-token-stdin"
            )),
        );
    }
    Ok(Secret::new(token))
}

fn admin_client(ctx: &Ctx, args: &AdminTokenArgs) -> CliResult<(AdminClient, String)> {
    let token = admin_token(args)?;
    let resolved = ctx.resolved()?;
    let url = resolved.require_url()?.to_owned();
    let client = AdminClient::new(&url, token, client_options())
        .map_err(|e| CliError::from_api(&e, &url, None))?;
    Ok((client, url))
}

/// What `grape workers register --output json` prints.
#[derive(Debug, Serialize)]
struct Registered<'a> {
    worker_id: uuid::Uuid,
    worker_token: &'a str,
    name: &'a str,
}

/// `grape workers register NAME`: prints the id and the token (shown only this once).
pub async fn register(ctx: &Ctx, args: &RegisterArgs) -> CliResult<()> {
    let mut labels = BTreeMap::new();
    for l in &args.labels {
        let (k, v) = l.split_once('=').ok_or_else(|| {
            CliError::usage(format!("the label `{l}` is not KEY=VALUE."))
                .hint("write labels as --label region=eu")
        })?;
        labels.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    let (client, url) = admin_client(ctx, &args.admin)?;
    let request = RegisterRequest {
        name: args.name.clone(),
        mode: WorkerMode::from_wire(&args.mode),
        labels,
        team: args.team.clone(),
    };
    let resp = client.register_worker(&request).await.map_err(|e| {
        let mut err = CliError::from_api(&e, &url, None);
        if e.status() == Some(401) {
            err = CliError::unreachable(format!("Trellis at {url} rejected the admin token."))
                .hint(format!(
                    "check {ENV_ADMIN_TOKEN}: it must be the server's admin token"
                ));
        }
        err
    })?;
    let token = resp.worker_token.expose();
    if ctx.printer.json() {
        return ctx.printer.print_json(&Registered {
            worker_id: resp.worker_id,
            worker_token: token,
            name: &args.name,
        });
    }
    let p = &ctx.printer;
    // `KEY=value` lines, so `export $(grape workers register NAME)` works.
    println!("GRAPE_WORKER_ID={}", resp.worker_id);
    println!("GRAPE_WORKER_TOKEN={token}");
    p.note(format!(
        "Registered worker `{}`. The token is shown only this once: store it now.\n\
         Start it with: GRAPE_WORKER_ID=… GRAPE_WORKER_TOKEN=… grape worker start --trellis-url {url}",
        args.name
    ));
    Ok(())
}

/// `grape workers remove ID`.
pub async fn remove(ctx: &Ctx, args: &AdminIdArgs) -> CliResult<()> {
    let id = parse_id(&args.id, "worker")?;
    let (client, url) = admin_client(ctx, &args.admin)?;
    client.delete_worker(id).await.map_err(|e| {
        if e.status() == Some(401) {
            return CliError::unreachable(format!("Trellis at {url} rejected the admin token."))
                .hint(format!(
                    "check {ENV_ADMIN_TOKEN}: it must be the server's admin token"
                ));
        }
        CliError::from_api(&e, &url, Some(&format!("worker {id}")))
    })?;
    if ctx.printer.json() {
        return ctx
            .printer
            .print_json(&serde_json::json!({ "removed": id }));
    }
    ctx.printer.note(format!(
        "Removed worker {id}; its claimed jobs go back to the queue."
    ));
    Ok(())
}
