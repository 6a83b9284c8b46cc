//! Queued jobs that wait too long: the ones the queue-TTL sweep looks at, and failing one.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Store, StoreError, with_db};

/// A QUEUED job older than the TTL: what the sweep needs to decide whether any worker serves it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WaitingJob {
    /// The job.
    pub id: Uuid,
    /// Its type (wire name).
    pub job_type: String,
    /// Its team.
    pub team: String,
}

/// At most this many old queued jobs are looked at per sweep.
const BATCH: i64 = 500;

impl Store {
    /// QUEUED jobs queued before `before`, oldest first.
    pub async fn queued_before(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<WaitingJob>, StoreError> {
        let sql = "SELECT id, job_type, team FROM jobs WHERE status = 'QUEUED' AND queued_at < $1 \
                   ORDER BY queued_at, id LIMIT $2";
        with_db!(self, pool, q => {
            Ok(sqlx::query_as::<_, WaitingJob>(q(sql)).bind(before).bind(BATCH).fetch_all(pool).await?)
        })
    }

    /// Fails `id` with `reason` if it is still QUEUED; whether it did.
    pub async fn expire_queued(
        &self,
        id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE jobs SET status = 'FAILED', error = $2, finished_at = $3, updated_at = $3 \
                   WHERE id = $1 AND status = 'QUEUED'";
        with_db!(self, pool, q => {
            Ok(sqlx::query(q(sql)).bind(id).bind(reason).bind(now).execute(pool).await?.rows_affected() > 0)
        })
    }
}
