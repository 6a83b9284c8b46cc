//! Job logs (deduplicated by seq) and plan artifacts.

use super::rows::JOB_COLUMNS;
use super::rows::{JobRow, LogRow};
use super::{Store, StoreError, with_db};
use chrono::{DateTime, SecondsFormat, Utc};
use grape_api::{JobStatus, LogLine};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

/// Inserts log lines, ignoring those whose seq is already stored, with one statement whatever
/// the batch size: on SQLite the batch goes as one JSON array read by `json_each` (binding five
/// values per line costs more than the insert itself), on PostgreSQL as arrays read by
/// `UNNEST`.
trait InsertLines {
    async fn insert_lines(&mut self, job_id: Uuid, lines: &[LogLine]) -> Result<(), sqlx::Error>;
}

/// One line as the SQLite insert reads it: `[seq, ts, stream, text]`, `ts` in the text form
/// sqlx gives a `DateTime<Utc>` on SQLite (so rows read back the same whichever path wrote
/// them).
#[derive(serde::Serialize)]
struct SqliteLine<'a>(i64, String, &'a str, &'a str);

impl InsertLines for sqlx::SqliteConnection {
    async fn insert_lines(&mut self, job_id: Uuid, lines: &[LogLine]) -> Result<(), sqlx::Error> {
        // `WHERE true`: SQLite's parser needs it between `SELECT … FROM` and `ON CONFLICT`.
        let sql = "INSERT INTO job_logs (job_id, seq, ts, stream, text) \
            SELECT ?1, value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?2) \
            WHERE true ON CONFLICT (job_id, seq) DO NOTHING";
        let rows: Vec<SqliteLine<'_>> = lines
            .iter()
            .map(|l| {
                SqliteLine(
                    l.seq as i64,
                    l.ts.to_rfc3339_opts(SecondsFormat::AutoSi, false),
                    l.stream.as_str(),
                    &l.text,
                )
            })
            .collect();
        let json = serde_json::to_string(&rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(sql)
            .bind(job_id)
            .bind(json)
            .execute(&mut *self)
            .await?;
        Ok(())
    }
}

impl InsertLines for sqlx::PgConnection {
    async fn insert_lines(&mut self, job_id: Uuid, lines: &[LogLine]) -> Result<(), sqlx::Error> {
        let sql = "INSERT INTO job_logs (job_id, seq, ts, stream, text) \
            SELECT $1, * FROM UNNEST($2::BIGINT[], $3::TIMESTAMPTZ[], $4::TEXT[], $5::TEXT[]) \
            ON CONFLICT (job_id, seq) DO NOTHING";
        let seqs: Vec<i64> = lines.iter().map(|l| l.seq as i64).collect();
        let ts: Vec<DateTime<Utc>> = lines.iter().map(|l| l.ts).collect();
        let streams: Vec<&str> = lines.iter().map(|l| l.stream.as_str()).collect();
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        sqlx::query(sql)
            .bind(job_id)
            .bind(seqs)
            .bind(ts)
            .bind(streams)
            .bind(texts)
            .execute(&mut *self)
            .await?;
        Ok(())
    }
}

/// Outcome of storing a log batch.
#[derive(Debug)]
pub enum LogAppend {
    /// No such job.
    NotFound,
    /// The worker does not hold the job.
    Forbidden,
    /// The job ended longer than the tail window ago: its log is closed; the current status.
    Closed(JobStatus),
    /// Stored; the highest stored seq, whether a cancel was requested, the job's status.
    Stored {
        /// Highest stored seq.
        last_seq: u64,
        /// Cancel requested.
        cancel_requested: bool,
        /// The job's status (a final one: the server ended the job).
        status: JobStatus,
    },
}

/// Who may read or write a plan artifact.
#[derive(Debug)]
pub enum ArtifactAccess {
    /// No such job.
    NotFound,
    /// The worker holds neither the job nor an APPLY job naming it.
    Forbidden,
    /// (Writing) the worker held the job, but it no longer runs: the current status.
    NotRunning(JobStatus),
    /// Allowed.
    Allowed,
}

impl Store {
    /// Stores log lines of a job held by `worker_id` that is CLAIMED or RUNNING, or ended at or
    /// after `tail_since` (the tail a worker delivers after the end, e.g. from its outbox);
    /// lines whose seq is already stored are ignored, so a resent batch never duplicates.
    pub async fn append_logs(
        &self,
        worker_id: Uuid,
        job_id: Uuid,
        lines: &[LogLine],
        now: DateTime<Utc>,
        tail_since: DateTime<Utc>,
    ) -> Result<LogAppend, StoreError> {
        let select = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1{}",
            self.lock_suffix()
        );
        let upd = "UPDATE jobs SET last_seq = $2, last_activity_at = $3 WHERE id = $1";
        let max_seq = lines.iter().map(|l| l.seq as i64).max().unwrap_or(0);
        with_db!(self, pool, q => {
            let mut tx = pool.begin().await?;
            let Some(job) = sqlx::query_as::<_, JobRow>(q(&select)).bind(job_id).fetch_optional(&mut *tx).await? else {
                return Ok(LogAppend::NotFound);
            };
            if job.worker_id != Some(worker_id) {
                return Ok(LogAppend::Forbidden);
            }
            let status = job.status();
            if !job.is_live() && job.finished_at.is_none_or(|end| end < tail_since) {
                return Ok(LogAppend::Closed(status));
            }
            tx.insert_lines(job_id, lines).await?;
            let last = job.last_seq.max(max_seq);
            sqlx::query(q(upd)).bind(job_id).bind(last).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(LogAppend::Stored { last_seq: last as u64, cancel_requested: job.cancel_requested, status })
        })
    }

