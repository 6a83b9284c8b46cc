//! A real moto server (AWS API emulator) on a free 127.0.0.1 port.
//!
//! Known moto gaps, so nobody mistakes them for our bugs: EC2 Describe* and IAM ListUsers
//! ignore page sizes (one page only); ECS services only report running tasks when moto runs
//! with `MOTO_ECS_SERVICE_RUNNING=N` ([`MotoBuilder::env`]); ECS CreateService needs security
//! groups in `awsvpcConfiguration`; state is in memory and lost when the server stops.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::net::{answers, free_port, local_client};
use crate::{TestkitError, peers, process};

/// How often a start is retried on a new port when the chosen one was taken meanwhile.
const START_ATTEMPTS: usize = 3;

/// Options for [`Moto`]: extra environment and the start-up deadline.
#[derive(Debug, Clone)]
pub struct MotoBuilder {
    env: Vec<(String, String)>,
    startup_timeout: Duration,
}

impl Default for MotoBuilder {
    fn default() -> Self {
        Self {
            env: Vec::new(),
            startup_timeout: Duration::from_secs(60),
        }
    }
}

impl MotoBuilder {
    /// Sets an environment variable of the server, e.g. `MOTO_ECS_SERVICE_RUNNING=2`.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// How long to wait for the server to answer (default 60 s).
    #[must_use]
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Starts `moto_server -H 127.0.0.1 -p PORT` and waits until it answers HTTP.
    ///
    /// # Panics
    /// When `moto_server` is not installed (see [`peers::require_peer`]).
    pub async fn start(self) -> Result<Moto, TestkitError> {
        let program = peers::require_peer("moto_server");
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match self.try_start(&program).await {
                Ok(moto) => return Ok(moto),
                // The port may have been taken between free_port() and the bind: retry.
                Err(err @ TestkitError::PeerExited { .. }) => last_error = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last_error.unwrap_or(TestkitError::HttpTimeout {
            url: "moto_server".into(),
            timeout: self.startup_timeout,
        }))
    }

    async fn try_start(&self, program: &std::path::Path) -> Result<Moto, TestkitError> {
        let port = free_port()?;
        let log_dir = tempfile::Builder::new()
            .prefix("moto-")
            .tempdir()
            .map_err(|e| TestkitError::io("cannot create a temporary directory", e))?;
        let log_path = log_dir.path().join("moto.log");
        let log = File::create(&log_path)
            .map_err(|e| TestkitError::io(format!("cannot create {}", log_path.display()), e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| TestkitError::io("cannot duplicate the log file handle", e))?;
        let mut cmd = process::command(program);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0);
        let child = cmd.spawn().map_err(|source| TestkitError::Spawn {
            command: process::describe(&cmd),
            source,
        })?;
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            log_dir,
        };
        let client = local_client();
        let probe = format!("{}/moto-api/", moto.endpoint);
        let deadline = Instant::now() + self.startup_timeout;
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                return Err(TestkitError::PeerExited {
                    peer: "moto_server",
                    status: status.to_string(),
                    log: moto.log_tail(),
                });
            }
            if answers(&client, &probe).await {
                return Ok(moto);
            }
            if Instant::now() >= deadline {
                return Err(TestkitError::HttpTimeout {
                    url: probe,
                    timeout: self.startup_timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A running moto server; killed (its whole process group) when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    endpoint: String,
    port: u16,
    log_dir: TempDir,
}

impl Moto {
    /// Starts a moto server with default options.
    ///
    /// # Panics
    /// When `moto_server` is not installed.
    pub async fn start() -> Result<Self, TestkitError> {
        MotoBuilder::default().start().await
    }

    /// Options: extra environment, start-up deadline.
    pub fn builder() -> MotoBuilder {
        MotoBuilder::default()
    }

    /// The endpoint to give the AWS SDK or Terraform, `http://127.0.0.1:PORT`.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Environment for a client of this server: static test credentials, a region, and
    /// `AWS_ENDPOINT_URL` pointing at it.
    pub fn aws_env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
        ]
    }

    /// Clears every resource in the server (`POST /moto-api/reset`).
    pub async fn reset(&self) -> Result<(), TestkitError> {
        let url = format!("{}/moto-api/reset", self.endpoint);
        local_client()
            .post(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map(drop)
            .map_err(|source| TestkitError::Http { url, source })
    }

    /// From now on, moto checks every request's keys and IAM policies (its
    /// `INITIAL_NO_AUTH_ACTION_COUNT` set to 0 through `POST /moto-api/reset-auth`): keys that
    /// no IAM user of the server owns are refused.
    pub async fn enforce_auth(&self) -> Result<(), TestkitError> {
        let url = format!("{}/moto-api/reset-auth", self.endpoint);
        local_client()
            .post(&url)
            .header("content-type", "text/plain")
            .body("0")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map(drop)
            .map_err(|source| TestkitError::Http { url, source })
    }

    /// Creates an S3 bucket (path-style `PUT /BUCKET`; moto needs no signature for it).
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), TestkitError> {
        let url = format!("{}/{bucket}", self.endpoint);
        local_client()
            .put(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map(drop)
            .map_err(|source| TestkitError::Http { url, source })
    }

    /// The last lines the server printed (its request log), for diagnostics.
    pub fn log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.log_dir.path().join("moto.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // The server leads its own process group (process_group(0)): kill all of it.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}
