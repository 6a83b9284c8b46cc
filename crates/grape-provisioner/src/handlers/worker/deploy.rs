//! `DEPLOY_WORKER`: a new cloud-hosted Tendril on ECS Fargate, registered with Trellis.
//!
//! The image and the `secret_refs` are checked against the worker's
//! [`WorkerJobPolicy`](crate::WorkerJobPolicy) first, before any AWS call.
//!
//! Steps (each idempotent, so a failed job can simply be run again): log group → IAM roles →
//! security group → cluster → Trellis registration and token secret (reused when the secret
//! already names a worker) → the execution role may read the secrets → task definition (reused
//! when unchanged) → service.
//!
//! Result: `{ worker_id, name, region, cluster_arn, service_arn, task_definition_arn, image,
//! log_group, security_group_id, execution_role_arn, task_role_arn, token_secret_arn }` (never
//! the token).

use std::collections::BTreeMap;

use async_trait::async_trait;
use grape_api::{ClientOptions, RegisterRequest, UserApiClient, WorkerMode};
use grape_cloud_aws::SecretString;
use grape_fleet_aws::{ServiceNetwork, TaskSpec, TokenSecret, WorkerFleet, WorkerNames};
use serde_json::{Value, json};
use uuid::Uuid;

use super::payload::DeployWorkerPayload;
use super::{Prepared, admin, fleet, prepare, state, step};
use crate::{JobContext, JobError, JobHandler, PlatformSettings};

/// Default Fargate CPU units of a worker.
const DEFAULT_CPU: &str = "512";
/// Default Fargate memory of a worker, MiB.
const DEFAULT_MEMORY: &str = "1024";
/// How long a stopping worker may finish its job: a little less than ECS's 120 s stop timeout.
const GRACE_PERIOD: &str = "100s";

/// Runs `DEPLOY_WORKER` jobs with the platform's credentials.
#[derive(Debug, Default, Clone, Copy)]
pub struct DeployWorkerHandler;

#[async_trait]
impl JobHandler for DeployWorkerHandler {
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError> {
        let Prepared {
            payload,
            names,
            cluster,
            platform,
        } = prepare::<DeployWorkerPayload>(ctx)?;
        let (job_type, policy) = (&ctx.job.job_type, &platform.policy);
        policy.check_image(job_type, &payload.image)?;
        for (name, arn) in &payload.secret_refs {
            policy.check_secret_ref(job_type, name, arn)?;
        }
        ctx.log.system(format!(
            "deploying the worker {} in {} (ECS cluster {cluster}) with the platform's AWS \
             credentials",
            names.name, payload.region
        ));
        let fleet = fleet(platform, &payload.region).await;

        let log_group_arn = step(
            ctx,
            format!("log group {}", names.log_group),
            fleet.ensure_log_group(&names),
        )
        .await?;
        let roles = step(
            ctx,
            format!(
                "IAM roles {} and {} (the task role may assume {} with an external id)",
                names.execution_role,
                names.task_role,
                policy.roles().join(", ")
            ),
            fleet.ensure_roles(&names, &log_group_arn, policy.roles()),
        )
        .await?;
        let security_group = step(
            ctx,
            format!(
                "security group {} in {} (egress only)",
                names.security_group, payload.vpc_id
            ),
            fleet.ensure_security_group(&names, &payload.vpc_id),
        )
        .await?;
        let cluster_arn = step(
            ctx,
            format!("ECS cluster {cluster}"),
            fleet.ensure_cluster(&cluster),
        )
        .await?;

        let secret = registration(ctx, platform, &fleet, &names, &payload).await?;
        let worker_id = secret.worker_id.clone().unwrap_or_default();
        let state = state::hand_on(ctx, &fleet, &names, &payload).await?;
        let mut readable: Vec<String> = vec![secret.arn.clone()];
        readable.extend(payload.secret_refs.values().cloned());
        readable.extend(state.secrets.values().cloned());
        step(
            ctx,
            "allowing the execution role to read the worker's secrets",
            fleet.allow_secret_read(&names, &readable),
        )
        .await?;

        let state_arns: Vec<String> = state.secrets.values().cloned().collect();
        let spec = task_spec(
            platform,
            &payload,
            &worker_id,
            &secret.arn,
            state,
            roles.clone(),
        );
        let task_definition = step(
            ctx,
            format!("task definition {} (image {})", names.family, payload.image),
            fleet.register_task_definition(&names, &spec),
        )
        .await?;
        ctx.log
            .system(format!("task definition {}", task_definition.arn));
        let network = ServiceNetwork {
            subnets: payload.subnet_ids.clone(),
            security_groups: vec![security_group.clone()],
            assign_public_ip: payload.assign_public_ip,
        };
        let service = step(
            ctx,
            format!("ECS service {}", names.service),
            Box::pin(fleet.ensure_service(
                &names,
                &cluster,
                &task_definition.arn,
                &network,
                &worker_id,
            )),
        )
        .await?;
        ctx.log.system(format!(
            "worker {} ({worker_id}) deployed: service {}",
            names.name, service.service_arn
        ));
        Ok(Some(json!({
            "worker_id": worker_id,
            "name": names.name,
            "region": payload.region,
            "cluster_arn": cluster_arn,
            "service_arn": service.service_arn,
            "task_definition_arn": task_definition.arn,
            "image": task_definition.image,
            "log_group": names.log_group,
            "security_group_id": security_group,
            "execution_role_arn": roles.execution_role_arn,
            "task_role_arn": roles.task_role_arn,
            "token_secret_arn": secret.arn,
            "state_backend_secret_arns": state_arns,
        })))
    }
}

