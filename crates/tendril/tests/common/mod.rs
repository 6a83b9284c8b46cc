//! Helpers of the runtime tests: a real `trellis` (grape-testkit) and real `tendril` processes
//! with shrunken timings.
#![allow(dead_code, clippy::needless_pass_by_value)] // each test binary uses a part of these helpers; options are taken by value for brevity

pub mod proxy;

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use grape_api::{
    Job, JobStatus, JobType, LogLine, LogStream, Secret, SubmitJobRequest, UserApiClient, Worker,
    WorkerStatus,
};
use grape_testkit::trellis::{TrellisBuilder, TrellisServer};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tempfile::TempDir;
use uuid::Uuid;

/// Trellis with quick sweeps; `offline_after` also bounds how long a dead worker stays ONLINE.
pub async fn trellis_with(offline_after: Duration, stale_after: Duration) -> TrellisServer {
    TrellisBuilder::default()
        .worker_offline_after(offline_after)
        .job_stale_after(stale_after)
        .sweep_interval(Duration::from_millis(200))
        .start()
        .await
        .expect("trellis starts (run `cargo build -p trellis` first)")
}

/// Trellis with default test timings (offline after 3 s, stale after 60 s).
pub async fn trellis() -> TrellisServer {
    trellis_with(Duration::from_secs(3), Duration::from_secs(60)).await
}

/// A `tendril start` process, killed on drop.
pub struct Tendril {
    child: Option<Child>,
    pub id: Uuid,
    pub token: Secret,
    pub state_dir: PathBuf,
    log_path: PathBuf,
    stdout_path: PathBuf,
    _dir: TempDir,
}

/// How to start a worker.
pub struct TendrilOptions {
    pub heartbeat: &'static str,
    pub poll: &'static str,
    pub claim_wait: &'static str,
    pub grace: &'static str,
    pub interrupt_grace: &'static str,
    pub extra_args: Vec<String>,
    pub extra_env: Vec<(String, String)>,
    pub state_dir: Option<PathBuf>,
}

impl Default for TendrilOptions {
    fn default() -> Self {
        Self {
            heartbeat: "300ms",
            poll: "200ms",
            claim_wait: "1s",
            grace: "30s",
            interrupt_grace: "1s",
            extra_args: Vec::new(),
            extra_env: Vec::new(),
            state_dir: None,
        }
    }
}

/// The `tendril` binary under test: `TENDRIL_BIN` (like testkit's `TRELLIS_BIN`, for a
/// target directory shared by several checkouts), else the one cargo built for this test.
pub fn tendril_bin() -> String {
    std::env::var("TENDRIL_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tendril").to_owned())
}

/// A `std::process::Command` for the tendril binary with a clean environment (tests may spawn
/// directly; the grape-process rule is for product code).
#[allow(clippy::disallowed_methods)]
pub fn tendril_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(tendril_bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info,tendril=debug")
        .stdin(Stdio::null());
    cmd
}

impl Tendril {
    /// Registers a worker in `trellis` and starts `tendril start` for it with `--enable-exec`.
    pub async fn start(trellis: &TrellisServer, name: &str, opts: TendrilOptions) -> Tendril {
        let (id, token) = trellis.register_worker(name).await.expect("register");
        Self::start_as(trellis, id, token, opts)
    }

    /// Starts `tendril start` as worker `id`.
    pub fn start_as(
        trellis: &TrellisServer,
        id: Uuid,
        token: Secret,
        opts: TendrilOptions,
    ) -> Tendril {
        let dir = tempfile::Builder::new()
            .prefix("tendril-test-")
            .tempdir()
            .expect("tempdir");
        let state_dir = opts
            .state_dir
            .clone()
            .unwrap_or_else(|| dir.path().join("state"));
        let log_path = dir.path().join("tendril.log");
        let stdout_path = dir.path().join("tendril.out");
        let mut cmd = tendril_command();
        cmd.arg("start")
            .arg("--enable-exec")
            .args(["--heartbeat-interval", opts.heartbeat])
            .args(["--poll-interval", opts.poll])
            .args(["--claim-wait", opts.claim_wait])
            .args(["--grace-period", opts.grace])
            .args(["--interrupt-grace", opts.interrupt_grace])
            .arg("--state-dir")
            .arg(&state_dir)
            .args(&opts.extra_args)
            .env("TRELLIS_URL", trellis.url())
            .env("GRAPE_WORKER_ID", id.to_string())
            .env("GRAPE_WORKER_TOKEN", token.expose())
            .envs(opts.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(File::create(&stdout_path).expect("stdout file"))
            .stderr(File::create(&log_path).expect("log file"));
        let child = cmd.spawn().expect("spawn tendril");
        Tendril {
            child: Some(child),
            id,
            token,
            state_dir,
            log_path,
            stdout_path,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.as_ref().expect("running").id()).expect("pid"))
    }

