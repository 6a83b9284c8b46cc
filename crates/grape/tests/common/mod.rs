//! Shared helpers of the grape CLI tests: a real trellis server (the binary of this workspace)
//! on a free port, a private config directory per test, and real workers run as
//! `grape worker start --enable-exec` child processes.
#![allow(dead_code, clippy::missing_panics_doc)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// The admin token of the test server.
pub const ADMIN_TOKEN: &str = "grape-test-admin-token";
/// The user API token of the test server.
pub const API_TOKEN: &str = "grape-test-api-token";

/// `std::process::Command::new` for test peers (product code spawns through grape-process).
#[allow(clippy::disallowed_methods)] // test peers (trellis, script, cargo), not product code
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    std::process::Command::new(program)
}

/// The trellis binary of this workspace, built when missing.
pub fn trellis_bin() -> PathBuf {
    let root = grape_testkit::workspace_root();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let bin = target.join("debug").join("trellis");
    if !bin.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = command(cargo)
            .args(["build", "--quiet", "-p", "trellis", "--bin", "trellis"])
            .current_dir(&root)
            .status()
            .expect("run cargo build -p trellis");
        assert!(status.success(), "cargo build -p trellis failed");
    }
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p trellis`",
        bin.display()
    );
    bin
}

/// Waits until something listens on `port`.
fn wait_for_port(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("trellis exited during start-up: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("trellis did not listen on port {port} within 60 s");
}

/// A real trellis server on a fresh SQLite database, killed on drop.
pub struct Trellis {
    child: Child,
    /// Base URL.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Trellis {
    /// Starts a server on a port the system picks (`--listen 127.0.0.1:0`), read back from
    /// the address it prints, so no other test can take the port in between.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("trellis.db").display());
        let mut child = command(trellis_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &db])
            .env("TRELLIS_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("TRELLIS_API_TOKEN", API_TOKEN)
            .env("RUST_LOG", "warn")
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start trellis");
        let url = listen_url(&mut child);
        let port: u16 = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {url}"));
        wait_for_port(port, &mut child);
        Self {
            child,
            url,
            _dir: dir,
        }
    }
}

/// Reads trellis' `… listening on http://ADDR` line; keeps draining its stdout after it.
fn listen_url(child: &mut Child) -> String {
    use std::io::BufRead as _;
    let stdout = child.stdout.take().expect("trellis stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("trellis stdout");
        if let Some(at) = line.find("http://") {
            let url = line[at..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            std::thread::spawn(move || lines.for_each(drop));
            return url;
        }
    }
    panic!("trellis exited before it printed its address");
}

impl Drop for Trellis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test environment: a server and a private home/config directory.
pub struct Env {
    /// The server.
    pub trellis: Trellis,
    /// HOME and XDG_CONFIG_HOME live here.
    pub home: tempfile::TempDir,
}

impl Env {
    /// Starts a server.
    pub fn new() -> Self {
        Self {
            trellis: Trellis::start(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// The config directory (`XDG_CONFIG_HOME`).
    pub fn config_home(&self) -> PathBuf {
        self.home.path().join("config")
    }

    /// The config file grape writes.
    pub fn config_file(&self) -> PathBuf {
        self.config_home().join("grape").join("config.json")
    }

    /// `grape` with a clean environment: no URL, no token, no NO_COLOR.
    pub fn grape(&self) -> assert_cmd::Command {
        bare_grape(self.home.path())
    }

    /// `grape` configured by environment for the test server (URL and API token).
    pub fn authed(&self) -> assert_cmd::Command {
        let mut c = self.grape();
        c.env("TRELLIS_URL", &self.trellis.url)
            .env("GRAPE_TOKEN", API_TOKEN);
        c
    }

    /// Runs `grape ARGS -o json` (authenticated) and parses stdout; asserts exit 0.
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self
            .authed()
            .args(args)
            .args(["--output", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "grape {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "grape {args:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Runs `grape identities add aws --name NAME --role-arn ROLE_ARN MORE… -o json`
    /// (authenticated); returns the identity it added.
    pub fn add_aws_identity(&self, name: &str, role_arn: &str, more: &[&str]) -> Value {
        let mut args = vec![
            "identities",
            "add",
            "aws",
            "--name",
            name,
            "--role-arn",
            role_arn,
        ];
        args.extend_from_slice(more);
        self.json(&args)
    }

    /// Registers a worker with `grape workers register` and starts it as `grape worker start
    /// --enable-exec`; waits until Trellis lists it ONLINE.
    pub fn start_worker(&self, name: &str) -> Worker {
        self.start_worker_with(name, &[], &[])
    }

    /// [`Env::start_worker`] with extra `grape worker start` flags and environment (for example
    /// a moto endpoint for S3 state and AWS, see [`moto_worker`]).
    pub fn start_worker_with(
        &self,
        name: &str,
        extra_args: &[String],
        extra_env: &[(String, String)],
    ) -> Worker {
        let reg = {
            let out = self
                .authed()
                .env("TRELLIS_ADMIN_TOKEN", ADMIN_TOKEN)
                .args(["workers", "register", name, "-o", "json"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "register: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<Value>(&out.stdout).unwrap()
        };
        let id = reg["worker_id"].as_str().unwrap().to_owned();
        let token = reg["worker_token"].as_str().unwrap().to_owned();
        let state = tempfile::tempdir().unwrap();
        let child = std::process::Command::cargo_bin("grape")
            .unwrap()
            .args([
                "worker",
                "start",
                "--enable-exec",
                "--poll-interval",
                "1s",
                "--heartbeat-interval",
                "1s",
                "--claim-wait",
                "5s",
                "--grace-period",
                "5s",
                "--interrupt-grace",
                "2s",
            ])
            .arg("--state-dir")
            .arg(state.path())
            .args(extra_args)
            .env_remove("TRELLIS_ADMIN_TOKEN")
            .env("XDG_CONFIG_HOME", self.config_home())
            .env("HOME", self.home.path())
            .env("TRELLIS_URL", &self.trellis.url)
            .env("GRAPE_WORKER_ID", &id)
            .env("GRAPE_WORKER_TOKEN", &token)
            .env("RUST_LOG", "warn")
            .envs(extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start grape worker");
        let worker = Worker {
            child,
            id,
            _state: state,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let list = self.json(&["workers", "list"]);
            let online = list
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["id"] == worker.id.as_str() && w["status"] == "ONLINE");
            if online {
                return worker;
            }
            assert!(
                Instant::now() < deadline,
                "worker {} not ONLINE within 30 s: {list}",
                worker.id
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Submits an EXEC job running `sh -c SCRIPT` (not followed); returns its id.
    pub fn submit_sh(&self, script: &str) -> String {
        let payload = serde_json::json!({ "argv": ["sh", "-c", script] }).to_string();
        let out = self
            .authed()
            .args(["jobs", "submit", "EXEC", "--payload", "-", "-o", "json"])
            .write_stdin(payload)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "submit: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let job: Value = serde_json::from_slice(&out.stdout).unwrap();
        job["id"].as_str().unwrap().to_owned()
    }

    /// Runs `grape ARGS` (authenticated, no colours) and returns (exit code, stdout, stderr),
    /// after checking that none of `secrets` reached either stream.
    pub fn run_hiding(&self, args: &[&str], secrets: &[&str]) -> (i32, String, String) {
        let (code, stdout, stderr) = outcome(self.authed().env("NO_COLOR", "1").args(args));
        for secret in secrets {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "grape {args:?} printed a worker secret:\n{stdout}\n{stderr}"
            );
        }
        (code, stdout, stderr)
    }

    /// Polls `grape jobs show` until the job is terminal; returns it.
    pub fn wait_job(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let job = self.json(&["jobs", "show", id]);
            if ["SUCCESS", "FAILED", "CANCELLED"].contains(&job["status"].as_str().unwrap()) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} did not end within 60 s: {job}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// `grape` with HOME/XDG_CONFIG_HOME in `home` and no grape variables.
pub fn bare_grape(home: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("grape").unwrap();
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("TRELLIS_URL")
        .env_remove("GRAPE_TOKEN")
        .env_remove("TRELLIS_ADMIN_TOKEN")
        .env_remove("NO_COLOR")
        .timeout(Duration::from_secs(120));
    c
}

/// A worker process, killed on drop.
pub struct Worker {
    child: Child,
    /// Its worker id.
    pub id: String,
    _state: tempfile::TempDir,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` and returns (exit code, -1 when there is none; stdout; stderr), decoded lossily.
pub fn outcome(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that a run of `grape ARGS` exited with `code` and printed a clean error (see
/// [`assert_clean_error`]); returns its stderr.
pub fn assert_error_exit(out: &std::process::Output, code: i32, args: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "grape {args:?}: {err}");
    assert_clean_error(&out.stderr);
    err
}

/// True when `s` holds an ANSI escape sequence.
pub fn has_ansi(s: &[u8]) -> bool {
    s.contains(&0x1b)
}

/// Asserts a user-facing error: an `error:` line and a `hint:` line, no panic, no HTTP dump.
pub fn assert_clean_error(stderr: &[u8]) {
    let s = String::from_utf8_lossy(stderr);
    assert!(s.contains("error: "), "no error line: {s}");
    assert!(s.contains("hint: "), "no hint line: {s}");
    for bad in [
        "panicked",
        "RUST_BACKTRACE",
        "reqwest",
        "<html",
        "Error {",
        "Transport {",
    ] {
        assert!(!s.contains(bad), "stderr shows `{bad}`: {s}");
    }
}

/// The secret key of the Terraform state store that [`moto_worker`] gives a worker; it must
/// never show in anything grape prints.
pub const STATE_SECRET: &str = "grape-cli-state-secret-key";

/// The base AWS secret of a [`moto_worker`] (identities are assumed from it); never printed.
pub const WORKER_AWS_SECRET: &str = "grape-cli-worker-base-secret";

/// Flags and environment of a worker that keeps Terraform state in `moto`'s S3 (bucket
/// `terraform-state`, which the caller creates), runs the peers' Terraform, and assumes cloud
/// identities from static base credentials on `moto`.
pub fn moto_worker(moto: &grape_testkit::Moto) -> (Vec<String>, Vec<(String, String)>) {
    let args = vec![
        "--terraform-bin".to_owned(),
        grape_testkit::terraform_bin().display().to_string(),
    ];
    let mut env = grape_testkit::terraform_env();
    let endpoint = moto.endpoint_url().to_owned();
    env.extend([
        ("SUPABASE_S3_ENDPOINT".to_owned(), endpoint.clone()),
        ("SUPABASE_S3_REGION".to_owned(), "us-east-1".to_owned()),
        (
            "SUPABASE_STORAGE_KEY_ID".to_owned(),
            "grape-cli-state-key-id".to_owned(),
        ),
        (
            "SUPABASE_STORAGE_SECRET_KEY".to_owned(),
            STATE_SECRET.to_owned(),
        ),
        (
            "AWS_ACCESS_KEY_ID".to_owned(),
            "grape-cli-worker-key-id".to_owned(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            WORKER_AWS_SECRET.to_owned(),
        ),
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
        // The worker's AWS endpoint: worker configuration, never an identity's setting.
        ("TENDRIL_AWS_ENDPOINT_URL".to_owned(), endpoint),
    ]);
    (args, env)
}

/// A test server with one worker of [`moto_worker`] on a fresh moto (and the runtime that
/// started it); the worker goes first when dropped, then the server, then moto.
pub struct MotoWorld {
    _worker: Worker,
    /// The server and its private home.
    pub env: Env,
    /// The moto server the worker keeps its state in and assumes identities on.
    pub moto: grape_testkit::Moto,
    rt: tokio::runtime::Runtime,
}

impl MotoWorld {
    /// Starts moto, creates `buckets` in it, starts a server and the worker `worker_name`.
    pub fn start(worker_name: &str, buckets: &[&str]) -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let moto = rt.block_on(grape_testkit::Moto::start()).expect("moto");
        for bucket in buckets {
            rt.block_on(moto.create_bucket(bucket))
                .unwrap_or_else(|e| panic!("create the bucket {bucket}: {e}"));
        }
        let env = Env::new();
        let (args, vars) = moto_worker(&moto);
        let worker = env.start_worker_with(worker_name, &args, &vars);
        Self {
            _worker: worker,
            env,
            moto,
            rt,
        }
    }

    /// From now on moto refuses keys that none of its IAM users own (the worker's included).
    pub fn enforce_moto_auth(&self) {
        self.rt
            .block_on(self.moto.enforce_auth())
            .expect("enforce moto auth");
    }
}
