//! The Terraform state backend a deployed worker is handed: the deploying worker's own
//! ([`ProvisionerSettings::state_backend`](crate::ProvisionerSettings::state_backend)), so
//! that the new worker can run PLAN/APPLY jobs.
//!
//! Endpoint, region and bucket become plain container variables; the two keys go into
//! Secrets Manager (`vintner/tendril/NAME/state-key-id`, `…/state-secret-key`, written
//! idempotently, removed by `DESTROY_WORKER`) and reach the container only through
//! `secrets[].valueFrom`. A variable the payload sets itself (`environment` or `secret_refs`)
//! is left as the payload gives it.

use std::collections::BTreeMap;

use grape_cloud_aws::SecretString;
use grape_fleet_aws::{WorkerFleet, WorkerNames};

use super::payload::DeployWorkerPayload;
use super::step;
use crate::{JobContext, JobError};

/// The state backend's endpoint (Tendril's variable names).
pub(super) const ENDPOINT: &str = "SUPABASE_S3_ENDPOINT";
/// The state backend's region.
pub(super) const REGION: &str = "SUPABASE_S3_REGION";
/// The state backend's bucket.
pub(super) const BUCKET: &str = "SUPABASE_S3_BUCKET";
/// The state backend's access key id (a secret reference only).
pub(super) const KEY_ID: &str = "SUPABASE_STORAGE_KEY_ID";
/// The state backend's secret access key (a secret reference only).
pub(super) const SECRET_KEY: &str = "SUPABASE_STORAGE_SECRET_KEY";

/// What the deployed worker gets of the state backend.
#[derive(Debug, Default)]
pub(super) struct HandedOn {
    /// Plain variables: endpoint, region, bucket.
    pub environment: BTreeMap<String, String>,
    /// Secret variables: name → Secrets Manager ARN.
    pub secrets: BTreeMap<String, String>,
}

/// Hands this worker's state backend on to the worker `names`: stores the keys as its secrets
/// and returns the variables of its task. Nothing when this worker has no state backend.
pub(super) async fn hand_on(
    ctx: &JobContext,
    fleet: &WorkerFleet,
    names: &WorkerNames,
    payload: &DeployWorkerPayload,
) -> Result<HandedOn, JobError> {
    let mut out = HandedOn::default();
    let Some(backend) = ctx.settings.state_backend.as_ref() else {
        ctx.log.system(
            "this worker has no Terraform state backend to hand on: the deployed worker gets \
             none (it needs SUPABASE_S3_* for PLAN/APPLY jobs)",
        );
        return Ok(out);
    };
    let given = |var: &str| {
        let given = payload.environment.contains_key(var) || payload.secret_refs.contains_key(var);
        if given {
            ctx.log.system(format!(
                "the payload sets {var}: the deployed worker gets the payload's"
            ));
        }
        given
    };
    let plain = [
        (ENDPOINT, backend.endpoint.clone()),
        (REGION, Some(backend.region.clone())),
        (BUCKET, Some(backend.bucket.clone())),
    ];
    for (var, value) in plain {
        if let Some(value) = value
            && !given(var)
        {
            out.environment.insert(var.to_owned(), value);
        }
    }
    let keys = [
        (
            KEY_ID,
            &names.state_key_id_secret,
            &backend.access_key_id,
            "access key id",
        ),
        (
            SECRET_KEY,
            &names.state_secret_key_secret,
            &backend.secret_access_key,
            "secret access key",
        ),
    ];
    for (var, secret_name, value, what) in keys {
        if given(var) {
            continue;
        }
        ctx.redactor.add(value.expose());
        let description = format!(
            "Terraform state backend {what} of the Vintner Tendril {}",
            names.name
        );
        let arn = step(
            ctx,
            format!("storing the state backend's {what} in the secret {secret_name}"),
            fleet.store_secret(
                names,
                secret_name,
                &description,
                &SecretString::new(value.expose()),
                &[],
            ),
        )
        .await?;
        out.secrets.insert(var.to_owned(), arn);
    }
    Ok(out)
}
