//! `UPDATE_WORKER`: move a cloud-hosted Tendril to a new image.
//!
//! The new image must pass the worker's image allow-list ([`WorkerJobPolicy`](crate::WorkerJobPolicy)) first.
//! Then a new revision of its task definition with the new image, then a forced new deployment of
//! its service; the service replaces the task without overlap, so the old task drains (ECS's
//! SIGTERM, up to the 120 s stop timeout) before the new one starts with the same registration.
//!
//! Result: `{ worker_id, name, region, service_arn, previous_task_definition_arn,
//! task_definition_arn, image, deployment_id }`.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::payload::UpdateWorkerPayload;
use super::{Prepared, fleet, prepare, step};
use crate::{JobContext, JobError, JobHandler};

/// Runs `UPDATE_WORKER` jobs with the platform's credentials.
#[derive(Debug, Default, Clone, Copy)]
pub struct UpdateWorkerHandler;

#[async_trait]
impl JobHandler for UpdateWorkerHandler {
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError> {
        let Prepared {
            payload,
            names,
            cluster,
            platform,
        } = prepare::<UpdateWorkerPayload>(ctx)?;
        platform
            .policy
            .check_image(&ctx.job.job_type, &payload.image)?;
        let fleet = fleet(platform, &payload.region).await;
        let update = step(
            ctx,
            format!(
                "updating the worker {} in {} (ECS cluster {cluster}) to {}",
                names.name, payload.region, payload.image
            ),
            Box::pin(fleet.update_image(&names, &cluster, &payload.image)),
        )
        .await?;
        let deployment_id = update.service.primary().map(|d| d.id.clone());
        ctx.log.system(format!(
            "task definition {} → {}",
            update.previous_task_definition, update.task_definition.arn
        ));
        ctx.log.system(format!(
            "forced a new deployment {} of {}",
            deployment_id.as_deref().unwrap_or("(unknown)"),
            update.service.service_arn
        ));
        Ok(Some(json!({
            "worker_id": update.service.worker_id,
            "name": names.name,
            "region": payload.region,
            "service_arn": update.service.service_arn,
            "previous_task_definition_arn": update.previous_task_definition,
            "task_definition_arn": update.task_definition.arn,
            "image": update.task_definition.image,
            "deployment_id": deployment_id,
        })))
    }
}
