//! A real Kubernetes API server for tests: kube-apiserver v1.20.2 + etcd 3.4.23 (+
//! kube-controller-manager, kube-scheduler and a fake kubelet that makes nodes Ready and pods
//! Running), built by `cargo xtask peers` from Debian's packages and started by
//! `kube/start-k8s.sh` on free 127.0.0.1 ports.
//!
//! - [`KubeApi::shared`]: one server per test binary, shared by its tests (under nextest, where
//!   each test is a process, the first test of the binary starts it under a file lock and the
//!   others reuse it; a watchdog stops it when the run ends). Give each test its own
//!   [`KubeApi::namespace`].
//! - [`KubeApi::builder`]: a private server with extra API server flags (e.g. a token webhook),
//!   stopped when dropped.
//!
//! What it is not: no container ever runs (the fake kubelet only writes pod status); it is
//! Kubernetes 1.20 (no `policy/v1`, `batch/v1` CronJob, `autoscaling/v2`); ArgoCD has only its
//! minimal CRDs ([`ARGOCD_MIN_CRDS`]), no controller — tests patch Application status themselves.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::net::free_port;
use crate::{TestkitError, peers, process};

/// Minimal stand-ins for ArgoCD's CRDs (Application, AppProject; open schemas).
pub const ARGOCD_MIN_CRDS: &str = include_str!("../kube/argocd-min-crds.yaml");

/// How often a start is retried on new ports when a chosen one was taken meanwhile.
const START_ATTEMPTS: usize = 3;

/// The directory of the start/stop scripts and the fake kubelet.
pub fn kube_scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("kube")
}

/// The directory holding `kube-apiserver`, `kube-controller-manager`, `kube-scheduler` and
/// `etcd` (`.peers/kube/bin`), checked to be the build of the current recipe.
pub fn kube_bin_dir() -> Result<PathBuf, TestkitError> {
    kube_bin_in(&peers::peers_dir())
}

/// [`kube_bin_dir`] in the peers directory `peers_dir`.
pub fn kube_bin_in(peers_dir: &Path) -> Result<PathBuf, TestkitError> {
    let link = peers_dir.join("kube");
    let bin = link.join("bin");
    let missing = |name: String| TestkitError::MissingPeer {
        name,
        path: bin.join("kube-apiserver"),
        ci: peers::in_ci(),
    };
    if !bin.join("kube-apiserver").is_file() || !bin.join("etcd").is_file() {
        return Err(missing("kube-apiserver".into()));
    }
    let recipe = std::fs::read(kube_scripts_dir().join("build-k8s.sh"))
        .map_err(|e| TestkitError::io("cannot read kube/build-k8s.sh", e))?;
    let want = format!("kube-{:016x}", fnv1a(&recipe));
    let target = std::fs::read_link(&link).unwrap_or_default();
    if target.file_name().is_none_or(|n| n != want.as_str()) {
        return Err(missing(format!(
            "kube-apiserver built from the current recipe ({want})"
        )));
    }
    Ok(bin)
}

/// FNV-1a, 64 bits: the recipe hash `cargo xtask peers` keys its cache with.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Options of a private API server.
#[derive(Debug, Clone, Default)]
pub struct KubeApiBuilder {
    apiserver_args: Vec<String>,
    without_controllers: bool,
}

impl KubeApiBuilder {
    /// Adds a kube-apiserver flag, e.g. `--authentication-token-webhook-config-file=FILE`.
    #[must_use]
    pub fn apiserver_arg(mut self, arg: impl Into<String>) -> Self {
        self.apiserver_args.push(arg.into());
        self
    }

    /// Starts etcd and the API server only (no controller-manager, scheduler, fake kubelet).
    #[must_use]
    pub fn api_server_only(mut self) -> Self {
        self.without_controllers = true;
        self
    }

    /// Starts a private server (stopped and removed on drop).
    pub fn start(self) -> Result<KubeApi, TestkitError> {
        let dir = tempfile::Builder::new()
            .prefix("kube-")
            .tempdir()
            .map_err(|e| TestkitError::io("cannot create a temporary directory", e))?;
        let run = dir.path().join("run");
        let mut api = start_in(&run, &self, std::process::id())?;
        api.owned = Some(dir);
        Ok(api)
    }
}

/// A running API server: where it is, how to authenticate, its CA.
#[derive(Debug)]
pub struct KubeApi {
    run: PathBuf,
    port: u16,
    token: String,
    ca_pem: String,
    owned: Option<tempfile::TempDir>,
}

