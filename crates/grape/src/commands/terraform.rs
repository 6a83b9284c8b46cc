//! `grape plan DIR`, `grape apply PLAN_JOB_ID`, `grape destroy DIR`: Terraform jobs for a local
//! configuration, submitted to Trellis and followed (or run here with `--local`).

use std::collections::BTreeMap;
use std::path::Path;

use comfy_table::Cell;
use grape_api::{Job, JobSecrets, JobType, PLAN_JOB_ID_FIELD, SubmitJobRequest};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::follow::outcome;
use super::jobs::submit_and_follow;
use super::{Ctx, parse_id};
use crate::cli::{ApplyArgs, PlanArgs};
use crate::error::{CliError, CliResult};
use crate::output::{BOLD, GREEN, Printer, RED, YELLOW};

/// Largest configuration sent inline (the job payload travels in one request).
const MAX_INLINE_BYTES: usize = 4 * 1024 * 1024;

/// Reads the `*.tf` (and `*.tf.json`, `*.tfvars`) files of `dir` (not its subdirectories).
pub fn read_config_files(dir: &Path) -> CliResult<BTreeMap<String, String>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        CliError::usage(format!("cannot read the directory {}: {e}.", dir.display()))
            .hint("give the directory that holds your *.tf files")
    })?;
    let mut files = BTreeMap::new();
    let mut total = 0usize;
    for entry in entries {
        let entry = entry.map_err(|e| {
            CliError::usage(format!("cannot list {}: {e}.", dir.display()))
                .hint("check the directory's permissions")
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let lower = name.to_ascii_lowercase();
        let wanted = [".tf", ".tf.json", ".tfvars"]
            .iter()
            .any(|ext| lower.ends_with(ext));
        if !wanted || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).map_err(|e| {
            CliError::usage(format!("cannot read {}: {e}.", entry.path().display()))
                .hint("configuration files must be readable UTF-8 text")
        })?;
        total += text.len();
        files.insert(name, text);
    }
    if files.is_empty() {
        return Err(
            CliError::usage(format!("{} holds no *.tf files.", dir.display()))
                .hint("give the directory of a Terraform configuration"),
        );
    }
    if total > MAX_INLINE_BYTES {
        return Err(CliError::usage(format!(
            "the configuration in {} is too large to send inline ({total} bytes).",
            dir.display()
        ))
        .hint("keep it in a git repository and submit a PLAN job with a git source"));
    }
    Ok(files)
}

/// Parses `--var name=value` flags.
pub fn parse_vars(vars: &[String]) -> CliResult<Map<String, Value>> {
    let mut out = Map::new();
    for v in vars {
        let (k, val) = v.split_once('=').ok_or_else(|| {
            CliError::usage(format!("the variable `{v}` is not NAME=VALUE."))
                .hint("write variables as --var region=eu-west-1")
        })?;
        out.insert(k.trim().to_owned(), Value::String(val.to_owned()));
    }
    Ok(out)
}

/// The PLAN / DESTROY payload for a directory.
pub fn source_payload(args: &PlanArgs) -> CliResult<Value> {
    let files = read_config_files(&args.dir)?;
    let variables = parse_vars(&args.vars)?;
    let state_key = match &args.state_key {
        Some(k) => k.clone(),
        None => default_state_key(&args.dir),
    };
    Ok(json!({ "source": { "files": files }, "variables": variables, "state_key": state_key }))
}

