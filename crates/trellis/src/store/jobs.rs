//! Jobs: submit, claim, status changes, cancel, retry, sweeping.

use super::idempotency::{IdemKey, Keyed, claim_key};
use super::rows::{JOB_COLUMNS, JobRow};
use super::secrets::{COPY_SECRETS, INSERT_SECRET};
use super::{Store, StoreError, with_db};
use chrono::{DateTime, Utc};
use grape_api::{JobSecrets, JobStatus, JobType, StatusUpdate};
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

/// Which job types a claim may take.
#[derive(Debug, Clone)]
pub enum ClaimFilter {
    /// Any type (the worker never told its job types).
    Any,
    /// Only these types.
    Only(Vec<JobType>),
}

/// What a claim may take: job types, a team (none: any team, a platform worker) and the labels
/// the worker offers (a job fits when its labels are a subset of these).
#[derive(Debug, Clone)]
pub struct ClaimScope {
    /// Job types.
    pub types: ClaimFilter,
    /// Only jobs of this team; `None`: any team's.
    pub team: Option<String>,
    /// The labels the worker offers ([`crate::teams::offered_labels`]).
    pub labels: Vec<String>,
}

impl ClaimScope {
    /// Whether a job of this type, team and labels fits.
    pub fn fits(&self, job_type: &JobType, team: &str, labels: &[String]) -> bool {
        let types = match &self.types {
            ClaimFilter::Any => true,
            ClaimFilter::Only(t) => t.contains(job_type),
        };
        types
            && self.team.as_deref().is_none_or(|t| t == team)
            && crate::teams::labels_fit(labels, &self.labels)
    }
}

impl From<ClaimFilter> for ClaimScope {
    /// Any team, no labels offered.
    fn from(types: ClaimFilter) -> Self {
        Self {
            types,
            team: None,
            labels: Vec::new(),
        }
    }
}

/// A job to insert (QUEUED).
#[derive(Debug, Clone, Copy)]
pub struct NewJob<'a> {
    /// Type.
    pub job_type: &'a JobType,
    /// Payload.
    pub payload: &'a Value,
    /// Identity to run as.
    pub cloud_identity_id: Option<Uuid>,
    /// The job it retries.
    pub retry_of: Option<Uuid>,
    /// Team.
    pub team: &'a str,
    /// Labels (canonical).
    pub labels: &'a [String],
    /// The vine it works on (`team/project/environment/region`), if any.
    pub vine_key: Option<&'a str>,
    /// Its secrets (validated), stored in `job_secrets`; the job keeps their names.
    pub secrets: &'a JobSecrets,
}

/// Outcome of a status update by a worker.
#[derive(Debug)]
pub enum StatusChange {
    /// No such job.
    NotFound,
    /// The worker does not hold the job.
    Forbidden,
    /// The transition is not allowed; the current status.
    Conflict(JobStatus),
    /// The job already had that status (idempotent repeat).
    Unchanged(Box<JobRow>),
    /// The job changed.
    Changed(Box<JobRow>),
}

/// Outcome of a user's cancel or retry.
#[derive(Debug)]
pub enum UserAction {
    /// No such job.
    NotFound,
    /// Not allowed in the current status.
    Conflict(JobStatus),
    /// The job (in this status) was retried before, as job `retry`: retry that one.
    AlreadyRetried {
        /// The earlier retry.
        retry: Uuid,
        /// The retried job's status.
        status: JobStatus,
    },
    /// Done: the job (cancelled, cancel-requested, or the new retry job).
    Done(Box<JobRow>),
    /// A repeat of a keyed retry: the job the first request made.
    Replayed(Uuid),
    /// The retry's key was used for another request.
    KeyMismatch,
}

fn sel(rest: &str) -> String {
    format!("SELECT {JOB_COLUMNS} FROM jobs {rest}")
}

