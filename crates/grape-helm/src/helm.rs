//! [`Helm`]: one `helm` binary, its files in a job's directory, and the commands Vintner runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use grape_process::{CancellationToken, Command, LineSink, Output, Redactor};
use serde::Deserialize;
use serde_json::Value;

use crate::HelmError;
use crate::chart::{Chart, Release, UpgradeOptions};
use crate::kubeconfig::{Kubeconfig, KubeconfigFile};

/// The Helm CLI of one job.
#[derive(Debug, Clone)]
pub struct Helm {
    program: PathBuf,
    dir: PathBuf,
    kubeconfig: Option<Kubeconfig>,
    redactor: Redactor,
    grace: Duration,
}

/// What `helm status -o json` says of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseStatus {
    /// The release name.
    pub name: String,
    /// The namespace.
    pub namespace: String,
    /// The revision.
    pub revision: u64,
    /// `deployed`, `failed`, `pending-install`, …
    pub status: String,
    /// The chart's name and version.
    pub chart: String,
}

impl Helm {
    /// `program` (the `helm` binary) keeping its files under `dir` (created as needed; a
    /// directory of the job's workspace).
    pub fn new(program: impl Into<PathBuf>, dir: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            dir: dir.into(),
            kubeconfig: None,
            redactor: Redactor::new(),
            grace: Duration::from_secs(30),
        }
    }

    /// Talks to the cluster of `kubeconfig` (its secrets join the redactor).
    #[must_use]
    pub fn kubeconfig(mut self, kubeconfig: Kubeconfig) -> Self {
        for secret in kubeconfig.secrets() {
            self.redactor.add(secret.expose());
        }
        self.kubeconfig = Some(kubeconfig);
        self
    }

    /// Redacts every line with `redactor` (the job's).
    #[must_use]
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        if let Some(k) = &self.kubeconfig {
            for secret in k.secrets() {
                redactor.add(secret.expose());
            }
        }
        self.redactor = redactor;
        self
    }

    /// The time between SIGINT and SIGKILL when a command is cancelled.
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The directory holding Helm's cache, configuration and data.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `helm upgrade --install RELEASE CHART`: creates or upgrades the release; returns its
    /// status afterwards.
    pub async fn upgrade_install(
        &self,
        release: &Release,
        chart: &Chart,
        options: &UpgradeOptions,
        sink: &dyn LineSink,
        cancel: &CancellationToken,
    ) -> Result<ReleaseStatus, HelmError> {
        let command = format!("upgrade --install {}", release.name);
        let mut args: Vec<String> =
            vec!["upgrade".into(), "--install".into(), release.name.clone()];
        args.extend(chart.args());
        args.extend(["--namespace".into(), release.namespace.clone()]);
        if options.create_namespace {
            args.push("--create-namespace".into());
        }
        args.extend(self.values_files(&options.values)?);
        if options.wait {
            args.push("--wait".into());
        }
        if options.atomic {
            args.push("--rollback-on-failure".into());
        }
        args.extend([
            "--timeout".into(),
            format!("{}s", options.timeout.as_secs()),
        ]);
        // Helm's own timeout ends the wait; ours (a minute later) only guards a hung binary.
        let limit = options.timeout + Duration::from_secs(60);
        self.run(&command, &args, Some(limit), sink, cancel).await?;
        self.status(release, cancel)
            .await?
            .ok_or_else(|| HelmError::Failed {
                command,
                how: "left no release".into(),
                detail: "helm status found no release after the install".into(),
            })
    }

    /// `helm uninstall RELEASE [--wait]`; `Ok(false)` when there was no such release.
    pub async fn uninstall(
        &self,
        release: &Release,
        wait: Option<Duration>,
        sink: &dyn LineSink,
        cancel: &CancellationToken,
    ) -> Result<bool, HelmError> {
        let command = format!("uninstall {}", release.name);
        let mut args: Vec<String> = vec![
            "uninstall".into(),
            release.name.clone(),
            "--namespace".into(),
            release.namespace.clone(),
        ];
        if let Some(timeout) = wait {
            args.extend([
                "--wait".into(),
                "--timeout".into(),
                format!("{}s", timeout.as_secs()),
            ]);
        }
        match self.run(&command, &args, None, sink, cancel).await {
            Ok(_) => Ok(true),
            Err(HelmError::Failed { detail, .. }) if detail.contains("not found") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `helm status RELEASE -o json`; `None` when there is no such release.
    pub async fn status(
        &self,
        release: &Release,
        cancel: &CancellationToken,
    ) -> Result<Option<ReleaseStatus>, HelmError> {
        let command = format!("status {}", release.name);
        let args: Vec<String> = vec![
            "status".into(),
            release.name.clone(),
            "--namespace".into(),
            release.namespace.clone(),
            "--output".into(),
            "json".into(),
        ];
        let discard = |_: grape_process::OutputStream, _: &str| {};
        let output = match self.output(&command, &args, &discard, cancel).await {
            Ok(output) => output,
            Err(HelmError::Failed { detail, .. }) if detail.contains("not found") => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        parse_status(&command, &output.stdout).map(Some)
    }

    /// `helm template RELEASE CHART`: the manifests the chart renders with `values`, offline.
    pub async fn template(
        &self,
        release: &Release,
        chart: &Chart,
        values: &[Value],
        cancel: &CancellationToken,
    ) -> Result<String, HelmError> {
        let command = format!("template {}", release.name);
        let mut args: Vec<String> = vec!["template".into(), release.name.clone()];
        args.extend(chart.args());
        args.extend(["--namespace".into(), release.namespace.clone()]);
        args.extend(self.values_files(values)?);
        let discard = |_: grape_process::OutputStream, _: &str| {};
        Ok(self.output(&command, &args, &discard, cancel).await?.stdout)
    }

    /// Writes each values document to `dir/values-N.json`; the `-f` flags.
    fn values_files(&self, values: &[Value]) -> Result<Vec<String>, HelmError> {
        self.ensure_dirs()?;
        let mut flags = Vec::new();
        for (n, doc) in values.iter().enumerate() {
            let path = self.dir.join(format!("values-{n}.json"));
            let text = serde_json::to_vec_pretty(doc).unwrap_or_default();
            std::fs::write(&path, text).map_err(|source| HelmError::Io {
                action: "writing the values file",
                path: path.clone(),
                source,
            })?;
            flags.extend(["--values".to_owned(), path.display().to_string()]);
        }
        Ok(flags)
    }

    fn ensure_dirs(&self) -> Result<(), HelmError> {
        for sub in ["cache", "config", "data"] {
            let path = self.dir.join(sub);
            std::fs::create_dir_all(&path).map_err(|source| HelmError::Io {
                action: "creating Helm's directory",
                path,
                source,
            })?;
        }
        Ok(())
    }

    /// The command with Helm's environment: its directories, the kubeconfig file (if any).
    fn command(&self, args: &[String], kubeconfig: Option<&Path>) -> Command {
        let mut cmd = Command::new(self.program.as_os_str(), &self.dir)
            .args(args)
            .inherit_env(grape_process::TOOL_ENV)
            .env("HOME", self.dir.as_os_str())
            .env("HELM_CACHE_HOME", self.dir.join("cache").as_os_str())
            .env("HELM_CONFIG_HOME", self.dir.join("config").as_os_str())
            .env("HELM_DATA_HOME", self.dir.join("data").as_os_str())
            .grace(self.grace)
            .redactor(self.redactor.clone());
        // No kubeconfig: point at none, so Helm never falls back to ~/.kube/config.
        let path = kubeconfig.map_or_else(|| self.dir.join("no-kubeconfig"), Path::to_path_buf);
        cmd = cmd.env("KUBECONFIG", path.as_os_str());
        cmd
    }

    async fn run(
        &self,
        command: &str,
        args: &[String],
        timeout: Option<Duration>,
        sink: &dyn LineSink,
        cancel: &CancellationToken,
    ) -> Result<grape_process::ExitReport, HelmError> {
        self.execute(command, args, |cmd| async move {
            cmd.timeout(timeout).run(sink, cancel).await
        })
        .await
    }

    async fn output(
        &self,
        command: &str,
        args: &[String],
        sink: &dyn LineSink,
        cancel: &CancellationToken,
    ) -> Result<Output, HelmError> {
        self.execute(command, args, |cmd| async move {
            cmd.output_with_stderr_sink(sink, cancel).await
        })
        .await
    }

    /// Runs `args` with the kubeconfig file written for the duration of `start`, then checks
    /// how Helm ended.
    async fn execute<T, F, Fut>(
        &self,
        command: &str,
        args: &[String],
        start: F,
    ) -> Result<T, HelmError>
    where
        T: Ended,
        F: FnOnce(Command) -> Fut,
        Fut: std::future::Future<Output = Result<T, grape_process::ProcessError>>,
    {
        self.ensure_dirs()?;
        let file = self.write_kubeconfig()?;
        let ended = start(self.command(args, file.as_ref().map(KubeconfigFile::path)))
            .await
            .map_err(|source| HelmError::Spawn {
                command: command.to_owned(),
                source,
            })?;
        drop(file);
        check(command, ended.report())?;
        Ok(ended)
    }

    fn write_kubeconfig(&self) -> Result<Option<KubeconfigFile>, HelmError> {
        self.kubeconfig
            .as_ref()
            .map(|k| k.write(&self.dir, "kubeconfig"))
            .transpose()
    }
}

/// What a finished run gives: its exit report, and maybe more.
trait Ended {
    fn report(&self) -> &grape_process::ExitReport;
}

impl Ended for grape_process::ExitReport {
    fn report(&self) -> &grape_process::ExitReport {
        self
    }
}

impl Ended for Output {
    fn report(&self) -> &grape_process::ExitReport {
        &self.report
    }
}

/// A finished command as a result: cancelled, unreachable cluster, or another failure.
fn check(command: &str, report: &grape_process::ExitReport) -> Result<(), HelmError> {
    if report.success() {
        return Ok(());
    }
    if report.cancelled {
        return Err(HelmError::Cancelled {
            command: command.to_owned(),
        });
    }
    let detail = report.stderr_tail.join("\n");
    let unreachable = [
        "Kubernetes cluster unreachable",
        "connection refused",
        "no such host",
    ];
    if unreachable.iter().any(|u| detail.contains(u)) {
        return Err(HelmError::ClusterUnreachable {
            command: command.to_owned(),
            detail,
        });
    }
    Err(HelmError::Failed {
        command: command.to_owned(),
        how: report.describe(),
        detail,
    })
}

#[derive(Deserialize)]
struct StatusJson {
    name: String,
    namespace: String,
    version: u64,
    info: StatusInfo,
    #[serde(default)]
    chart: Option<StatusChart>,
}

#[derive(Deserialize)]
struct StatusInfo {
    status: String,
}

#[derive(Deserialize)]
struct StatusChart {
    metadata: StatusChartMeta,
}

#[derive(Deserialize)]
struct StatusChartMeta {
    name: String,
    version: String,
}

fn parse_status(command: &str, stdout: &str) -> Result<ReleaseStatus, HelmError> {
    let parsed: StatusJson = serde_json::from_str(stdout).map_err(|source| HelmError::Json {
        command: command.to_owned(),
        source,
    })?;
    Ok(ReleaseStatus {
        name: parsed.name,
        namespace: parsed.namespace,
        revision: parsed.version,
        status: parsed.info.status,
        chart: parsed
            .chart
            .map(|c| format!("{}-{}", c.metadata.name, c.metadata.version))
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_status;

    #[test]
    fn status_json_is_typed() {
        let s = parse_status(
            "status argocd",
            r#"{"name":"argocd","namespace":"argocd","version":3,
                "info":{"status":"deployed","description":"Upgrade complete"},
                "chart":{"metadata":{"name":"argo-cd","version":"7.7.11"}}}"#,
        )
        .unwrap();
        assert_eq!(
            (s.revision, s.status.as_str(), s.chart.as_str()),
            (3, "deployed", "argo-cd-7.7.11")
        );
        assert!(parse_status("status x", "not json").is_err());
    }
}
