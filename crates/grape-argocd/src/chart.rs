//! The ArgoCD Helm chart: where it comes from (pinned by default) and its values.

use serde_json::{Value, json};

use crate::facts::PlatformFacts;

/// The namespace ArgoCD is installed into.
pub const ARGOCD_NAMESPACE: &str = "argocd";
/// The Helm release name of ArgoCD.
pub const ARGOCD_RELEASE: &str = "argocd";
/// The Secret that holds the initial admin password (ArgoCD creates it). A job result names
/// it; the password itself is never read into a log or a result.
pub const INITIAL_ADMIN_SECRET: &str = "argocd-initial-admin-secret";

/// Where the ArgoCD chart comes from. `repository` is a chart repository URL, an `oci://`
/// reference, or a local path (tests use a small stand-in chart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgoCdChart {
    /// Chart repository URL, `oci://…` reference or local path.
    pub repository: String,
    /// The chart's name in the repository (ignored for an OCI reference or a path).
    pub chart: String,
    /// The chart version (`None` for a local path).
    pub version: Option<String>,
}

impl Default for ArgoCdChart {
    /// argo-helm's `argo-cd` chart 7.7.11 (ArgoCD v2.13).
    fn default() -> Self {
        Self {
            repository: "https://argoproj.github.io/argo-helm".into(),
            chart: "argo-cd".into(),
            version: Some("7.7.11".into()),
        }
    }
}

impl ArgoCdChart {
    /// The chart's values for a vine: the cluster named in `global`, the server behind the
    /// platform's ingress when the vine has a domain (`argocd.<domain>`), otherwise a
    /// ClusterIP service reached by port-forward; the Application controller tracks by
    /// annotation (the Applications' resources keep their own labels); status badges and the
    /// `exec` terminal off.
    pub fn values(&self, facts: &PlatformFacts) -> Value {
        let host = facts
            .domain_name
            .as_ref()
            .map(|domain| format!("argocd.{domain}"));
        let mut server = json!({ "service": { "type": "ClusterIP" } });
        if let Some(host) = &host {
            server["ingress"] = json!({ "enabled": true, "hostname": host });
        }
        json!({
            "global": { "domain": host.clone().unwrap_or_else(|| "argocd.local".into()) },
            "fullnameOverride": ARGOCD_RELEASE,
            "configs": {
                "cm": {
                    "application.resourceTrackingMethod": "annotation",
                    "exec.enabled": false,
                    "statusbadge.enabled": false,
                    "cluster.name": facts.cluster_name,
                },
                "params": { "server.insecure": host.is_none() },
            },
            "server": server,
        })
    }

    /// The server's URL when the vine has a domain.
    pub fn server_url(facts: &PlatformFacts) -> Option<String> {
        facts
            .domain_name
            .as_ref()
            .map(|domain| format!("https://argocd.{domain}"))
    }
}
