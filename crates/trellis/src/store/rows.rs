//! Row types shared by both backends, and their conversion to wire types.

use chrono::{DateTime, Utc};
use grape_api::{
    CloudIdentity, CloudProvider, Job, JobStatus, JobType, LogLine, LogStream, Worker, WorkerInfo,
    WorkerMode, WorkerStatus,
};
use serde_json::Value;
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The columns of `jobs` selected everywhere.
pub(crate) const JOB_COLUMNS: &str = "id, job_type, status, payload, cloud_identity_id, worker_id, \
    error, result, retry_of, cancel_requested, last_seq, created_at, queued_at, claimed_at, \
    started_at, finished_at, updated_at, last_activity_at, team, labels, secret_names";

/// A row of `jobs`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    /// Job id.
    pub id: Uuid,
    /// Job type (wire value).
    pub job_type: String,
    /// Status (wire value).
    pub status: String,
    /// Payload.
    pub payload: Json<Value>,
    /// Identity.
    pub cloud_identity_id: Option<Uuid>,
    /// Holder.
    pub worker_id: Option<Uuid>,
    /// Error message.
    pub error: Option<String>,
    /// Result document.
    pub result: Option<Json<Value>>,
    /// Retried job.
    pub retry_of: Option<Uuid>,
    /// Cancel requested.
    pub cancel_requested: bool,
    /// Highest stored log seq.
    pub last_seq: i64,
    /// Submission time.
    pub created_at: DateTime<Utc>,
    /// Last (re)queue time.
    pub queued_at: DateTime<Utc>,
    /// Claim time.
    pub claimed_at: Option<DateTime<Utc>>,
    /// Start time.
    pub started_at: Option<DateTime<Utc>>,
    /// End time.
    pub finished_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Last sign of life (start, log, heartbeat naming the job).
    pub last_activity_at: DateTime<Utc>,
    /// The team the job belongs to.
    pub team: String,
    /// Labels a claiming worker must carry (canonical: sorted, no duplicates).
    pub labels: Json<Vec<String>>,
    /// The names of the job's secrets (sorted); their values are in `job_secrets`.
    pub secret_names: Json<Vec<String>>,
}

impl JobRow {
    /// The status as an enum.
    pub fn status(&self) -> JobStatus {
        JobStatus::from_wire(&self.status)
    }

    /// CLAIMED or RUNNING: its worker runs it.
    pub fn is_live(&self) -> bool {
        matches!(self.status(), JobStatus::Claimed | JobStatus::Running)
    }

    /// The job type as an enum.
    pub fn job_type(&self) -> JobType {
        JobType::from_wire(&self.job_type)
    }

    /// The wire form (without the identity).
    pub fn to_job(&self) -> Job {
        Job {
            id: self.id,
            job_type: self.job_type(),
            status: self.status(),
            team: self.team.clone(),
            labels: self.labels.0.clone(),
            secret_names: self.secret_names.0.clone(),
            payload: self.payload.0.clone(),
            cloud_identity_id: self.cloud_identity_id,
            identity: None,
            worker_id: self.worker_id,
            error: self.error.clone(),
            result: self.result.as_ref().map(|j| j.0.clone()),
            retry_of: self.retry_of,
            cancel_requested: self.cancel_requested,
            created_at: self.created_at,
            claimed_at: self.claimed_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            updated_at: self.updated_at,
        }
    }
}

/// A row of `workers`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkerRow {
    /// Worker id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Mode (wire value).
    pub mode: String,
    /// Labels.
    pub labels: Json<BTreeMap<String, String>>,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Status the worker itself reported last.
    pub reported_status: String,
    /// Job named by the last heartbeat.
    pub current_job_id: Option<Uuid>,
    /// Info of the first heartbeat.
    pub info: Option<Json<WorkerInfo>>,
    /// Last heartbeat.
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    /// Registration.
    pub created_at: DateTime<Utc>,
    /// The team given at registration.
    pub team: String,
}

impl WorkerRow {
    /// Status computed from the last heartbeat: the reported status while the heartbeat is newer
    /// than `online_since`, else OFFLINE (also when it never sent one).
    pub fn status(&self, online_since: DateTime<Utc>) -> WorkerStatus {
        match self.last_heartbeat_at {
            Some(t) if t >= online_since => WorkerStatus::from_wire(&self.reported_status),
            _ => WorkerStatus::Offline,
        }
    }

    /// The job types offered to this worker: those of its info, or all when it sent none.
    pub fn job_types(&self) -> Option<Vec<JobType>> {
        self.info.as_ref().map(|i| i.0.job_types.clone())
    }

    /// The wire form.
    pub fn to_worker(&self, online_since: DateTime<Utc>) -> Worker {
        Worker {
            id: self.id,
            name: self.name.clone(),
            mode: WorkerMode::from_wire(&self.mode),
            team: self.team.clone(),
            labels: self.labels.0.clone(),
            status: self.status(online_since),
            current_job_id: self.current_job_id,
            info: self.info.as_ref().map(|i| i.0.clone()),
            last_heartbeat_at: self.last_heartbeat_at,
            created_at: self.created_at,
        }
    }
}

/// A row of `cloud_identities`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct IdentityRow {
    pub id: Uuid,
    pub name: String,
    pub provider: String,
    pub settings: Json<Value>,
    pub credentials: Option<Json<Value>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub team: String,
}

impl IdentityRow {
    pub(crate) fn into_identity(self) -> CloudIdentity {
        CloudIdentity {
            id: self.id,
            name: self.name,
            team: self.team,
            provider: CloudProvider::from_wire(&self.provider),
            settings: self.settings.0,
            credentials: self.credentials.map(|c| c.0),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A row of `job_logs`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct LogRow {
    pub seq: i64,
    pub ts: DateTime<Utc>,
    pub stream: String,
    pub text: String,
}

impl LogRow {
    pub(crate) fn into_line(self) -> LogLine {
        LogLine {
            seq: self.seq as u64,
            ts: self.ts,
            stream: LogStream::from_wire(&self.stream),
            text: self.text,
        }
    }
}
