//! `APPLY`: apply exactly the plan a PLAN job saved, and nothing else.

use std::collections::BTreeMap;
use std::os::unix::fs::OpenOptionsExt as _;

use async_trait::async_trait;
use grape_process::REDACTED;
use grape_terraform::{RunIo, TerraformError};
use serde_json::{Value, json};

use super::artifact::PlanArtifact;
use super::request::ApplyRequest;
use super::vine::APPLIED_PLAN_OUTPUT;
use super::{tf_error, vine, workdir};
use crate::handlers::cluster;
use crate::{JobContext, JobError, JobHandler};

/// The summary Terraform gives a saved plan that the state has moved on from.
const STALE_SUMMARY: &str = "Saved plan is stale";

/// Downloads the saved plan of the approved PLAN job, rebuilds the working directory it was
/// made in, runs `terraform apply PLANFILE` and reports the outputs (sensitive ones redacted).
#[derive(Debug, Default, Clone, Copy)]
pub struct ApplyHandler;

#[async_trait]
impl JobHandler for ApplyHandler {
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError> {
        let ApplyRequest { plan_job_id } =
            JobError::parse_payload(&ctx.job.job_type, &ctx.job.payload)?;
        let artifact = ctx
            .services
            .download_plan_artifact(plan_job_id)
            .await
            .map_err(|e| JobError::tool(format!("downloading the plan of job {plan_job_id}"), e))?
            .ok_or_else(|| {
                JobError::Failed(format!(
                    "PLAN job {plan_job_id} has no plan artifact: only a PLAN job that succeeded can be applied"
                ))
            })?;
        let artifact = PlanArtifact::read(artifact, plan_job_id)?;
        let vine = artifact
            .vine
            .as_ref()
            .map(|v| vine::saved_vine(v, plan_job_id))
            .transpose()?;
        let saved = artifact.plan_file(plan_job_id)?;
        let prepared =
            workdir::prepare(ctx, &artifact.request, artifact.lock_file.as_deref()).await?;
        let mut steps = Vec::new();
        let summary = if vine.is_some() && applied_already(ctx, &prepared.wd, plan_job_id).await? {
            ctx.log.system(format!(
                "resuming: the state records that the plan of job {plan_job_id} was applied \
                 (output {APPLIED_PLAN_OUTPUT}); terraform is not run again, the cluster steps go on"
            ));
            Value::Null
        } else {
            ctx.log.system(format!(
                "applying the plan saved by job {plan_job_id} ({} bytes): no new plan is made",
                saved.len()
            ));
            let plan_file = ctx.workspace.join("saved.tfplan");
            write_private(&plan_file, &saved).await?;
            ctx.log.system("$ terraform apply saved.tfplan");
            let applied = prepared
                .wd
                .apply_plan(&plan_file, RunIo::new(&ctx.log, &ctx.cancel))
                .await
                .map_err(|e| apply_error(e, plan_job_id, vine.is_some()))?;
            json!(applied.summary)
        };
        steps.push("terraform");
        let outputs = prepared.wd.output(&ctx.cancel).await.map_err(tf_error)?;
        let mut shown = BTreeMap::new();
        let mut values = serde_json::Map::new();
        for (name, output) in outputs {
            if name == APPLIED_PLAN_OUTPUT {
                continue;
            }
            values.insert(name.clone(), output.value.clone());
            let value = if output.sensitive {
                if let Some(s) = output.value.as_str() {
                    ctx.redactor.add(s);
                }
                Value::String(REDACTED.into())
            } else {
                output.value
            };
            ctx.log.system(format!("output {name} = {value}"));
            shown.insert(name, value);
        }
        let mut result = json!({
            "plan_job_id": plan_job_id,
            "commit": prepared.commit,
            "summary": summary,
            "outputs": shown,
        });
        if let Some(vine) = &vine {
            let report = cluster::apply_platform(ctx, vine, &Value::Object(values)).await?;
            steps.extend(report.steps);
            for (k, v) in report.fields {
                result[k] = v;
            }
            result["steps"] = json!(steps);
        }
        Ok(Some(result))
    }
}

/// Whether the state already records the plan of `plan_job_id` as applied (a retried vine
/// APPLY whose Terraform step succeeded before).
async fn applied_already(
    ctx: &JobContext,
    wd: &grape_terraform::WorkingDir,
    plan_job_id: uuid::Uuid,
) -> Result<bool, JobError> {
    let outputs = output_values(ctx, wd).await?;
    Ok(outputs.get(APPLIED_PLAN_OUTPUT).and_then(Value::as_str)
        == Some(plan_job_id.to_string().as_str()))
}

/// The state's outputs as `{name: value}` (sensitive values join the redactor).
pub(super) async fn output_values(
    ctx: &JobContext,
    wd: &grape_terraform::WorkingDir,
) -> Result<Value, JobError> {
    let outputs = wd
        .output(&ctx.cancel)
        .await
        .map_err(|e| super::tf_step_error("terraform output", e))?;
    let mut values = serde_json::Map::new();
    for (name, output) in outputs {
        if output.sensitive
            && let Some(s) = output.value.as_str()
        {
            ctx.redactor.add(s);
        }
        values.insert(name, output.value);
    }
    Ok(Value::Object(values))
}

/// A failed apply as a job error; a stale plan (the state changed since it was made) keeps
/// Terraform's reason and says what to do.
fn apply_error(e: TerraformError, plan_job_id: uuid::Uuid, vine: bool) -> JobError {
    let stale = e
        .diagnostics()
        .iter()
        .any(|d| d.is_error() && d.summary.contains(STALE_SUMMARY));
    let step = if vine { "step `terraform`: " } else { "" };
    match tf_error(e) {
        JobError::Failed(reason) if stale => JobError::Failed(format!(
            "{step}{reason}; the plan of job {plan_job_id} no longer fits the state: plan again and apply the new plan"
        )),
        JobError::Failed(reason) => JobError::Failed(format!("{step}{reason}")),
        other => other,
    }
}

/// Writes `bytes` to a new file readable by this user only (the saved plan holds secrets).
async fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), JobError> {
    let path_buf = path.to_path_buf();
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path_buf)
            .and_then(|mut f| f.write_all(&bytes))
    })
    .await
    .map_err(|e| JobError::tool("writing the saved plan", e))?
    .map_err(|e| JobError::tool(format!("writing the saved plan {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use grape_terraform::Diagnostic;

    fn failed(summary: &str) -> TerraformError {
        TerraformError::Failed {
            command: "apply".into(),
            diagnostics: vec![Diagnostic::error(
                summary,
                "The given plan file can no longer be applied because the state was changed by another operation after the plan was created.",
            )],
            exit: grape_process::ExitReport {
                code: Some(1),
                signal: None,
                cancelled: false,
                timed_out: false,
                duration: std::time::Duration::ZERO,
                stderr_tail: Vec::new(),
            },
        }
    }

    #[test]
    fn a_stale_plan_keeps_terraforms_reason_and_says_plan_again() {
        let reason = apply_error(failed(STALE_SUMMARY), uuid::Uuid::nil(), false).to_string();
        assert!(reason.contains("Saved plan is stale"), "{reason}");
        assert!(
            reason.contains("state was changed by another operation"),
            "{reason}"
        );
        assert!(
            reason.ends_with("plan again and apply the new plan"),
            "{reason}"
        );
        let other =
            apply_error(failed("Unsupported argument"), uuid::Uuid::nil(), true).to_string();
        assert!(!other.contains("plan again"), "{other}");
        assert!(other.starts_with("step `terraform`: "), "{other}");
    }
}
