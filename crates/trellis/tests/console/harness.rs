//! The harness of the browser tests. The console in a real headless Chromium (Debian's `chromium`, driven by npm `playwright-core`
//! with `axe-core`; `cargo xtask peers` installs them into `.peers/browser`), against a real
//! trellis and a real tendril. Each test runs one scenario script (`scenarios/*.mjs`) with
//! `node`, reacting to the `step …` lines it prints; screenshots go to
//! `<target>/console-screenshots/`. Scenarios wait on page conditions, never on fixed sleeps.
#![allow(clippy::disallowed_methods)] // tests start node and tendril directly (std::process)

use grape_api::{JobStatus, JobType, Secret, SubmitJobRequest, UserApiClient};
use grape_testkit::trellis::{TrellisBuilder, TrellisServer};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);

/// `.peers/browser`: node_modules and the chromium path; a missing peer fails the test with the
/// command that installs it.
fn browser_peers() -> (PathBuf, PathBuf) {
    let dir = grape_testkit::peers::peers_dir().join("browser");
    let modules = dir.join("node_modules");
    let chromium = std::fs::read_to_string(dir.join("chromium"))
        .map(|s| PathBuf::from(s.trim()))
        .unwrap_or_default();
    assert!(
        modules.join("playwright-core").is_dir()
            && modules.join("axe-core").is_dir()
            && chromium.is_file(),
        "the browser peers are missing (playwright-core, axe-core in {}, chromium at {}): run `cargo xtask peers` \
         (as root: it installs Debian's chromium with apt)",
        modules.display(),
        chromium.display()
    );
    (modules, chromium)
}

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // <target>/debug/deps/console-HASH
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn tendril_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TENDRIL_BIN") {
        return PathBuf::from(p);
    }
    let bin = target_dir().join("debug").join("tendril");
    assert!(
        bin.exists(),
        "the tendril binary is missing at {}: `cargo nextest run --workspace` builds it (or set TENDRIL_BIN)",
        bin.display()
    );
    bin
}

/// A running scenario.
pub struct Scenario {
    name: String,
    child: Child,
    steps: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
    _profiles: tempfile::TempDir,
}

impl Scenario {
    pub fn start(name: &str, server: &TrellisServer, extra: &[(&str, String)]) -> Scenario {
        let (modules, chromium) = browser_peers();
        let profiles = tempfile::Builder::new()
            .prefix("console-browser-")
            .tempdir()
            .expect("tempdir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/console/scenarios/{name}.mjs"));
        let mut cmd = Command::new("node");
        cmd.arg(&script)
            .env("BASE_URL", server.url())
            .env("ADMIN_TOKEN", server.admin_token().expose())
            .env("API_TOKEN", server.api_token().expose())
            .env("CHROMIUM", &chromium)
            .env("NODE_MODULES", &modules)
            .env("PROFILES", profiles.path())
            .env("SCREENSHOTS", target_dir().join("console-screenshots"))
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("node runs (is Node.js installed?)");
        let (tx, steps) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Scenario {
            name: name.to_owned(),
            child,
            steps,
            stderr,
            _profiles: profiles,
        }
    }

    /// Waits for `step NAME…`; the rest of its line.
    pub fn step(&mut self, name: &str) -> String {
        let deadline = Instant::now() + SCENARIO_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.steps.recv_timeout(left) else {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let err = self.stderr_text();
                panic!(
                    "scenario {} ended or stalled before step {name}:\n{}",
                    self.name, err
                );
            };
            if let Some(rest) = line.strip_prefix(&format!("step {name}")) {
                return rest.trim().to_owned();
            }
            eprintln!("[{}] {line}", self.name);
        }
    }

    fn stderr_text(&mut self) -> String {
        std::mem::replace(&mut self.stderr, std::thread::spawn(String::new))
            .join()
            .unwrap_or_default()
    }

    /// Waits for the script to end; it must have passed.
    pub fn finish(mut self) {
        let deadline = Instant::now() + SCENARIO_TIMEOUT;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break self.child.wait().expect("wait");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let err = self.stderr_text();
        while let Ok(line) = self.steps.try_recv() {
            eprintln!("[{}] {line}", self.name);
        }
        assert!(
            status.success(),
            "scenario {} failed ({status}):\n{err}",
            self.name
        );
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `tendril start` process (EXEC enabled, shrunken timings), killed on drop.
pub struct Tendril {
    child: Child,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl Tendril {
    pub fn start(
        server: &TrellisServer,
        id: Uuid,
        token: &Secret,
        args: &[String],
        env: &[(String, String)],
    ) -> Tendril {
        let dir = tempfile::Builder::new()
            .prefix("console-tendril-")
            .tempdir()
            .expect("tempdir");
        let log = dir.path().join("tendril.log");
        let child = Command::new(tendril_bin())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .args([
                "start",
                "--enable-exec",
                "--heartbeat-interval",
                "300ms",
                "--poll-interval",
                "200ms",
            ])
            .args([
                "--claim-wait",
                "1s",
                "--grace-period",
                "60s",
                "--interrupt-grace",
                "1s",
            ])
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(args)
            .env("TRELLIS_URL", server.url())
            .env("GRAPE_WORKER_ID", id.to_string())
            .env("GRAPE_WORKER_TOKEN", token.expose())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start tendril");
        Tendril {
            child,
            _dir: dir,
            log,
        }
    }

    pub fn signal(&self, sig: Signal) {
        kill(
            Pid::from_raw(i32::try_from(self.child.id()).expect("pid")),
            sig,
        )
        .expect("signal");
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Tendril {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn trellis() -> TrellisServer {
    TrellisBuilder::default()
        .worker_offline_after(Duration::from_secs(3))
        .sweep_interval(Duration::from_millis(200))
        .start()
        .await
        .expect("trellis")
}

pub async fn submit(
    user: &UserApiClient,
    job_type: JobType,
    payload: Value,
    identity: Option<Uuid>,
) -> Uuid {
    user.submit_job(&SubmitJobRequest {
        job_type,
        payload,
        cloud_identity_id: identity,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    })
    .await
    .expect("submit")
    .id
}

pub async fn wait_status(
    user: &UserApiClient,
    id: Uuid,
    pred: impl Fn(JobStatus) -> bool,
) -> grape_api::Job {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let job = user.get_job(id).await.expect("get job");
        if pred(job.status.clone()) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} stuck: {job:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
