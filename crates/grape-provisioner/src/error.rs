//! The error a job handler ends with.

use std::error::Error as StdError;

/// Why a job did not succeed. Its `Display` is the FAILED reason shown to users, so every
/// variant reads as one clear sentence; secrets are redacted by the runtime before it leaves.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The payload does not have the shape this job type needs.
    #[error("invalid payload for {job_type}: {reason}")]
    InvalidPayload {
        /// The job type whose payload was checked.
        job_type: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The job was cancelled (by the user, a timeout of the worker's drain, or shutdown).
    #[error("job cancelled")]
    Cancelled,
    /// The job ran and failed; the message says why.
    #[error("{0}")]
    Failed(String),
    /// A tool or service used by the job failed.
    #[error("{context}: {source}")]
    Tool {
        /// What the job was doing, e.g. `terraform plan`.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl JobError {
    /// A [`JobError::Tool`] from any error with a description of the step that failed.
    pub fn tool(context: impl Into<String>, source: impl StdError + Send + Sync + 'static) -> Self {
        Self::Tool {
            context: context.into(),
            source: Box::new(source),
        }
    }

    /// Parses a payload into `T`, or an [`JobError::InvalidPayload`] naming the job type.
    pub fn parse_payload<T: serde::de::DeserializeOwned>(
        job_type: &grape_api::JobType,
        payload: &serde_json::Value,
    ) -> Result<T, Self> {
        serde_json::from_value(payload.clone()).map_err(|e| Self::InvalidPayload {
            job_type: job_type.to_string(),
            reason: e.to_string(),
        })
    }
}
