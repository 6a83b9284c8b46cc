//! The worker's lifecycle: prepare (directories, credentials, outbox) → start the heartbeat
//! task and the claim loop → select over signals → drain → final OFFLINE heartbeat. A 401 on
//! the worker's calls (deleted or revoked) cancels the running job and ends the run with
//! [`RuntimeError::Revoked`] (exit 1).

use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use grape_api::{ApiError, ClientOptions, RegisterRequest, Secret, WorkerApiClient, WorkerInfo};
use grape_process::is_secret_env_name;
use grape_provisioner::HandlerRegistry;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigError, WorkerCredentials, var};
use crate::credentials::{self, CredentialsError};
use crate::executor::Executor;
use crate::health::MetricsAccess;
use crate::logs::LogConfig;
use crate::outbox::{Outbox, OutboxError};
use crate::signals::{self, Shutdown};
use crate::state::WorkerState;
use crate::{claim, health, heartbeat};

/// Why the worker could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A setting is missing or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No worker id/token, no stored credentials and no `--register`.
    #[error(
        "GRAPE_WORKER_ID and GRAPE_WORKER_TOKEN are not set and {} holds no credentials for this \
         Trellis: set them, or pass --register NAME with TRELLIS_ADMIN_TOKEN",
        path.display()
    )]
    NoCredentials {
        /// The credentials file looked at.
        path: PathBuf,
    },
    /// The state or work directory cannot be created.
    #[error("cannot create the {what} directory {}: {source}", path.display())]
    Dir {
        /// `state` or `work`.
        what: &'static str,
        /// The directory.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// `--register` failed.
    #[error("cannot register the worker: {0}")]
    Register(#[source] ApiError),
    /// The credentials file cannot be read or written.
    #[error("credentials: {0}")]
    Credentials(#[from] CredentialsError),
    /// The Trellis client cannot be built.
    #[error("cannot set up the Trellis client: {0}")]
    Client(#[source] ApiError),
    /// The outbox cannot be opened.
    #[error("cannot open the outbox: {0}")]
    Outbox(#[source] OutboxError),
    /// `--listen` or `--metrics-listen` cannot be bound.
    #[error("cannot listen on {addr} ({var}): {source}")]
    Listen {
        /// The variable of the address.
        var: &'static str,
        /// The address.
        addr: std::net::SocketAddr,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The signal handlers cannot be installed.
    #[error("cannot install the signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    /// Trellis refused the worker's credentials (401): it was deleted or its token revoked.
    #[error("{0}")]
    Revoked(String),
    /// A task of the worker failed (a bug).
    #[error("the claim loop failed: {0}")]
    Internal(String),
}

impl RuntimeError {
    /// The process exit code for this error: 2 for configuration problems, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            RuntimeError::Config(_) | RuntimeError::NoCredentials { .. } => 2,
            _ => 1,
        }
    }
}

/// How long a worker whose credentials were refused waits for its cancelled job to end.
const REVOKED_JOB_DEADLINE: Duration = Duration::from_secs(30);

fn create_dir(what: &'static str, path: &Path) -> Result<(), RuntimeError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| RuntimeError::Dir {
            what,
            path: path.to_owned(),
            source,
        })
}

/// Removes the job workspaces (directories named by a job id) a crashed run left in `work_dir`:
/// they may hold a job's files and credentials (gcloud's token, Azure's assertion). A finished
/// job's workspace is removed by the job itself; at start no job runs, so every one is stale.
/// Anything else in the directory is left alone. Returns how many were removed.
fn remove_crashed_workspaces(work_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(work_dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let is_workspace = entry.file_type().is_ok_and(|t| t.is_dir())
            && entry
                .file_name()
                .to_str()
                .is_some_and(|n| uuid::Uuid::parse_str(n).is_ok());
        if !is_workspace {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => removed += 1,
            Err(e) => {
                tracing::warn!(workspace = %path.display(), error = %e, "cannot remove a workspace left by a crashed run");
            }
        }
    }
    removed
}

/// Id and token: given, stored by an earlier `--register`, or obtained by registering now.
async fn resolve_credentials(config: &Config) -> Result<WorkerCredentials, RuntimeError> {
    if let Some(c) = &config.credentials {
        return Ok(c.clone());
    }
    if let Some(c) = credentials::load(&config.state_dir, &config.trellis_url)? {
        tracing::info!(worker_id = %c.id, "using the credentials stored by an earlier registration");
        return Ok(c);
    }
    let Some(reg) = &config.register else {
        return Err(RuntimeError::NoCredentials {
            path: config.state_dir.join(credentials::CREDENTIALS_FILE),
        });
    };
    let request = RegisterRequest {
        name: reg.name.clone(),
        mode: config.mode.clone(),
        labels: reg.labels.clone(),
        team: reg.team.clone(),
    };
    let answer = WorkerApiClient::register(
        &config.trellis_url,
        reg.admin_token.clone(),
        &request,
        ClientOptions::default(),
    )
    .await
    .map_err(RuntimeError::Register)?;
    let creds = WorkerCredentials {
        id: answer.worker_id,
        token: answer.worker_token,
    };
    credentials::store(&config.state_dir, &config.trellis_url, &reg.name, &creds)?;
    println!("registered worker {}: id {}", reg.name, creds.id);
    tracing::info!(
        worker_id = %creds.id,
        path = %config.state_dir.join(credentials::CREDENTIALS_FILE).display(),
        "registered; id and token stored"
    );
    Ok(creds)
}

/// Values of this process's environment variables whose names mark secrets.
fn env_secrets() -> Vec<Secret> {
    std::env::vars_os()
        .filter(|(name, _)| is_secret_env_name(&name.to_string_lossy()))
        .map(|(_, value)| Secret::new(value.to_string_lossy()))
        .collect()
}

/// Runs a worker with `registry` until a SIGINT/SIGTERM has been handled; `Ok` is exit 0.
pub async fn run_with_handlers(
    config: Config,
    registry: HandlerRegistry,
) -> Result<(), RuntimeError> {
    let signals = signals::listen().map_err(RuntimeError::Signals)?;
    run_with_signals(config, registry, signals).await
}

/// Runs a worker with `registry`, taking its shutdown requests from `signals` instead of the
/// process's signals (for embedding: the caller maps its own events to [`Shutdown`]). A
/// closed channel means [`Shutdown::Quit`].
pub async fn run_with_signals(
    config: Config,
    registry: HandlerRegistry,
    mut signals: tokio::sync::mpsc::UnboundedReceiver<Shutdown>,
) -> Result<(), RuntimeError> {
    create_dir("state", &config.state_dir)?;
    create_dir("work", &config.work_dir)?;
    let left_behind = remove_crashed_workspaces(&config.work_dir);
    if left_behind > 0 {
        tracing::warn!(
            count = left_behind,
            work_dir = %config.work_dir.display(),
            "removed job workspaces left by a crashed run"
        );
    }
    let creds = resolve_credentials(&config).await?;
    let api = Arc::new(
        WorkerApiClient::new(
            &config.trellis_url,
            creds.id,
            creds.token.clone(),
            ClientOptions::default(),
        )
        .map_err(RuntimeError::Client)?,
    );
    let outbox = Outbox::open(&config.state_dir).map_err(RuntimeError::Outbox)?;
    let state = Arc::new(WorkerState::new());
    let timings = config.timings;
    let stop_aux = CancellationToken::new();
    let mut aux_tasks = Vec::new();
    let servers = [
        (
            var::TENDRIL_LISTEN,
            config.listen,
            MetricsAccess::bearer(config.metrics_token.as_ref()),
        ),
        (
            var::TENDRIL_METRICS_LISTEN,
            config.metrics_listen,
            MetricsAccess::Open,
        ),
    ];
    for (var, addr, metrics) in servers {
        let Some(addr) = addr else { continue };
        let window = claim::liveness_window(&timings);
        let (local, task) = health::serve(addr, state.clone(), window, metrics, stop_aux.clone())
            .await
            .map_err(|source| RuntimeError::Listen { var, addr, source })?;
        tracing::info!(addr = %local, setting = var, "serving /healthz and /metrics");
        aux_tasks.push(task);
    }
    let mut secrets = config.secrets();
    secrets.push(creds.token.clone());
    secrets.extend(env_secrets());
    let info = WorkerInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        hostname: crate::hostname(),
        mode: config.mode.clone(),
        job_types: registry.job_types(),
    };
    tracing::info!(
        worker_id = %creds.id,
        trellis = %config.trellis_url,
        job_types = ?info.job_types,
        state_dir = %config.state_dir.display(),
        "tendril starting"
    );
    let executor = Arc::new(Executor {
        api: api.clone(),
        registry,
        outbox,
        state: state.clone(),
        settings: Arc::new(config.provisioner_settings()),
        work_dir: config.work_dir.clone(),
        secrets,
        log_config: LogConfig {
            finish_timeout: timings.log_finish_timeout,
            ..LogConfig::default()
        },
        retry: claim::error_backoff(&timings),
    });
    let heartbeat_task = tokio::spawn(heartbeat::run(
        api.clone(),
        state.clone(),
        timings.heartbeat_interval,
        info,
        stop_aux.clone(),
    ));
    let mut claim_task = tokio::spawn(claim::run(executor, timings));

    let mut grace_deadline: Option<Instant> = None;
    let ended = loop {
        let grace = async {
            match grace_deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = &mut claim_task => break match state.revoked_reason() {
                // The claim loop ended because the credentials were refused.
                Some(reason) => Err(RuntimeError::Revoked(reason.to_owned())),
                None => r.map_err(|e| RuntimeError::Internal(e.to_string())),
            },
            () = state.revoked.cancelled() => {
                let reason = state.revoked_reason().unwrap_or("Trellis refused this worker's credentials").to_owned();
                tracing::error!(reason = %reason, "stopping: the running job (if any) is cancelled; nothing more can be reported");
                state.drain.cancel();
                state.cancel_jobs.cancel();
                if tokio::time::timeout(REVOKED_JOB_DEADLINE, &mut claim_task).await.is_err() {
                    claim_task.abort();
                }
                break Err(RuntimeError::Revoked(reason));
            }
            signal = signals.recv() => match signal.unwrap_or(Shutdown::Quit) {
                Shutdown::Drain => {
                    if !state.drain.is_cancelled() {
                        tracing::info!(grace = ?timings.grace_period, "draining: no new jobs; the running job may finish");
                        state.drain.cancel();
                        state.heartbeat_now.notify_one();
                        grace_deadline = Some(Instant::now() + timings.grace_period);
                    }
                }
                Shutdown::CancelJob => {
                    tracing::info!("second signal: cancelling the running job");
                    state.drain.cancel();
                    state.heartbeat_now.notify_one();
                    state.cancel_jobs.cancel();
                    grace_deadline = None;
                }
                Shutdown::Quit => {
                    tracing::warn!("third signal: exiting now; the outbox keeps what was not reported");
                    claim_task.abort();
                    break Ok(());
                }
            },
            () = grace => {
                tracing::info!("grace period over: cancelling the running job");
                state.cancel_jobs.cancel();
                grace_deadline = None;
            }
        }
    };
    stop_aux.cancel();
    let _ = heartbeat_task.await;
    if !state.revoked.is_cancelled() {
        heartbeat::send_offline(
            &api,
            &state,
            timings
                .heartbeat_interval
                .clamp(Duration::from_secs(1), Duration::from_secs(10)),
        )
        .await;
    }
    for task in aux_tasks {
        let _ = task.await;
    }
    tracing::info!("tendril stopped");
    ended
}

#[cfg(test)]
mod tests {
    use super::remove_crashed_workspaces;

    #[test]
    fn only_job_workspaces_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(uuid::Uuid::new_v4().to_string());
        std::fs::create_dir_all(stale.join(".vintner")).unwrap();
        std::fs::write(stale.join(".vintner/gcp-access-token"), "ya29.left-behind").unwrap();
        let other = dir.path().join("plugin-cache");
        std::fs::create_dir(&other).unwrap();
        let file = dir.path().join(uuid::Uuid::new_v4().to_string());
        std::fs::write(&file, "not a directory").unwrap();
        assert_eq!(remove_crashed_workspaces(dir.path()), 1);
        assert!(!stale.exists());
        assert!(other.exists() && file.exists());
        assert_eq!(remove_crashed_workspaces(&dir.path().join("absent")), 0);
    }
}
