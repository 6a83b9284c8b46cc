//! `DESTROY_WORKER`: tear a cloud-hosted Tendril down and remove its registration.
//!
//! The ECS service is scaled to 0 and deleted, the task definitions deregistered and deleted,
//! the token secret, the IAM roles, the security group and the log group removed (the cluster
//! too when nothing else uses it); then the worker is deleted from Trellis, which requeues the
//! jobs it had claimed. Everything already gone counts as done, so the job can be run again.
//!
//! Result: `{ worker_id, name, region, registration_removed, removed, absent, kept }`.

use async_trait::async_trait;
use grape_api::ApiError;
use serde_json::{Value, json};
use uuid::Uuid;

use super::payload::DestroyWorkerPayload;
use super::{Prepared, admin, fleet, prepare, step};
use crate::{JobContext, JobError, JobHandler};

/// Runs `DESTROY_WORKER` jobs with the platform's credentials.
#[derive(Debug, Default, Clone, Copy)]
pub struct DestroyWorkerHandler;

#[async_trait]
impl JobHandler for DestroyWorkerHandler {
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError> {
        let Prepared {
            payload,
            names,
            cluster,
            platform,
        } = prepare::<DestroyWorkerPayload>(ctx)?;
        let admin = admin(ctx, platform)?;
        let fleet = fleet(platform, &payload.region).await;
        let deployed = step(
            ctx,
            format!(
                "destroying the worker {} in {} (ECS cluster {cluster}) with the platform's AWS \
                 credentials",
                names.name, payload.region
            ),
            fleet.describe(&names, &cluster),
        )
        .await?;
        let found_id = deployed
            .worker_id
            .as_deref()
            .and_then(|id| Uuid::parse_str(id).ok());
        if let (Some(given), Some(found)) = (payload.worker_id, found_id)
            && given != found
        {
            ctx.log.system(format!(
                "warning: the payload names worker {given}, the deployed resources worker \
                 {found}: removing the registration of {given}"
            ));
        }
        let worker_id = payload.worker_id.or(found_id);

        let log = ctx.log.clone();
        let progress = move |what: &str| log.system(what);
        let report = step(
            ctx,
            "removing the AWS resources",
            Box::pin(fleet.teardown(&names, &cluster, teardown_options(platform), &progress)),
        )
        .await?;
        ctx.log.system(format!(
            "AWS: {} removed, {} already absent, {} kept",
            report.removed.len(),
            report.absent.len(),
            report.kept.len()
        ));

        let registration_removed = match worker_id {
            None => {
                ctx.log.system(
                    "no worker registration found (no token secret, service or task \
                     definition names one): nothing to remove in Trellis",
                );
                false
            }
            Some(id) => {
                ctx.log.system(format!(
                    "removing the registration of worker {id} from Trellis (its claimed jobs \
                     are requeued)"
                ));
                let deleted = tokio::select! {
                    out = admin.delete_worker(id) => out,
                    () = ctx.cancel.cancelled() => return Err(JobError::Cancelled),
                };
                match deleted {
                    Ok(()) => true,
                    Err(ApiError::Status { status: 404, .. }) => {
                        ctx.log
                            .system(format!("worker {id} was not registered (any more)"));
                        false
                    }
                    Err(e) => {
                        return Err(JobError::tool("removing the worker registration", e));
                    }
                }
            }
        };
        Ok(Some(json!({
            "worker_id": worker_id,
            "name": names.name,
            "region": payload.region,
            "registration_removed": registration_removed,
            "removed": report.removed,
            "absent": report.absent,
            "kept": report.kept,
        })))
    }
}

fn teardown_options(platform: &crate::PlatformSettings) -> grape_fleet_aws::TeardownOptions {
    grape_fleet_aws::TeardownOptions {
        wait: platform.teardown.wait,
        poll: platform.teardown.poll,
        delete_empty_cluster: platform.teardown.delete_empty_cluster,
    }
}
