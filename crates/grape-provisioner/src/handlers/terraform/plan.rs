//! `PLAN` and `DESTROY`.

use async_trait::async_trait;
use grape_terraform::{PlanJson, PlanOptions, RunIo, WorkingDir, redact_sensitive_plan};
use serde_json::{Value, json};

use super::request::TerraformRequest;
use super::{tf_error, workdir};
use crate::{JobContext, JobError, JobHandler};

/// The format tag of the plan artifacts this crate writes.
pub(super) const ARTIFACT_FORMAT: &str = "grape.plan.v1";

/// Plans a configuration and uploads the plan as the job's artifact.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlanHandler;

#[async_trait]
impl JobHandler for PlanHandler {
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError> {
        let request = TerraformRequest::from_payload(&ctx.job.job_type, &ctx.job.payload)?;
        let wd = workdir::prepare(ctx, &request).await?;
        let plan = plan(ctx, &wd, &request, false).await?;
        let artifact = json!({
            "format": ARTIFACT_FORMAT,
            "request": request,
            "plan": redact_sensitive_plan(&plan.raw),
        });
        ctx.services
            .upload_plan_artifact(ctx.job.id, &artifact)
            .await
            .map_err(|e| JobError::tool("uploading the plan artifact", e))?;
        ctx.log.system("plan artifact uploaded");
        Ok(Some(plan_result(&plan.typed)))
    }
}

/// Destroys everything in a configuration's state (plan -destroy, then apply).
#[derive(Debug, Default, Clone, Copy)]
pub struct DestroyHandler;

#[async_trait]
impl JobHandler for DestroyHandler {
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError> {
        let request = TerraformRequest::from_payload(&ctx.job.job_type, &ctx.job.payload)?;
        let wd = workdir::prepare(ctx, &request).await?;
        let plan = plan(ctx, &wd, &request, true).await?;
        let destroyed: Vec<&str> = plan.typed.changes().map(|rc| rc.address.as_str()).collect();
        ctx.log.system("$ terraform apply (destroy plan)");
        let applied = wd
            .apply_plan(&plan.file, RunIo::new(&ctx.log, &ctx.cancel))
            .await
            .map_err(tf_error)?;
        Ok(Some(json!({
            "destroyed": destroyed,
            "summary": applied.summary,
        })))
    }
}

/// A plan made by a job: the saved file, the typed plan and its raw JSON.
pub(super) struct MadePlan {
    pub file: std::path::PathBuf,
    pub typed: PlanJson,
    pub raw: Value,
}

/// `terraform plan` to a file, then `terraform show -json` of it.
pub(super) async fn plan(
    ctx: &JobContext,
    wd: &WorkingDir,
    request: &TerraformRequest,
    destroy: bool,
) -> Result<MadePlan, JobError> {
    ctx.log.system(if destroy {
        "$ terraform plan -destroy"
    } else {
        "$ terraform plan"
    });
    let options = PlanOptions {
        out: ctx.workspace.join("tfplan"),
        variables: request.variables.clone(),
        destroy,
        ..PlanOptions::default()
    };
    let outcome = wd
        .plan(&options, RunIo::new(&ctx.log, &ctx.cancel))
        .await
        .map_err(tf_error)?;
    let shown = wd
        .show_plan(&outcome.plan_file, &ctx.cancel)
        .await
        .map_err(tf_error)?;
    Ok(MadePlan {
        file: outcome.plan_file,
        typed: shown.plan,
        raw: shown.raw,
    })
}

/// The result document of a PLAN job.
fn plan_result(plan: &PlanJson) -> Value {
    let summary = plan.summary();
    let changes: Vec<Value> = plan
        .changes()
        .map(|rc| json!({ "address": rc.address, "actions": rc.change.actions }))
        .collect();
    json!({
        "has_changes": plan.has_changes(),
        "summary": { "add": summary.add, "change": summary.change, "destroy": summary.remove, "import": summary.import },
        "resource_changes": changes,
    })
}
