//! `trellis serve`: the reference Trellis server.

use clap::{Parser, Subcommand};
use grape_api::Secret;
use std::net::SocketAddr;
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
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
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
    /// Log batches of an ended job are accepted from its worker for this long after it ended,
    /// then answered 409 (at least --job-stale-after; default: --job-stale-after + 5m for the
    /// worker's outbox replay).
    #[arg(long, value_parser = humantime::parse_duration)]
    log_tail_window: Option<Duration>,
    /// Generate the tokens when they are not set, and print them (development only).
    #[arg(long)]
    dev: bool,
    /// Token for registering and deleting workers.
    #[arg(long, env = "TRELLIS_ADMIN_TOKEN", hide_env_values = true, hide = true)]
    admin_token: Option<String>,
    /// Token of the user API.
    #[arg(long, env = "TRELLIS_API_TOKEN", hide_env_values = true, hide = true)]
    api_token: Option<String>,
}

fn token(value: Option<String>, dev: bool, name: &str) -> Result<Secret, String> {
    match value.filter(|v| !v.trim().is_empty()) {
        Some(v) => Ok(Secret::new(v)),
        None if dev => {
            let t = generate_token();
            println!("{name}={t}");
            Ok(Secret::new(t))
        }
        None => Err(format!(
            "{name} is not set: export it (or run with --dev to generate one)"
        )),
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let admin = token(args.admin_token, args.dev, "TRELLIS_ADMIN_TOKEN")?;
    let api = token(args.api_token, args.dev, "TRELLIS_API_TOKEN")?;
    let mut config = ServerConfig::new(args.database_url, admin, api);
    config.listen = args.listen;
    config.worker_offline_after = args.worker_offline_after;
    config.job_stale_after = args.job_stale_after;
    config.sweep_interval = args.sweep_interval;
    config.claim_ack_timeout = args.claim_ack_timeout;
    config.log_tail_window = args.log_tail_window;
    let server = Server::bind(config).await.map_err(|e| e.to_string())?;
    println!("trellis listening on http://{}", server.local_addr());
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
    let cli = Cli::parse();
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
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