    pub fn signal(&self, sig: Signal) {
        kill(self.pid(), sig).expect("signal tendril");
    }

    /// SIGKILL, and reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child.as_mut().expect("running");
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "tendril did not exit within {timeout:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the worker logged on stderr.
    pub fn log(&self) -> String {
        read(&self.log_path)
    }

    /// What the worker printed on stdout.
    pub fn stdout(&self) -> String {
        read(&self.stdout_path)
    }
}

impl Drop for Tendril {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn read(path: &Path) -> String {
    let mut s = String::new();
    let _ = File::open(path).and_then(|mut f| f.read_to_string(&mut s));
    s
}

/// Submits an EXEC job.
pub async fn submit_exec(user: &UserApiClient, payload: Value) -> Job {
    submit(user, JobType::Exec, payload).await
}

/// Submits a job.
pub async fn submit(user: &UserApiClient, job_type: JobType, payload: Value) -> Job {
    user.submit_job(&SubmitJobRequest {
        job_type,
        payload,
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    })
    .await
    .expect("submit job")
}

/// `sh -c SCRIPT` as an EXEC payload.
pub fn sh(script: &str) -> Value {
    json!({ "argv": ["sh", "-c", script] })
}

/// Polls the job until `pred` holds.
pub async fn wait_job(
    user: &UserApiClient,
    id: Uuid,
    timeout: Duration,
    pred: impl Fn(&Job) -> bool,
) -> Job {
    let deadline = Instant::now() + timeout;
    loop {
        let job = user.get_job(id).await.expect("get job");
        if pred(&job) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} did not reach the expected state within {timeout:?}: {job:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the job until it is terminal.
pub async fn wait_terminal(user: &UserApiClient, id: Uuid, timeout: Duration) -> Job {
    wait_job(user, id, timeout, |j| j.status.is_terminal()).await
}

/// Polls the job until it has this status.
pub async fn wait_status(
    user: &UserApiClient,
    id: Uuid,
    status: JobStatus,
    timeout: Duration,
) -> Job {
    wait_job(user, id, timeout, |j| j.status == status).await
}

/// Every stored log line of a job (all pages).
pub async fn all_logs(user: &UserApiClient, id: Uuid) -> Vec<LogLine> {
    let mut lines: Vec<LogLine> = Vec::new();
    loop {
        let after = lines.last().map(|l| l.seq);
        let page = user.get_logs(id, after).await.expect("get logs");
        if page.lines.is_empty() {
            return lines;
        }
        lines.extend(page.lines);
    }
}

/// The texts of the stdout lines of a job.
pub async fn stdout_lines(user: &UserApiClient, id: Uuid) -> Vec<String> {
    all_logs(user, id)
        .await
        .into_iter()
        .filter(|l| l.stream == LogStream::Stdout)
        .map(|l| l.text)
        .collect()
}

/// The worker as Trellis lists it.
pub async fn worker(user: &UserApiClient, id: Uuid) -> Worker {
    user.list_workers()
        .await
        .expect("list workers")
        .into_iter()
        .find(|w| w.id == id)
        .expect("worker listed")
}

/// Polls the worker until it has `status`.
pub async fn wait_worker(
    user: &UserApiClient,
    id: Uuid,
    status: WorkerStatus,
    timeout: Duration,
) -> Worker {
    let deadline = Instant::now() + timeout;
    loop {
        let w = worker(user, id).await;
        if w.status == status {
            return w;
        }
        assert!(
            Instant::now() < deadline,
            "worker {id} is not {status} within {timeout:?}: {w:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
