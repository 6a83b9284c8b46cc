//! The worker jobs: `DEPLOY_WORKER`, `UPDATE_WORKER` and `DESTROY_WORKER` manage cloud-hosted
//! Tendrils on ECS Fargate (`grape-fleet-aws`) and their registrations in Trellis.
//!
//! They run with the platform's own credentials ([`PlatformSettings`]: AWS and the Trellis admin
//! token), never with the job's cloud identity; a host without them fails these jobs with a
//! clear reason (and a worker without them does not advertise them).
//!
//! The deployed worker's token goes from Trellis's registration answer straight into Secrets
//! Manager; the task definition references it (`secrets[].valueFrom`), so it is in no task
//! definition, log line or result. It is registered with the job's redactor the moment it exists.
//! The deploying worker's Terraform state backend is handed on the same way (`state`): its keys
//! only as Secrets Manager references.

mod deploy;
mod destroy;
mod payload;
mod state;
mod update;

use grape_api::{AdminClient, ClientOptions};
use grape_fleet_aws::{WorkerFleet, WorkerNames};

use crate::{JobContext, JobError, PlatformSettings};

pub use deploy::DeployWorkerHandler;
pub use destroy::DestroyWorkerHandler;
pub use payload::{DeployWorkerPayload, DestroyWorkerPayload, UpdateWorkerPayload};
pub use update::UpdateWorkerHandler;

/// A worker job's checked payload, the names of the worker's resources, its ECS cluster and the
/// host's platform settings.
struct Prepared<'a, P> {
    payload: P,
    names: WorkerNames,
    cluster: String,
    platform: &'a PlatformSettings,
}

/// Parses and checks the payload of the job (its own checks, then the common fields) and finds
/// the platform settings, in that order.
fn prepare<P: payload::WorkerPayload>(ctx: &JobContext) -> Result<Prepared<'_, P>, JobError> {
    let job_type = &ctx.job.job_type;
    let payload: P = JobError::parse_payload(job_type, &ctx.job.payload)?;
    payload.check(job_type)?;
    let (names, cluster) = payload::common(
        job_type,
        payload.name(),
        payload.region(),
        payload.cluster(),
    )?;
    let platform = platform(ctx)?;
    Ok(Prepared {
        payload,
        names,
        cluster,
        platform,
    })
}

/// The platform settings of the host, or the reason this job cannot run here.
fn platform(ctx: &JobContext) -> Result<&PlatformSettings, JobError> {
    ctx.settings.platform.as_ref().ok_or_else(|| {
        JobError::Failed(format!(
            "this worker has no platform credentials: {} runs with the platform's own AWS \
             credentials and the Trellis admin token; run it on a worker started with \
             --enable-worker-jobs",
            ctx.job.job_type
        ))
    })
}

/// The admin client of the platform's Trellis; the admin token is registered with the job's
/// redactor first.
fn admin(ctx: &JobContext, platform: &PlatformSettings) -> Result<AdminClient, JobError> {
    ctx.redactor.add(platform.admin_token.expose());
    AdminClient::new(
        &platform.trellis_url,
        platform.admin_token.clone(),
        ClientOptions::default(),
    )
    .map_err(|e| JobError::tool("Trellis admin client", e))
}

/// The fleet of `region`, signed with the platform's AWS credentials.
async fn fleet(platform: &PlatformSettings, region: &str) -> WorkerFleet {
    WorkerFleet::new(&platform.aws.base(), region).await
}

/// Runs one step of a job: logs `what`, stops when the job is cancelled, turns an AWS error
/// into the job's failure.
async fn step<T>(
    ctx: &JobContext,
    what: impl AsRef<str>,
    fut: impl Future<Output = Result<T, grape_cloud_aws::AwsError>>,
) -> Result<T, JobError> {
    ctx.log.system(what);
    tokio::select! {
        out = fut => out.map_err(|e| JobError::Failed(format!("AWS: {e}"))),
        () = ctx.cancel.cancelled() => Err(JobError::Cancelled),
    }
}
