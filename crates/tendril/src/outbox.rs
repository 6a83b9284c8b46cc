//! The outbox: an on-disk journal, in the worker's state directory, of what a job still owes
//! Trellis, so that a worker restarted after a crash (`kill -9`, OOM kill) finishes the story of
//! its last job before it claims a new one.
//!
//! # Layout
//! ```text
//! <state_dir>/outbox/               (0700)
//!   <job_id>/
//!     job.json      written by `job_started` (atomic): "a job is running"
//!     log.jsonl     every accepted log line, appended by the log pipeline (crate::logs)
//!     acked         highest seq Trellis acknowledged (tmp + rename)
//!     status.json   the final StatusUpdate, written by `record_final_status` (atomic, fsync'ed)
//!   .trash-<job_id>  a journal being deleted (renamed first, so deletion is atomic)
//! ```
//! Durability: status files are written with tmp + fsync + rename + fsync of the directory;
//! the log journal is handed to the OS before `status.json` is written and fsync'ed at every
//! batch boundary (so a `kill -9` loses nothing that was accepted; a host crash can lose at
//! most the lines accepted since the last batch).
//!
//! Everything written here was redacted first: log lines by the pipeline, and status updates
//! by the caller (the runtime redacts error messages and results before it reports them).

use crate::logs::journal::{
    JournalReader, LOG_FILE, read_acked, sync_dir, write_acked, write_atomic,
};
use crate::logs::{LogConfig, Shared, is_permanent, retry_policy, send_until_acked};
use grape_api::{ApiError, JobStatus, LogLine, RetryPolicy, StatusUpdate, WorkerApiClient};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use uuid::Uuid;

/// The error given to a job that was running when the worker died.
pub const INTERRUPTED_ERROR: &str = "interrupted by worker restart";

const JOB_FILE: &str = "job.json";
const STATUS_FILE: &str = "status.json";
const TRASH_PREFIX: &str = ".trash-";

/// An outbox failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// A file or directory of the outbox could not be read or written.
    #[error("outbox: cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`create`, `write`, `read`, `remove`).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: io::Error,
    },
    /// Trellis refused the worker's credentials during recovery (401); the journal is kept.
    #[error("outbox recovery of job {job_id}: {source}")]
    Api {
        /// The job being recovered.
        job_id: Uuid,
        /// The API error.
        #[source]
        source: ApiError,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> OutboxError + 'a {
    move |source| OutboxError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// What `job.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct JobRecord {
    job_id: Uuid,
    started_at: chrono::DateTime<chrono::Utc>,
}

/// How the recovery of one job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryOutcome {
    /// The tail and the status were delivered.
    Delivered,
    /// Trellis already had the job in a final status (409): nothing more to say.
    AlreadyFinal(Option<JobStatus>),
    /// Trellis does not know the job any more (404).
    JobGone,
    /// Trellis refused the lines or the status for another reason (a 4xx, e.g. 403: the job
    /// was requeued and another worker holds it now); the journal was dropped anyway, since
    /// retrying cannot help.
    Refused(String),
}

/// The recovery of one journaled job.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredJob {
    /// The job.
    pub job_id: Uuid,
    /// Log lines (re)sent: those after the last acknowledged seq.
    pub lines_sent: u64,
    /// The final status reported (FAILED `interrupted by worker restart` when none was
    /// journaled).
    pub status: StatusUpdate,
    /// No final status was journaled: the job was running when the worker died.
    pub interrupted: bool,
    /// How it ended.
    pub outcome: RecoveryOutcome,
}

/// What [`Outbox::recover`] did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecoveryReport {
    /// One entry per journaled job, in the order they were recovered.
    pub jobs: Vec<RecoveredJob>,
}

/// The outbox of a worker (cheap to clone; clones share the registry of live pipelines).
#[derive(Debug, Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    /// Live log pipelines by job, so their journal is synced before the final status.
    logs: Mutex<HashMap<Uuid, Weak<Shared>>>,
}

impl Outbox {
    /// Opens (creating it, mode 0700) `<state_dir>/outbox` and finishes any interrupted deletion.
    pub fn open(state_dir: &Path) -> Result<Outbox, OutboxError> {
        let dir = state_dir.join("outbox");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(io_err("create", &dir))?;
        let outbox = Outbox {
            inner: Arc::new(Inner {
                dir,
                logs: Mutex::new(HashMap::new()),
            }),
        };
        outbox.remove_trash()?;
        Ok(outbox)
    }

    /// The outbox directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The journal directory of a job.
    pub fn job_dir(&self, job_id: Uuid) -> PathBuf {
        self.inner.dir.join(job_id.to_string())
    }

