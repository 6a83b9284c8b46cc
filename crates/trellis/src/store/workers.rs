//! Workers (registration, heartbeats, deletion) and cloud identities.

use super::claims::{Requeued, RequeuedRow, requeue_sql, requeued};
use super::idempotency::{IdemKey, Keyed, claim_key};
use super::rows::{IdentityRow, WorkerRow};
use super::{Store, StoreError, with_db};
use chrono::{DateTime, Utc};
use grape_api::{CloudIdentity, CreateIdentityRequest, HeartbeatRequest, WorkerMode, WorkerStatus};
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

const WORKER_COLUMNS: &str = "id, name, mode, labels, token_hash, reported_status, current_job_id, \
    info, last_heartbeat_at, created_at, team";
/// A worker to register.
#[derive(Debug, Clone, Copy)]
pub struct NewWorker<'a> {
    /// Its name.
    pub name: &'a str,
    /// How it is hosted.
    pub mode: &'a WorkerMode,
    /// Its labels.
    pub labels: &'a BTreeMap<String, String>,
    /// Its team.
    pub team: &'a str,
    /// SHA-256 (hex) of its token.
    pub token_hash: &'a str,
}

/// What a heartbeat did.
#[derive(Debug, Default)]
pub struct HeartbeatOutcome {
    /// Held jobs whose cancel the user requested.
    pub cancel_job_ids: Vec<Uuid>,
    /// CLAIMED jobs taken back from the worker (requeued, or cancelled when a cancel was
    /// requested).
    pub taken_back: Vec<Requeued>,
    /// The named job, when this worker no longer runs it on the server (ended, held by
    /// another worker or none, gone).
    pub abandoned_job_ids: Vec<Uuid>,
}

const IDENTITY_COLUMNS: &str =
    "id, name, provider, settings, credentials, created_at, updated_at, team";

