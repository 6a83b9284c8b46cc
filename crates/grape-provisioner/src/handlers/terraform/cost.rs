//! The cost estimate of a PLAN, by Infracost. Advisory: a missing CLI or key, a failing CLI or
//! unreadable output never fails the PLAN; a system line says why there is no estimate.

use grape_infracost::{CostEstimate, Infracost, InfracostError};
use grape_terraform::redact_sensitive_plan;
use serde_json::Value;

use crate::{JobContext, JobError};

/// The estimate of `plan` (the output of `terraform show -json`), or why there is none. Only
/// a cancellation of the job is an error.
pub(super) async fn estimate(
    ctx: &JobContext,
    plan: &Value,
) -> Result<Result<CostEstimate, String>, JobError> {
    let settings = &ctx.settings.infracost;
    let Some(key) = &settings.api_key else {
        return Ok(unavailable(
            ctx,
            format!("{} is not set", grape_infracost::API_KEY_VAR),
        ));
    };
    let program = match Infracost::locate(settings.bin.as_deref()) {
        Ok(p) => p,
        Err(e) => return Ok(unavailable(ctx, e.to_string())),
    };
    // Infracost needs no secret: sensitive values are masked, and every known secret too.
    let mut plan = redact_sensitive_plan(plan);
    ctx.redactor.redact_json(&mut plan);
    let dir = ctx.workspace.join("infracost");
    if let Err(e) = tokio::fs::create_dir_all(&dir).await {
        return Ok(unavailable(ctx, format!("creating {}: {e}", dir.display())));
    }
    ctx.log
        .system("$ infracost breakdown --path plan.json --format json");
    let result = Infracost::new(program, key.clone())
        .redactor(ctx.redactor.clone())
        .timeout(settings.timeout)
        .grace(ctx.settings.interrupt_grace)
        .breakdown_plan(&plan, &dir, &ctx.log, &ctx.cancel)
        .await;
    match result {
        Ok(estimate) => {
            for line in estimate.summary_table() {
                ctx.log.system(line);
            }
            Ok(Ok(estimate))
        }
        Err(InfracostError::Cancelled) => Err(JobError::Cancelled),
        Err(e) => Ok(unavailable(ctx, e.to_string())),
    }
}

fn unavailable(ctx: &JobContext, why: String) -> Result<CostEstimate, String> {
    ctx.log.system(format!(
        "no cost estimate: {why} (the plan is complete without one)"
    ));
    Err(why)
}
