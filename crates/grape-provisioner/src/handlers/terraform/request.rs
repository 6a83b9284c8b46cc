//! The payloads of the Terraform jobs.

use std::collections::BTreeMap;

use grape_api::JobType;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::JobError;

/// The payload of `PLAN` and `DESTROY`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerraformRequest {
    /// Where the configuration comes from.
    pub source: Source,
    /// Input variables.
    #[serde(default)]
    pub variables: BTreeMap<String, Value>,
    /// Names of variables whose values are secrets (redacted from logs and results). Variables
    /// named like `*_token`, `*_secret`, `*_password`, `*_key` are treated as secrets too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_variables: Vec<String>,
    /// The state object key of this vine/workspace in the state bucket.
    pub state_key: String,
}

/// The payload of `APPLY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// The approved PLAN job.
    pub plan_job_id: Uuid,
}

/// A Terraform configuration: inline files or a git repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// File name (relative, `/`-separated) → content.
    Files(BTreeMap<String, String>),
    /// A git repository.
    Git(GitSourceSpec),
}

/// A configuration in a git repository. A payload names no credentials: an `https` URL gets
/// the token the worker's git credentials map holds for its exact origin (scheme, host, port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitSourceSpec {
    /// Clone URL (`https://`, `ssh://`, `file://`), without a user name or password.
    pub url: String,
    /// Branch, tag or commit; the default branch when absent.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Directory of the configuration inside the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl TerraformRequest {
    /// Parses the payload of `PLAN`/`DESTROY`; the removed `source.git.token_env` gets an error
    /// that says where git tokens come from now.
    pub fn from_payload(job_type: &JobType, payload: &Value) -> Result<Self, JobError> {
        if payload.pointer("/source/git/token_env").is_some() {
            return Err(JobError::InvalidPayload {
                job_type: job_type.to_string(),
                reason: "unknown field `source.git.token_env`: a payload names no git token; \
                         the worker sends the token its git credentials map \
                         (TENDRIL_GIT_CREDENTIALS) holds for the URL's exact origin"
                    .to_owned(),
            });
        }
        JobError::parse_payload(job_type, payload)
    }

    /// This request with its git source (if any) pinned to `commit`: what an APPLY checks out
    /// to build the working directory its saved plan was made in.
    #[must_use]
    pub fn pinned_to(mut self, commit: Option<&str>) -> Self {
        if let (Source::Git(spec), Some(commit)) = (&mut self.source, commit) {
            spec.reference = Some(commit.to_owned());
        }
        self
    }

    /// The values of the secret variables (strings only; other values are not text in logs).
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().filter_map(|(name, value)| {
            let secret = self.sensitive_variables.iter().any(|s| s == name)
                || grape_process::is_secret_env_name(name);
            if secret { value.as_str() } else { None }
        })
    }
}
