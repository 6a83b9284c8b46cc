//! Request and response bodies of the Trellis API (no IO here).
//!
//! All times are RFC 3339 UTC, all ids UUIDs. Optional fields are omitted from the JSON when
//! empty and default when missing, so older and newer peers understand each other.

use crate::enums::{CloudProvider, JobStatus, JobType, LogStream, WorkerMode, WorkerStatus};
use crate::job_secrets::JobSecrets;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The name of the APPLY payload field that names the PLAN job whose artifact it applies.
pub const PLAN_JOB_ID_FIELD: &str = "plan_job_id";

/// The team of every resource an older Trellis stored, of `TRELLIS_API_TOKEN` and of the
/// bootstrap admin: a single-team set-up needs no configuration.
pub const DEFAULT_TEAM: &str = "default";

/// [`DEFAULT_TEAM`] as a serde default.
pub fn default_team() -> String {
    DEFAULT_TEAM.to_owned()
}

/// A job as Trellis reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    /// Job id.
    pub id: Uuid,
    /// What the job does (wire name `type`).
    #[serde(rename = "type")]
    pub job_type: JobType,
    /// Current status.
    pub status: JobStatus,
    /// The team the job belongs to (the submitting token's team; `default` from older peers).
    #[serde(default = "default_team")]
    pub team: String,
    /// Labels a worker must all carry to claim the job (empty: any worker of the team).
    #[serde(default)]
    pub labels: Vec<String>,
    /// The names of the job's secrets (`secrets` of the submission), never their values: those
    /// go only to the worker holding the job, in [`ClaimResponse::secrets`].
    #[serde(default)]
    pub secret_names: Vec<String>,
    /// Job-type specific input.
    #[serde(default)]
    pub payload: Value,
    /// The cloud identity the job runs as, if any.
    #[serde(default)]
    pub cloud_identity_id: Option<Uuid>,
    /// That identity (provider and settings, never a long-lived secret); filled in the claim
    /// response and by `GET /api/jobs/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<CloudIdentity>,
    /// The worker holding (or that last held) the job.
    #[serde(default)]
    pub worker_id: Option<Uuid>,
    /// Error message of a FAILED job (`worker lost` when the sweeper failed it).
    #[serde(default)]
    pub error: Option<String>,
    /// Result document of a finished job.
    #[serde(default)]
    pub result: Option<Value>,
    /// The job this one retries.
    #[serde(default)]
    pub retry_of: Option<Uuid>,
    /// The user asked to cancel this job.
    #[serde(default)]
    pub cancel_requested: bool,
    /// When the job was submitted.
    pub created_at: DateTime<Utc>,
    /// When a worker claimed it (last claim).
    #[serde(default)]
    pub claimed_at: Option<DateTime<Utc>>,
    /// When it became RUNNING.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal status.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Last change of any kind.
    pub updated_at: DateTime<Utc>,
}

impl Job {
    /// The PLAN job named by an APPLY job's payload (`payload.plan_job_id`), if any.
    pub fn plan_job_id(&self) -> Option<Uuid> {
        self.payload
            .get(PLAN_JOB_ID_FIELD)
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
    }
}