/// The worker's registration: the existing one when its token secret names it, else a new
/// Trellis registration whose token goes straight into Secrets Manager. When storing the token
/// fails, the new registration is removed again (best effort) so that no orphan is left.
async fn registration(
    ctx: &JobContext,
    platform: &PlatformSettings,
    fleet: &WorkerFleet,
    names: &WorkerNames,
    payload: &DeployWorkerPayload,
) -> Result<TokenSecret, JobError> {
    let existing = step(
        ctx,
        format!("looking for the token secret {}", names.secret),
        fleet.find_token_secret(names),
    )
    .await?;
    let admin = admin(ctx, platform)?;
    if let Some((secret, id)) = existing.and_then(|s| {
        let id = s.worker_id.clone()?;
        Some((s, id))
    }) {
        if still_registered(ctx, platform, &id).await? {
            ctx.log.system(format!(
                "reusing the registration of worker {id} (its token secret exists and Trellis \
                 still has it)"
            ));
            return Ok(secret);
        }
        ctx.log.system(format!(
            "worker {id} named by the token secret is no longer registered in Trellis: \
             registering afresh (the secret gets the new token)"
        ));
    }
    let mut labels: BTreeMap<String, String> = BTreeMap::from([
        ("hosting".to_owned(), "aws-ecs-fargate".to_owned()),
        ("region".to_owned(), payload.region.clone()),
    ]);
    labels.extend(payload.labels.clone());
    ctx.log.system(format!(
        "registering the worker {} with Trellis",
        names.name
    ));
    let request = RegisterRequest {
        name: names.name.clone(),
        mode: WorkerMode::CloudHosted,
        labels,
        team: None,
    };
    let registered = tokio::select! {
        out = admin.register_worker(&request) => {
            out.map_err(|e| JobError::tool("registering the worker with Trellis", e))?
        }
        () = ctx.cancel.cancelled() => return Err(JobError::Cancelled),
    };
    ctx.redactor.add(registered.worker_token.expose());
    let worker_id = registered.worker_id.to_string();
    ctx.log.system(format!("registered as worker {worker_id}"));
    let token = SecretString::new(registered.worker_token.expose());
    let stored = step(
        ctx,
        format!("storing the worker token in the secret {}", names.secret),
        fleet.store_token_secret(names, &worker_id, &token),
    )
    .await;
    if stored.is_err() {
        ctx.log.system(format!(
            "removing the registration of worker {worker_id} again: its token could not be stored"
        ));
        if let Err(e) = admin.delete_worker(registered.worker_id).await {
            ctx.log
                .system(format!("warning: the registration stays: {e}"));
        }
    }
    stored
}

/// Whether Trellis still has the worker `id` (a token secret may outlive its registration when
/// the worker was deleted in Trellis). The admin token is accepted by the workers listing.
async fn still_registered(
    ctx: &JobContext,
    platform: &PlatformSettings,
    id: &str,
) -> Result<bool, JobError> {
    let Ok(id) = Uuid::parse_str(id) else {
        ctx.log.system(format!(
            "the token secret names {id:?}, which is no worker id"
        ));
        return Ok(false);
    };
    let client = UserApiClient::with_options(
        &platform.trellis_url,
        platform.admin_token.clone(),
        ClientOptions::default(),
    )
    .map_err(|e| JobError::tool("Trellis client", e))?;
    ctx.log
        .system(format!("checking that Trellis still has worker {id}"));
    let workers = tokio::select! {
        out = client.list_workers() => {
            out.map_err(|e| JobError::tool("listing the workers of Trellis", e))?
        }
        () = ctx.cancel.cancelled() => return Err(JobError::Cancelled),
    };
    Ok(workers.iter().any(|w| w.id == id))
}

/// The task of the worker: the image, its plain environment and its secrets.
fn task_spec(
    platform: &PlatformSettings,
    payload: &DeployWorkerPayload,
    worker_id: &str,
    token_secret_arn: &str,
    state: state::HandedOn,
    roles: grape_fleet_aws::WorkerRoles,
) -> TaskSpec {
    let mut environment: BTreeMap<String, String> = BTreeMap::from([
        ("TENDRIL_LOG_FORMAT".to_owned(), "json".to_owned()),
        ("TENDRIL_GRACE_PERIOD".to_owned(), GRACE_PERIOD.to_owned()),
    ]);
    environment.extend(state.environment);
    environment.extend(payload.environment.clone());
    environment.extend([
        (
            "TRELLIS_URL".to_owned(),
            platform.worker_trellis_url().to_owned(),
        ),
        ("GRAPE_WORKER_ID".to_owned(), worker_id.to_owned()),
        ("GRAPE_WORKER_MODE".to_owned(), "cloud-hosted".to_owned()),
    ]);
    let mut secrets = state.secrets;
    secrets.extend(payload.secret_refs.clone());
    secrets.insert("GRAPE_WORKER_TOKEN".to_owned(), token_secret_arn.to_owned());
    TaskSpec {
        image: payload.image.clone(),
        cpu: payload
            .cpu
            .clone()
            .unwrap_or_else(|| DEFAULT_CPU.to_owned()),
        memory: payload
            .memory
            .clone()
            .unwrap_or_else(|| DEFAULT_MEMORY.to_owned()),
        environment,
        secrets,
        roles,
    }
}
