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
//!   <job_id>.corrupt a corrupt journal, quarantined by recovery (kept for inspection)
//! ```
//! Durability: status files are written with tmp + fsync + rename + fsync of the directory;
//! the log journal is handed to the OS before `status.json` is written and fsync'ed at every
//! batch boundary (so a `kill -9` loses nothing that was accepted; a host crash can lose at
//! most the lines accepted since the last batch).
//!
//! Everything written here was redacted first: log lines by the pipeline, and status updates
//! by the caller (the runtime redacts error messages and results before it reports them).

mod recover;

pub use recover::{CORRUPT_SUFFIX, RecoveredJob, RecoveryOutcome, RecoveryReport};

use crate::logs::Shared;
use crate::logs::journal::{LOG_FILE, sync_dir, write_atomic};
use grape_api::{ApiError, StatusUpdate};
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
    /// A journal file is damaged (unparseable, or not the file or directory it should be).
    #[error("outbox: corrupt journal {}: {reason}", path.display())]
    Corrupt {
        /// The damaged file or directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
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

    /// The final status journaled for a job, if any ([`OutboxError::Corrupt`] when unreadable).
    pub fn final_status(&self, job_id: Uuid) -> Result<Option<StatusUpdate>, OutboxError> {
        let path = self.job_dir(job_id).join(STATUS_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| recover::corrupt(&path, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) if recover::is_corruption(&e) => Err(recover::corrupt(&path, e)),
            Err(e) => Err(io_err("read", &path)(e)),
        }
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