/// A cloud identity: provider, settings (what to assume: role ARN, external id, regions, …;
/// see [`crate::identity`]) and the cached discovery document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CloudIdentity {
    /// Identity id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// The team the identity belongs to (the creating token's team).
    #[serde(default = "default_team")]
    pub team: String,
    /// Cloud provider.
    pub provider: CloudProvider,
    /// Provider settings; never a long-lived secret.
    #[serde(default)]
    pub settings: Value,
    /// The cached result of the last CONNECTION_TEST / FETCH_RESOURCES (`result.discovery`,
    /// plus `result.identity` when present); the spec's `cloud_identities.credentials`.
    #[serde(default)]
    pub credentials: Option<Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/cloud-identities` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateIdentityRequest {
    /// Display name.
    pub name: String,
    /// Cloud provider (`aws`, `gcp`, `azure`).
    pub provider: CloudProvider,
    /// Provider settings.
    #[serde(default)]
    pub settings: Value,
}

/// `POST /api/tendrils/register` body (admin token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    /// Worker name.
    pub name: String,
    /// How the worker is hosted.
    pub mode: WorkerMode,
    /// Labels `key: value`. The worker claims a job only when every job label is one of its
    /// labels, written `key=value` or just `key`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The worker's team (default `default`). A self-hosted worker claims only its team's jobs;
    /// a cloud-hosted (platform) worker claims any team's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// `POST /api/tendrils/register` answer (201). The token is shown only once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterResponse {
    /// The new worker's id.
    pub worker_id: Uuid,
    /// The new worker's token (stored by Trellis only as a hash).
    pub worker_token: Secret,
}

/// What a worker tells about itself on its first heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkerInfo {
    /// Worker software version.
    pub version: String,
    /// Host name.
    pub hostname: String,
    /// How the worker is hosted.
    pub mode: WorkerMode,
    /// The job types this worker can run; it is offered only these.
    pub job_types: Vec<JobType>,
}

/// `POST /api/workers/heartbeat` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatRequest {
    /// The worker's own status (`ONLINE`, `DRAINING`, `OFFLINE`).
    pub status: WorkerStatus,
    /// The job the worker runs now.
    #[serde(default)]
    pub current_job_id: Option<Uuid>,
    /// Sent on the first heartbeat after start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<WorkerInfo>,
}

/// `POST /api/workers/heartbeat` answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatResponse {
    /// Jobs held by this worker that the user asked to cancel.
    #[serde(default)]
    pub cancel_job_ids: Vec<Uuid>,
    /// Jobs the heartbeat named (`current_job_id`) that this worker no longer runs on the
    /// server: ended there (the sweeper failed it `worker lost`, a user cancelled it before
    /// it started), taken back, or gone. Not a cancel: the worker stops the job and reports
    /// nothing more about it (it drops its journal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abandoned_job_ids: Vec<Uuid>,
}

/// `POST /api/jobs/claim` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimRequest {
    /// Long-poll up to this many seconds (0..=30) for a job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u32>,
    /// Idempotency key of this claim, the same on every retry of it: while the worker still
    /// holds (CLAIMED, not yet RUNNING) the job a claim with this key took, a claim with the
    /// same key gets that job again instead of a new one, so a claim whose answer was lost
    /// strands no job. A new key for each new claim (a key whose job started gets 204).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Uuid>,
}

/// `POST /api/jobs/claim` answer (200; 204 has no body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimResponse {
    /// The claimed job, with its identity.
    pub job: Job,
    /// The job's secrets (name → value): only in this answer, to the worker holding the job.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub secrets: JobSecrets,
}

/// `PUT /api/jobs/{id}/status` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusUpdate {
    /// The new status.
    pub status: JobStatus,
    /// Error message (FAILED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Result document (SUCCESS). For CONNECTION_TEST / FETCH_RESOURCES jobs of an identity,
    /// `result.discovery` (and `result.identity`) is cached in the identity's `credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

impl StatusUpdate {
    /// RUNNING.
    pub fn running() -> Self {
        Self {
            status: JobStatus::Running,
            error: None,
            result: None,
        }
    }

    /// SUCCESS with an optional result.
    pub fn success(result: Option<Value>) -> Self {
        Self {
            status: JobStatus::Success,
            error: None,
            result,
        }
    }

    /// FAILED with an error message.
    pub fn failed(error: impl Into<String>) -> Self {
        Self {
            status: JobStatus::Failed,
            error: Some(error.into()),
            result: None,
        }
    }

    /// CANCELLED.
    pub fn cancelled() -> Self {
        Self {
            status: JobStatus::Cancelled,
            error: None,
            result: None,
        }
    }
}

/// One log line. `seq` starts at 1 per job; a line whose seq is already stored is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLine {
    /// Sequence number within the job (1, 2, …).
    pub seq: u64,
    /// When the line was produced.
    pub ts: DateTime<Utc>,
    /// Source stream.
    pub stream: LogStream,
    /// The text, without the line break.
    pub text: String,
}

/// `POST /api/jobs/{id}/logs` body (≤ 5,000 lines and ≤ 1 MiB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogBatch {
    /// The lines.
    pub lines: Vec<LogLine>,
}

/// `POST /api/jobs/{id}/logs` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogAck {
    /// Highest seq stored for the job (0 when none).
    pub last_seq: u64,
    /// The user asked to cancel the job.
    pub cancel_requested: bool,
    /// The job's status on the server. A final status while the worker still runs the job
    /// means the server ended it (e.g. the sweeper failed it): the worker abandons the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_status: Option<JobStatus>,
}

/// `GET /api/jobs/{id}/logs` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogPage {
    /// Lines with seq > `after_seq`, in seq order.
    pub lines: Vec<LogLine>,
    /// Highest seq stored for the job.
    pub last_seq: u64,
    /// Status of the job when the page was read.
    pub job_status: JobStatus,
}

