//! The delivery task of one pipeline: batches by size or time, sends, retries until
//! acknowledged, records the acknowledged seq, fires the cancel token.

use super::buffer::Take;
use super::journal::{JournalReader, write_acked};
use super::text::line_size;
use super::{LogConfig, Shared};
use grape_api::{ApiError, LogAck, LogLine, RetryPolicy, WorkerApiClient};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Reads of the spool tried before its lines are given up as lost.
const SPOOL_ATTEMPTS: u32 = 3;

/// Why the delivery task stopped before delivering everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Everything accepted was delivered and the pipeline is closed.
    Drained,
    /// Trellis refused the lines for good (4xx).
    Rejected(String),
}

/// True when an error will not go away by retrying (a 4xx other than 408 and 429).
pub(crate) fn is_permanent(e: &ApiError) -> bool {
    matches!(e.status(), Some(s) if (400..500).contains(&s) && s != 408 && s != 429)
}

/// Capped exponential backoff with jitter.
pub(crate) fn retry_policy(config: &LogConfig) -> RetryPolicy {
    RetryPolicy {
        max_attempts: u32::MAX,
        initial_backoff: config.retry_initial_backoff.min(config.retry_max_backoff),
        max_backoff: config.retry_max_backoff,
        max_elapsed: None,
    }
}

