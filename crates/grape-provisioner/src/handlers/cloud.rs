//! `CONNECTION_TEST` and `FETCH_RESOURCES`: check a cloud identity and cache what its account
//! holds (the "Use existing VPC" choices of the Plant a Vine form), for any provider: the
//! job's [`CloudSession`] verifies and discovers.
//!
//! The result carries `discovery`; Trellis stores it in the identity's cached `credentials`
//! document when the job succeeds.

use std::sync::Arc;

use async_trait::async_trait;
use grape_api::CloudSession;
use serde_json::{Value, json};

use crate::cloud::{cloud_failure, open_session, provider_label};
use crate::{JobContext, JobError, JobHandler};

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
        let session = session(ctx).await?;
        let provider = session.provider();
        let mut result = serde_json::Map::new();
        if self.verify {
            ctx.log.system(format!(
                "verifying the {} identity",
                provider_label(&provider)
            ));
            let who = tokio::select! {
                who = session.verify() => who.map_err(|e| cloud_failure(&provider, &e))?,
                () = ctx.cancel.cancelled() => return Err(JobError::Cancelled),
            };
            ctx.log.system(format!(
                "authenticated as {} in {}",
                who.principal, who.account
            ));
            result.insert("identity".into(), who.details);
        }
        let scope = session.discovery_scope();
        ctx.log.system(if scope.is_empty() {
            "discovering resources".to_owned()
        } else {
            format!("discovering resources in {}", scope.join(", "))
        });
        let found = tokio::select! {
            found = session.discover() => found,
            () = ctx.cancel.cancelled() => return Err(JobError::Cancelled),
        };
        ctx.log.system(found.summary());
        for error in &found.errors {
            ctx.log.system(format!(
                "warning: {} failed{}: {}",
                error.operation,
                error
                    .region
                    .as_deref()
                    .map(|r| format!(" in {r}"))
                    .unwrap_or_default(),
                error.message
            ));
        }
        result.insert("discovery".into(), json!(found));
        Ok(Some(Value::Object(result)))
    }
}

/// The session the runtime opened for the job, or one opened here when it did not.
async fn session(ctx: &JobContext) -> Result<Arc<dyn CloudSession>, JobError> {
    if let Some(session) = &ctx.cloud {
        return Ok(Arc::clone(session));
    }
    open_session(&ctx.job, &ctx.settings, &ctx.redactor, &ctx.log)
        .await?
        .ok_or_else(|| JobError::Failed("the job has no cloud identity".into()))
}
