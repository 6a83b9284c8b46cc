//! `CONNECTION_TEST` and `FETCH_RESOURCES`: check a cloud identity and cache what its account
//! holds (the "Use existing VPC" choices of the Plant a Vine form).
//!
//! The result carries `discovery`; Trellis stores it in the identity's cached `credentials`
//! document when the job succeeds.

use std::sync::Arc;

use async_trait::async_trait;
use grape_cloud_aws::{AwsCredentials, DiscoveryOptions, discover, verify};
use serde_json::{Value, json};

use crate::cloud::{aws_failure, open_session};
use crate::{CloudEnv as _, JobContext, JobError, JobHandler};

/// Assumes the job's identity, verifies it (`CONNECTION_TEST` only) and discovers resources.
#[derive(Debug, Clone, Copy)]
pub struct DiscoveryHandler {
    verify: bool,
}

impl DiscoveryHandler {
    /// `CONNECTION_TEST`: verification, then discovery.
    pub const fn connection_test() -> Self {
        Self { verify: true }
    }

    /// `FETCH_RESOURCES`: discovery only.
    pub const fn fetch_resources() -> Self {
        Self { verify: false }
    }
}

#[async_trait]
impl JobHandler for DiscoveryHandler {
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError> {
        if ctx.job.identity.is_none() {
            return Err(JobError::InvalidPayload {
                job_type: ctx.job.job_type.to_string(),
                reason: "the job has no cloud identity: submit it with `cloud_identity_id`".into(),
            });
        }
        let creds = credentials(ctx).await?;
        let mut result = serde_json::Map::new();
        if self.verify {
            ctx.log
                .system("verifying the identity (sts:GetCallerIdentity)");
            let caller = verify(&creds).await.map_err(aws_failure)?;
            ctx.log.system(format!(
                "authenticated as {} in account {}",
                caller.arn, caller.account
            ));
            result.insert("identity".into(), json!(caller));
        }
        let regions = regions(ctx);
        ctx.log
            .system(format!("discovering resources in {}", regions.join(", ")));
        let options = DiscoveryOptions::new(regions);
        let found = tokio::select! {
            found = discover(&creds, &options) => found,
            () = ctx.cancel.cancelled() => return Err(JobError::Cancelled),
        };
        ctx.log.system(format!(
            "found {} VPC(s), {} subnet(s), {} security group(s), {} hosted zone(s), {} IAM user(s)",
            found.vpcs.len(),
            found.subnets.len(),
            found.security_groups.len(),
            found.hosted_zones.len(),
            found.iam_users.len()
        ));
        for error in &found.errors {
            ctx.log.system(format!("warning: {}", json!(error)));
        }
        result.insert("discovery".into(), json!(found));
        Ok(Some(Value::Object(result)))
    }
}

/// The credentials the runtime assumed for the job, or assumed here when it did not.
async fn credentials(ctx: &JobContext) -> Result<Arc<AwsCredentials>, JobError> {
    if let Some(creds) = ctx.cloud.as_ref().and_then(|c| c.aws_credentials()) {
        return Ok(creds);
    }
    let session = open_session(&ctx.job, &ctx.settings, &ctx.redactor, &ctx.log)
        .await?
        .ok_or_else(|| JobError::Failed("the job has no cloud identity".into()))?;
    session
        .aws_credentials()
        .ok_or_else(|| JobError::Failed("the identity gave no AWS credentials".into()))
}

fn regions(ctx: &JobContext) -> Vec<String> {
    ctx.job
        .identity
        .as_ref()
        .and_then(|i| grape_cloud_aws::parse_identity(&i.settings).ok())
        .map_or_else(
            || vec![grape_cloud_aws::DEFAULT_REGION.to_owned()],
            |i| i.regions(),
        )
}
