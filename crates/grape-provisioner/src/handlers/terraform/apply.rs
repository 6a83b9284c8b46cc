//! `APPLY`: apply what a PLAN job's user approved, and nothing else.

use std::collections::BTreeMap;

use async_trait::async_trait;
use grape_process::REDACTED;
use grape_terraform::{PlanJson, RunIo};
use serde_json::{Value, json};

use super::plan::{ARTIFACT_FORMAT, plan};
use super::request::{ApplyRequest, TerraformRequest};
use super::{tf_error, workdir};
use crate::{JobContext, JobError, JobHandler};

/// Re-plans the approved PLAN job's source, refuses when the changes differ from the approved
/// ones, applies otherwise and reports the outputs (sensitive ones redacted).
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
        let (request, approved) = read_artifact(&artifact, plan_job_id)?;
        ctx.log
            .system(format!("applying the plan approved in job {plan_job_id}"));

        let wd = workdir::prepare(ctx, &request).await?;
        let fresh = plan(ctx, &wd, &request, false).await?;
        let differences = compare(&approved, &fresh.typed);
        if !differences.is_empty() {
            return Err(JobError::Failed(format!(
                "refusing to apply: the changes differ from the plan approved in job {plan_job_id} \
                 ({}); submit a new PLAN and approve it",
                differences.join("; ")
            )));
        }
        ctx.log.system("$ terraform apply");
        let applied = wd
            .apply_plan(&fresh.file, RunIo::new(&ctx.log, &ctx.cancel))
            .await
            .map_err(tf_error)?;
        let outputs = wd.output(&ctx.cancel).await.map_err(tf_error)?;
        let mut shown = BTreeMap::new();
        for (name, output) in outputs {
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
        Ok(Some(json!({
            "plan_job_id": plan_job_id,
            "summary": applied.summary,
            "outputs": shown,
        })))
    }
}

fn read_artifact(
    artifact: &Value,
    plan_job_id: uuid::Uuid,
) -> Result<(TerraformRequest, PlanJson), JobError> {
    let unreadable = |why: String| {
        JobError::Failed(format!(
            "the plan artifact of job {plan_job_id} is unreadable: {why}"
        ))
    };
    if artifact.get("format").and_then(Value::as_str) != Some(ARTIFACT_FORMAT) {
        return Err(unreadable(format!("expected format {ARTIFACT_FORMAT}")));
    }
    let request = serde_json::from_value(artifact["request"].clone())
        .map_err(|e| unreadable(e.to_string()))?;
    let plan =
        serde_json::from_value(artifact["plan"].clone()).map_err(|e| unreadable(e.to_string()))?;
    Ok((request, plan))
}

/// The differences between the approved and the fresh resource changes, one sentence each.
fn compare(approved: &PlanJson, fresh: &PlanJson) -> Vec<String> {
    let actions = |p: &PlanJson| -> BTreeMap<String, String> {
        p.changes()
            .map(|rc| {
                let a: Vec<&str> = rc
                    .change
                    .actions
                    .iter()
                    .map(grape_terraform::Action::as_str)
                    .collect();
                (rc.address.clone(), a.join("+"))
            })
            .collect()
    };
    let (old, new) = (actions(approved), actions(fresh));
    let mut out = Vec::new();
    for (address, was) in &old {
        match new.get(address) {
            None => out.push(format!("{address}: approved {was}, now no change")),
            Some(now) if now != was => out.push(format!("{address}: approved {was}, now {now}")),
            Some(_) => {}
        }
    }
    for (address, now) in &new {
        if !old.contains_key(address) {
            out.push(format!("{address}: not approved, now {now}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(changes: &[(&str, &[&str])]) -> PlanJson {
        let rc: Vec<Value> = changes
            .iter()
            .map(|(addr, actions)| {
                json!({"address": addr, "type": "terraform_data", "name": "x", "change": {"actions": actions}})
            })
            .collect();
        serde_json::from_value(json!({"format_version": "1.2", "resource_changes": rc})).unwrap()
    }

    #[test]
    fn identical_plans_have_no_differences() {
        let p = plan(&[
            ("terraform_data.a", &["create"]),
            ("terraform_data.b", &["no-op"]),
        ]);
        assert!(compare(&p, &p.clone()).is_empty());
    }

    #[test]
    fn every_kind_of_difference_is_named() {
        let approved = plan(&[
            ("terraform_data.a", &["create"]),
            ("terraform_data.b", &["update"]),
        ]);
        let fresh = plan(&[
            ("terraform_data.a", &["delete", "create"]),
            ("terraform_data.c", &["create"]),
        ]);
        assert_eq!(
            compare(&approved, &fresh),
            vec![
                "terraform_data.a: approved create, now delete+create",
                "terraform_data.b: approved update, now no change",
                "terraform_data.c: not approved, now create",
            ]
        );
    }
}
