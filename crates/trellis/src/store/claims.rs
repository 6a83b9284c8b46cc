//! The claim (atomic hand-out of the oldest fitting job, re-delivery of a claim whose answer
//! was lost) and the requeues of CLAIMED jobs (offline, deleted or forgetful workers).

use super::jobs::{ClaimFilter, ClaimScope};
use super::rows::{JOB_COLUMNS, JobRow};
use super::{Store, StoreError, with_db};
use chrono::{DateTime, Utc};
use grape_api::{JobStatus, JobType};
use sqlx::types::Json;
use uuid::Uuid;

/// A job handed to a worker by a claim.
#[derive(Debug)]
pub struct Claimed {
    /// The job (CLAIMED by the worker).
    pub job: JobRow,
    /// True when an earlier claim with the same `request_id` took it (its answer was lost).
    pub redelivered: bool,
}

/// What a claim did.
#[derive(Debug, Default)]
pub struct ClaimOutcome {
    /// The job handed out, if any.
    pub claimed: Option<Claimed>,
    /// The job an earlier claim with the same key took, cancelled instead of handed out
    /// again because its cancel was requested meanwhile.
    pub released: Vec<Requeued>,
}

/// A CLAIMED job taken back from its worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requeued {
    /// The job.
    pub id: Uuid,
    /// Its type.
    pub job_type: JobType,
    /// QUEUED again (true) or CANCELLED because its cancel had been requested (false).
    pub queued: bool,
    /// Its team.
    pub team: String,
    /// Its labels.
    pub labels: Vec<String>,
}

/// The columns `requeue_sql` returns.
pub(super) type RequeuedRow = (Uuid, String, String, String, Json<Vec<String>>);

/// `UPDATE … RETURNING` for CLAIMED jobs matching `cond` (with `$1` = now): back to QUEUED, or
/// to CANCELLED when a cancel was requested (it never started; the user wants it stopped).
pub(super) fn requeue_sql(cond: &str) -> String {
    format!(
        "UPDATE jobs SET \
         status = CASE WHEN cancel_requested THEN 'CANCELLED' ELSE 'QUEUED' END, \
         worker_id = CASE WHEN cancel_requested THEN worker_id ELSE NULL END, \
         claimed_at = CASE WHEN cancel_requested THEN claimed_at ELSE NULL END, \
         claim_request_id = NULL, \
         queued_at = CASE WHEN cancel_requested THEN queued_at ELSE $1 END, \
         finished_at = CASE WHEN cancel_requested THEN $1 ELSE finished_at END, \
         updated_at = $1 \
         WHERE status = 'CLAIMED' AND ({cond}) RETURNING id, job_type, status, team, labels"
    )
}

pub(super) fn requeued(rows: Vec<RequeuedRow>) -> Vec<Requeued> {
    rows.into_iter()
        .map(|(id, job_type, status, team, labels)| Requeued {
            id,
            job_type: JobType::from_wire(&job_type),
            queued: JobStatus::from_wire(&status) == JobStatus::Queued,
            team,
            labels: labels.0,
        })
        .collect()
}

