//! The plan artifact a PLAN uploads and an APPLY applies (format [`FORMAT`]).
//!
//! ```json
//! { "format": "grape.plan.v2",
//!   "request": { "source": …, "variables": …, "state_key": … },
//!   "summary": { "has_changes": true, "summary": {"add": 1, …}, "resource_changes": [...] },
//!   "plan_b64": "<the saved plan file of `terraform plan -out`, base64>",
//!   "lock_file": "<the .terraform.lock.hcl PLAN's init used, when there was one>",
//!   "vine": { … the vine, for a vine's PLAN: APPLY runs its cluster steps with it } }
//! ```
//!
//! `request` is the PLAN's payload with a git source pinned to the commit PLAN checked out, so
//! APPLY builds the same working directory; `lock_file` makes APPLY's `terraform init` select
//! the same provider versions the plan was made with. The saved plan holds every variable (and
//! the prior state) in clear text: the artifact is a secret at rest, which Trellis serves only
//! to the worker running an APPLY of it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::request::TerraformRequest;
use crate::JobError;

/// The format tag of the plan artifacts this crate writes.
pub const FORMAT: &str = "grape.plan.v2";

/// The tag of the older artifacts (plan JSON only, re-planned at APPLY), no longer applied.
const FORMAT_V1: &str = "grape.plan.v1";

/// A plan artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PlanArtifact {
    /// [`FORMAT`].
    pub format: String,
    /// What PLAN ran, git source pinned to its commit.
    pub request: TerraformRequest,
    /// The PLAN's change summary (its result without the cost).
    pub summary: Value,
    /// The saved plan file, base64.
    pub plan_b64: String,
    /// The dependency lock file PLAN's init used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_file: Option<String>,
    /// The vine a vine's PLAN rendered (its APPLY continues with the cluster steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vine: Option<Value>,
}

impl PlanArtifact {
    /// An artifact of the saved plan `plan`.
    pub fn new(
        request: TerraformRequest,
        summary: Value,
        plan: &[u8],
        lock_file: Option<String>,
    ) -> Self {
        Self {
            format: FORMAT.to_owned(),
            request,
            summary,
            plan_b64: STANDARD.encode(plan),
            lock_file,
            vine: None,
        }
    }

    /// Reads the artifact of PLAN job `plan_job_id`; an artifact of another format is refused
    /// with what to do.
    pub fn read(artifact: Value, plan_job_id: Uuid) -> Result<Self, JobError> {
        let unreadable = |why: String| {
            JobError::Failed(format!(
                "the plan artifact of job {plan_job_id} is unreadable ({why}): plan again and apply the new plan"
            ))
        };
        match artifact.get("format").and_then(Value::as_str) {
            Some(FORMAT) => {}
            Some(FORMAT_V1) => {
                return Err(JobError::Failed(format!(
                    "PLAN job {plan_job_id} saved a {FORMAT_V1} artifact (made before saved plans were kept), \
                     which cannot be applied exactly: plan again and apply the new plan"
                )));
            }
            other => {
                return Err(unreadable(format!(
                    "format {}, expected {FORMAT}",
                    other.unwrap_or("missing")
                )));
            }
        }
        serde_json::from_value(artifact).map_err(|e| unreadable(e.to_string()))
    }

    /// The saved plan file.
    pub fn plan_file(&self, plan_job_id: Uuid) -> Result<Vec<u8>, JobError> {
        STANDARD.decode(&self.plan_b64).map_err(|e| {
            JobError::Failed(format!(
                "the saved plan of job {plan_job_id} is not valid base64 ({e}): plan again and apply the new plan"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request() -> TerraformRequest {
        serde_json::from_value(json!({"source": {"files": {"main.tf": ""}}, "state_key": "k"}))
            .unwrap()
    }

    #[test]
    fn an_artifact_round_trips_with_its_plan_bytes() {
        let bytes = b"PK\x03\x04 not really a zip \xff\x00";
        let a = PlanArtifact::new(request(), json!({"has_changes": true}), bytes, None);
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["format"], FORMAT);
        assert!(v.get("lock_file").is_none());
        let back = PlanArtifact::read(v, Uuid::nil()).unwrap();
        assert_eq!(back.plan_file(Uuid::nil()).unwrap(), bytes);
        assert_eq!(back.request, request());
    }

    #[test]
    fn a_v1_artifact_says_plan_again() {
        let v1 = json!({"format": "grape.plan.v1", "request": {}, "plan": {}});
        let err = PlanArtifact::read(v1, Uuid::nil()).unwrap_err().to_string();
        assert!(err.contains("grape.plan.v1"), "{err}");
        assert!(err.contains("plan again"), "{err}");
        let other = PlanArtifact::read(json!({"x": 1}), Uuid::nil())
            .unwrap_err()
            .to_string();
        assert!(
            other.contains("format missing, expected grape.plan.v2"),
            "{other}"
        );
    }
}
