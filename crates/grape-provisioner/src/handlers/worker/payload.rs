//! The payloads of the worker jobs, and their checks.

use std::collections::BTreeMap;

use grape_api::JobType;
use grape_fleet_aws::{DEFAULT_CLUSTER, WorkerNames};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::JobError;

/// Variables of the deployed worker that the job sets itself; a payload may not set them.
pub(crate) const RESERVED_ENV: &[&str] = &[
    "TRELLIS_URL",
    "GRAPE_WORKER_ID",
    "GRAPE_WORKER_TOKEN",
    "GRAPE_WORKER_MODE",
    "TRELLIS_ADMIN_TOKEN",
];

/// Secrets whose names do not look like one: refused in `environment` (use `secret_refs`).
const SECRET_ENV: &[&str] = &["SUPABASE_STORAGE_KEY_ID"];

/// The payload of `DEPLOY_WORKER`.
///
/// ```json
/// { "name": "eu-1", "region": "eu-west-1", "image": "ghcr.io/vintner/tendril:1.4.2",
///   "vpc_id": "vpc-0abc", "subnet_ids": ["subnet-0a", "subnet-0b"],
///   "labels": { "team": "platform" }, "environment": { "TENDRIL_ENABLE_EXEC": "false" },
///   "secret_refs": { "SUPABASE_STORAGE_SECRET_KEY": "arn:aws:secretsmanager:…" } }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployWorkerPayload {
    /// The worker's name: its name in Trellis and the base of its AWS names (1–32 letters,
    /// digits, `-`, `_`).
    pub name: String,
    /// The AWS region, e.g. `eu-west-1`.
    pub region: String,
    /// The Tendril image.
    pub image: String,
    /// The VPC of the worker's security group.
    pub vpc_id: String,
    /// The subnets of the worker's task (at least one, in `vpc_id`).
    pub subnet_ids: Vec<String>,
    /// Give the task a public IP (default `true`; `false` needs a NAT gateway or VPC endpoints).
    #[serde(default = "yes")]
    pub assign_public_ip: bool,
    /// The ECS cluster (default `vintner-tendrils`, created when missing).
    #[serde(default)]
    pub cluster: Option<String>,
    /// Fargate CPU units (default `512`).
    #[serde(default)]
    pub cpu: Option<String>,
    /// Fargate memory in MiB (default `1024`).
    #[serde(default)]
    pub memory: Option<String>,
    /// Labels of the worker in Trellis.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Extra plain environment of the worker (no secrets: names like `*_TOKEN`, `*_SECRET`,
    /// `*_PASSWORD`, `*_KEY` are refused; use `secret_refs`).
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Extra secret environment of the worker: name → ARN of a Secrets Manager secret, resolved
    /// by ECS when the task starts (the execution role may read exactly these).
    #[serde(default)]
    pub secret_refs: BTreeMap<String, String>,
}

const fn yes() -> bool {
    true
}

/// The payload of `UPDATE_WORKER`: `{ "name", "region", "image", "cluster"? }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkerPayload {
    /// The worker's name (as deployed).
    pub name: String,
    /// Its region.
    pub region: String,
    /// The new image.
    pub image: String,
    /// Its ECS cluster (default `vintner-tendrils`).
    #[serde(default)]
    pub cluster: Option<String>,
}

/// The payload of `DESTROY_WORKER`: `{ "name", "region", "cluster"?, "worker_id"? }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestroyWorkerPayload {
    /// The worker's name (as deployed).
    pub name: String,
    /// Its region.
    pub region: String,
    /// Its ECS cluster (default `vintner-tendrils`).
    #[serde(default)]
    pub cluster: Option<String>,
    /// Its Trellis id; default: the id tagged on its token secret (or its service).
    #[serde(default)]
    pub worker_id: Option<Uuid>,
}

/// What the three worker payloads share: the worker's name, region and cluster (checked by
/// [`common`]), and their own checks of what serde cannot (none by default).
pub(crate) trait WorkerPayload: DeserializeOwned {
    fn name(&self) -> &str;
    fn region(&self) -> &str;
    fn cluster(&self) -> Option<&str>;
    fn check(&self, _job_type: &JobType) -> Result<(), JobError> {
        Ok(())
    }
}

/// Implements [`WorkerPayload`] for payloads with `name`, `region` and `cluster` fields, with
/// the payload's own check `fn(&Self, &JobType)` when it has one.
macro_rules! worker_payload {
    ($($payload:ty $(=> $check:path)?),* $(,)?) => {$(
        impl WorkerPayload for $payload {
            fn name(&self) -> &str {
                &self.name
            }
            fn region(&self) -> &str {
                &self.region
            }
            fn cluster(&self) -> Option<&str> {
                self.cluster.as_deref()
            }
            $(
                fn check(&self, job_type: &JobType) -> Result<(), JobError> {
                    $check(self, job_type)
                }
            )?
        }
    )*};
}

worker_payload!(
    DeployWorkerPayload => DeployWorkerPayload::check,
    UpdateWorkerPayload => check_update,
    DestroyWorkerPayload,
);