/// The directory's name (of its absolute path), `default` when it has none.
fn default_state_key(dir: &Path) -> String {
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    abs.file_name().map_or_else(
        || "default".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Submits a Terraform job and follows it (or, `detach`, prints its id and returns).
pub(super) async fn submit(
    ctx: &Ctx,
    job_type: JobType,
    payload: Value,
    cloud_identity_id: Option<Uuid>,
    secrets: JobSecrets,
    follow_it: bool,
) -> CliResult<Job> {
    let api = ctx.client()?;
    let request = SubmitJobRequest {
        job_type,
        payload,
        cloud_identity_id,
        team: None,
        labels: Vec::new(),
        secrets,
    };
    submit_and_follow(ctx, &api, &request, follow_it).await
}

/// Runs a PLAN/DESTROY job with `secrets` here (`local`) or on a worker, and checks its outcome.
pub(super) async fn run_job(
    ctx: &Ctx,
    job_type: JobType,
    payload: Value,
    cloud_identity_id: Option<Uuid>,
    secrets: JobSecrets,
    local: bool,
) -> CliResult<Job> {
    if local {
        let job =
            super::local::run(&ctx.printer, job_type, payload, cloud_identity_id, secrets).await?;
        super::local::outcome(&job)?;
        Ok(job)
    } else {
        let job = submit(ctx, job_type, payload, cloud_identity_id, secrets, true).await?;
        outcome(&job)?;
        Ok(job)
    }
}

/// Shows a finished PLAN: its changes, its cost and how to apply it (`apply_command`).
pub(super) fn show_plan(ctx: &Ctx, job: &Job, local: bool, apply_command: &str) {
    if ctx.printer.json() {
        return;
    }
    print_changes(&ctx.printer, job.result.as_ref(), "Plan");
    super::cost::print_cost(&ctx.printer, job.result.as_ref());
    let local = if local { " --local" } else { "" };
    ctx.printer.note(format!(
        "Apply this plan with: {apply_command}{local} {}",
        job.id
    ));
}

/// `--identity ID` of `grape plan|destroy`.
fn identity_arg(args: &PlanArgs) -> CliResult<Option<Uuid>> {
    args.identity
        .as_deref()
        .map(|i| parse_id(i, "identity"))
        .transpose()
}

/// `grape plan DIR`.
pub async fn plan(ctx: &Ctx, args: &PlanArgs) -> CliResult<()> {
    let secrets = super::secrets::read_secrets(&args.secrets)?;
    let payload = source_payload(args)?;
    let job = run_job(
        ctx,
        JobType::Plan,
        payload,
        identity_arg(args)?,
        secrets,
        args.local,
    )
    .await?;
    show_plan(ctx, &job, args.local, "grape apply");
    Ok(())
}

/// `grape apply PLAN_JOB_ID`.
pub async fn apply(ctx: &Ctx, args: &ApplyArgs) -> CliResult<()> {
    let plan_id = parse_id(&args.plan_job_id, "plan job")?;
    if args.local {
        let payload = json!({ PLAN_JOB_ID_FIELD: plan_id });
        let job = super::local::run(
            &ctx.printer,
            JobType::Apply,
            payload,
            None,
            JobSecrets::new(),
        )
        .await?;
        super::local::outcome(&job)?;
        if !ctx.printer.json() {
            print_changes(&ctx.printer, job.result.as_ref(), "Apply");
            print_outputs(&ctx.printer, job.result.as_ref());
            super::vine::bootstrap::print_platform(&ctx.printer, job.result.as_ref());
        }
        return Ok(());
    }
    let api = ctx.client()?;
    let plan = api
        .client
        .get_job(plan_id)
        .await
        .map_err(|e| api.err_about(&e, &format!("plan job {plan_id}")))?;
    if plan.job_type != JobType::Plan {
        return Err(CliError::usage(format!(
            "job {plan_id} is a {} job, not a PLAN job.",
            plan.job_type
        ))
        .hint("give the id that `grape plan DIR` printed"));
    }
    if plan.status != grape_api::JobStatus::Success {
        return Err(CliError::failed(format!(
            "plan job {plan_id} is {}, not SUCCESS.",
            plan.status
        ))
        .hint("plan again with `grape plan DIR` and apply the new plan"));
    }
    let mut payload = Map::new();
    payload.insert(PLAN_JOB_ID_FIELD.to_owned(), json!(plan_id));
    let job = submit(
        ctx,
        JobType::Apply,
        Value::Object(payload),
        plan.cloud_identity_id,
        // Trellis gives an APPLY its PLAN's secrets (for its log's redactor).
        JobSecrets::new(),
        true,
    )
    .await?;
    outcome(&job)?;
    if !ctx.printer.json() {
        print_changes(&ctx.printer, job.result.as_ref(), "Apply");
        print_outputs(&ctx.printer, job.result.as_ref());
        super::vine::bootstrap::print_platform(&ctx.printer, job.result.as_ref());
    }
    Ok(())
}

/// `grape destroy DIR`.
pub async fn destroy(ctx: &Ctx, args: &PlanArgs) -> CliResult<()> {
    let secrets = super::secrets::read_secrets(&args.secrets)?;
    let payload = source_payload(args)?;
    let job = run_job(
        ctx,
        JobType::Destroy,
        payload,
        identity_arg(args)?,
        secrets,
        args.local,
    )
    .await?;
    if !ctx.printer.json() {
        print_changes(&ctx.printer, job.result.as_ref(), "Destroy");
    }
    Ok(())
}

/// Finds the change counts in a job result: an object with `add` and `change` (and `destroy` or
/// `remove`), at the top or one level down (`summary`, `changes`, …).
pub fn find_summary(result: &Value) -> Option<(u64, u64, u64)> {
    let counts = |v: &Value| {
        let add = v.get("add")?.as_u64()?;
        let change = v.get("change")?.as_u64()?;
        let destroy = v
            .get("destroy")
            .or_else(|| v.get("remove"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        Some((add, change, destroy))
    };
    counts(result).or_else(|| result.as_object()?.values().find_map(counts))
}

/// Prints the change summary and the resource changes of a PLAN/APPLY/DESTROY result.
pub fn print_changes(p: &Printer, result: Option<&Value>, what: &str) {
    let Some(result) = result else { return };
    // A DESTROY result lists the destroyed addresses.
    let destroyed: Option<Vec<Value>> =
        result.get("destroyed").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|address| json!({ "address": address, "actions": ["delete"] }))
                .collect()
        });
    let changes = destroyed
        .as_ref()
        .or_else(|| find_list(result, &["resource_changes", "changes", "planned_changes"]));
    if let Some(changes) = changes {
        let mut t = p.table(&["ACTION", "ADDRESS"]);
        let mut any = false;
        for c in changes {
            let address = c.get("address").and_then(Value::as_str).unwrap_or("?");
            let action = c
                .get("action")
                .or_else(|| c.get("actions"))
                .map(|a| match a {
                    Value::Array(v) => v
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("+"),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            let color = match action.as_str() {
                "create" => Some(comfy_table::Color::Green),
                "delete" => Some(comfy_table::Color::Red),
                "no-op" | "noop" | "read" => None,
                _ => Some(comfy_table::Color::Yellow),
            };
            let mut cell = Cell::new(&action);
            if let (true, Some(c)) = (p.color_out, color) {
                cell = cell.fg(c);
            }
            t.add_row(vec![cell, Cell::new(address)]);
            any = true;
        }
        if any {
            p.print_table(&t);
        }
    }
    if let Some((add, change, destroy)) = find_summary(result) {
        println!(
            "{}: {} to add, {} to change, {} to destroy.",
            p.paint_out(BOLD, what),
            p.paint_out(GREEN, &add.to_string()),
            p.paint_out(YELLOW, &change.to_string()),
            p.paint_out(RED, &destroy.to_string())
        );
    }
}

fn find_list<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Vec<Value>> {
    keys.iter()
        .find_map(|k| v.get(*k).and_then(Value::as_array))
}

/// Prints the outputs of an APPLY result (`outputs: {name: value | {value, sensitive}}`).
pub fn print_outputs(p: &Printer, result: Option<&Value>) {
    let Some(Value::Object(outputs)) = result.and_then(|r| r.get("outputs")) else {
        return;
    };
    if outputs.is_empty() {
        return;
    }
    println!("{}", p.paint_out(BOLD, "Outputs:"));
    for (name, v) in outputs {
        let value = v.get("value").unwrap_or(v);
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        println!("  {name} = {text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_at_top_or_nested() {
        assert_eq!(
            find_summary(&json!({"add": 1, "change": 2, "destroy": 3})),
            Some((1, 2, 3))
        );
        assert_eq!(
            find_summary(&json!({"summary": {"add": 1, "change": 0, "remove": 4}})),
            Some((1, 0, 4))
        );
        assert_eq!(find_summary(&json!({"x": 1})), None);
    }

    #[test]
    fn vars_parse() {
        let v = parse_vars(&["a=b".into(), "c=d=e".into()]).unwrap();
        assert_eq!(v["c"], json!("d=e"));
        assert!(parse_vars(&["nope".into()]).is_err());
    }
}
