//! Job secrets (`job_secrets`): written with their job in its transaction, copied by a retry
//! and to an APPLY from its PLAN, read only for the claim answer of the worker holding the job.

use super::{Store, StoreError, with_db};
use grape_api::{JobSecrets, Secret};
use uuid::Uuid;

/// One secret of a new job: `$1` job, `$2` name, `$3` value.
pub(super) const INSERT_SECRET: &str =
    "INSERT INTO job_secrets (job_id, name, value) VALUES ($1, $2, $3)";

/// The secrets of job `$2` copied to job `$1`.
pub(super) const COPY_SECRETS: &str = "INSERT INTO job_secrets (job_id, name, value) \
    SELECT $1, name, value FROM job_secrets WHERE job_id = $2";

impl Store {
    /// The secrets of a job, name → value (empty when it has none). Only the claim answer of the
    /// worker holding the job carries them.
    pub async fn job_secrets(&self, job_id: Uuid) -> Result<JobSecrets, StoreError> {
        let sql = "SELECT name, value FROM job_secrets WHERE job_id = $1";
        let rows: Vec<(String, String)> = with_db!(self, pool, q => {
            sqlx::query_as(q(sql)).bind(job_id).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(name, value)| (name, Secret::new(value)))
            .collect())
    }
}
