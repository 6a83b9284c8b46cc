//! The real Trellis server (the `trellis` binary of this workspace) on a free port.
//!
//! The binary is looked up in `TRELLIS_BIN`, then next to the test executable (`target/debug/
//! trellis`). `cargo nextest run --workspace` builds it; when running one package's tests only,
//! build it first with `cargo build -p trellis`.
//!
//! ```no_run
//! # async fn t() -> Result<(), grape_testkit::TestkitError> {
//! let trellis = grape_testkit::trellis::TrellisServer::start().await?;
//! let (worker_id, token) = trellis.register_worker("w1").await?;
//! let worker = trellis.worker_client(worker_id, token);
//! # Ok(()) }
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use grape_api::{
    ClientOptions, RegisterRequest, RetryPolicy, Secret, UserApiClient, WorkerApiClient, WorkerMode,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;
use uuid::Uuid;

use crate::{TestkitError, process};

const LISTEN_PREFIX: &str = "trellis listening on ";
const METRICS_LISTEN_PREFIX: &str = "trellis metrics listening on ";

/// Where the database lives.
#[derive(Debug, Clone)]
enum Database {
    /// A SQLite file in the server's temporary directory.
    SqliteTemp,
    /// A given URL (for example a [`crate::PgDatabase`]).
    Url(String),
}

/// Options of a [`TrellisServer`]; timings default to shrunken test values.
#[derive(Debug, Clone)]
pub struct TrellisBuilder {
    database: Database,
    worker_offline_after: Duration,
    job_stale_after: Duration,
    sweep_interval: Duration,
    claim_ack_timeout: Option<Duration>,
    metrics_listen: bool,
    log_tail_window: Option<Duration>,
    shutdown_timeout: Option<Duration>,
    queue_ttl: Option<Duration>,
    idempotency_key_ttl: Option<Duration>,
    startup_timeout: Duration,
}

impl Default for TrellisBuilder {
    fn default() -> Self {
        Self {
            database: Database::SqliteTemp,
            worker_offline_after: Duration::from_secs(60),
            job_stale_after: Duration::from_secs(300),
            sweep_interval: Duration::from_secs(1),
            claim_ack_timeout: None,
            metrics_listen: false,
            log_tail_window: None,
            shutdown_timeout: None,
            queue_ttl: None,
            idempotency_key_ttl: None,
            startup_timeout: Duration::from_secs(30),
        }
    }
}

impl TrellisBuilder {
    /// Uses this database URL (`postgres://…` or `sqlite://…`) instead of a temporary SQLite file.
    #[must_use]
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database = Database::Url(url.into());
        self
    }

    /// `--worker-offline-after`.
    #[must_use]
    pub fn worker_offline_after(mut self, d: Duration) -> Self {
        self.worker_offline_after = d;
        self
    }

    /// `--job-stale-after`.
    #[must_use]
    pub fn job_stale_after(mut self, d: Duration) -> Self {
        self.job_stale_after = d;
        self
    }

    /// `--sweep-interval`.
    #[must_use]
    pub fn sweep_interval(mut self, d: Duration) -> Self {
        self.sweep_interval = d;
        self
    }

    /// `--claim-ack-timeout` (the server's default when not set).
    #[must_use]
    pub fn claim_ack_timeout(mut self, d: Duration) -> Self {
        self.claim_ack_timeout = Some(d);
        self
    }

    /// `--metrics-listen` on a free port of 127.0.0.1 ([`TrellisServer::metrics_url`]).
    #[must_use]
    pub fn metrics_listen(mut self) -> Self {
        self.metrics_listen = true;
        self
    }

    /// `--log-tail-window` (the server's default, derived from `--job-stale-after`, when not set).
    #[must_use]
    pub fn log_tail_window(mut self, d: Duration) -> Self {
        self.log_tail_window = Some(d);
        self
    }

    /// `--shutdown-timeout` (the server's default, 30 s, when not set).
    #[must_use]
    pub fn shutdown_timeout(mut self, d: Duration) -> Self {
        self.shutdown_timeout = Some(d);
        self
    }

    /// `--queue-ttl` (the server's default, 24 h, when not set).
    #[must_use]
    pub fn queue_ttl(mut self, d: Duration) -> Self {
        self.queue_ttl = Some(d);
        self
    }

    /// `--idempotency-key-ttl` (the server's default, 24 h, when not set).
    #[must_use]
    pub fn idempotency_key_ttl(mut self, d: Duration) -> Self {
        self.idempotency_key_ttl = Some(d);
        self
    }

    /// Starts the server.
    pub async fn start(self) -> Result<TrellisServer, TestkitError> {
        let dir = tempfile::Builder::new()
            .prefix("trellis-test-")
            .tempdir()
            .map_err(|e| TestkitError::io("cannot create a temporary directory", e))?;
        let database_url = match &self.database {
            Database::SqliteTemp => format!("sqlite://{}", dir.path().join("trellis.db").display()),
            Database::Url(u) => u.clone(),
        };
        let mut server = TrellisServer {
            child: None,
            addr: None,
            url: String::new(),
            metrics_addr: None,
            metrics_token: Secret::new(format!("metrics-{}", Uuid::new_v4().simple())),
            admin_token: Secret::new(format!("admin-{}", Uuid::new_v4().simple())),
            api_token: Secret::new(format!("api-{}", Uuid::new_v4().simple())),
            database_url,
            options: self,
            dir,
        };
        server.spawn().await?;
        Ok(server)
    }
}

