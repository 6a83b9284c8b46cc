//! `trellis serve`: the reference Trellis server.

use clap::{Parser, Subcommand};
use grape_api::{Secret, SecretSetting};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use trellis::{Server, ServerConfig, auth::generate_token, shutdown_signal};

#[derive(Debug, Parser)]
#[command(
    name = "trellis",
    version,
    about = "The Vintner control plane (reference server)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API.
    Serve(Box<ServeArgs>),
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Secrets come from the environment or from a file, never from the command line:
  TRELLIS_ADMIN_TOKEN    or --admin-token-file PATH    (required; --dev generates it)
  TRELLIS_API_TOKEN      or --api-token-file PATH      (required; --dev generates it)
  TRELLIS_METRICS_TOKEN  or --metrics-token-file PATH  (bearer of /metrics on --listen; the admin token works too)
A file is read as is, less one trailing newline."
)]
struct ServeArgs {
    /// Address to listen on (port 0: a free port).
    #[arg(long, default_value = "127.0.0.1:8080", env = "TRELLIS_LISTEN")]
    listen: SocketAddr,
    /// sqlite://PATH (created with its schema if missing) or postgres://…
    #[arg(
        long,
        default_value = "sqlite://trellis.db",
        env = "TRELLIS_DATABASE_URL"
    )]
    database_url: String,
    /// A worker without a heartbeat for this long is OFFLINE.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    worker_offline_after: Duration,
    /// A RUNNING job of an OFFLINE worker without log or heartbeat for this long fails (`worker lost`).
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    job_stale_after: Duration,
    /// How often the sweeper runs.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    sweep_interval: Duration,
    /// A CLAIMED job its worker neither started nor named in a heartbeat for this long after
    /// the claim is requeued at the worker's next heartbeat (the claim's answer was lost).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    claim_ack_timeout: Duration,
    /// After SIGINT/SIGTERM, requests in flight get this long to finish; then open connections
    /// (long-polls, log streams, slow clients) are dropped and the process exits.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, env = "TRELLIS_SHUTDOWN_TIMEOUT")]
    shutdown_timeout: Duration,
    /// A QUEUED job no online worker offers its type (for its team) fails after this long:
    /// `expired: no worker offers TYPE`.
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration, env = "TRELLIS_QUEUE_TTL")]
    queue_ttl: Duration,
    /// Log batches of an ended job are accepted from its worker for this long after it ended,
    /// then answered 409 (at least --job-stale-after; default: --job-stale-after + 5m for the
    /// worker's outbox replay).
    #[arg(long, value_parser = humantime::parse_duration)]
    log_tail_window: Option<Duration>,
    /// A web console session (sign-in at `/` with an API token) ends this long after its
    /// sign-in, or before: on sign-out, or when its token is revoked or rotated.
    #[arg(long, default_value = "12h", value_parser = humantime::parse_duration, env = "TRELLIS_CONSOLE_SESSION_TTL")]
    console_session_ttl: Duration,
    /// An `Idempotency-Key` (of a submit, retry or registration) answers its first request's
    /// resource for this long; then the sweeper deletes it.
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration, env = "TRELLIS_IDEMPOTENCY_KEY_TTL")]
    idempotency_key_ttl: Duration,
    /// Generate the tokens when they are not set, and print them (development only).
    #[arg(long)]
    dev: bool,
    /// Also serve /metrics (and /healthz) here, without a token: bind it to a private
    /// interface. On --listen, /metrics always needs a bearer token.
    #[arg(long, env = "TRELLIS_METRICS_LISTEN", value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// File holding the admin token (register/delete workers) [else: TRELLIS_ADMIN_TOKEN].
    #[arg(long, value_name = "PATH")]
    admin_token_file: Option<PathBuf>,
    /// File holding the user API token [else: TRELLIS_API_TOKEN].
    #[arg(long, value_name = "PATH")]
    api_token_file: Option<PathBuf>,
    /// File holding the bearer token of /metrics on --listen (the admin token works too)
    /// [else: TRELLIS_METRICS_TOKEN].
    #[arg(long, value_name = "PATH")]
    metrics_token_file: Option<PathBuf>,
    /// Refused: a secret is never taken from the command line.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "", value_parser = secret)]
    admin_token: Option<Secret>,
    /// Refused: a secret is never taken from the command line.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "", value_parser = secret)]
    api_token: Option<Secret>,
    /// Refused: a secret is never taken from the command line.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "", value_parser = secret)]
    metrics_token: Option<Secret>,
}

