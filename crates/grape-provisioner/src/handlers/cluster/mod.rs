//! A vine's cluster steps: after Terraform has made the cluster, make it a platform — connect,
//! install ArgoCD with Helm, register the apps repository, apply the platform's Applications
//! and wait until they are Synced and Healthy; before Terraform destroys it, take that apart in
//! reverse. Every step is checked: a failing step fails the job naming it (`step `argocd`: …`),
//! and each is re-runnable (Helm upgrade --install, server-side apply, deletes of what is gone
//! are no-ops), so a retry converges from wherever the last run stopped.

mod apps;
mod argocd;
mod bootstrap;
mod connect;
mod gitops;

pub use bootstrap::BootstrapHandler;

use std::fmt;

use grape_argocd::ArgoCdChart;
use grape_vine::Vine;
use serde_json::{Value, json};

use crate::{JobContext, JobError};

/// The cluster steps, in the order an APPLY runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Connect to the cluster (outputs, token, `/version`).
    Cluster,
    /// `helm upgrade --install` ArgoCD and wait for it.
    ArgoCd,
    /// ArgoCD's repository credential for the user's apps.
    Repository,
    /// The AppProject, the Applications and the storage class.
    Applications,
    /// The rendered objects committed to the vine's GitOps repository.
    GitOps,
    /// Until every Application is Synced and Healthy.
    Wait,
    /// DESTROY: delete the Applications (cascading to what they made) and the rest of ours.
    DeleteApplications,
    /// DESTROY: `helm uninstall` ArgoCD.
    UninstallArgoCd,
}

impl Step {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Cluster => "cluster",
            Self::ArgoCd => "argocd",
            Self::Repository => "repository",
            Self::Applications => "applications",
            Self::GitOps => "gitops",
            Self::Wait => "wait",
            Self::DeleteApplications => "delete applications",
            Self::UninstallArgoCd => "uninstall argocd",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed step as the job's FAILED reason.
pub(crate) fn step_failed(step: Step, why: impl fmt::Display) -> JobError {
    JobError::Failed(format!("step `{step}`: {why}"))
}

fn k8s_error(step: Step, e: grape_k8s::K8sError) -> JobError {
    match e {
        grape_k8s::K8sError::Cancelled { .. } => JobError::Cancelled,
        other => step_failed(step, other),
    }
}

fn helm_error(step: Step, e: grape_helm::HelmError) -> JobError {
    match e {
        grape_helm::HelmError::Cancelled { .. } => JobError::Cancelled,
        other => step_failed(step, other),
    }
}

/// What the cluster steps of an APPLY report in the job result.
#[derive(Debug, Default)]
pub(crate) struct PlatformReport {
    /// The steps done, in order.
    pub steps: Vec<&'static str>,
    /// Result fields: `cluster_name`, `cluster_endpoint`, `argocd_url`, `argocd_admin_secret`,
    /// `applications`, …
    pub fields: serde_json::Map<String, Value>,
}

/// The cluster steps of an APPLY, after its Terraform: returns what they did. A stand-in vine
/// without a stand-in cluster has none (the log says so).
pub(crate) async fn apply_platform(
    ctx: &JobContext,
    vine: &Vine,
    outputs: &Value,
) -> Result<PlatformReport, JobError> {
    let mut report = PlatformReport::default();
    let Some(cluster) = connect::connect(ctx, vine, outputs).await? else {
        report
            .fields
            .insert("cluster_steps".into(), json!("skipped"));
        return Ok(report);
    };
    report.steps.push(Step::Cluster.name());
    let argocd_url = ArgoCdChart::server_url(&cluster.facts);
    report
        .fields
        .insert("cluster_name".into(), json!(cluster.facts.cluster_name));
    report
        .fields
        .insert("cluster_endpoint".into(), json!(cluster.k8s.endpoint()));

    argocd::install(ctx, &cluster).await?;
    report.steps.push(Step::ArgoCd.name());
    report.fields.insert("argocd_url".into(), json!(argocd_url));
    report.fields.insert(
        "argocd_admin_secret".into(),
        json!({"namespace": grape_argocd::ARGOCD_NAMESPACE, "name": grape_argocd::INITIAL_ADMIN_SECRET}),
    );
    if argocd_url.is_none() {
        report.fields.insert(
            "argocd_access".into(),
            json!(format!(
                "the vine has no domain: kubectl -n {} port-forward svc/{}-server 8080:443, then https://localhost:8080",
                grape_argocd::ARGOCD_NAMESPACE,
                grape_argocd::ARGOCD_RELEASE
            )),
        );
    }

    let repository = apps::register_repository(ctx, vine, &cluster).await?;
    report.steps.push(Step::Repository.name());
    report.fields.insert("repository_secret".into(), repository);

    let applications = apps::apply(ctx, vine, &cluster).await?;
    report.steps.push(Step::Applications.name());

    if vine.repositories.gitops_repo.is_some() {
        let manifests = apps::manifests(ctx, vine, &cluster);
        let published = gitops::publish(ctx, vine, &manifests).await?;
        report.steps.push(Step::GitOps.name());
        report.fields.insert("gitops".into(), published);
    }

    let statuses = apps::wait(ctx, &cluster, &applications).await?;
    report.steps.push(Step::Wait.name());
    report.fields.insert("applications".into(), statuses);
    Ok(report)
}

/// The cluster steps of a DESTROY, before its Terraform: delete the Applications (cascading)
/// and the rest of ours, then uninstall ArgoCD. Returns the steps done; none when the state
/// names no cluster (never applied, or destroyed already).
pub(crate) async fn remove_platform(
    ctx: &JobContext,
    vine: &Vine,
    outputs: &Value,
) -> Result<Vec<&'static str>, JobError> {
    if outputs.get("cluster_name").is_none() {
        ctx.log
            .system("the state names no cluster: no cluster steps before terraform destroy");
        return Ok(Vec::new());
    }
    let Some(cluster) = connect::connect(ctx, vine, outputs).await? else {
        return Ok(Vec::new());
    };
    apps::delete(ctx, vine, &cluster).await?;
    argocd::uninstall(ctx, &cluster).await?;
    Ok(vec![
        Step::Cluster.name(),
        Step::DeleteApplications.name(),
        Step::UninstallArgoCd.name(),
    ])
}