/// Sends `lines` until Trellis acknowledges them or refuses them for good.
pub(crate) async fn send_until_acked(
    api: &WorkerApiClient,
    job_id: Uuid,
    lines: &[LogLine],
    policy: &RetryPolicy,
) -> Result<LogAck, ApiError> {
    let mut attempt = 0u32;
    loop {
        match api.send_logs(job_id, lines).await {
            Ok(ack) => {
                if attempt > 0 {
                    tracing::info!(%job_id, attempts = attempt + 1, "log delivery resumed");
                }
                return Ok(ack);
            }
            Err(e) if is_permanent(&e) => return Err(e),
            Err(e) => {
                attempt = attempt.saturating_add(1);
                let delay = policy.backoff(attempt);
                if attempt == 1 || attempt.is_power_of_two() {
                    tracing::warn!(%job_id, attempt, ?delay, error = %e, "log delivery failed; retrying");
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// The next step of the delivery loop.
enum Step {
    /// Closed and drained.
    Done,
    /// Send these.
    Take(Take),
    /// Wait for more lines, or until the oldest pending line is due.
    Wait(Option<Instant>),
}

pub(crate) struct Delivery {
    pub(crate) shared: Arc<Shared>,
    pub(crate) api: Arc<WorkerApiClient>,
    pub(crate) job_id: Uuid,
    /// The job's outbox directory (journal and `acked`), if it has one.
    pub(crate) dir: Option<PathBuf>,
    pub(crate) config: LogConfig,
    pub(crate) on_cancel_requested: CancellationToken,
}

impl Delivery {
    /// Runs until the pipeline is closed and drained, or Trellis refuses the lines.
    ///
    /// One batch is in flight at a time (Trellis must store a job's lines in seq order: a live
    /// reader follows `seq > last seen`), but while it is, the next batch is taken, read back
    /// from the spool if need be and fsync'ed, so that it leaves as soon as the previous one is
    /// acknowledged.
    pub(crate) async fn run(self) -> Stop {
        let policy = retry_policy(&self.config);
        let mut reader: Option<JournalReader> = None;
        let mut ready: Option<Vec<LogLine>> = None;
        let mut spool_failures = 0u32;
        loop {
            let batch = match ready.take() {
                Some(batch) => batch,
                None => match self.next_batch(&mut reader).await {
                    Ok(Some(batch)) => {
                        self.sync_journal().await;
                        batch
                    }
                    Ok(None) => return Stop::Drained,
                    Err(e) => {
                        // Only reading the spool back can fail here: retried a few times (the
                        // reader is opened again), then its lines are reported lost.
                        reader = None;
                        spool_failures += 1;
                        if spool_failures >= SPOOL_ATTEMPTS {
                            let lost = self.shared.lock().spool_lost(&e);
                            tracing::error!(job_id = %self.job_id, error = %e, lost,
                                "cannot read the log spool; its lines are lost");
                            spool_failures = 0;
                        } else {
                            tracing::warn!(job_id = %self.job_id, error = %e, "cannot read the log spool; retrying");
                            tokio::time::sleep(policy.backoff(spool_failures)).await;
                        }
                        continue;
                    }
                },
            };
            let (sent, next) = self.send_and_prepare(&batch, &policy, &mut reader).await;
            ready = next;
            match sent {
                Ok(ack) => {
                    self.acknowledged(&batch, &ack);
                    if let Some(status) = ack.job_status.as_ref().filter(|s| s.is_terminal()) {
                        return self.ended_on_server(format!(
                            "Trellis reports the job {status} (log acknowledgement)"
                        ));
                    }
                }
                Err(e) if matches!(e.status(), Some(403 | 404 | 409)) => {
                    let status = e
                        .current_status()
                        .map(|s| format!(" (job {s})"))
                        .unwrap_or_default();
                    return self
                        .ended_on_server(format!("Trellis refused the log lines{status}: {e}"));
                }
                Err(e) => {
                    tracing::error!(job_id = %self.job_id, error = %e, "Trellis refused the log lines");
                    let reason = e.to_string();
                    *self
                        .shared
                        .rejected
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reason.clone());
                    return Stop::Rejected(reason);
                }
            }
        }
    }

    /// Trellis no longer runs the job on this worker: fire `ended` (and the job's cancel
    /// token, the job must stop) and stop delivering.
    fn ended_on_server(&self, reason: String) -> Stop {
        tracing::warn!(job_id = %self.job_id, reason = %reason, "the job ended on the server; stopping its log delivery");
        self.shared.ended.fire(reason.clone());
        self.on_cancel_requested.cancel();
        Stop::Rejected(reason)
    }

    /// Sends `batch` until acknowledged; meanwhile takes the next batch as soon as one is due
    /// and fsyncs the journal for it. Returns the outcome of the send and the next batch, if
    /// one was taken.
    async fn send_and_prepare(
        &self,
        batch: &[LogLine],
        policy: &RetryPolicy,
        reader: &mut Option<JournalReader>,
    ) -> (Result<LogAck, ApiError>, Option<Vec<LogLine>>) {
        let sending = send_until_acked(&self.api, self.job_id, batch, policy);
        tokio::pin!(sending);
        let mut spool_failed = false;
        loop {
            tokio::select! {
                biased;
                acked = &mut sending => return (acked, None),
                // Cancel-safe: `next_batch` takes lines only right before it returns.
                next = self.next_batch(reader), if !spool_failed => match next {
                    Ok(Some(next)) => {
                        let (acked, ()) = tokio::join!(&mut sending, self.sync_journal());
                        return (acked, Some(next));
                    }
                    Ok(None) => return ((&mut sending).await, None),
                    Err(e) => {
                        tracing::error!(job_id = %self.job_id, error = %e, "cannot read the log spool");
                        spool_failed = true;
                    }
                },
            }
        }
    }

    fn acknowledged(&self, batch: &[LogLine], ack: &LogAck) {
        let last = batch.last().map_or(0, |l| l.seq);
        if let Some(dir) = &self.dir
            && let Err(e) = write_acked(dir, last)
        {
            tracing::warn!(job_id = %self.job_id, error = %e, "cannot record the acknowledged seq");
        }
        self.shared.delivered.store(last, Ordering::Release);
        if ack.last_seq < last {
            tracing::warn!(job_id = %self.job_id, last, server_last = ack.last_seq,
                "Trellis acknowledged fewer lines than sent");
        }
        if ack.cancel_requested && !self.on_cancel_requested.is_cancelled() {
            tracing::info!(job_id = %self.job_id, "cancel requested (log acknowledgement)");
            self.on_cancel_requested.cancel();
        }
    }

    /// Hands the journal to the OS and fsyncs it (a batch boundary).
    async fn sync_journal(&self) {
        let handle = {
            let mut b = self.shared.lock();
            if b.journal_error().is_some() {
                // Given up: the lines are in memory, nothing to sync.
                return;
            }
            b.flush_journal()
        };
        let res = match handle {
            Ok(Some(file)) => tokio::task::spawn_blocking(move || file.sync_data())
                .await
                .unwrap_or_else(|e| Err(io::Error::other(e))),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = res {
            tracing::warn!(job_id = %self.job_id, error = %e, "cannot sync the log journal");
        }
    }

    /// Waits until a batch is due (full, old enough, or closing) and takes it; `None` once the
    /// pipeline is closed and empty.
    async fn next_batch(
        &self,
        reader: &mut Option<JournalReader>,
    ) -> io::Result<Option<Vec<LogLine>>> {
        let max_lines = self.config.max_batch_lines;
        let max_bytes = self.config.max_batch_bytes;
        loop {
            let notified = self.shared.wake.notified();
            let step = self.decide(max_lines, max_bytes);
            let take = match step {
                Step::Done => return Ok(None),
                Step::Take(take) => Some(take),
                Step::Wait(Some(due)) => {
                    tokio::select! {
                        () = notified => {}
                        () = tokio::time::sleep_until(due) => {}
                    }
                    None
                }
                Step::Wait(None) => {
                    notified.await;
                    None
                }
            };
            match take {
                None | Some(Take::Nothing) => {}
                Some(Take::Lines(lines)) => return Ok(Some(lines)),
                Some(Take::Spilled {
                    from,
                    offset,
                    count,
                }) => {
                    let lines = self.read_spilled(reader, from, offset, count)?;
                    return Ok(Some(lines));
                }
            }
        }
    }

    /// What to do now, decided under the lock (no await while it is held).
    fn decide(&self, max_lines: usize, max_bytes: usize) -> Step {
        let mut b = self.shared.lock();
        // Lines reach the OS (and survive a kill -9) within one flush interval.
        b.write_journal();
        let (lines, bytes, oldest) = b.pending();
        let due = oldest.map(|t| Instant::from_std(t) + self.config.flush_interval);
        if lines == 0 {
            return if b.is_closed() {
                Step::Done
            } else {
                Step::Wait(None)
            };
        }
        if b.is_closed()
            || lines >= self.config.send_at_lines
            || bytes >= max_bytes
            || due.is_some_and(|d| d <= Instant::now())
        {
            return Step::Take(b.take(max_lines, max_bytes));
        }
        Step::Wait(due)
    }

    fn read_spilled(
        &self,
        reader: &mut Option<JournalReader>,
        from: u64,
        offset: u64,
        count: u64,
    ) -> io::Result<Vec<LogLine>> {
        let r = if let Some(r) = reader {
            r
        } else {
            let path = self.shared.journal_path.as_deref().ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "spilled lines without a journal")
            })?;
            reader.insert(JournalReader::open(path, offset)?)
        };
        r.seek(offset)?;
        let mut lines = Vec::new();
        let mut bytes = 0;
        while (lines.len() as u64) < count && lines.len() < self.config.max_batch_lines {
            let pos = r.position();
            let Some(line) = r.next_line()? else { break };
            let expected = from + lines.len() as u64;
            if line.seq != expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "log spool out of order: seq {} where {expected} was expected",
                        line.seq
                    ),
                ));
            }
            let size = line_size(&line.text);
            if !lines.is_empty() && bytes + size > self.config.max_batch_bytes {
                r.seek(pos)?;
                break;
            }
            bytes += size;
            lines.push(line);
        }
        if lines.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "log spool shorter than expected",
            ));
        }
        self.shared.lock().spilled_taken(&lines, r.position());
        Ok(lines)
    }
}
