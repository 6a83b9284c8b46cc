//! Recovery of the outbox at start: every journaled job's log tail and final status are
//! delivered; a corrupt journal is quarantined (`<job_id>.corrupt`) and its job reported FAILED
//! with the reason, so no job is stranded and the worker goes on to claim.

use super::{INTERRUPTED_ERROR, JOB_FILE, JobRecord, Outbox, OutboxError, io_err};
use crate::logs::journal::{JournalReader, LOG_FILE, read_acked, write_acked};
use crate::logs::{LogConfig, is_permanent, retry_policy, send_until_acked};
use grape_api::{ApiError, JobStatus, LogLine, RetryPolicy, StatusUpdate, WorkerApiClient};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Suffix of a quarantined journal directory.
pub const CORRUPT_SUFFIX: &str = ".corrupt";

/// How the recovery of one job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryOutcome {
    /// The tail and the status were delivered.
    Delivered,
    /// Trellis already had the job in a final status, or closed its log (409): nothing more
    /// to say.
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
    /// The journal was corrupt: where it was moved (`<job_id>.corrupt`); the job was reported
    /// FAILED with the reason.
    pub quarantined: Option<PathBuf>,
}

/// What [`Outbox::recover`] did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecoveryReport {
    /// One entry per journaled job, in the order they were recovered.
    pub jobs: Vec<RecoveredJob>,
}

impl Outbox {
    /// At start, before claiming: for every journaled job, delivers the log tail after the
    /// last acknowledged seq, then the journaled final status — or FAILED `interrupted by worker
    /// restart` when the job has none — then deletes the journal. Idempotent: Trellis ignores
    /// seqs it stores and answers 409 to a repeated final transition, so a crash during
    /// recovery is recovered by the next start. Keeps retrying while Trellis is unreachable
    /// (cancel-safe: drop the future to give up; the journal stays). A log tail answered 409
    /// (Trellis closed the job's log) is dropped without a status. A corrupt journal (unreadable
    /// `job.json`/`status.json`, not a directory) is reported FAILED with the reason and moved
    /// to `<job_id>.corrupt`.
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
        let mut problem = self.check_record(job_id).err();
        let mut delivered = (0, None);
        if problem.is_none() {
            match deliver_tail(api, job_id, &dir, config, &policy).await {
                Ok(d) => delivered = d,
                Err(OutboxError::Corrupt { reason, .. }) => problem = Some(reason),
                Err(e) => return Err(e),
            }
        }
        let (lines_sent, log_refused) = delivered;
        if let Some(e) = log_refused.as_ref().filter(|e| e.status() == Some(409)) {
            tracing::warn!(%job_id, error = %e, "Trellis closed the job's log; dropping its journal without reporting");
            return Ok(RecoveredJob {
                job_id,
                lines_sent,
                status: self
                    .final_status(job_id)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| StatusUpdate::failed(INTERRUPTED_ERROR)),
                interrupted: false,
                outcome: RecoveryOutcome::AlreadyFinal(e.current_status().cloned()),
                quarantined: None,
            });
        }
        let journaled = match problem {
            Some(_) => None,
            None => match self.final_status(job_id) {
                Ok(s) => s,
                Err(OutboxError::Corrupt { reason, .. }) => {
                    problem = Some(reason);
                    None
                }
                Err(e) => return Err(e),
            },
        };
        let quarantine_to = self.quarantine_path(job_id);
        let status = match (&problem, journaled) {
            (Some(reason), _) => {
                tracing::error!(%job_id, reason = %reason, to = %quarantine_to.display(),
                    "the job's outbox journal is corrupt: reporting the job FAILED and quarantining the journal");
                StatusUpdate::failed(format!(
                    "the worker's outbox journal of this job is corrupt ({reason}); it was \
                     quarantined as {}",
                    quarantine_to.display()
                ))
            }
            (None, Some(s)) => s,
            (None, None) => StatusUpdate::failed(INTERRUPTED_ERROR),
        };
        let log_refused = log_refused.map(|e| e.to_string());
        let outcome = report_status(api, job_id, &status, &policy, log_refused).await?;
        let quarantined = match problem {
            Some(_) => {
                fs::rename(&dir, &quarantine_to).map_err(io_err("quarantine", &dir))?;
                Some(quarantine_to)
            }
            None => None,
        };
        Ok(RecoveredJob {
            job_id,
            lines_sent,
            interrupted: status.error.as_deref() == Some(INTERRUPTED_ERROR),
            status,
            outcome,
            quarantined,
        })
    }

    /// `Err(reason)` when the journal of `job_id` is not a directory or its `job.json` is
    /// unreadable or names another job.
    fn check_record(&self, job_id: Uuid) -> Result<(), String> {
        let dir = self.job_dir(job_id);
        if !dir.is_dir() {
            return Err(format!("{} is not a directory", dir.display()));
        }
        let path = dir.join(JOB_FILE);
        match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<JobRecord>(&bytes) {
                Ok(r) if r.job_id == job_id => Ok(()),
                Ok(r) => Err(format!("{JOB_FILE} names another job, {}", r.job_id)),
                Err(e) => Err(format!("{JOB_FILE}: {e}")),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("{JOB_FILE}: {e}")),
        }
    }

    /// A free `<job_id>.corrupt[.N]` path in the outbox.
    fn quarantine_path(&self, job_id: Uuid) -> PathBuf {
        let base = self.dir().join(format!("{job_id}{CORRUPT_SUFFIX}"));
        let mut path = base.clone();
        let mut n = 1;
        while path.exists() {
            path = PathBuf::from(format!("{}.{n}", base.display()));
            n += 1;
        }
        path
    }
}