    /// Up to `limit` lines of a job with seq > `after_seq`, in seq order, and no more than
    /// about `max_bytes` of text (each line counted as its text's bytes + 96; the first line
    /// always comes): the database hands over a bounded page, whatever the lines' sizes.
    pub async fn get_logs(
        &self,
        job_id: Uuid,
        after_seq: u64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<Vec<LogLine>, StoreError> {
        let max_bytes = i64::try_from(max_bytes).unwrap_or(i64::MAX);
        match self {
            // sqlx hands SQLite rows over one by one from its worker thread; one row holding
            // the page as a JSON array reads several times faster.
            Store::Sqlite(pool) => {
                let sql = "SELECT json_group_array(json_array(seq, ts, stream, text) ORDER BY seq) \
                    FROM (SELECT seq, ts, stream, text, \
                        SUM(length(CAST(text AS BLOB)) + 96) OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) AS upto, \
                        ROW_NUMBER() OVER (ORDER BY seq) AS rn \
                    FROM (SELECT seq, ts, stream, text FROM job_logs WHERE job_id = ?1 AND seq > ?2 \
                    ORDER BY seq LIMIT ?3)) WHERE upto <= ?4 OR rn = 1";
                let (page,): (String,) = sqlx::query_as(sql)
                    .bind(job_id)
                    .bind(after_seq as i64)
                    .bind(i64::from(limit))
                    .bind(max_bytes)
                    .fetch_one(pool)
                    .await?;
                let rows: Vec<(i64, DateTime<Utc>, String, String)> =
                    serde_json::from_str(&page).map_err(|e| StoreError::Corrupt {
                        what: "job_logs",
                        reason: e.to_string(),
                    })?;
                Ok(rows
                    .into_iter()
                    .map(|(seq, ts, stream, text)| {
                        LogRow {
                            seq,
                            ts,
                            stream,
                            text,
                        }
                        .into_line()
                    })
                    .collect())
            }
            Store::Postgres(pool) => {
                let sql = "SELECT seq, ts, stream, text FROM (SELECT seq, ts, stream, text, \
                        SUM(octet_length(text) + 96) OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) AS upto, \
                        ROW_NUMBER() OVER (ORDER BY seq) AS rn \
                    FROM (SELECT seq, ts, stream, text FROM job_logs WHERE job_id = $1 AND seq > $2 \
                    ORDER BY seq LIMIT $3) page) sized WHERE upto <= $4 OR rn = 1 ORDER BY seq";
                let rows = sqlx::query_as::<_, LogRow>(sql)
                    .bind(job_id)
                    .bind(after_seq as i64)
                    .bind(i64::from(limit))
                    .bind(max_bytes)
                    .fetch_all(pool)
                    .await?;
                Ok(rows.into_iter().map(LogRow::into_line).collect())
            }
        }
    }

    /// Whether `worker_id` may touch the plan artifact of `plan_job_id`: to write, it holds that
    /// job while it is CLAIMED or RUNNING; to read, it holds (`CLAIMED`/`RUNNING`) an APPLY job
    /// whose `payload.plan_job_id` names it — the saved plan is a secret at rest, not even its
    /// planner reads it back.
    pub async fn artifact_access(
        &self,
        worker_id: Uuid,
        plan_job_id: Uuid,
        read: bool,
    ) -> Result<ArtifactAccess, StoreError> {
        let Some(job) = self.get_job(plan_job_id).await? else {
            return Ok(ArtifactAccess::NotFound);
        };
        if !read && job.worker_id == Some(worker_id) {
            if !job.is_live() {
                return Ok(ArtifactAccess::NotRunning(job.status()));
            }
            return Ok(ArtifactAccess::Allowed);
        }
        if read {
            // Only an APPLY of the PLAN's own team: to another team's APPLY naming it, the
            // PLAN does not exist.
            let held = "SELECT team, payload FROM jobs WHERE worker_id = $1 AND job_type = 'APPLY' \
                AND status IN ('CLAIMED', 'RUNNING')";
            let rows: Vec<(String, Json<Value>)> = with_db!(self, pool, q => {
                sqlx::query_as(q(held)).bind(worker_id).fetch_all(pool).await?
            });
            let wanted = plan_job_id.to_string();
            let naming = rows.iter().filter(|(_, p)| {
                p.0.get(grape_api::PLAN_JOB_ID_FIELD)
                    .and_then(Value::as_str)
                    == Some(wanted.as_str())
            });
            let mut other_team = false;
            for (team, _) in naming {
                if *team == job.team {
                    return Ok(ArtifactAccess::Allowed);
                }
                other_team = true;
            }
            if other_team {
                return Ok(ArtifactAccess::NotFound);
            }
        }
        Ok(ArtifactAccess::Forbidden)
    }

    /// Stores (replaces) the plan artifact of a job. Returns its size in bytes.
    pub async fn put_artifact(
        &self,
        job_id: Uuid,
        body: &Value,
        bytes: u64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO plan_artifacts (job_id, body, bytes, created_at, team) VALUES ($1, $2, $3, $4, \
            COALESCE((SELECT team FROM jobs WHERE id = $1), 'default')) \
            ON CONFLICT (job_id) DO UPDATE SET body = excluded.body, bytes = excluded.bytes, \
            created_at = excluded.created_at";
        with_db!(self, pool, q => {
            sqlx::query(q(sql)).bind(job_id).bind(Json(body)).bind(bytes as i64).bind(now).execute(pool).await?;
        });
        Ok(())
    }

    /// The plan artifact of a job.
    pub async fn get_artifact(&self, job_id: Uuid) -> Result<Option<Value>, StoreError> {
        let sql = "SELECT body FROM plan_artifacts WHERE job_id = $1";
        with_db!(self, pool, q => {
            let row: Option<(Json<Value>,)> = sqlx::query_as(q(sql)).bind(job_id).fetch_optional(pool).await?;
            Ok(row.map(|(j,)| j.0))
        })
    }
}