/// A running `trellis serve`, stopped (SIGKILL) on drop.
#[derive(Debug)]
pub struct TrellisServer {
    child: Option<Child>,
    addr: Option<SocketAddr>,
    url: String,
    metrics_addr: Option<SocketAddr>,
    metrics_token: Secret,
    admin_token: Secret,
    api_token: Secret,
    database_url: String,
    options: TrellisBuilder,
    dir: TempDir,
}

/// The `trellis` binary: `TRELLIS_BIN`, or next to the running test executable.
pub fn trellis_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TRELLIS_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("trellis")
}

impl TrellisServer {
    /// A server on a temporary SQLite database with test timings.
    pub async fn start() -> Result<Self, TestkitError> {
        TrellisBuilder::default().start().await
    }

    /// Options for a server.
    pub fn builder() -> TrellisBuilder {
        TrellisBuilder::default()
    }

    async fn spawn(&mut self) -> Result<(), TestkitError> {
        let bin = trellis_bin();
        assert!(
            bin.exists(),
            "the trellis binary is missing at {}: run `cargo build -p trellis` first (or set TRELLIS_BIN)",
            bin.display()
        );
        let listen = self
            .addr
            .map_or_else(|| "127.0.0.1:0".to_owned(), |a| a.to_string());
        let log_path = self.dir.path().join("trellis.log");
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| TestkitError::io("cannot create the trellis log file", e))?;
        let o = &self.options;
        let mut cmd = process::command(&bin);
        cmd.arg("serve")
            .arg("--listen")
            .arg(&listen)
            .arg("--database-url")
            .arg(&self.database_url)
            .arg("--worker-offline-after")
            .arg(humantime(o.worker_offline_after))
            .arg("--job-stale-after")
            .arg(humantime(o.job_stale_after))
            .arg("--sweep-interval")
            .arg(humantime(o.sweep_interval))
            .args(
                o.claim_ack_timeout
                    .map(|d| ["--claim-ack-timeout".to_owned(), humantime(d)])
                    .into_iter()
                    .flatten(),
            )
            .args(o.metrics_listen.then(|| {
                let addr = self
                    .metrics_addr
                    .map_or_else(|| "127.0.0.1:0".to_owned(), |a| a.to_string());
                format!("--metrics-listen={addr}")
            }))
            .args(
                o.log_tail_window
                    .map(|d| ["--log-tail-window".to_owned(), humantime(d)])
                    .into_iter()
                    .flatten(),
            )
            .args(
                o.shutdown_timeout
                    .map(|d| ["--shutdown-timeout".to_owned(), humantime(d)])
                    .into_iter()
                    .flatten(),
            )
            .args(
                o.queue_ttl
                    .map(|d| ["--queue-ttl".to_owned(), humantime(d)])
                    .into_iter()
                    .flatten(),
            )
            .args(
                o.idempotency_key_ttl
                    .map(|d| ["--idempotency-key-ttl".to_owned(), humantime(d)])
                    .into_iter()
                    .flatten(),
            )
            .env("TRELLIS_ADMIN_TOKEN", self.admin_token.expose())
            .env("TRELLIS_API_TOKEN", self.api_token.expose())
            .env("TRELLIS_METRICS_TOKEN", self.metrics_token.expose())
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        let command = process::describe(&cmd);
        let mut child = cmd
            .spawn()
            .map_err(|source| TestkitError::Spawn { command, source })?;
        let stdout = child.stdout.take();
        // The metrics address, when there is one, is printed before the API address.
        let (tx, rx) = tokio::sync::oneshot::channel::<(String, Option<String>)>();
        std::thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            let mut reader = BufReader::new(stdout);
            let mut tx = Some(tx);
            let mut metrics = None;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                let text = line.trim();
                if let Some(rest) = text.strip_prefix(METRICS_LISTEN_PREFIX) {
                    metrics = Some(rest.to_owned());
                } else if let Some(rest) = text.strip_prefix(LISTEN_PREFIX)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send((rest.to_owned(), metrics.take()));
                }
                line.clear();
            }
        });
        let Ok(Ok((url, metrics_url))) = tokio::time::timeout(o.startup_timeout, rx).await else {
            let _ = child.kill();
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            return Err(TestkitError::PeerExited {
                peer: "trellis",
                status,
                log: tail(&log_path),
            });
        };
        self.addr = url.trim_start_matches("http://").parse().ok();
        self.url = url;
        self.metrics_addr = metrics_url.and_then(|u| u.trim_start_matches("http://").parse().ok());
        self.child = Some(child);
        Ok(())
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Base URL of the `--metrics-listen` listener ([`TrellisBuilder::metrics_listen`]).
    pub fn metrics_url(&self) -> Option<String> {
        self.metrics_addr.map(|a| format!("http://{a}"))
    }

    /// The metrics token (`TRELLIS_METRICS_TOKEN`): bearer of `/metrics` on the API listener.
    pub fn metrics_token(&self) -> &Secret {
        &self.metrics_token
    }

    /// The admin token (register/delete workers).
    pub fn admin_token(&self) -> &Secret {
        &self.admin_token
    }

    /// The user API token.
    pub fn api_token(&self) -> &Secret {
        &self.api_token
    }

    /// The database URL the server uses.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The SQLite file, when the server uses a temporary one.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        matches!(self.options.database, Database::SqliteTemp)
            .then(|| self.dir.path().join("trellis.db"))
    }

    /// What the server printed on stderr so far.
    pub fn log(&self) -> String {
        let mut s = String::new();
        let _ = File::open(self.dir.path().join("trellis.log"))
            .and_then(|mut f| f.read_to_string(&mut s));
        s
    }

    /// Client options for tests: short timeouts, few quick retries.
    pub fn test_options() -> ClientOptions {
        ClientOptions {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            retry: RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(500),
                max_elapsed: Some(Duration::from_secs(10)),
            },
            ..ClientOptions::default()
        }
    }

    /// A user client with the API token.
    pub fn user_client(&self) -> UserApiClient {
        UserApiClient::with_options(&self.url, self.api_token.clone(), Self::test_options())
            .expect("the server URL is valid")
    }

    /// A user client with the admin token (worker jobs, worker deletion).
    pub fn admin_client(&self) -> UserApiClient {
        UserApiClient::with_options(&self.url, self.admin_token.clone(), Self::test_options())
            .expect("the server URL is valid")
    }

    /// Registers a self-hosted worker: its id and token.
    pub async fn register_worker(&self, name: &str) -> Result<(Uuid, Secret), TestkitError> {
        let req = RegisterRequest {
            name: name.to_owned(),
            mode: WorkerMode::SelfHosted,
            labels: std::collections::BTreeMap::default(),
            team: None,
        };
        let resp = WorkerApiClient::register(
            &self.url,
            self.admin_token.clone(),
            &req,
            Self::test_options(),
        )
        .await
        .map_err(|e| TestkitError::io("registering a worker", std::io::Error::other(e)))?;
        Ok((resp.worker_id, resp.worker_token))
    }

    /// A worker client.
    pub fn worker_client(&self, id: Uuid, token: Secret) -> WorkerApiClient {
        WorkerApiClient::new(&self.url, id, token, Self::test_options())
            .expect("the server URL is valid")
    }

    /// Stops the server with SIGTERM and waits for it (SIGKILL after 15 s).
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        for _ in 0..150 {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Sends SIGTERM and waits up to `within` (a hang guard) for the server to exit: its exit
    /// status, or `None` when it was still running then (it is killed).
    pub async fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Starts a stopped server again on the same address and database.
    pub async fn start_again(&mut self) -> Result<(), TestkitError> {
        if self.child.is_some() {
            return Ok(());
        }
        let mut last = None;
        // The port may still be held for a moment after the stop.
        for _ in 0..20 {
            match self.spawn().await {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(last.unwrap_or_else(|| TestkitError::io("restart", std::io::Error::other("failed"))))
    }

    /// Stops (SIGTERM) and starts the server again on the same address and database.
    pub async fn restart(&mut self) -> Result<(), TestkitError> {
        self.stop().await;
        self.start_again().await
    }
}

impl Drop for TrellisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn humantime(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

fn tail(path: &Path) -> String {
    let mut s = String::new();
    let _ = File::open(path).and_then(|mut f| f.read_to_string(&mut s));
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
