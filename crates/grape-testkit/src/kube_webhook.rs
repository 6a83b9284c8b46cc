//! A stand-in for the aws-iam-authenticator server: the token webhook of `kube/eks_webhook.py`
//! (it checks EKS tokens' SigV4 signatures itself and replays them to moto's STS), for an API
//! server started with [`EksWebhook::apiserver_args`].

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::{TestkitError, process};

/// A running webhook; killed when dropped.
#[derive(Debug)]
pub struct EksWebhook {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl EksWebhook {
    /// Starts the webhook for the EKS cluster `cluster`, replaying to STS at `sts_url`
    /// (moto's endpoint) and knowing the secret of each `(access key id, secret)` in `keys`.
    pub fn start(
        cluster: &str,
        sts_url: &str,
        keys: &[(&str, &str)],
    ) -> Result<Self, TestkitError> {
        let dir = tempfile::Builder::new()
            .prefix("eks-webhook-")
            .tempdir()
            .map_err(|e| TestkitError::io("cannot create a temporary directory", e))?;
        let write = |name: &str, text: &str| -> Result<PathBuf, TestkitError> {
            let path = dir.path().join(name);
            std::fs::write(&path, text)
                .map_err(|e| TestkitError::io(format!("cannot write {}", path.display()), e))?;
            Ok(path)
        };
        let keys_text = keys.iter().fold(String::new(), |mut text, (k, s)| {
            text.push_str(k);
            text.push(' ');
            text.push_str(s);
            text.push('\n');
            text
        });
        let keys_file = write("keys", &keys_text)?;
        let port_file = dir.path().join("port");
        let log = std::fs::File::create(dir.path().join("webhook.log"))
            .map_err(|e| TestkitError::io("cannot create the webhook log", e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| TestkitError::io("cannot duplicate the log handle", e))?;
        let mut cmd = process::command("python3");
        cmd.arg(crate::kube::kube_scripts_dir().join("eks_webhook.py"))
            .args(["--cluster", cluster, "--sts", sts_url, "--keys"])
            .arg(&keys_file)
            .arg("--port-file")
            .arg(&port_file)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0);
        let mut child = cmd.spawn().map_err(|source| TestkitError::Spawn {
            command: process::describe(&cmd),
            source,
        })?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Ok(port) = text.trim().parse()
            {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log =
                    std::fs::read_to_string(dir.path().join("webhook.log")).unwrap_or_default();
                return Err(TestkitError::PeerExited {
                    peer: "eks_webhook.py",
                    status: status.to_string(),
                    log,
                });
            }
            if Instant::now() >= deadline {
                return Err(TestkitError::HttpTimeout {
                    url: "eks_webhook.py port file".into(),
                    timeout: Duration::from_secs(30),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: eks-webhook\n  cluster:\n    server: http://127.0.0.1:{port}/\nusers:\n- name: kube-apiserver\ncontexts:\n- name: webhook\n  context:\n    cluster: eks-webhook\n    user: kube-apiserver\ncurrent-context: webhook\n"
        );
        write("webhook.kubeconfig", &kubeconfig)?;
        Ok(Self { child, dir, port })
    }

    /// The kube-apiserver flags that make it ask this webhook about every bearer token it does
    /// not know (no caching, so each token is checked).
    pub fn apiserver_args(&self) -> Vec<String> {
        vec![
            format!(
                "--authentication-token-webhook-config-file={}",
                self.kubeconfig().display()
            ),
            "--authentication-token-webhook-cache-ttl=0s".into(),
        ]
    }

    /// The webhook's kubeconfig (for `--authentication-token-webhook-config-file`).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("webhook.kubeconfig")
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What it decided so far (`accepted ARN` / `refused: why` lines).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("webhook.log")).unwrap_or_default()
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for EksWebhook {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}