impl Store {
    /// Registers a worker of `team` whose token hashes to `token_hash`. It is OFFLINE until it
    /// heartbeats. With `key`, the same transaction claims it: a key an earlier request holds
    /// registers nothing ([`Keyed::Replay`] or [`Keyed::Mismatch`]).
    pub async fn insert_worker(
        &self,
        worker: &NewWorker<'_>,
        now: DateTime<Utc>,
        key: Option<&IdemKey>,
    ) -> Result<Keyed<Uuid>, StoreError> {
        let id = Uuid::new_v4();
        let sql = "INSERT INTO workers (id, name, mode, labels, token_hash, reported_status, created_at, team) \
            VALUES ($1, $2, $3, $4, $5, 'OFFLINE', $6, $7)";
        with_db!(self, pool, q => {
            let mut tx = pool.begin().await?;
            if let Some(key) = key
                && let Some(held) = claim_key!(tx, q, key, id, now)
            {
                return Ok(held);
            }
            sqlx::query(q(sql))
                .bind(id)
                .bind(worker.name)
                .bind(worker.mode.as_str())
                .bind(Json(worker.labels))
                .bind(worker.token_hash)
                .bind(now)
                .bind(worker.team)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(Keyed::Fresh(id))
    }

    /// Gives worker `id` a new token (its hash): the answer of a repeated registration, whose
    /// first token Trellis cannot show again. False when the worker is gone.
    pub async fn rotate_worker_token(
        &self,
        id: Uuid,
        token_hash: &str,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE workers SET token_hash = $2 WHERE id = $1";
        with_db!(self, pool, q => {
            Ok(sqlx::query(q(sql)).bind(id).bind(token_hash).execute(pool).await?.rows_affected() == 1)
        })
    }

    /// A worker by id.
    pub async fn get_worker(&self, id: Uuid) -> Result<Option<WorkerRow>, StoreError> {
        let sql = format!("SELECT {WORKER_COLUMNS} FROM workers WHERE id = $1");
        with_db!(self, pool, q => {
            Ok(sqlx::query_as::<_, WorkerRow>(q(&sql)).bind(id).fetch_optional(pool).await?)
        })
    }

    /// All workers (of `team`, when given), by registration time.
    pub async fn list_workers(&self, team: Option<&str>) -> Result<Vec<WorkerRow>, StoreError> {
        let filter = if team.is_some() {
            "WHERE team = $1 "
        } else {
            ""
        };
        let sql = format!("SELECT {WORKER_COLUMNS} FROM workers {filter}ORDER BY created_at, id");
        with_db!(self, pool, q => {
            let mut query = sqlx::query_as::<_, WorkerRow>(q(&sql));
            if let Some(t) = team {
                query = query.bind(t);
            }
            Ok(query.fetch_all(pool).await?)
        })
    }

    /// Records a heartbeat; a named held job gets a sign of life. Takes back the worker's
    /// CLAIMED (not yet RUNNING) jobs it no longer knows about: all of them when it reports
    /// OFFLINE, else those it does not name that were claimed before `unacked_before` (the
    /// answer of their claim was lost). Returns the held jobs whose cancel was requested and
    /// the jobs taken back, and the named job if the worker no longer runs it here.
    pub async fn heartbeat(
        &self,
        worker_id: Uuid,
        hb: &HeartbeatRequest,
        now: DateTime<Utc>,
        unacked_before: DateTime<Utc>,
    ) -> Result<HeartbeatOutcome, StoreError> {
        let upd = "UPDATE workers SET reported_status = $2, current_job_id = $3, \
            info = COALESCE($4, info), last_heartbeat_at = $5 WHERE id = $1";
        let touch = "UPDATE jobs SET last_activity_at = $3 WHERE id = $1 AND worker_id = $2 \
            AND status IN ('CLAIMED', 'RUNNING')";
        let requeue = if hb.status == WorkerStatus::Offline {
            requeue_sql("worker_id = $2")
        } else {
            requeue_sql("worker_id = $2 AND claimed_at < $3 AND ($4 IS NULL OR id <> $4)")
        };
        let cancels = "SELECT id FROM jobs WHERE worker_id = $1 AND cancel_requested = TRUE \
            AND status IN ('CLAIMED', 'RUNNING') ORDER BY created_at";
        with_db!(self, pool, q => {
            let mut tx = pool.begin().await?;
            sqlx::query(q(upd))
                .bind(worker_id)
                .bind(hb.status.as_str())
                .bind(hb.current_job_id)
                .bind(hb.info.as_ref().map(Json))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let mut abandoned_job_ids = Vec::new();
            if let Some(job) = hb.current_job_id {
                let touched = sqlx::query(q(touch)).bind(job).bind(worker_id).bind(now).execute(&mut *tx).await?;
                if touched.rows_affected() == 0 {
                    abandoned_job_ids.push(job);
                }
            }
            let mut query = sqlx::query_as::<_, RequeuedRow>(q(&requeue)).bind(now).bind(worker_id);
            if hb.status != WorkerStatus::Offline {
                query = query.bind(unacked_before).bind(hb.current_job_id);
            }
            let jobs = requeued(query.fetch_all(&mut *tx).await?);
            let ids: Vec<(Uuid,)> = sqlx::query_as(q(cancels)).bind(worker_id).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok(HeartbeatOutcome {
                cancel_job_ids: ids.into_iter().map(|(id,)| id).collect(),
                taken_back: jobs,
                abandoned_job_ids,
            })
        })
    }

    /// Deletes a worker and requeues its CLAIMED jobs (cancels those whose cancel was
    /// requested). Returns `None` when there was no such worker, else the jobs taken back.
    pub async fn delete_worker(
        &self,
        worker_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<Requeued>>, StoreError> {
        let requeue = requeue_sql("worker_id = $2");
        let delete = "DELETE FROM workers WHERE id = $1";
        with_db!(self, pool, q => {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query_as::<_, RequeuedRow>(q(&requeue)).bind(now).bind(worker_id).fetch_all(&mut *tx).await?;
            let n = sqlx::query(q(delete)).bind(worker_id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok((n > 0).then(|| requeued(rows)))
        })
    }

    /// Creates a cloud identity of `team`.
    pub async fn insert_identity(
        &self,
        req: &CreateIdentityRequest,
        team: &str,
        now: DateTime<Utc>,
    ) -> Result<CloudIdentity, StoreError> {
        let sql = format!(
            "INSERT INTO cloud_identities (id, name, provider, settings, created_at, updated_at, team) \
             VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING {IDENTITY_COLUMNS}"
        );
        with_db!(self, pool, q => {
            let row = sqlx::query_as::<_, IdentityRow>(q(&sql))
                .bind(Uuid::new_v4())
                .bind(req.name.as_str())
                .bind(req.provider.as_str())
                .bind(Json(&req.settings))
                .bind(now)
                .bind(team)
                .fetch_one(pool)
                .await?;
            Ok(row.into_identity())
        })
    }

    /// A cloud identity by id.
    pub async fn get_identity(&self, id: Uuid) -> Result<Option<CloudIdentity>, StoreError> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM cloud_identities WHERE id = $1");
        with_db!(self, pool, q => {
            let row = sqlx::query_as::<_, IdentityRow>(q(&sql)).bind(id).fetch_optional(pool).await?;
            Ok(row.map(IdentityRow::into_identity))
        })
    }

    /// Every cloud identity (of `team`, when given), newest first (with their cached discovery
    /// documents).
    pub async fn list_identities(
        &self,
        team: Option<&str>,
    ) -> Result<Vec<CloudIdentity>, StoreError> {
        let filter = if team.is_some() {
            "WHERE team = $1 "
        } else {
            ""
        };
        let sql = format!(
            "SELECT {IDENTITY_COLUMNS} FROM cloud_identities {filter}ORDER BY created_at DESC, id"
        );
        with_db!(self, pool, q => {
            let mut query = sqlx::query_as::<_, IdentityRow>(q(&sql));
            if let Some(t) = team {
                query = query.bind(t);
            }
            let rows = query.fetch_all(pool).await?;
            Ok(rows.into_iter().map(IdentityRow::into_identity).collect())
        })
    }
}
