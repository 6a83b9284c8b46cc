//! `PLAN` and `DESTROY`.

use async_trait::async_trait;
use grape_terraform::{PlanJson, PlanOptions, RunIo, WorkingDir};
use serde_json::{Value, json};

use super::artifact::PlanArtifact;
use super::request::TerraformRequest;
use super::{cost, tf_error, tf_step_error, vine, workdir};
use crate::{JobContext, JobError, JobHandler};

/// Plans a configuration, estimates its cost, and uploads the saved plan as the job's artifact.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlanHandler;

#[async_trait]
impl JobHandler for PlanHandler {
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError> {
        let vine::Planned { request, vine } = vine::request(ctx, true)?;
        let prepared = workdir::prepare(ctx, &request, None).await?;
        let plan = plan(ctx, &prepared.wd, &request, false).await?;
        let summary = plan_result(&plan.typed);
        let estimate = cost::estimate(ctx, &plan.raw).await?;

        let saved = tokio::fs::read(&plan.file).await.map_err(|e| {
            JobError::tool(format!("reading the saved plan {}", plan.file.display()), e)
        })?;
        let lock_file = workdir::read_lock_file(&prepared.wd).await?;
        let mut artifact = PlanArtifact::new(
            request.pinned_to(prepared.commit.as_deref()),
            summary.clone(),
            &saved,
            lock_file,
        );
        artifact.vine = vine
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| JobError::tool("encoding the vine", e))?;
        let artifact = serde_json::to_value(&artifact)
            .map_err(|e| JobError::tool("encoding the plan artifact", e))?;
        ctx.services
            .upload_plan_artifact(ctx.job.id, &artifact)
            .await
            .map_err(|e| JobError::tool("uploading the plan artifact", e))?;
        ctx.log.system(format!(
            "saved plan uploaded ({} bytes); an APPLY of this job applies exactly this plan",
            saved.len()
        ));
        let mut result = summary;
        match estimate {
            Ok(estimate) => result["cost"] = json!(estimate),
            Err(why) => {
                result["cost"] = Value::Null;
                result["cost_unavailable"] = json!(why);
            }
        }
        Ok(Some(result))
    }
}

/// Destroys everything in a configuration's state (plan -destroy, then apply). A vine's
/// cluster steps run first, in reverse: its Applications deleted, ArgoCD uninstalled.
#[derive(Debug, Default, Clone, Copy)]
pub struct DestroyHandler;

#[async_trait]
impl JobHandler for DestroyHandler {
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError> {
        let vine::Planned { request, vine } = vine::request(ctx, false)?;
        let wd = workdir::prepare(ctx, &request, None).await?.wd;
        let mut steps = Vec::new();
        if let Some(vine) = &vine {
            let outputs = super::apply::output_values(ctx, &wd).await?;
            steps = crate::handlers::cluster::remove_platform(ctx, vine, &outputs).await?;
        }
        let plan = plan(ctx, &wd, &request, true).await?;
        let destroyed: Vec<&str> = plan.typed.changes().map(|rc| rc.address.as_str()).collect();
        ctx.log.system("$ terraform apply (destroy plan)");
        let applied = wd
            .apply_plan(&plan.file, RunIo::new(&ctx.log, &ctx.cancel))
            .await
            .map_err(|e| tf_step_error("terraform destroy", e))?;
        steps.push("terraform destroy");
        let mut result = json!({
            "destroyed": destroyed,
            "summary": applied.summary,
        });
        if vine.is_some() {
            result["steps"] = json!(steps);
        }
        Ok(Some(result))
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
