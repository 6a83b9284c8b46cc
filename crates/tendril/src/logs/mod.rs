//! The log pipeline of one job: sink → redact → truncate (64 KiB, with a marker) → number (seq
//! from 1) → journal → memory buffer bounded in bytes (spilling to the journal) → batches →
//! `POST /api/jobs/{id}/logs`, retried until acknowledged.
//!
//! # Guarantees
//! - Every line handed to the sink is delivered exactly once as far as the job's log is
//!   concerned: resends are safe because Trellis ignores a seq it already stores.
//! - Lines are redacted before anything else happens to them: no secret reaches the journal,
//!   the spool or the server.
//! - Memory stays bounded in bytes during an outage: at most `memory_bytes` of pending lines,
//!   one batch in flight and the next one ready; the rest waits in the journal file and is read
//!   back in order.
//! - A journal that cannot be written (disk full) loses no accepted line: the lines it had not
//!   written yet go back to memory, and pending lines stay there up to `max_memory_bytes`
//!   (64 MiB). Past that, lines are dropped before they are numbered and a `system` line says
//!   how many and why; a spool that cannot be read back is reported the same way. Nothing is
//!   retried for ever on the worker's own disk.
//! - [`LogPipeline::finish`] returns by its deadline (`finish_timeout`, 10 min, by default):
//!   a job's final status is always reported, even when its log cannot be delivered.
//! - One batch is in flight at a time, so Trellis stores a job's lines in seq order (its live
//!   readers follow `seq > last seen`); under a backlog the next batch is prepared (taken, read
//!   back, fsync'ed) while the previous one is in flight and leaves as soon as it is
//!   acknowledged, without waiting for the flush interval.
//! - Every line is appended to the job's journal in the outbox (`<state>/outbox/<job>/log.jsonl`)
//!   as it is accepted; the journal reaches the OS at batch boundaries and when the final status
//!   is journaled, and is fsync'ed before each batch is sent. A restarted worker delivers the tail
//!   after the last acknowledged seq ([`crate::outbox::Outbox::recover`]).
//! - A `cancel_requested` in an acknowledgement fires the job's cancellation token.
//! - A final `job_status` in an acknowledgement, or a batch answered 403/404/409 (the job is
//!   not this worker's any more, or its log is closed), fires [`LogPipeline::ended`] and the
//!   cancellation token, and delivery stops: the worker abandons the job (see [`JobEnded`]).

mod buffer;
mod deliver;
mod ended;
pub(crate) mod journal;
mod take;
mod text;

use crate::outbox::Outbox;
use buffer::{Bounds, Buffer};
use deliver::{Delivery, Stop};
use grape_api::{LogStream, WorkerApiClient};
use grape_process::{Redactor, truncate_line};
use grape_provisioner::LogSink;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub(crate) use deliver::{is_permanent, retry_policy, send_until_acked};
pub use ended::JobEnded;
pub(crate) use text::line_size;

/// Trellis accepts at most this many lines in one batch.
pub const SERVER_MAX_BATCH_LINES: usize = 5_000;
/// Trellis accepts batch bodies of at most this many bytes.
pub const SERVER_MAX_BATCH_BYTES: usize = 1024 * 1024;

/// Settings of the log pipeline (tests shrink them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// A batch is sent at the latest this long after its oldest line was accepted.
    pub flush_interval: Duration,
    /// A batch is sent as soon as this many lines are pending, without waiting for the flush
    /// interval (at most `max_batch_lines`).
    pub send_at_lines: usize,
    /// Most lines in one batch (at most 5,000): a backlog leaves in batches this big.
    pub max_batch_lines: usize,
    /// A batch is sent as soon as its JSON reaches about this many bytes (at most 1 MiB less
    /// room for the envelope; a single line always fits).
    pub max_batch_bytes: usize,
    /// Bytes of pending lines kept in memory (as counted in a batch body); more wait in the
    /// journal file (the spool).
    pub memory_bytes: usize,
    /// Bytes of pending lines kept in memory in all once the journal cannot be written (disk
    /// full); past it lines are dropped, and a `system` line says how many.
    pub max_memory_bytes: usize,
    /// [`LogPipeline::finish`] gives up delivering after this long (the final status is
    /// reported anyway; what a healthy journal holds stays in the outbox).
    pub finish_timeout: Duration,
    /// First delay before resending a batch that was not acknowledged.
    pub retry_initial_backoff: Duration,
    /// Upper bound of the delay between two resends (exponential backoff with jitter).
    pub retry_max_backoff: Duration,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            flush_interval: Duration::from_millis(250),
            send_at_lines: 1_000,
            max_batch_lines: SERVER_MAX_BATCH_LINES,
            max_batch_bytes: 512 * 1024,
            memory_bytes: 8 * 1024 * 1024,
            max_memory_bytes: 64 * 1024 * 1024,
            finish_timeout: Duration::from_secs(600),
            retry_initial_backoff: Duration::from_millis(200),
            retry_max_backoff: Duration::from_secs(10),
        }
    }
}

