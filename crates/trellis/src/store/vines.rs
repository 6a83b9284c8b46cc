//! Vines as the jobs name them (`jobs.vine_key`, migration 5): the list of vines with their job
//! counts, and one vine's jobs.

use super::rows::{JOB_COLUMNS, JobRow};
use super::{Store, StoreError, with_db};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One vine: its key, its team, how many jobs worked on it and when the last one was submitted.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VineRow {
    /// `team/project/environment/region`.
    pub vine_key: String,
    /// Its team.
    pub team: String,
    /// Jobs that worked on it.
    pub jobs: i64,
    /// The newest job's submission.
    pub last_job_at: DateTime<Utc>,
}

impl Store {
    /// Every vine (of `team`, when given), the most recently worked on first.
    pub async fn list_vines(&self, team: Option<&str>) -> Result<Vec<VineRow>, StoreError> {
        let filter = if team.is_some() { " AND team = $1" } else { "" };
        let sql = format!(
            "SELECT vine_key, team, COUNT(*) AS jobs, MAX(created_at) AS last_job_at FROM jobs \
             WHERE vine_key IS NOT NULL{filter} GROUP BY vine_key, team ORDER BY last_job_at DESC, vine_key"
        );
        with_db!(self, pool, q => {
            let mut query = sqlx::query_as::<_, VineRow>(q(&sql));
            if let Some(t) = team {
                query = query.bind(t);
            }
            Ok(query.fetch_all(pool).await?)
        })
    }

    /// The newest `limit` jobs of a vine, newest first.
    pub async fn vine_jobs(&self, vine_key: &str, limit: u32) -> Result<Vec<JobRow>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE vine_key = $1 ORDER BY created_at DESC, id LIMIT $2"
        );
        with_db!(self, pool, q => {
            Ok(sqlx::query_as::<_, JobRow>(q(&sql)).bind(vine_key).bind(i64::from(limit)).fetch_all(pool).await?)
        })
    }

    /// The vine key of a job (for an APPLY: its PLAN's).
    pub async fn vine_key_of(&self, job_id: Uuid) -> Result<Option<String>, StoreError> {
        let sql = "SELECT vine_key FROM jobs WHERE id = $1";
        with_db!(self, pool, q => {
            let row: Option<(Option<String>,)> = sqlx::query_as(q(sql)).bind(job_id).fetch_optional(pool).await?;
            Ok(row.and_then(|(k,)| k))
        })
    }
}