const ADMIN_TOKEN: SecretSetting =
    SecretSetting::new("TRELLIS_ADMIN_TOKEN", "--admin-token-file", "--admin-token");
const API_TOKEN: SecretSetting =
    SecretSetting::new("TRELLIS_API_TOKEN", "--api-token-file", "--api-token");
const METRICS_TOKEN: SecretSetting = SecretSetting::new(
    "TRELLIS_METRICS_TOKEN",
    "--metrics-token-file",
    "--metrics-token",
);

#[allow(clippy::unnecessary_wraps)] // clap's value_parser needs a Result
fn secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(s))
}

/// A required token: from its variable or file, else generated with `--dev`.
fn token(
    setting: SecretSetting,
    flag: Option<&Secret>,
    file: Option<&Path>,
    dev: bool,
) -> Result<Secret, String> {
    match setting
        .from_env(flag.is_some(), file)
        .map_err(|e| e.to_string())?
    {
        Some(t) => Ok(t),
        None if dev => {
            let t = generate_token();
            println!("{}={t}", setting.var);
            Ok(Secret::new(t))
        }
        None => Err(format!(
            "{} is not set: export it, pass {} PATH (or run with --dev to generate one)",
            setting.var, setting.file_flag
        )),
    }
}

/// The configuration, or the one-line problem (exit 2).
fn config(args: ServeArgs) -> Result<ServerConfig, String> {
    let given = [
        (ADMIN_TOKEN, &args.admin_token),
        (API_TOKEN, &args.api_token),
        (METRICS_TOKEN, &args.metrics_token),
    ];
    if let Some((setting, _)) = given.iter().find(|(_, value)| value.is_some()) {
        return Err(setting.refused().to_string());
    }
    let metrics_token = METRICS_TOKEN
        .from_env(
            args.metrics_token.is_some(),
            args.metrics_token_file.as_deref(),
        )
        .map_err(|e| e.to_string())?;
    let admin = token(
        ADMIN_TOKEN,
        args.admin_token.as_ref(),
        args.admin_token_file.as_deref(),
        args.dev,
    )?;
    let api = token(
        API_TOKEN,
        args.api_token.as_ref(),
        args.api_token_file.as_deref(),
        args.dev,
    )?;
    let mut config = ServerConfig::new(args.database_url, admin, api);
    config.listen = args.listen;
    config.metrics_listen = args.metrics_listen;
    config.metrics_token = metrics_token;
    config.worker_offline_after = args.worker_offline_after;
    config.job_stale_after = args.job_stale_after;
    config.sweep_interval = args.sweep_interval;
    config.claim_ack_timeout = args.claim_ack_timeout;
    config.log_tail_window = args.log_tail_window;
    config.shutdown_timeout = args.shutdown_timeout;
    config.queue_ttl = args.queue_ttl;
    config.console_session_ttl = args.console_session_ttl;
    config.idempotency_key_ttl = args.idempotency_key_ttl;
    Ok(config)
}

async fn serve(config: ServerConfig) -> Result<(), String> {
    let server = Server::bind(config).await.map_err(|e| e.to_string())?;
    if let Some(addr) = server.metrics_addr() {
        println!("trellis metrics listening on http://{addr}");
    }
    println!("trellis listening on http://{}", server.local_addr());
    tracing::info!(
        "web console on http://{}/ (sign in with an API token)",
        server.local_addr()
    );
    server
        .run(shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("trellis stopped");
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve(args) = Cli::parse().command;
    let config = match config(*args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(serve(config));
    // Tasks of connections dropped at the shutdown deadline must not hold the exit up.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
