//! The platform's ArgoCD objects for a vine: the AppProject `infrastructure`, one Application
//! per platform app (Helm charts pinned by default, configured from the vine's facts), the
//! user's apps from `repositories.apps_destination_repo`, and a storage class.
//!
//! Which apps a cloud gets: AWS — load balancer controller, external-dns (with a DNS zone),
//! external-secrets, metrics-server, karpenter (when enabled); GCP and Azure — external-dns
//! (with a zone) and external-secrets (GKE and AKS bring their own load balancing and
//! metrics-server). Every Application syncs automatically (prune, self-heal), creates its
//! namespace, and carries the resources finalizer, so deleting it deletes what it made.

use serde_json::{Value, json};

use crate::chart::ARGOCD_NAMESPACE;
use crate::facts::{PlatformFacts, Provider};
use crate::manifest::Manifest;

/// The AppProject of the platform's own apps.
pub const INFRA_PROJECT: &str = "infrastructure";
/// The in-cluster API server, as ArgoCD names it.
const IN_CLUSTER: &str = "https://kubernetes.default.svc";

/// A Helm chart an Application installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppChart {
    /// Chart repository URL (or an OCI registry host and path, without `oci://`).
    pub repository: String,
    /// Chart name.
    pub chart: String,
    /// Chart version.
    pub version: String,
}

impl AppChart {
    fn new(repository: &str, chart: &str, version: &str) -> Self {
        Self {
            repository: repository.into(),
            chart: chart.into(),
            version: version.into(),
        }
    }
}

/// The charts of the platform apps (pinned defaults) and the user's apps repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppsOptions {
    /// eks-charts' `aws-load-balancer-controller`.
    pub load_balancer_controller: AppChart,
    /// `external-dns`.
    pub external_dns: AppChart,
    /// `external-secrets`.
    pub external_secrets: AppChart,
    /// `metrics-server`.
    pub metrics_server: AppChart,
    /// Karpenter (OCI, public ECR).
    pub karpenter: AppChart,
    /// The user's apps: `repositories.apps_destination_repo`.
    pub apps_repo: Option<String>,
    /// The directory of the user's manifests in that repository.
    pub apps_path: String,
    /// The branch, tag or commit ArgoCD follows.
    pub apps_revision: String,
}

impl Default for AppsOptions {
    fn default() -> Self {
        Self {
            load_balancer_controller: AppChart::new(
                "https://aws.github.io/eks-charts",
                "aws-load-balancer-controller",
                "1.10.1",
            ),
            external_dns: AppChart::new(
                "https://kubernetes-sigs.github.io/external-dns/",
                "external-dns",
                "1.15.0",
            ),
            external_secrets: AppChart::new(
                "https://charts.external-secrets.io",
                "external-secrets",
                "0.12.1",
            ),
            metrics_server: AppChart::new(
                "https://kubernetes-sigs.github.io/metrics-server/",
                "metrics-server",
                "3.12.2",
            ),
            karpenter: AppChart::new("public.ecr.aws/karpenter", "karpenter", "1.1.1"),
            apps_repo: None,
            apps_path: ".".into(),
            apps_revision: "HEAD".into(),
        }
    }
}

/// The AppProject, then the Applications, in the order they should be applied.
pub fn platform_applications(facts: &PlatformFacts, options: &AppsOptions) -> Vec<Manifest> {
    let mut apps = Vec::new();
    let irsa = |app: &str| -> Value {
        facts.irsa_role(app).map_or_else(
            || json!({}),
            |arn| json!({ "eks.amazonaws.com/role-arn": arn }),
        )
    };
    if facts.provider == Provider::Aws {
        apps.push(helm_app(
            "aws-load-balancer-controller",
            "kube-system",
            &options.load_balancer_controller,
            &json!({
                "clusterName": facts.cluster_name,
                "region": facts.region,
                "vpcId": facts.network_id,
                "serviceAccount": {
                    "create": true,
                    "name": "aws-load-balancer-controller",
                    "annotations": irsa("load_balancer_controller"),
                },
            }),
        ));
    }
    if facts.dns_zone_id.is_some() {
        apps.push(helm_app(
            "external-dns",
            "external-dns",
            &options.external_dns,
            &external_dns_values(facts, &irsa("external_dns")),
        ));
    }
    apps.push(helm_app(
        "external-secrets",
        "external-secrets",
        &options.external_secrets,
        &json!({
            "installCRDs": true,
            "serviceAccount": { "name": "external-secrets", "annotations": irsa("external_secrets") },
        }),
    ));
    if facts.provider == Provider::Aws {
        apps.push(helm_app(
            "metrics-server",
            "kube-system",
            &options.metrics_server,
            &json!({ "args": ["--kubelet-preferred-address-types=InternalIP"] }),
        ));
    }
    if let (Provider::Aws, Some(queue)) = (facts.provider, &facts.karpenter_queue_name) {
        apps.push(helm_app(
            "karpenter",
            "karpenter",
            &options.karpenter,
            &json!({
                "settings": { "clusterName": facts.cluster_name, "interruptionQueue": queue },
                "serviceAccount": { "name": "karpenter", "annotations": irsa("karpenter") },
            }),
        ));
    }
    let mut sources: Vec<&str> = apps
        .iter()
        .filter_map(|a| a.0["spec"]["source"]["repoURL"].as_str())
        .collect();
    sources.sort_unstable();
    sources.dedup();
    let mut out = vec![project(&sources)];
    out.extend(apps);
    if let Some(repo) = &options.apps_repo {
        out.push(user_apps(repo, options));
    }
    out
}