    /// Journals "this job is running" (call it before its log pipeline starts and before the
    /// handler runs).
    pub fn job_started(&self, job_id: Uuid) -> Result<(), OutboxError> {
        let dir = self.job_dir(job_id);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(io_err("create", &dir))?;
        let record = JobRecord {
            job_id,
            started_at: chrono::Utc::now(),
        };
        let path = dir.join(JOB_FILE);
        let bytes =
            serde_json::to_vec(&record).map_err(|e| io_err("write", &path)(io::Error::other(e)))?;
        write_atomic(&path, &bytes).map_err(io_err("write", &path))?;
        sync_dir(&self.inner.dir).map_err(io_err("write", &self.inner.dir))
    }

    /// Journals the final status of a job (already redacted). The job's log journal is put on
    /// disk first, so a journaled status always comes with every line accepted before it.
    pub fn record_final_status(
        &self,
        job_id: Uuid,
        update: &StatusUpdate,
    ) -> Result<(), OutboxError> {
        let dir = self.job_dir(job_id);
        if let Some(shared) = self.live_log(job_id) {
            shared
                .sync_journal()
                .map_err(io_err("write", &dir.join(LOG_FILE)))?;
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(io_err("create", &dir))?;
        let path = dir.join(STATUS_FILE);
        let bytes =
            serde_json::to_vec(update).map_err(|e| io_err("write", &path)(io::Error::other(e)))?;
        write_atomic(&path, &bytes).map_err(io_err("write", &path))
    }

    /// The final status was acknowledged: forgets the job (its journal is deleted).
    pub fn job_done(&self, job_id: Uuid) -> Result<(), OutboxError> {
        self.inner
            .logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&job_id);
        let dir = self.job_dir(job_id);
        if !dir.exists() {
            return Ok(());
        }
        let trash = self.inner.dir.join(format!("{TRASH_PREFIX}{job_id}"));
        if trash.exists() {
            fs::remove_dir_all(&trash).map_err(io_err("remove", &trash))?;
        }
        fs::rename(&dir, &trash).map_err(io_err("remove", &dir))?;
        fs::remove_dir_all(&trash).map_err(io_err("remove", &trash))?;
        sync_dir(&self.inner.dir).map_err(io_err("remove", &self.inner.dir))
    }

    /// The jobs that have a journal.
    pub fn pending_jobs(&self) -> Result<Vec<Uuid>, OutboxError> {
        let dir = &self.inner.dir;
        let mut jobs = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_err("read", dir))? {
            let entry = entry.map_err(io_err("read", dir))?;
            if let Some(id) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<Uuid>().ok())
            {
                jobs.push(id);
            }
        }
        jobs.sort();
        Ok(jobs)
    }

    /// The final status journaled for a job, if any.
    pub fn final_status(&self, job_id: Uuid) -> Result<Option<StatusUpdate>, OutboxError> {
        let path = self.job_dir(job_id).join(STATUS_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io_err("read", &path)(io::Error::new(io::ErrorKind::InvalidData, e))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("read", &path)(e)),
        }
    }

    /// At start, before claiming: for every journaled job, delivers the log tail after the
    /// last acknowledged seq, then the journaled final status — or FAILED `interrupted by worker
    /// restart` when the job has none — then deletes the journal. Idempotent: Trellis ignores
    /// seqs it stores and answers 409 to a repeated final transition, so a crash during
    /// recovery is recovered by the next start. Keeps retrying while Trellis is unreachable
    /// (cancel-safe: drop the future to give up; the journal stays).
    pub async fn recover(&self, api: &WorkerApiClient) -> Result<RecoveryReport, OutboxError> {
        self.recover_with(api, &LogConfig::default()).await
    }

    /// [`Outbox::recover`] with the batch and retry settings of `config`.
    pub async fn recover_with(
        &self,
        api: &WorkerApiClient,
        config: &LogConfig,
    ) -> Result<RecoveryReport, OutboxError> {
        let mut report = RecoveryReport::default();
        for job_id in self.pending_jobs()? {
            let job = self.recover_job(api, job_id, config).await?;
            tracing::info!(%job_id, lines = job.lines_sent, status = %job.status.status,
                interrupted = job.interrupted, outcome = ?job.outcome, "recovered journaled job");
            self.job_done(job_id)?;
            report.jobs.push(job);
        }
        Ok(report)
    }

    async fn recover_job(
        &self,
        api: &WorkerApiClient,
        job_id: Uuid,
        config: &LogConfig,
    ) -> Result<RecoveredJob, OutboxError> {
        let dir = self.job_dir(job_id);
        let policy = retry_policy(config);
        let (lines_sent, log_refused) = deliver_tail(api, job_id, &dir, config, &policy).await?;
        let journaled = self.final_status(job_id)?;
        let interrupted = journaled.is_none();
        let status = journaled.unwrap_or_else(|| StatusUpdate::failed(INTERRUPTED_ERROR));
        let outcome = loop {
            match api.update_job_status(job_id, &status).await {
                Ok(_) => {
                    break log_refused.map_or(RecoveryOutcome::Delivered, RecoveryOutcome::Refused);
                }
                Err(e) if e.status() == Some(409) => {
                    break RecoveryOutcome::AlreadyFinal(e.current_status().cloned());
                }
                Err(e) if e.status() == Some(404) => break RecoveryOutcome::JobGone,
                Err(e) if e.status() == Some(401) => {
                    return Err(OutboxError::Api { job_id, source: e });
                }
                Err(e) if is_permanent(&e) => break RecoveryOutcome::Refused(e.to_string()),
                Err(e) => {
                    tracing::warn!(%job_id, error = %e, "cannot report the journaled status; retrying");
                    tokio::time::sleep(policy.backoff(4)).await;
                }
            }
        };
        Ok(RecoveredJob {
            job_id,
            lines_sent,
            status,
            interrupted,
            outcome,
        })
    }

    /// Registers a live pipeline's journal (called by `logs::start`).
    pub(crate) fn attach_log(&self, job_id: Uuid, shared: &Arc<Shared>) {
        self.inner
            .logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(job_id, Arc::downgrade(shared));
    }

    fn live_log(&self, job_id: Uuid) -> Option<Arc<Shared>> {
        self.inner
            .logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&job_id)
            .and_then(Weak::upgrade)
    }

    fn remove_trash(&self) -> Result<(), OutboxError> {
        let dir = &self.inner.dir;
        for entry in fs::read_dir(dir).map_err(io_err("read", dir))? {
            let entry = entry.map_err(io_err("read", dir))?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(TRASH_PREFIX)
            {
                let path = entry.path();
                fs::remove_dir_all(&path).map_err(io_err("remove", &path))?;
            }
        }
        Ok(())
    }
}

