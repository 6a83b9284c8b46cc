//! Runs one claimed job: outbox entry, private workspace, RUNNING, the handler (panics caught),
//! then the end-of-job order: final status journaled → log delivered → status reported →
//! outbox entry done → workspace removed. A job Trellis ended on its side meanwhile (log ack
//! with a final status, heartbeat `abandoned_job_ids`) is abandoned: its tools are cancelled,
//! nothing more is reported, and its journal is dropped.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use grape_api::{
    ApiError, ClaimedJob, Job, JobSecrets, JobStatus, RetryPolicy, Secret, StatusUpdate,
    WorkerApiClient,
};
use grape_process::Redactor;
use grape_provisioner::{HandlerRegistry, JobContext, JobError, JobLog, ProvisionerSettings};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::logs::{self, JobEnded, LogConfig, LogPipeline};
use crate::metrics::Outcome;
use crate::outbox::Outbox;
use crate::services::TrellisServices;
use crate::state::WorkerState;

/// Everything needed to run jobs; one per worker.
#[derive(Debug)]
pub(crate) struct Executor {
    pub api: Arc<WorkerApiClient>,
    pub registry: HandlerRegistry,
    pub outbox: Outbox,
    pub state: Arc<WorkerState>,
    pub settings: Arc<ProvisionerSettings>,
    pub work_dir: PathBuf,
    /// Seeds every job's redactor: the worker's token, S3 keys, Infracost key, and the values
    /// of the worker's environment variables with secret names.
    pub secrets: Vec<Secret>,
    pub log_config: LogConfig,
    /// Backoff of status updates that fail transiently.
    pub retry: RetryPolicy,
}

/// What setting a job RUNNING came to.
enum Start {
    /// It is RUNNING: run the handler.
    Running,
    /// It was cancelled before it started (user cancel, shutdown).
    Cancelled,
    /// The job is not ours to run any more (already terminal, requeued, deleted).
    Gone(String),
}

impl Executor {
    /// Runs `claimed` to its end; never fails (every problem becomes the job's FAILED reason).
    pub async fn run(&self, claimed: ClaimedJob) {
        let ClaimedJob { job, secrets } = claimed;
        let span = tracing::info_span!("job", job_id = %job.id, job_type = %job.job_type);
        self.run_inner(job, secrets).instrument(span).await;
    }

    /// The worker's own secrets and every value of the job's.
    fn redactor(&self, job_secrets: &JobSecrets) -> Redactor {
        let redactor = Redactor::new();
        for s in self.secrets.iter().chain(job_secrets.values()) {
            redactor.add(s.expose());
        }
        redactor
    }