fn check_update(payload: &UpdateWorkerPayload, job_type: &JobType) -> Result<(), JobError> {
    check_image(job_type, &payload.image)
}

fn check_image(job_type: &JobType, image: &str) -> Result<(), JobError> {
    if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
        return Err(invalid(job_type, "`image` must name a container image"));
    }
    Ok(())
}

fn invalid(job_type: &JobType, reason: impl Into<String>) -> JobError {
    JobError::InvalidPayload {
        job_type: job_type.to_string(),
        reason: reason.into(),
    }
}

/// Parses and checks a payload's common fields: the names of the worker's resources, the
/// region and the cluster.
pub(crate) fn common(
    job_type: &JobType,
    name: &str,
    region: &str,
    cluster: Option<&str>,
) -> Result<(WorkerNames, String), JobError> {
    let names = WorkerNames::new(name).map_err(|e| invalid(job_type, e.to_string()))?;
    if !is_region(region) {
        return Err(invalid(
            job_type,
            format!("`region` {region:?} is not an AWS region name like eu-west-1"),
        ));
    }
    let cluster = cluster.unwrap_or(DEFAULT_CLUSTER);
    let valid_cluster = !cluster.is_empty()
        && cluster.len() <= 255
        && cluster
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_cluster {
        return Err(invalid(
            job_type,
            format!("`cluster` {cluster:?} is not a valid ECS cluster name"),
        ));
    }
    Ok((names, cluster.to_owned()))
}

fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

impl DeployWorkerPayload {
    /// Checks what serde cannot: image, network, environment names and secret references.
    pub(crate) fn check(&self, job_type: &JobType) -> Result<(), JobError> {
        check_image(job_type, &self.image)?;
        if !self.vpc_id.starts_with("vpc-") {
            return Err(invalid(job_type, "`vpc_id` must be a VPC id (vpc-…)"));
        }
        if self.subnet_ids.is_empty() || self.subnet_ids.iter().any(|s| !s.starts_with("subnet-")) {
            return Err(invalid(
                job_type,
                "`subnet_ids` must list at least one subnet id (subnet-…)",
            ));
        }
        for name in self.environment.keys().chain(self.secret_refs.keys()) {
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(invalid(
                    job_type,
                    format!("{name:?} is not an environment variable name (A-Z, 0-9, _)"),
                ));
            }
            if RESERVED_ENV.contains(&name.as_str()) {
                return Err(invalid(
                    job_type,
                    format!("{name} is set by DEPLOY_WORKER itself and cannot be given"),
                ));
            }
        }
        if let Some(name) = self
            .environment
            .keys()
            .find(|n| grape_process::is_secret_env_name(n) || SECRET_ENV.contains(&n.as_str()))
        {
            return Err(invalid(
                job_type,
                format!(
                    "{name} looks like a secret: plain `environment` values sit in the task \
                     definition; pass it as a Secrets Manager ARN in `secret_refs`"
                ),
            ));
        }
        if let Some((name, _)) = self
            .secret_refs
            .iter()
            .find(|(_, arn)| !arn.starts_with("arn:aws:secretsmanager:"))
        {
            return Err(invalid(
                job_type,
                format!("`secret_refs.{name}` must be a Secrets Manager secret ARN"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(extra: &serde_json::Value) -> DeployWorkerPayload {
        let mut base = json!({
            "name": "eu-1", "region": "eu-west-1", "image": "tendril:1",
            "vpc_id": "vpc-1", "subnet_ids": ["subnet-1"]
        });
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn a_complete_payload_passes() {
        let p = deploy(&json!({ "environment": { "TENDRIL_LOG_FORMAT": "json" } }));
        p.check(&JobType::DeployWorker).unwrap();
        assert!(p.assign_public_ip);
        common(&JobType::DeployWorker, &p.name, &p.region, None).unwrap();
    }

    #[test]
    fn secrets_and_reserved_names_are_refused_in_the_environment() {
        for env in [
            json!({ "GRAPE_WORKER_TOKEN": "x" }),
            json!({ "TRELLIS_URL": "http://x" }),
            json!({ "INFRACOST_API_KEY": "x" }),
            json!({ "SUPABASE_STORAGE_KEY_ID": "x" }),
            json!({ "lower": "x" }),
        ] {
            let p = deploy(&json!({ "environment": env }));
            let err = p.check(&JobType::DeployWorker).unwrap_err().to_string();
            assert!(
                err.starts_with("invalid payload for DEPLOY_WORKER"),
                "{err}"
            );
        }
        let p = deploy(&json!({ "secret_refs": { "INFRACOST_API_KEY": "plain" } }));
        assert!(p.check(&JobType::DeployWorker).is_err());
    }

    #[test]
    fn regions_and_clusters_are_checked() {
        assert!(common(&JobType::UpdateWorker, "a", "eu-west-1", Some("c-1")).is_ok());
        assert!(common(&JobType::UpdateWorker, "a", "mars", None).is_err());
        assert!(common(&JobType::UpdateWorker, "a", "eu-west-1", Some("a/b")).is_err());
        assert!(common(&JobType::UpdateWorker, "a b", "eu-west-1", None).is_err());
    }
}