impl LogConfig {
    /// The same settings with the batch limits brought within what Trellis accepts.
    fn clamped(mut self) -> Self {
        self.max_batch_lines = self.max_batch_lines.clamp(1, SERVER_MAX_BATCH_LINES);
        self.send_at_lines = self.send_at_lines.clamp(1, self.max_batch_lines);
        // A 64 KiB line of control characters is 384 KiB of JSON: room for it plus a full batch.
        self.max_batch_bytes = self.max_batch_bytes.clamp(1, SERVER_MAX_BATCH_BYTES / 2);
        self.memory_bytes = self.memory_bytes.max(1);
        self.max_memory_bytes = self.max_memory_bytes.max(self.memory_bytes);
        self
    }
}

/// Counters of a pipeline (for `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogStats {
    /// Lines accepted (after splitting), i.e. the last seq given.
    pub lines_accepted: u64,
    /// Lines acknowledged by Trellis.
    pub lines_delivered: u64,
    /// Lines accepted but not acknowledged yet.
    pub backlog: u64,
    /// Lines that went through the spool file because the memory buffer was full.
    pub lines_spilled: u64,
    /// Lines dropped (journal unwritable and memory bound reached) or lost (spool unreadable).
    pub lines_dropped: u64,
}

/// What [`LogPipeline::finish`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSummary {
    /// Lines accepted (the last seq).
    pub lines: u64,
    /// Lines acknowledged by Trellis.
    pub lines_delivered: u64,
    /// Lines that went through the spool file.
    pub lines_spilled: u64,
    /// Every accepted line was acknowledged.
    pub delivered_all: bool,
    /// Lines dropped or lost on the worker (each time reported by a `system` line).
    pub lines_dropped: u64,
    /// Trellis refused the lines for good (a 4xx), with its message.
    pub rejected: Option<String>,
    /// Delivery was still going on at the deadline.
    pub timed_out: bool,
    /// Why the journal was not written (then it does not hold every line).
    pub journal_error: Option<String>,
}

/// State shared by the sink, the delivery task and the outbox.
#[derive(Debug)]
pub(crate) struct Shared {
    buffer: Mutex<Buffer>,
    wake: Notify,
    delivered: AtomicU64,
    rejected: Mutex<Option<String>>,
    ended: JobEnded,
    journal_path: Option<PathBuf>,
    send_at_lines: usize,
    max_batch_bytes: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts every accepted line in the journal file and fsyncs it (called by the outbox
    /// before it journals the final status).
    pub(crate) fn sync_journal(&self) -> io::Result<()> {
        let handle = self.lock().flush_journal()?;
        match handle {
            Some(file) => file.sync_data(),
            None => Ok(()),
        }
    }

    /// [`Shared::sync_journal`] off the async runtime's threads.
    pub(crate) async fn sync_journal_blocking(self: Arc<Self>) -> io::Result<()> {
        tokio::task::spawn_blocking(move || self.sync_journal())
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e)))
    }

    fn stats(&self) -> LogStats {
        let (accepted, spilled, dropped) = {
            let b = self.lock();
            (b.accepted(), b.spilled_total(), b.dropped_total())
        };
        let delivered = self.delivered.load(Ordering::Acquire);
        LogStats {
            lines_accepted: accepted,
            lines_delivered: delivered,
            backlog: accepted.saturating_sub(delivered),
            lines_spilled: spilled,
            lines_dropped: dropped,
        }
    }

    fn close(&self) {
        self.lock().close();
        self.wake.notify_one();
    }
}

/// The log sink handed to the job handler.
struct PipelineSink {
    shared: Arc<Shared>,
    redactor: Redactor,
}

impl LogSink for PipelineSink {
    fn line(&self, stream: LogStream, text: &str) {
        let text = self.redactor.redact(text);
        let text = truncate_line(&text).into_owned();
        let (lines, bytes) = {
            let mut b = self.shared.lock();
            b.push(stream, text);
            let (lines, bytes, _) = b.pending();
            (lines, bytes)
        };
        if lines == 1 || lines >= self.shared.send_at_lines || bytes >= self.shared.max_batch_bytes
        {
            self.shared.wake.notify_one();
        }
    }
}

/// The running log pipeline of one job. Dropping it without [`LogPipeline::finish`] stops its
/// delivery task at once (as if the worker died): what was not acknowledged stays in the outbox.
#[derive(Debug)]
pub struct LogPipeline {
    job_id: Uuid,
    shared: Arc<Shared>,
    redactor: Redactor,
    task: Option<JoinHandle<Stop>>,
    finish_timeout: Duration,
}