impl Store {
    pub(super) fn lock_suffix(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "",
            Store::Postgres(_) => " FOR UPDATE",
        }
    }

    /// Inserts a QUEUED job and its secrets, in one transaction that also claims `key` (when
    /// given): a key an earlier request holds makes no job ([`Keyed::Replay`] or
    /// [`Keyed::Mismatch`]).
    pub async fn insert_job(
        &self,
        job: &NewJob<'_>,
        now: DateTime<Utc>,
        key: Option<&IdemKey>,
    ) -> Result<Keyed<JobRow>, StoreError> {
        let sql = format!(
            "INSERT INTO jobs (id, job_type, status, payload, cloud_identity_id, retry_of, \
             cancel_requested, last_seq, created_at, queued_at, updated_at, last_activity_at, \
             team, labels, vine_key, secret_names) \
             VALUES ($1, $2, 'QUEUED', $3, $4, $5, FALSE, 0, $6, $6, $6, $6, $7, $8, $9, $10) RETURNING {JOB_COLUMNS}"
        );
        let id = Uuid::new_v4();
        let names: Vec<&String> = job.secrets.keys().collect();
        with_db!(self, pool, q => {
            let mut tx = pool.begin().await?;
            if let Some(key) = key
                && let Some(held) = claim_key!(tx, q, key, id, now)
            {
                return Ok(held);
            }
            let row = sqlx::query_as::<_, JobRow>(q(&sql))
                .bind(id)
                .bind(job.job_type.as_str())
                .bind(Json(job.payload))
                .bind(job.cloud_identity_id)
                .bind(job.retry_of)
                .bind(now)
                .bind(job.team)
                .bind(Json(job.labels))
                .bind(job.vine_key)
                .bind(Json(&names))
                .fetch_one(&mut *tx)
                .await?;
            for (name, value) in job.secrets {
                sqlx::query(q(INSERT_SECRET)).bind(id).bind(name).bind(value.expose()).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(Keyed::Fresh(row))
        })
    }

    /// A job by id.
    pub async fn get_job(&self, id: Uuid) -> Result<Option<JobRow>, StoreError> {
        let sql = sel("WHERE id = $1");
        with_db!(self, pool, q => {
            Ok(sqlx::query_as::<_, JobRow>(q(&sql)).bind(id).fetch_optional(pool).await?)
        })
    }

    /// Jobs, newest first, optionally of one status, of one type and of one team.
    pub async fn list_jobs(
        &self,
        status: Option<&JobStatus>,
        job_type: Option<&JobType>,
        team: Option<&str>,
        limit: u32,
    ) -> Result<Vec<JobRow>, StoreError> {
        let mut conds = Vec::new();
        if status.is_some() {
            conds.push(format!("status = ${}", conds.len() + 1));
        }
        if job_type.is_some() {
            conds.push(format!("job_type = ${}", conds.len() + 1));
        }
        if team.is_some() {
            conds.push(format!("team = ${}", conds.len() + 1));
        }
        let filter = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {} ", conds.join(" AND "))
        };
        let sql = sel(&format!(
            "{filter}ORDER BY created_at DESC, id LIMIT ${}",
            conds.len() + 1
        ));
        with_db!(self, pool, q => {
            let mut query = sqlx::query_as::<_, JobRow>(q(&sql));
            if let Some(s) = status {
                query = query.bind(s.as_str());
            }
            if let Some(t) = job_type {
                query = query.bind(t.as_str());
            }
            if let Some(t) = team {
                query = query.bind(t);
            }
            Ok(query.bind(i64::from(limit)).fetch_all(pool).await?)
        })
    }

    /// A status update by the worker holding the job. Stores `result.discovery` of a successful
    /// CONNECTION_TEST / FETCH_RESOURCES job into its identity's `credentials`, in the same
    /// transaction.
    pub async fn update_status(
        &self,
        worker_id: Uuid,
        job_id: Uuid,
        update: &StatusUpdate,
        now: DateTime<Utc>,
    ) -> Result<StatusChange, StoreError> {
        let select = format!("{}{}", sel("WHERE id = $1"), self.lock_suffix());
        let upd = format!(
            "UPDATE jobs SET status = $2, error = COALESCE($3, error), result = COALESCE($4, result), \
             started_at = COALESCE(started_at, $5), finished_at = $6, updated_at = $7, \
             last_activity_at = $7 WHERE id = $1 RETURNING {JOB_COLUMNS}"
        );
        let creds = "UPDATE cloud_identities SET credentials = $2, updated_at = $3 WHERE id = $1";
        with_db!(self, pool, q => {
            let mut tx = pool.begin().await?;
            let Some(row) = sqlx::query_as::<_, JobRow>(q(&select)).bind(job_id).fetch_optional(&mut *tx).await? else {
                return Ok(StatusChange::NotFound);
            };
            if row.worker_id != Some(worker_id) {
                return Ok(StatusChange::Forbidden);
            }
            let current = row.status();
            if current == update.status {
                return Ok(StatusChange::Unchanged(Box::new(row)));
            }
            if !current.can_transition_to(&update.status) {
                return Ok(StatusChange::Conflict(current));
            }
            let started = (update.status == JobStatus::Running).then_some(now);
            let finished = update.status.is_terminal().then_some(now);
            let new = sqlx::query_as::<_, JobRow>(q(&upd))
                .bind(job_id)
                .bind(update.status.as_str())
                .bind(update.error.as_deref())
                .bind(update.result.as_ref().map(Json))
                .bind(started)
                .bind(finished)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            if let (Some(doc), Some(identity)) = (discovery_document(&new, update, now), new.cloud_identity_id) {
                sqlx::query(q(creds)).bind(identity).bind(Json(doc)).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(StatusChange::Changed(Box::new(new)))
        })
    }

    /// A user's cancel: QUEUED → CANCELLED at once; CLAIMED/RUNNING → cancel requested (the
    /// holder learns it from its next heartbeat or log ack); CANCELLED again is a no-op.
    pub async fn cancel(&self, job_id: Uuid, now: DateTime<Utc>) -> Result<UserAction, StoreError> {
        let select = format!("{}{}", sel("WHERE id = $1"), self.lock_suffix());
        let cancel_now = format!(
            "UPDATE jobs SET status = 'CANCELLED', cancel_requested = TRUE, finished_at = $2, \
             updated_at = $2 WHERE id = $1 RETURNING {JOB_COLUMNS}"
        );
        let request = format!(
            "UPDATE jobs SET cancel_requested = TRUE, updated_at = $2 WHERE id = $1 RETURNING {JOB_COLUMNS}"
        );
        with_db!(self, pool, q => {
            let mut tx = pool.begin().await?;
            let Some(row) = sqlx::query_as::<_, JobRow>(q(&select)).bind(job_id).fetch_optional(&mut *tx).await? else {
                return Ok(UserAction::NotFound);
            };
            let sql = match row.status() {
                JobStatus::Queued => &cancel_now,
                JobStatus::Claimed | JobStatus::Running => &request,
                JobStatus::Cancelled => return Ok(UserAction::Done(Box::new(row))),
                other => return Ok(UserAction::Conflict(other)),
            };
            let new = sqlx::query_as::<_, JobRow>(q(sql)).bind(job_id).bind(now).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(UserAction::Done(Box::new(new)))
        })
    }

    /// A user's retry: a FAILED/CANCELLED job → a new QUEUED job with the same type, payload,
    /// identity, team, labels and secrets, `retry_of` the old one. One transaction with the old
    /// row locked (PostgreSQL; SQLite has one connection), so two concurrent retries make one
    /// job: a job already retried answers [`UserAction::AlreadyRetried`] with its retry. With
    /// `key`, the transaction claims it first: a repeat answers [`UserAction::Replayed`].
    pub async fn retry(
        &self,
        job_id: Uuid,
        now: DateTime<Utc>,
        key: Option<&IdemKey>,
    ) -> Result<UserAction, StoreError> {
        let select = format!("{}{}", sel("WHERE id = $1"), self.lock_suffix());
        let retried = "SELECT id FROM jobs WHERE retry_of = $1 ORDER BY created_at LIMIT 1";
        let insert = format!(
            "INSERT INTO jobs (id, job_type, status, payload, cloud_identity_id, retry_of, \
             cancel_requested, last_seq, created_at, queued_at, updated_at, last_activity_at, \
             team, labels, vine_key, secret_names) \
             SELECT $1, job_type, 'QUEUED', payload, cloud_identity_id, id, FALSE, 0, $2, $2, $2, $2, \
             team, labels, vine_key, secret_names FROM jobs WHERE id = $3 RETURNING {JOB_COLUMNS}"
        );
        let new_id = Uuid::new_v4();
        with_db!(self, pool, q => {
            let mut tx = pool.begin().await?;
            if let Some(key) = key {
                let held: Option<Keyed<()>> = claim_key!(tx, q, key, new_id, now);
                match held {
                    Some(Keyed::Replay(id)) => return Ok(UserAction::Replayed(id)),
                    Some(_) => return Ok(UserAction::KeyMismatch),
                    None => {}
                }
            }
            let Some(row) = sqlx::query_as::<_, JobRow>(q(&select)).bind(job_id).fetch_optional(&mut *tx).await? else {
                return Ok(UserAction::NotFound);
            };
            let status = row.status();
            if !matches!(status, JobStatus::Failed | JobStatus::Cancelled) {
                return Ok(UserAction::Conflict(status));
            }
            let earlier: Option<(Uuid,)> = sqlx::query_as(q(retried)).bind(job_id).fetch_optional(&mut *tx).await?;
            if let Some((retry,)) = earlier {
                return Ok(UserAction::AlreadyRetried { retry, status });
            }
            let new = sqlx::query_as::<_, JobRow>(q(&insert))
                .bind(new_id)
                .bind(now)
                .bind(job_id)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(q(COPY_SECRETS)).bind(new_id).bind(job_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(UserAction::Done(Box::new(new)))
        })
    }

    /// Sweeper, part 2: RUNNING jobs whose worker is not online and that had no sign of life since
    /// `stale_before` become FAILED with error `worker lost`. Returns how many.
    pub async fn fail_lost(
        &self,
        now: DateTime<Utc>,
        online_since: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let sql = "UPDATE jobs SET status = 'FAILED', error = 'worker lost', finished_at = $1, \
            updated_at = $1 WHERE status = 'RUNNING' AND last_activity_at < $3 AND (worker_id IS NULL \
            OR worker_id NOT IN (SELECT id FROM workers WHERE last_heartbeat_at >= $2 AND \
            reported_status <> 'OFFLINE'))";
        with_db!(self, pool, q => {
            Ok(sqlx::query(q(sql)).bind(now).bind(online_since).bind(stale_before).execute(pool).await?.rows_affected())
        })
    }

    /// Number of jobs per status.
    pub async fn job_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = "SELECT status, COUNT(*) FROM jobs GROUP BY status";
        with_db!(self, pool, q => {
            Ok(sqlx::query_as::<_, (String, i64)>(q(sql)).fetch_all(pool).await?)
        })
    }
}

/// The document cached in `cloud_identities.credentials` when a CONNECTION_TEST /
/// FETCH_RESOURCES job of an identity succeeds with a `result.discovery` object:
/// `{discovery, identity?, job_id, discovered_at}`.
fn discovery_document(job: &JobRow, update: &StatusUpdate, now: DateTime<Utc>) -> Option<Value> {
    if update.status != JobStatus::Success
        || !matches!(
            job.job_type(),
            JobType::ConnectionTest | JobType::FetchResources
        )
    {
        return None;
    }
    let result = update.result.as_ref()?;
    let discovery = result.get("discovery").filter(|d| d.is_object())?;
    let mut doc = json!({
        "discovery": discovery,
        "job_id": job.id,
        "discovered_at": now,
    });
    if let (Some(identity), Some(obj)) = (result.get("identity"), doc.as_object_mut()) {
        obj.insert("identity".to_owned(), identity.clone());
    }
    Some(doc)
}
