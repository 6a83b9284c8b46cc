//! How the worker makes a vine's cluster a platform: Helm, the ArgoCD chart, the bounds of
//! the waits, and the cluster a stand-in vine stands for.

use std::path::PathBuf;

use clap::Args;
use grape_api::{Secret, WorkerMode};
use grape_provisioner::{ArgoCdChart, ClusterSettings, DirectCluster, VineTemplates};

use super::parse::{duration, non_empty};
use super::{ConfigError, invalid, var};

/// The cluster flags of `tendril start`.
#[derive(Debug, Clone, Default, Args)]
pub struct ClusterArgs {
    /// The helm executable (Helm 4) [default: helm on PATH].
    #[arg(long, env = var::TENDRIL_HELM_BIN, value_name = "PATH")]
    pub helm_bin: Option<PathBuf>,
    /// Where the ArgoCD chart comes from: a chart repository URL, an oci:// reference (the
    /// chart `argo-cd` under it) or a chart directory on this host [default: argo-helm].
    #[arg(long, env = var::TENDRIL_ARGOCD_CHART, value_name = "URL|PATH")]
    pub argocd_chart: Option<String>,
    /// The ArgoCD chart's version [default: the pinned 7.7.11; none for a directory].
    #[arg(long, env = var::TENDRIL_ARGOCD_CHART_VERSION, value_name = "VERSION")]
    pub argocd_chart_version: Option<String>,
    /// How long ArgoCD's install may take.
    #[arg(long, env = var::TENDRIL_ARGOCD_WAIT, default_value = "10m", value_name = "DURATION")]
    pub argocd_wait: String,
    /// How long the platform's Applications may take to be Synced and Healthy (and to be
    /// deleted at DESTROY).
    #[arg(long, env = var::TENDRIL_APPLICATIONS_WAIT, default_value = "15m", value_name = "DURATION")]
    pub applications_wait: String,
    /// With --vine-templates standin: the API server URL of the cluster stand-in vines stand
    /// for (demos, tests); unset: stand-in vines have no cluster steps.
    #[arg(long, env = var::TENDRIL_STANDIN_CLUSTER_ENDPOINT, value_name = "URL")]
    pub standin_cluster_endpoint: Option<String>,
    /// The PEM file of that API server's CA.
    #[arg(long, env = var::TENDRIL_STANDIN_CLUSTER_CA_FILE, value_name = "PATH")]
    pub standin_cluster_ca_file: Option<PathBuf>,
    /// A file holding a bearer token of that API server.
    #[arg(long, env = var::TENDRIL_STANDIN_CLUSTER_TOKEN_FILE, value_name = "PATH")]
    pub standin_cluster_token_file: Option<PathBuf>,
}

impl ClusterArgs {
    /// The cluster settings of a worker in `mode` rendering vines with `templates`.
    pub(super) fn settings(
        &self,
        mode: &WorkerMode,
        templates: VineTemplates,
    ) -> Result<ClusterSettings, ConfigError> {
        let mut argocd_chart = ArgoCdChart::default();
        if let Some(chart) = non_empty(self.argocd_chart.as_ref()) {
            let local = !chart.contains("://");
            chart.clone_into(&mut argocd_chart.repository);
            if local {
                argocd_chart.version = None;
            }
        }
        if let Some(version) = non_empty(self.argocd_chart_version.as_ref()) {
            argocd_chart.version = Some(version.to_owned());
        }
        let apps_wait = duration(var::TENDRIL_APPLICATIONS_WAIT, &self.applications_wait)?;
        Ok(ClusterSettings {
            helm_bin: self.helm_bin.clone().filter(|p| !p.as_os_str().is_empty()),
            argocd_chart,
            argocd_timeout: duration(var::TENDRIL_ARGOCD_WAIT, &self.argocd_wait)?,
            apps_timeout: apps_wait,
            delete_timeout: apps_wait,
            git_tokens_into_clusters: *mode != WorkerMode::CloudHosted,
            standin_cluster: self.standin_cluster(templates)?,
            ..ClusterSettings::default()
        })
    }

    fn standin_cluster(
        &self,
        templates: VineTemplates,
    ) -> Result<Option<DirectCluster>, ConfigError> {
        let Some(endpoint) = non_empty(self.standin_cluster_endpoint.as_ref()) else {
            return Ok(None);
        };
        let name = var::TENDRIL_STANDIN_CLUSTER_ENDPOINT;
        if templates != VineTemplates::StandIn {
            return Err(invalid(
                name,
                "setting",
                "a stand-in cluster needs --vine-templates standin (real vines name their own cluster)",
            ));
        }
        if !endpoint.starts_with("https://") {
            return Err(invalid(name, "URL", "expected https://"));
        }
        let read = |name: &'static str, path: Option<&PathBuf>| -> Result<String, ConfigError> {
            let path = path
                .filter(|p| !p.as_os_str().is_empty())
                .ok_or(ConfigError::Missing {
                    name,
                    hint: "a stand-in cluster needs its CA file and token file",
                })?;
            std::fs::read_to_string(path)
                .map(|text| text.trim().to_owned())
                .map_err(|e| invalid(name, "readable file", format!("{}: {e}", path.display())))
        };
        let ca_pem = read(
            var::TENDRIL_STANDIN_CLUSTER_CA_FILE,
            self.standin_cluster_ca_file.as_ref(),
        )?;
        let token = read(
            var::TENDRIL_STANDIN_CLUSTER_TOKEN_FILE,
            self.standin_cluster_token_file.as_ref(),
        )?;
        if token.is_empty() {
            return Err(invalid(
                var::TENDRIL_STANDIN_CLUSTER_TOKEN_FILE,
                "token file",
                "the file is empty",
            ));
        }
        Ok(Some(DirectCluster {
            endpoint: endpoint.to_owned(),
            ca_pem,
            token: Secret::new(token),
        }))
    }
}