fn external_dns_values(facts: &PlatformFacts, annotations: &Value) -> Value {
    let mut values = json!({
        "policy": "upsert-only",
        "txtOwnerId": facts.cluster_name,
        "serviceAccount": { "name": "external-dns", "annotations": annotations },
    });
    if let Some(domain) = &facts.domain_name {
        values["domainFilters"] = json!([domain]);
    }
    values["provider"] = match facts.provider {
        Provider::Aws => json!({ "name": "aws" }),
        Provider::Gcp => json!({ "name": "google" }),
        Provider::Azure => json!({ "name": "azure" }),
    };
    match facts.provider {
        Provider::Aws => {
            values["env"] = json!([{ "name": "AWS_DEFAULT_REGION", "value": facts.region }]);
        }
        Provider::Gcp => {
            values["extraArgs"] = json!([format!("--google-project={}", facts.account_id)]);
        }
        Provider::Azure => {
            values["podLabels"] = json!({ "azure.workload.identity/use": "true" });
        }
    }
    values
}

fn metadata(name: &str) -> Value {
    json!({
        "name": name,
        "namespace": ARGOCD_NAMESPACE,
        "labels": { "app.kubernetes.io/managed-by": "vintner" },
        "finalizers": ["resources-finalizer.argocd.argoproj.io"],
    })
}

fn sync_policy() -> Value {
    json!({
        "automated": { "prune": true, "selfHeal": true },
        "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
    })
}

fn helm_app(name: &str, namespace: &str, chart: &AppChart, values: &Value) -> Manifest {
    Manifest(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": metadata(name),
        "spec": {
            "project": INFRA_PROJECT,
            "source": {
                "repoURL": chart.repository,
                "chart": chart.chart,
                "targetRevision": chart.version,
                "helm": { "releaseName": name, "valuesObject": values },
            },
            "destination": { "server": IN_CLUSTER, "namespace": namespace },
            "syncPolicy": sync_policy(),
        },
    }))
}

fn project(sources: &[&str]) -> Manifest {
    Manifest(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {
            "name": INFRA_PROJECT,
            "namespace": ARGOCD_NAMESPACE,
            "labels": { "app.kubernetes.io/managed-by": "vintner" },
        },
        "spec": {
            "description": "The platform's own apps, installed by Vintner",
            "sourceRepos": sources,
            "destinations": [{ "server": IN_CLUSTER, "namespace": "*" }],
            "clusterResourceWhitelist": [{ "group": "*", "kind": "*" }],
        },
    }))
}

fn user_apps(repo: &str, options: &AppsOptions) -> Manifest {
    let mut meta = metadata("apps");
    meta["labels"]["vintner.io/part"] = json!("user-apps");
    Manifest(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": "default",
            "source": {
                "repoURL": repo,
                "path": options.apps_path,
                "targetRevision": options.apps_revision,
                "directory": { "recurse": true },
            },
            "destination": { "server": IN_CLUSTER, "namespace": "default" },
            "syncPolicy": sync_policy(),
        },
    }))
}

/// A storage class of the cloud's CSI driver for the platform's volumes (not the cluster's
/// default: EKS, GKE and AKS each bring one).
pub fn storage_class(provider: Provider) -> Manifest {
    let (provisioner, parameters) = match provider {
        Provider::Aws => (
            "ebs.csi.aws.com",
            json!({ "type": "gp3", "encrypted": "true" }),
        ),
        Provider::Gcp => ("pd.csi.storage.gke.io", json!({ "type": "pd-balanced" })),
        Provider::Azure => (
            "disk.csi.azure.com",
            json!({ "skuName": "StandardSSD_LRS" }),
        ),
    };
    Manifest(json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": { "name": "vintner-ssd", "labels": { "app.kubernetes.io/managed-by": "vintner" } },
        "provisioner": provisioner,
        "parameters": parameters,
        "reclaimPolicy": "Delete",
        "allowVolumeExpansion": true,
        "volumeBindingMode": "WaitForFirstConsumer",
    }))
}

#[cfg(test)]
#[path = "apps_tests.rs"]
mod tests;
