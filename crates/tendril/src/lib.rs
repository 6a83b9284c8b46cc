//! # Tendril — the Vintner worker
//!
//! A worker registers with Trellis (or reuses its id and token), heartbeats, claims one job
//! at a time, runs it with the shared provisioning core (`grape-provisioner`), streams its log
//! and reports its outcome; on SIGINT/SIGTERM it drains.
//!
//! ## Entry points
//! - [`StartArgs`]: the clap flags (each with its environment variable, see [`ENV_VARS`]) of
//!   `tendril start` and `grape worker start`.
//! - [`start`]: validates the flags, sets up logging, runs the worker and returns the exit code
//!   (0 after a drain, 2 for a configuration error, 1 otherwise — e.g. Trellis refused the
//!   worker's credentials: it was deleted or its token revoked).
//! - [`run`] / [`run_with_handlers`]: the worker itself, for callers with their own logging.
//! - [`handlers`]: the job handlers a worker offers (its [`HandlerRegistry`]).
//!
//! ## Lifecycle (`runtime`)
//! prepare (state and work directories, credentials, outbox recovery before any claim) →
//! heartbeat task + claim loop → select over signals. First signal: DRAINING (no new claims, an
//! in-flight long-poll claim is aborted, a DRAINING heartbeat at once), the running job may
//! finish within the grace period, then it is cancelled; second signal: cancel it now; third:
//! exit at once. Then a final OFFLINE heartbeat and exit 0.
//!
//! ## Job execution (`executor`)
//! Outbox entry → private workspace (0700) → RUNNING → the handler in its own task (a panic
//! becomes FAILED) → final status journaled → log delivered → status reported → outbox entry
//! cleared → workspace removed. Errors and results pass through the job's redactor, which knows
//! the worker's token, the S3 keys, the Infracost key and every secret-named environment value.
#![warn(missing_docs)]

mod claim;
pub mod config;
pub mod credentials;
mod executor;
mod health;
mod heartbeat;
pub mod logs;
mod metrics;
pub mod outbox;
mod runtime;
mod services;
mod signals;
mod state;

use std::process::ExitCode;

pub use config::{Config, ConfigError, ENV_VARS, EnvVar, LogFormat, StartArgs};
use grape_api::JobType;
use grape_provisioner::HandlerRegistry;
use grape_provisioner::handlers::{
    ApplyHandler, BootstrapHandler, DestroyHandler, DiscoveryHandler, ExecHandler, PlanHandler,
};
pub use metrics::Outcome;
pub use runtime::{RuntimeError, run_with_handlers, run_with_signals};
pub use services::TrellisServices;
pub use signals::Shutdown;

/// The job handlers of a worker with `config`: PLAN, APPLY, DESTROY, BOOTSTRAP, CONNECTION_TEST and
/// FETCH_RESOURCES always; EXEC only with `--enable-exec`; the worker jobs only with platform
/// settings (`--enable-worker-jobs`).
pub fn handlers(config: &Config) -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry
        .register(JobType::Plan, PlanHandler)
        .register(JobType::Apply, ApplyHandler)
        .register(JobType::Destroy, DestroyHandler)
        .register(JobType::Bootstrap, BootstrapHandler)
        .register(JobType::ConnectionTest, DiscoveryHandler::connection_test())
        .register(JobType::FetchResources, DiscoveryHandler::fetch_resources());
    if config.enable_exec {
        registry.register(JobType::Exec, ExecHandler);
    }
    #[cfg(feature = "worker-jobs")]
    register_worker_jobs(config, &mut registry);
    registry
}

/// DEPLOY_WORKER, UPDATE_WORKER and DESTROY_WORKER, when the worker has platform settings
/// (`--enable-worker-jobs` with the admin token): a worker advertises only what it can run.
#[cfg(feature = "worker-jobs")]
fn register_worker_jobs(config: &Config, registry: &mut HandlerRegistry) {
    use grape_provisioner::handlers::{
        DeployWorkerHandler, DestroyWorkerHandler, UpdateWorkerHandler,
    };
    if config.platform.is_some() {
        registry
            .register(JobType::DeployWorker, DeployWorkerHandler)
            .register(JobType::UpdateWorker, UpdateWorkerHandler)
            .register(JobType::DestroyWorker, DestroyWorkerHandler);
    }
}

/// Runs a worker with [`handlers`]`(&config)` until a shutdown signal has been handled.
pub async fn run(config: Config) -> Result<(), RuntimeError> {
    let registry = handlers(&config);
    run_with_handlers(config, registry).await
}

/// Installs the `tracing` subscriber of the worker's own logs on stderr (`RUST_LOG` filters,
/// default `info`). Does nothing if one is installed already.
pub fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}

/// `tendril start` / `grape worker start`: validates `args` (a problem is one line on stderr
/// naming the variable, exit 2), installs logging, runs the worker; exit 0 after a drain.
pub async fn start(args: StartArgs) -> ExitCode {
    let config = match args.validate() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tendril: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.log_format);
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "tendril stopped");
            eprintln!("tendril: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// The host name (for the worker's info and its log lines).
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}