impl KubeApi {
    /// The server shared by this test binary's tests (started on first use).
    ///
    /// # Panics
    /// When the peer is not installed (the message names `cargo xtask peers`) or does not start.
    pub fn shared() -> &'static KubeApi {
        static SHARED: OnceLock<KubeApi> = OnceLock::new();
        SHARED.get_or_init(|| crate::kube_shared::start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// Options for a private server.
    pub fn builder() -> KubeApiBuilder {
        KubeApiBuilder::default()
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The admin bearer token (group `system:masters`).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The CA bundle that verifies the server's certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA as a vine's `cluster_ca_certificate` Terraform output gives it: base64 of the PEM.
    pub fn ca_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&self.ca_pem)
    }

    /// A kubeconfig (text) for this server with the admin token and the CA inline.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n- name: admin\n  user:\n    token: {}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: admin\ncurrent-context: test\n",
            self.url(),
            self.ca_base64(),
            self.token
        )
    }

    /// The state directory (logs in `logs/`).
    pub fn run_dir(&self) -> &Path {
        &self.run
    }

    /// The last lines a component logged (`kube-apiserver`, `etcd`, `fake-kubelet`, …).
    pub fn log_tail(&self, component: &str) -> String {
        let text = std::fs::read_to_string(self.run.join("logs").join(format!("{component}.log")))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// A new namespace `PREFIX-<random>` for one test, deleted (without waiting) on drop.
    pub async fn namespace(&self, prefix: &str) -> Result<crate::KubeNamespace, TestkitError> {
        crate::KubeNamespace::create(self, prefix).await
    }

    pub(crate) fn from_run(run: &Path, port: u16, token: String) -> Result<Self, TestkitError> {
        let crt = run.join("certs").join("apiserver.crt");
        let ca_pem = std::fs::read_to_string(&crt)
            .map_err(|e| TestkitError::io(format!("cannot read {}", crt.display()), e))?;
        Ok(Self {
            run: run.to_owned(),
            port,
            token,
            ca_pem,
            owned: None,
        })
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        if self.owned.is_some() {
            let _ = stop(&self.run);
        }
    }
}

/// Starts a server with state in `run`, stopped by its watchdog once `watch_pid` has exited.
pub(crate) fn start_in(
    run: &Path,
    options: &KubeApiBuilder,
    watch_pid: u32,
) -> Result<KubeApi, TestkitError> {
    let bin = kube_bin_dir()?;
    let token = format!("test-admin-{}", uuid::Uuid::new_v4().simple());
    let mut last = None;
    for _ in 0..START_ATTEMPTS {
        let _ = std::fs::remove_dir_all(run);
        std::fs::create_dir_all(run)
            .map_err(|e| TestkitError::io(format!("cannot create {}", run.display()), e))?;
        let _ = std::fs::set_permissions(run, std::fs::Permissions::from_mode(0o700));
        let ports: Vec<u16> = (0..5).map(|_| free_port()).collect::<Result<_, _>>()?;
        let mut cmd = process::command(kube_scripts_dir().join("start-k8s.sh"));
        cmd.env("BIN", &bin)
            .env("RUN", run)
            .env("TOKEN", &token)
            .env("ETCD_PORT", ports[0].to_string())
            .env("ETCD_PEER_PORT", ports[1].to_string())
            .env("API_PORT", ports[2].to_string())
            .env("KCM_PORT", ports[3].to_string())
            .env("SCHED_PORT", ports[4].to_string())
            .env("APISERVER_ARGS", options.apiserver_args.join(" "))
            .env("WATCH_PID", watch_pid.to_string())
            .env("RM_RUN", "1")
            .stdin(std::process::Stdio::null());
        if options.without_controllers {
            cmd.env("WITH_KCM", "0")
                .env("WITH_SCHED", "0")
                .env("WITH_FAKE_KUBELET", "0");
        }
        match process::run(&mut cmd) {
            Ok(_) => return KubeApi::from_run(run, ports[2], token),
            // Most likely a port taken between free_port() and the bind: try new ones.
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("at least one attempt"))
}

/// Runs `stop-k8s.sh` for `run`.
pub(crate) fn stop(run: &Path) -> Result<(), TestkitError> {
    let mut cmd = process::command(kube_scripts_dir().join("stop-k8s.sh"));
    cmd.env("RUN", run).stdin(std::process::Stdio::null());
    process::run(&mut cmd).map(drop)
}

/// Whether the server answers `GET /readyz` with 200 (anonymous: 1.20 lets anyone read it).
pub(crate) fn is_ready(api: &KubeApi) -> bool {
    let mut cmd = process::command("curl");
    cmd.args(["-fs", "--max-time", "5", "--cacert"])
        .arg(api.run.join("certs").join("apiserver.crt"))
        .arg(format!("{}/readyz", api.url()))
        .stdin(std::process::Stdio::null());
    process::run(&mut cmd).is_ok()
}