/// Sends the journaled lines after the acknowledged seq; returns how many were sent and, if
/// Trellis refused them for good, why.
async fn deliver_tail(
    api: &WorkerApiClient,
    job_id: Uuid,
    dir: &Path,
    config: &LogConfig,
    policy: &RetryPolicy,
) -> Result<(u64, Option<String>), OutboxError> {
    let path = dir.join(LOG_FILE);
    let mut reader = match JournalReader::open(&path, 0) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, None)),
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    let acked = read_acked(dir);
    let max_lines = config
        .max_batch_lines
        .clamp(1, crate::logs::SERVER_MAX_BATCH_LINES);
    let max_bytes = config
        .max_batch_bytes
        .clamp(1, crate::logs::SERVER_MAX_BATCH_BYTES / 2);
    let mut sent = 0u64;
    let mut batch: Vec<LogLine> = Vec::new();
    let mut bytes = 0usize;
    let mut at_end = false;
    while !at_end {
        let next = match reader.next_line() {
            Ok(line) => line,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                tracing::warn!(%job_id, error = %e, "log journal ends with a damaged line; stopping there");
                None
            }
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        match next {
            Some(line) if line.seq <= acked => {}
            Some(line) => {
                let size = crate::logs::line_size(&line.text);
                if !batch.is_empty() && (batch.len() >= max_lines || bytes + size > max_bytes) {
                    if let Some(refused) =
                        send_batch(api, job_id, dir, &mut batch, &mut sent, policy).await?
                    {
                        return Ok((sent, Some(refused)));
                    }
                    bytes = 0;
                }
                bytes += size;
                batch.push(line);
            }
            None => at_end = true,
        }
    }
    if !batch.is_empty()
        && let Some(refused) = send_batch(api, job_id, dir, &mut batch, &mut sent, policy).await?
    {
        return Ok((sent, Some(refused)));
    }
    Ok((sent, None))
}

async fn send_batch(
    api: &WorkerApiClient,
    job_id: Uuid,
    dir: &Path,
    batch: &mut Vec<LogLine>,
    sent: &mut u64,
    policy: &RetryPolicy,
) -> Result<Option<String>, OutboxError> {
    match send_until_acked(api, job_id, batch, policy).await {
        Ok(_) => {
            *sent += batch.len() as u64;
            if let Some(last) = batch.last()
                && let Err(e) = write_acked(dir, last.seq)
            {
                tracing::warn!(%job_id, error = %e, "cannot record the acknowledged seq");
            }
            batch.clear();
            Ok(None)
        }
        Err(e) if e.status() == Some(401) => Err(OutboxError::Api { job_id, source: e }),
        Err(e) => {
            tracing::warn!(%job_id, error = %e, "Trellis refused the journaled log lines");
            Ok(Some(e.to_string()))
        }
    }
}