/// Reports the recovered final status until Trellis answers.
async fn report_status(
    api: &WorkerApiClient,
    job_id: Uuid,
    status: &StatusUpdate,
    policy: &RetryPolicy,
    log_refused: Option<String>,
) -> Result<RecoveryOutcome, OutboxError> {
    loop {
        match api.update_job_status(job_id, status).await {
            Ok(_) => {
                return Ok(log_refused.map_or(RecoveryOutcome::Delivered, RecoveryOutcome::Refused));
            }
            Err(e) if e.status() == Some(409) => {
                return Ok(RecoveryOutcome::AlreadyFinal(e.current_status().cloned()));
            }
            Err(e) if e.status() == Some(404) => return Ok(RecoveryOutcome::JobGone),
            Err(e) if e.status() == Some(401) => {
                return Err(OutboxError::Api { job_id, source: e });
            }
            Err(e) if is_permanent(&e) => return Ok(RecoveryOutcome::Refused(e.to_string())),
            Err(e) => {
                tracing::warn!(%job_id, error = %e, "cannot report the journaled status; retrying");
                tokio::time::sleep(policy.backoff(4)).await;
            }
        }
    }
}

/// An IO error that means the journal's content or shape is damaged (retrying cannot help).
pub(super) fn is_corruption(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory
    )
}

/// [`OutboxError::Corrupt`] for `path`.
pub(super) fn corrupt(path: &Path, e: impl std::fmt::Display) -> OutboxError {
    OutboxError::Corrupt {
        path: path.to_owned(),
        reason: format!(
            "{}: {e}",
            path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            )
        ),
    }
}

/// Sends the journaled lines after the acknowledged seq; returns how many were sent and, if
/// Trellis refused them for good, its answer. A journal that is not a readable file is
/// [`OutboxError::Corrupt`].
async fn deliver_tail(
    api: &WorkerApiClient,
    job_id: Uuid,
    dir: &Path,
    config: &LogConfig,
    policy: &RetryPolicy,
) -> Result<(u64, Option<ApiError>), OutboxError> {
    let path = dir.join(LOG_FILE);
    let mut reader = match JournalReader::open(&path, 0) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, None)),
        Err(e) if is_corruption(&e) => return Err(corrupt(&path, e)),
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
) -> Result<Option<ApiError>, OutboxError> {
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
            Ok(Some(e))
        }
    }
}