/// `POST /api/jobs/{id}/plan-artifact` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanArtifactAck {
    /// The PLAN job.
    pub job_id: Uuid,
    /// Size of the stored JSON in bytes.
    pub bytes: u64,
}

/// `POST /api/jobs` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitJobRequest {
    /// Job type (wire name `type`).
    #[serde(rename = "type")]
    pub job_type: JobType,
    /// Job input.
    #[serde(default)]
    pub payload: Value,
    /// The identity to run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_identity_id: Option<Uuid>,
    /// The team the job belongs to: the token's team when absent; only an admin may name
    /// another team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Labels a worker must all carry to claim the job (`key=value` or `key`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Secrets of the job (name → value; names `[A-Za-z_][A-Za-z0-9_]{0,127}`, at most 64,
    /// values 6 bytes to 32 KiB, 256 KiB in all). Stored apart from the payload, handed only to
    /// the worker holding the job and copied on retry; the job lists their names only. A PLAN or
    /// DESTROY gets each as the Terraform variable of its name (`TF_VAR_<name>`), and every value
    /// is masked in the job's log.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub secrets: JobSecrets,
}

/// `POST /api/jobs` answer: the job, and what the submitter should know about it (e.g. that no
/// online worker offers its type). Older clients read it as a [`Job`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmittedJob {
    /// The job, as `GET /api/jobs/{id}` shows it.
    #[serde(flatten)]
    pub job: Job,
    /// Warnings about the job; empty when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `GET /api/jobs` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobList {
    /// Jobs, newest first.
    pub jobs: Vec<Job>,
}

/// A worker as `GET /api/workers` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Worker {
    /// Worker id.
    pub id: Uuid,
    /// Name given at registration.
    pub name: String,
    /// Hosting mode given at registration.
    pub mode: WorkerMode,
    /// The team given at registration.
    #[serde(default = "default_team")]
    pub team: String,
    /// Labels given at registration.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Status computed from the last heartbeat.
    pub status: WorkerStatus,
    /// The job named by its last heartbeat.
    #[serde(default)]
    pub current_job_id: Option<Uuid>,
    /// What it told on its first heartbeat.
    #[serde(default)]
    pub info: Option<WorkerInfo>,
    /// Last heartbeat.
    #[serde(default)]
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    /// Registration time.
    pub created_at: DateTime<Utc>,
}

/// `GET /api/workers` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkerList {
    /// Workers, by registration time.
    pub workers: Vec<Worker>,
}

/// `GET /api/cloud-identities` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityList {
    /// Identities, newest first.
    pub identities: Vec<CloudIdentity>,
}

/// `GET /healthz` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// Server version.
    pub version: String,
}

/// Every 4xx/5xx answer: `{"error": "..."}`; a 409 on a job also names its current status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Human-readable message.
    pub error: String,
    /// Current status of the job (409 on a status update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_status: Option<JobStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_request_id_is_optional_on_the_wire() {
        let old: ClaimRequest = serde_json::from_str(r#"{"wait_seconds": 5}"#).unwrap();
        assert_eq!(old.request_id, None);
        assert_eq!(
            serde_json::to_string(&old).unwrap(),
            r#"{"wait_seconds":5}"#
        );
        let key = Uuid::new_v4();
        let new = ClaimRequest {
            wait_seconds: None,
            request_id: Some(key),
        };
        assert_eq!(
            serde_json::to_value(&new).unwrap(),
            serde_json::json!({ "request_id": key })
        );
    }

    #[test]
    fn new_answer_fields_are_optional_on_the_wire() {
        let old: HeartbeatResponse = serde_json::from_str(r#"{"cancel_job_ids": []}"#).unwrap();
        assert!(old.abandoned_job_ids.is_empty());
        assert_eq!(
            serde_json::to_string(&old).unwrap(),
            r#"{"cancel_job_ids":[]}"#
        );
        let old: LogAck =
            serde_json::from_str(r#"{"last_seq": 3, "cancel_requested": false}"#).unwrap();
        assert_eq!(old.job_status, None);
        let new: LogAck = serde_json::from_str(
            r#"{"last_seq": 3, "cancel_requested": false, "job_status": "FAILED"}"#,
        )
        .unwrap();
        assert_eq!(new.job_status, Some(JobStatus::Failed));
    }
}