    async fn run_inner(&self, job: Job, secrets: JobSecrets) {
        let started = Instant::now();
        let id = job.id;
        tracing::info!("job claimed");
        // The loop is alive while the job runs, its log drains or its status is retried.
        let state = self.state.clone();
        let ticker = AbortOnDrop(tokio::spawn(async move {
            loop {
                state.tick();
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }));
        let cancel = self.state.job_token();
        let outbox = self.outbox.clone();
        if let Err(e) = blocking(move || outbox.job_started(id)).await {
            tracing::error!(error = %e, "cannot journal the job in the outbox");
        }
        let redactor = self.redactor(&secrets);
        let workspace = self.work_dir.join(id.to_string());
        let prepared = prepare_dir(&workspace);
        let pipeline = logs::start(
            id,
            self.api.clone(),
            redactor.clone(),
            &self.outbox,
            self.log_config.clone(),
            cancel.clone(),
        );
        // Fired when Trellis says the job ended on its side (log ack, heartbeat).
        let ended = pipeline.ended();
        self.state.set_current(id, cancel.clone(), ended.clone());
        let log = JobLog::new(pipeline.sink());
        let update = match prepared {
            Err(e) => Some(StatusUpdate::failed(format!(
                "cannot create the job workspace {}: {e}",
                workspace.display()
            ))),
            Ok(()) => match self.mark_running(id, &cancel).await {
                Start::Running => {
                    tracing::info!("job running");
                    Some(
                        self.run_handler(
                            ClaimedJob { job, secrets },
                            log.clone(),
                            &cancel,
                            workspace.clone(),
                            &redactor,
                            &pipeline,
                        )
                        .await,
                    )
                }
                Start::Cancelled => Some(StatusUpdate::cancelled()),
                Start::Gone(why) => {
                    tracing::warn!(reason = %why, "job is no longer ours; not running it");
                    None
                }
            },
        };
        let update = update.filter(|_| !ended.is_fired());
        let mut keep_journal = false;
        if let Some(mut update) = update {
            if let Some(error) = &update.error {
                update.error = Some(redactor.redact(error).into_owned());
                log.system(format!(
                    "job failed: {}",
                    update.error.as_deref().unwrap_or_default()
                ));
            }
            if let Some(result) = &mut update.result {
                redactor.redact_json(result);
            }
            let (outbox, journaled) = (self.outbox.clone(), update.clone());
            if let Err(e) = blocking(move || outbox.record_final_status(id, &journaled)).await {
                tracing::error!(error = %e, "cannot journal the final status in the outbox");
            }
            drop(log);
            let summary = pipeline.finish(None).await;
            self.state.metrics.log_finished(summary.lines_delivered);
            if !summary.delivered_all {
                tracing::warn!(
                    lines = summary.lines,
                    delivered = summary.lines_delivered,
                    dropped = summary.lines_dropped,
                    rejected = summary.rejected.as_deref(),
                    timed_out = summary.timed_out,
                    journal_error = summary.journal_error.as_deref(),
                    "log not fully delivered"
                );
            }
            // Lines still owed and held by a healthy journal stay in the outbox: the next start
            // delivers them (Trellis takes late lines within its tail window).
            keep_journal = summary.timed_out
                && summary.rejected.is_none()
                && summary.journal_error.is_none()
                && !ended.is_fired();
            if ended.is_fired() {
                abandoned(&ended, &update);
            } else {
                self.report_final(id, &update).await;
                let outcome = match update.status {
                    JobStatus::Success => Outcome::Success,
                    JobStatus::Cancelled => Outcome::Cancelled,
                    _ => Outcome::Failed,
                };
                self.state.metrics.job_finished(outcome, started.elapsed());
                tracing::info!(status = %update.status, error = update.error.as_deref(), elapsed = ?started.elapsed(), "job ended");
            }
        } else if ended.is_fired() {
            // Nothing more goes to Trellis: the delivery task stops now.
            drop(log);
            drop(pipeline);
            tracing::warn!(
                reason = ended.reason(),
                "the job ended on the server: stopped it; reporting nothing more and dropping its journal"
            );
        } else {
            drop(log);
            let summary = pipeline.finish(None).await;
            self.state.metrics.log_finished(summary.lines_delivered);
        }
        if keep_journal {
            tracing::warn!("the outbox keeps the job's undelivered log lines for the next start");
        } else {
            let outbox = self.outbox.clone();
            if let Err(e) = blocking(move || outbox.job_done(id)).await {
                tracing::error!(error = %e, "cannot clear the job from the outbox");
            }
        }
        self.state.clear_current();
        remove_dir(workspace).await;
        drop(ticker);
    }

    /// CLAIMED → RUNNING, retried while Trellis is unreachable.
    async fn mark_running(&self, id: Uuid, cancel: &CancellationToken) -> Start {
        let running = StatusUpdate::running();
        let mut attempt = 0;
        loop {
            let sent = tokio::select! {
                r = self.api.update_job_status(id, &running) => r,
                () = cancel.cancelled() => return Start::Cancelled,
            };
            match sent {
                Ok(_) => return Start::Running,
                Err(e) if e.status() == Some(409) => {
                    return match e.current_status() {
                        Some(JobStatus::Running) => Start::Running,
                        Some(JobStatus::Cancelled) => {
                            Start::Gone("cancelled before it started".into())
                        }
                        _ => Start::Gone(e.to_string()),
                    };
                }
                Err(e) if e.is_retryable() => {
                    attempt += 1;
                    tracing::warn!(error = %e, "cannot set the job RUNNING; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(self.retry.backoff(attempt)) => {}
                        () = cancel.cancelled() => return Start::Cancelled,
                    }
                }
                Err(e) => return Start::Gone(e.to_string()),
            }
        }
    }

    async fn run_handler(
        &self,
        claimed: ClaimedJob,
        log: JobLog,
        cancel: &CancellationToken,
        workspace: PathBuf,
        redactor: &Redactor,
        pipeline: &LogPipeline,
    ) -> StatusUpdate {
        let ClaimedJob { job, secrets } = claimed;
        let Some(handler) = self.registry.get(&job.job_type) else {
            let offered: Vec<String> = self
                .registry
                .job_types()
                .iter()
                .map(ToString::to_string)
                .collect();
            return StatusUpdate::failed(format!(
                "unknown job type {}: this worker runs {}",
                job.job_type,
                if offered.is_empty() {
                    "no job types".to_owned()
                } else {
                    offered.join(", ")
                }
            ));
        };
        log.system(format!(
            "tendril {} on {} runs {} job {}",
            env!("CARGO_PKG_VERSION"),
            crate::hostname(),
            job.job_type,
            job.id
        ));
        // The spec's "assume cloud credentials" step: before any tool runs, and every minted
        // secret goes to the redactor first.
        let cloud = match grape_provisioner::cloud::open_session(
            &job,
            &self.settings,
            redactor,
            &log,
        )
        .await
        {
            Ok(Some(session)) => {
                log.system("assumed the job's cloud identity");
                Some(session)
            }
            Ok(None) => None,
            Err(e) => {
                return StatusUpdate::failed(format!(
                    "cannot assume the job's cloud identity: {e}"
                ));
            }
        };
        let ctx = JobContext {
            job,
            log,
            cancel: cancel.clone(),
            workspace,
            redactor: redactor.clone(),
            secrets,
            services: Arc::new(TrellisServices::new(self.api.clone(), redactor.clone())),
            settings: self.settings.clone(),
            cloud,
        };
        let mut task = tokio::spawn(async move { handler.run(&ctx).await });
        let mut ticker = tokio::time::interval(Duration::from_millis(500));
        let joined = loop {
            tokio::select! {
                r = &mut task => break r,
                _ = ticker.tick() => {
                    let stats = pipeline.stats();
                    self.state.metrics.log_progress(stats.lines_delivered, stats.backlog);
                }
            }
        };
        match joined {
            Ok(Ok(result)) => StatusUpdate::success(result),
            Ok(Err(JobError::Cancelled)) => StatusUpdate::cancelled(),
            Ok(Err(e)) if cancel.is_cancelled() => {
                tracing::info!(error = %e, "job cancelled (handler ended with an error)");
                StatusUpdate::cancelled()
            }
            Ok(Err(e)) => StatusUpdate::failed(e.to_string()),
            Err(e) if e.is_panic() => {
                let panic = e.into_panic();
                let message = panic
                    .downcast_ref::<&str>()
                    .map(ToString::to_string)
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                StatusUpdate::failed(format!("the job handler panicked: {message}"))
            }
            Err(_) => StatusUpdate::failed("the job handler was aborted"),
        }
    }

    /// The final status, retried until Trellis acknowledges it. A 409 (the job already ended
    /// on the server, e.g. the sweeper failed it) and other refusals end the retries.
    async fn report_final(&self, id: Uuid, update: &StatusUpdate) {
        let mut attempt = 0;
        loop {
            match self.api.update_job_status(id, update).await {
                Ok(_) => return,
                Err(e) if e.status() == Some(409) => {
                    tracing::warn!(current = ?e.current_status(), "Trellis refused the final status: the job already ended");
                    return;
                }
                Err(e) if is_transient(&e) => {
                    attempt += 1;
                    tracing::warn!(error = %e, "cannot report the final status; retrying");
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "Trellis refused the final status; giving up");
                    return;
                }
            }
        }
    }
}

/// The job ended on the server while its end was being delivered: its status is not reported.
fn abandoned(ended: &JobEnded, update: &StatusUpdate) {
    tracing::warn!(reason = ended.reason(), unreported = %update.status,
        "the job ended on the server: not reporting its final status; dropping its journal");
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn is_transient(e: &ApiError) -> bool {
    e.is_retryable() || matches!(e, ApiError::Transport { .. })
}

mod files;
use files::{blocking, prepare_dir, remove_dir};

#[cfg(test)]
mod tests;
