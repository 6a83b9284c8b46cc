//! Searching a job's whole log on the server (the console's log search).

use super::rows::LogRow;
use super::{Store, StoreError, with_db};
use grape_api::LogLine;
use uuid::Uuid;

impl Store {
    /// The first `limit` lines of a job (in seq order) whose text contains `needle`, ignoring
    /// ASCII case. The whole log is searched on the server, one job's rows over the primary key
    /// `(job_id, seq)`.
    pub async fn search_logs(
        &self,
        job_id: Uuid,
        needle: &str,
        limit: u32,
    ) -> Result<Vec<LogLine>, StoreError> {
        let sql = match self {
            Store::Sqlite(_) => {
                "SELECT seq, ts, stream, text FROM job_logs WHERE job_id = $1 \
                 AND instr(lower(text), lower($2)) > 0 ORDER BY seq LIMIT $3"
            }
            Store::Postgres(_) => {
                "SELECT seq, ts, stream, text FROM job_logs WHERE job_id = $1 \
                 AND strpos(lower(text), lower($2)) > 0 ORDER BY seq LIMIT $3"
            }
        };
        with_db!(self, pool, q => {
            let rows = sqlx::query_as::<_, LogRow>(q(sql))
                .bind(job_id).bind(needle).bind(i64::from(limit))
                .fetch_all(pool).await?;
            Ok(rows.into_iter().map(LogRow::into_line).collect())
        })
    }
}
