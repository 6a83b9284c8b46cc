//! [`TrellisServices`]: the `JobServices` of a worker, over the Trellis worker API.

use std::sync::Arc;

use async_trait::async_trait;
use grape_api::WorkerApiClient;
use grape_process::Redactor;
use grape_provisioner::{JobServices, ServiceError};
use serde_json::Value;
use uuid::Uuid;

/// Plan artifacts stored in Trellis through the worker's own client.
#[derive(Debug, Clone)]
pub struct TrellisServices {
    api: Arc<WorkerApiClient>,
    redactor: Redactor,
}

impl TrellisServices {
    /// Services over `api`; error messages pass through `redactor`.
    pub fn new(api: Arc<WorkerApiClient>, redactor: Redactor) -> Self {
        Self { api, redactor }
    }

    fn error(&self, e: &grape_api::ApiError) -> ServiceError {
        ServiceError(self.redactor.redact(&e.to_string()).into_owned())
    }
}

#[async_trait]
impl JobServices for TrellisServices {
    async fn upload_plan_artifact(
        &self,
        job_id: Uuid,
        artifact: &Value,
    ) -> Result<(), ServiceError> {
        self.api
            .upload_plan_artifact(job_id, artifact)
            .await
            .map(|_| ())
            .map_err(|e| self.error(&e))
    }

    async fn download_plan_artifact(&self, job_id: Uuid) -> Result<Option<Value>, ServiceError> {
        self.api
            .download_plan_artifact(job_id)
            .await
            .map_err(|e| self.error(&e))
    }
}
