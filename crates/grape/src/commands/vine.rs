//! `grape vine …`: a vine file becomes a PLAN (Vintner's own Terraform for it), an APPLY of the
//! reviewed plan or a DESTROY, on a worker or `--local`; `render` writes the files a PLAN runs,
//! `schema` prints the JSON Schema, `init` writes a commented vine.yaml (see [`init`]).
//!
//! A vine file is read and checked here first: a bad one exits 2, naming each field, before
//! anything is sent.

use std::path::Path;

use grape_api::{Job, JobType};
use grape_provisioner::VINE_FIELD;
use grape_provisioner::vine::{self, Format, Vine};
use serde_json::{Value, json};

use super::Ctx;
use super::terraform::{print_changes, run_job, show_plan, submit};
use crate::cli::{ApplyArgs, ClusterCommand, VineCommand, VinePlanArgs, VineRenderArgs};
use crate::error::{CliError, CliResult};

pub mod bootstrap;
pub mod init;

/// `grape vine …`.
pub async fn dispatch(ctx: &Ctx, command: VineCommand) -> CliResult<()> {
    match command {
        VineCommand::Init(a) => init::run(ctx, &a).await,
        VineCommand::Plan(a) => plan(ctx, &a).await,
        VineCommand::Apply(a) => apply(ctx, &a).await,
        VineCommand::Destroy(a) => destroy(ctx, &a).await,
        VineCommand::Render(a) => render(ctx, &a),
        VineCommand::Schema => {
            ctx.printer.print_json(&vine::vine_schema())?;
            Ok(())
        }
    }
}

/// `grape cluster …`.
pub async fn cluster(ctx: &Ctx, command: ClusterCommand) -> CliResult<()> {
    match command {
        ClusterCommand::Bootstrap(a) => bootstrap::run(ctx, &a).await,
    }
}

/// Reads and checks a vine file; every problem is listed with its field path (exit 2).
pub fn read_vine(path: &Path) -> CliResult<Vine> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(format!(
            "cannot read the vine file {}: {e}.",
            path.display()
        ))
        .hint("write one with `grape vine init`")
    })?;
    let format = Format::from_file_name(&path.to_string_lossy());
    vine::parse_vine(&text, format).map_err(|e| {
        let problems = e.problems();
        let message = if problems.is_empty() {
            format!("{} is not a valid vine: {e}.", path.display())
        } else {
            let lines: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
            format!(
                "{} is not a valid vine ({} problem(s)):\n{}",
                path.display(),
                problems.len(),
                lines.join("\n")
            )
        };
        CliError::usage(message).hint("`grape vine schema` prints every field and what it allows")
    })
}

/// The job payload of a vine: the vine as checked here, defaults filled in.
fn payload(vine: &Vine) -> CliResult<Value> {
    let value = serde_json::to_value(vine)
        .map_err(|e| CliError::failed(format!("cannot encode the vine: {e}.")))?;
    Ok(json!({ VINE_FIELD: value }))
}

/// `grape vine plan FILE`.
async fn plan(ctx: &Ctx, args: &VinePlanArgs) -> CliResult<()> {
    if let Some(job) = run(ctx, JobType::Plan, args).await? {
        show_plan(ctx, &job, args.local, "grape vine apply");
    }
    Ok(())
}

/// `grape vine apply PLAN_JOB_ID`: the same as `grape apply`.
async fn apply(ctx: &Ctx, args: &ApplyArgs) -> CliResult<()> {
    super::terraform::apply(ctx, args).await
}

/// `grape vine destroy FILE`.
async fn destroy(ctx: &Ctx, args: &VinePlanArgs) -> CliResult<()> {
    if let Some(job) = run(ctx, JobType::Destroy, args).await?
        && !ctx.printer.json()
    {
        print_changes(&ctx.printer, job.result.as_ref(), "Destroy");
    }
    Ok(())
}

/// Runs a PLAN or DESTROY of the vine file as the vine's identity; `None` when detached.
async fn run(ctx: &Ctx, job_type: JobType, args: &VinePlanArgs) -> CliResult<Option<Job>> {
    let vine = read_vine(&args.file)?;
    let payload = payload(&vine)?;
    let identity = Some(vine.cloud_identity_id);
    if args.detach {
        submit(
            ctx,
            job_type,
            payload,
            identity,
            grape_api::JobSecrets::new(),
            false,
        )
        .await?;
        return Ok(None);
    }
    run_job(
        ctx,
        job_type,
        payload,
        identity,
        grape_api::JobSecrets::new(),
        args.local,
    )
    .await
    .map(Some)
}

/// `grape vine render FILE --out DIR`: the templates, `terraform.tfvars.json` and the backend
/// declaration and settings (bucket, key, region, endpoint from `SUPABASE_S3_*`; no keys).
fn render(ctx: &Ctx, args: &VineRenderArgs) -> CliResult<()> {
    let vine = read_vine(&args.file)?;
    let backend = super::local::state_location();
    let set = super::local::vine_templates()?.set(vine.provider);
    let rendered = vine::render_with(&vine, &args.team, &backend, set)
        .map_err(|e| CliError::usage(format!("{e}.")).hint("give --team a DNS label"))?;
    let out = &args.out;
    if std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(CliError::usage(format!(
            "{} is not empty: render writes into a new or empty directory.",
            out.display()
        ))
        .hint("choose another --out, or remove the directory"));
    }
    for file in &rendered.files {
        let path = out.join(&file.path);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, &file.contents));
        written.map_err(|e| {
            CliError::failed(format!("cannot write {}: {e}.", path.display()))
                .hint("check that the directory is writable")
        })?;
    }
    let names: Vec<&str> = rendered.files.iter().map(|f| f.path.as_str()).collect();
    if ctx.printer.json() {
        ctx.printer.print_json(&json!({
            "dir": out,
            "template_set": set.name(),
            "state_key": rendered.state_key,
            "files": names,
        }))?;
    } else {
        ctx.printer.note(format!(
            "Rendered the `{}` template set for {}/{} into {} (state key {}).",
            set.name(),
            vine.project_name,
            vine.environment_stage,
            out.display(),
            rendered.state_key
        ));
        for name in names {
            println!("{name}");
        }
        ctx.printer.note(format!(
            "Run it by hand: cd {} && terraform init -backend-config={} && terraform plan",
            out.display(),
            vine::BACKEND_CONFIG_FILE
        ));
    }
    Ok(())
}