impl Store {
    /// A claim by `worker_id`: the oldest fitting QUEUED job, atomically (one job goes to
    /// exactly one worker). With a `request_id` (idempotency key), a job an earlier claim with
    /// that key took and the worker still holds CLAIMED is handed out again instead (cancelled
    /// if its cancel was requested meanwhile, and then a new job is claimed).
    pub async fn claim(
        &self,
        worker_id: Uuid,
        scope: &ClaimScope,
        request_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError> {
        let mut outcome = ClaimOutcome::default();
        if let Some(job) = self.claim_new(worker_id, scope, request_id, now).await? {
            outcome.claimed = Some(Claimed {
                job,
                redelivered: false,
            });
            return Ok(outcome);
        }
        // Nothing claimed: no fitting job is queued, or this key already took one.
        let Some(key) = request_id else {
            return Ok(outcome);
        };
        let Some(held) = self.redeliver(worker_id, key, now).await? else {
            return Ok(outcome);
        };
        if !held.cancel_requested {
            outcome.claimed = Some(Claimed {
                job: held,
                redelivered: true,
            });
            return Ok(outcome);
        }
        let sql = requeue_sql("id = $2 AND worker_id = $3");
        let rows = with_db!(self, pool, q => {
            sqlx::query_as::<_, RequeuedRow>(q(&sql)).bind(now).bind(held.id).bind(worker_id).fetch_all(pool).await?
        });
        outcome.released = requeued(rows);
        if let Some(job) = self.claim_new(worker_id, scope, request_id, now).await? {
            outcome.claimed = Some(Claimed {
                job,
                redelivered: false,
            });
        }
        Ok(outcome)
    }

    /// The oldest fitting QUEUED job → CLAIMED by `worker_id` under `request_id`, unless a job
    /// CLAIMED under that key exists. One statement: atomic on both backends (PostgreSQL skips
    /// rows locked by concurrent claims; SQLite has one writer). Keys are unique (a partial
    /// unique index), so two concurrent attempts of one claim never both take a job.
    async fn claim_new(
        &self,
        worker_id: Uuid,
        scope: &ClaimScope,
        request_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Option<JobRow>, StoreError> {
        let types: &[JobType] = match &scope.types {
            ClaimFilter::Any => &[],
            ClaimFilter::Only(t) if t.is_empty() => return Ok(None),
            ClaimFilter::Only(t) => t,
        };
        // $1..$3 are fixed; the team, the labels and the types follow.
        let mut next = 4;
        let mut param = || {
            let p = format!("${next}");
            next += 1;
            p
        };
        let mut conds: Vec<String> = Vec::new();
        if scope.team.is_some() {
            conds.push(format!(" AND team = {}", param()));
        }
        // The job's labels must all be offered by the worker (none: any worker). A filter on
        // the rows the queue index yields in order: the common job without labels passes at
        // the first look.
        let offered = param();
        conds.push(match self {
            Store::Sqlite(_) => format!(
                " AND (labels = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(jobs.labels) AS l \
                 WHERE l.value NOT IN (SELECT value FROM json_each({offered}))))"
            ),
            Store::Postgres(_) => format!(" AND labels <@ {offered}::jsonb"),
        });
        if !types.is_empty() {
            let ph: Vec<String> = types.iter().map(|_| param()).collect();
            conds.push(format!(" AND job_type IN ({})", ph.join(", ")));
        }
        let skip_locked = match self {
            Store::Sqlite(_) => "",
            Store::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let key_clause = if request_id.is_some() {
            " AND NOT EXISTS (SELECT 1 FROM jobs AS held WHERE held.worker_id = $1 \
             AND held.claim_request_id = $3 AND held.status = 'CLAIMED')"
        } else {
            ""
        };
        let conds = conds.concat();
        let sql = format!(
            "UPDATE jobs SET status = 'CLAIMED', worker_id = $1, claimed_at = $2, updated_at = $2, \
             last_activity_at = $2, claim_request_id = $3 WHERE status = 'QUEUED' AND id = \
             (SELECT id FROM jobs WHERE status = 'QUEUED'{conds} ORDER BY created_at, id \
             LIMIT 1{skip_locked}){key_clause} RETURNING {JOB_COLUMNS}"
        );
        let claimed = with_db!(self, pool, q => {
            let mut query = sqlx::query_as::<_, JobRow>(q(&sql)).bind(worker_id).bind(now).bind(request_id);
            if let Some(team) = &scope.team {
                query = query.bind(team.as_str());
            }
            query = query.bind(Json(&scope.labels));
            for t in types {
                query = query.bind(t.as_str());
            }
            query.fetch_optional(pool).await
        });
        match claimed {
            // A concurrent attempt of the same claim (same key) committed first: it holds the
            // job; the caller hands that one out again.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            other => Ok(other?),
        }
    }

    /// The job CLAIMED by `worker_id` under `request_id`, handed out again (its claim time
    /// restarts).
    async fn redeliver(
        &self,
        worker_id: Uuid,
        request_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<JobRow>, StoreError> {
        let sql = format!(
            "UPDATE jobs SET claimed_at = $3, updated_at = $3, last_activity_at = $3 \
             WHERE worker_id = $1 AND claim_request_id = $2 AND status = 'CLAIMED' \
             RETURNING {JOB_COLUMNS}"
        );
        with_db!(self, pool, q => {
            Ok(sqlx::query_as::<_, JobRow>(q(&sql)).bind(worker_id).bind(request_id).bind(now).fetch_optional(pool).await?)
        })
    }

    /// Sweeper, part 1: CLAIMED jobs whose worker is not online (no heartbeat since
    /// `online_since`, reported OFFLINE, or deleted) go back to QUEUED (CANCELLED when a cancel
    /// was requested). Returns them.
    pub async fn requeue_orphans(
        &self,
        now: DateTime<Utc>,
        online_since: DateTime<Utc>,
    ) -> Result<Vec<Requeued>, StoreError> {
        let sql = requeue_sql(
            "worker_id IS NULL OR worker_id NOT IN (SELECT id FROM workers WHERE \
             last_heartbeat_at >= $2 AND reported_status <> 'OFFLINE')",
        );
        with_db!(self, pool, q => {
            let rows = sqlx::query_as::<_, RequeuedRow>(q(&sql)).bind(now).bind(online_since).fetch_all(pool).await?;
            Ok(requeued(rows))
        })
    }
}