/// Starts the delivery task of one job's log. Lines are redacted with `redactor` before they
/// are truncated to 64 KiB, numbered (seq from 1), journaled in the job's outbox directory,
/// buffered in memory (at most `config.memory_bytes`; more are read back from the journal, which
/// is the spool),
/// delivered in batches to `POST /api/jobs/{id}/logs`, retried until acknowledged. A
/// `cancel_requested` acknowledgement cancels `on_cancel_requested`; so does the end of the job
/// on the server (which also fires [`LogPipeline::ended`]).
///
/// Call [`Outbox::job_started`] first. If the journal cannot be created the pipeline still
/// works, from memory only (and says so in the worker's log). Must be called within a Tokio
/// runtime.
pub fn start(
    job_id: Uuid,
    api: Arc<WorkerApiClient>,
    redactor: Redactor,
    outbox: &Outbox,
    config: LogConfig,
    on_cancel_requested: CancellationToken,
) -> LogPipeline {
    let config = config.clamped();
    let dir = outbox.job_dir(job_id);
    let journal = journal::JournalWriter::create(&dir).map_err(|e| {
        tracing::error!(%job_id, dir = %dir.display(), error = %e,
            "cannot create the log journal; lines will only be kept in memory");
        e.to_string()
    });
    let journal_path = journal.as_ref().ok().map(|j| j.path().to_owned());
    let bounds = Bounds {
        memory_bytes: config.memory_bytes,
        max_memory_bytes: config.max_memory_bytes,
    };
    let shared = Arc::new(Shared {
        buffer: Mutex::new(Buffer::new(bounds, journal)),
        wake: Notify::new(),
        delivered: AtomicU64::new(0),
        rejected: Mutex::new(None),
        ended: JobEnded::default(),
        journal_path: journal_path.clone(),
        send_at_lines: config.send_at_lines,
        max_batch_bytes: config.max_batch_bytes,
    });
    outbox.attach_log(job_id, &shared);
    let finish_timeout = config.finish_timeout;
    let delivery = Delivery {
        shared: Arc::clone(&shared),
        api,
        job_id,
        dir: journal_path.map(|_| dir),
        config,
        on_cancel_requested,
    };
    let task = tokio::spawn(delivery.run());
    LogPipeline {
        job_id,
        shared,
        redactor,
        task: Some(task),
        finish_timeout,
    }
}

impl LogPipeline {
    /// The sink to hand to the job (non-blocking: it never waits for the network).
    pub fn sink(&self) -> Arc<dyn LogSink> {
        Arc::new(PipelineSink {
            shared: Arc::clone(&self.shared),
            redactor: self.redactor.clone(),
        })
    }

    /// The job this pipeline belongs to.
    pub fn job_id(&self) -> Uuid {
        self.job_id
    }

    /// Fired when Trellis says the job ended on its side while this worker still runs it.
    pub fn ended(&self) -> JobEnded {
        self.shared.ended.clone()
    }

    /// Current counters.
    pub fn stats(&self) -> LogStats {
        self.shared.stats()
    }

    /// Stops waiting for more lines, delivers everything pending (retrying while Trellis is
    /// unreachable), until `deadline` — by default `finish_timeout` from now — then returns.
    /// Lines not delivered by then stay in the outbox for [`Outbox::recover`] when the journal
    /// holds them. Lines handed to a sink after this call are still journaled but not sent by
    /// this pipeline.
    pub async fn finish(mut self, deadline: Option<Instant>) -> LogSummary {
        self.shared.close();
        let deadline = deadline.unwrap_or_else(|| Instant::now() + self.finish_timeout);
        let mut timed_out = false;
        let stop = match self.task.take() {
            Some(mut task) => {
                let res = tokio::time::timeout_at(deadline, &mut task).await.ok();
                if res.is_none() {
                    tracing::warn!(job_id = %self.job_id, "log delivery still going on at its deadline; giving up");
                    timed_out = true;
                    task.abort();
                }
                match res {
                    Some(Ok(stop)) => Some(stop),
                    Some(Err(e)) => {
                        tracing::error!(job_id = %self.job_id, error = %e, "log delivery task failed");
                        None
                    }
                    None => None,
                }
            }
            None => None,
        };
        if let Err(e) = Arc::clone(&self.shared).sync_journal_blocking().await {
            tracing::warn!(job_id = %self.job_id, error = %e, "cannot sync the log journal");
        }
        let stats = self.shared.stats();
        let journal_error = self.shared.lock().journal_error().map(str::to_owned);
        let rejected = self
            .shared
            .rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        LogSummary {
            lines: stats.lines_accepted,
            lines_delivered: stats.lines_delivered,
            lines_spilled: stats.lines_spilled,
            delivered_all: stop == Some(Stop::Drained) && stats.backlog == 0,
            lines_dropped: stats.lines_dropped,
            rejected,
            timed_out,
            journal_error,
        }
    }
}

impl Drop for LogPipeline {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            self.shared.close();
            task.abort();
        }
    }
}
