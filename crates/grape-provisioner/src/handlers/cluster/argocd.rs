//! Steps `argocd` and `uninstall argocd`: ArgoCD's Helm release in its namespace.

use std::time::Duration;

use grape_argocd::{ARGOCD_NAMESPACE, ARGOCD_RELEASE, ArgoCdChart};
use grape_helm::{Chart, Helm, Kubeconfig, Release, UpgradeOptions};

use super::connect::Connected;
use super::{Step, helm_error, k8s_error};
use crate::{JobContext, JobError};

/// The Helm chart reference of the configured ArgoCD chart: an `oci://` reference, a chart
/// repository URL, or a path on this host.
pub(super) fn chart(chart: &ArgoCdChart) -> Chart {
    let repository = chart.repository.trim();
    if repository.starts_with("oci://") {
        Chart::Oci {
            reference: format!(
                "{}/{}",
                repository.trim_end_matches('/'),
                chart.chart.trim_matches('/')
            ),
            version: chart.version.clone(),
        }
    } else if repository.starts_with("https://") || repository.starts_with("http://") {
        Chart::Repository {
            url: repository.to_owned(),
            name: chart.chart.clone(),
            version: chart.version.clone(),
        }
    } else {
        Chart::Path(repository.into())
    }
}

/// Helm for one command against the cluster: a fresh token in a 0600 kubeconfig that Helm
/// removes after the command; the token joins the job's redactor.
async fn helm(ctx: &JobContext, cluster: &Connected, step: Step) -> Result<Helm, JobError> {
    let (kubeconfig, token) = cluster
        .k8s
        .kubeconfig()
        .await
        .map_err(|e| k8s_error(step, e))?;
    ctx.redactor.add(token.expose());
    let program = ctx
        .settings
        .cluster
        .helm_bin
        .clone()
        .unwrap_or_else(|| "helm".into());
    Ok(Helm::new(program, ctx.workspace.join("helm"))
        .kubeconfig(Kubeconfig::new(kubeconfig, vec![token]))
        .redactor(ctx.redactor.clone())
        .grace(ctx.settings.interrupt_grace))
}

fn release() -> Release {
    Release::new(ARGOCD_RELEASE, ARGOCD_NAMESPACE)
}

/// `helm upgrade --install argocd` with the vine's values, waiting (bounded) until it is
/// ready; a failed install is rolled back.
pub(super) async fn install(ctx: &JobContext, cluster: &Connected) -> Result<(), JobError> {
    let settings = &ctx.settings.cluster;
    let chart_settings = &settings.argocd_chart;
    let chart = chart(chart_settings);
    ctx.log.system(format!(
        "$ helm upgrade --install {ARGOCD_RELEASE} {} --namespace {ARGOCD_NAMESPACE} --wait --timeout {}s",
        describe(chart_settings),
        settings.argocd_timeout.as_secs()
    ));
    let options = UpgradeOptions {
        values: vec![chart_settings.values(&cluster.facts)],
        wait: true,
        timeout: settings.argocd_timeout,
        atomic: true,
        create_namespace: true,
    };
    let helm = helm(ctx, cluster, Step::ArgoCd).await?;
    let status = helm
        .upgrade_install(&release(), &chart, &options, &ctx.log, &ctx.cancel)
        .await
        .map_err(|e| helm_error(Step::ArgoCd, e))?;
    ctx.log.system(format!(
        "ArgoCD release {} revision {}: {}",
        status.name, status.revision, status.status
    ));
    if status.status != "deployed" {
        return Err(super::step_failed(
            Step::ArgoCd,
            format!(
                "release {} is {} after the install",
                status.name, status.status
            ),
        ));
    }
    Ok(())
}

/// `helm uninstall argocd --wait` (bounded); a release already gone is done.
pub(super) async fn uninstall(ctx: &JobContext, cluster: &Connected) -> Result<(), JobError> {
    let wait = ctx.settings.cluster.delete_timeout;
    ctx.log.system(format!(
        "$ helm uninstall {ARGOCD_RELEASE} --namespace {ARGOCD_NAMESPACE} --wait --timeout {}s",
        wait.as_secs()
    ));
    let helm = helm(ctx, cluster, Step::UninstallArgoCd).await?;
    let removed = helm
        .uninstall(
            &release(),
            Some(wait.max(Duration::from_secs(1))),
            &ctx.log,
            &ctx.cancel,
        )
        .await
        .map_err(|e| helm_error(Step::UninstallArgoCd, e))?;
    ctx.log.system(if removed {
        "ArgoCD uninstalled"
    } else {
        "ArgoCD was not installed: nothing to uninstall"
    });
    Ok(())
}

fn describe(chart: &ArgoCdChart) -> String {
    match &chart.version {
        Some(v) => format!("{} {} {v}", chart.repository, chart.chart),
        None => chart.repository.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_setting_is_a_repository_an_oci_reference_or_a_path() {
        assert!(matches!(
            chart(&ArgoCdChart::default()),
            Chart::Repository { name, version: Some(v), .. } if name == "argo-cd" && v == "7.7.11"
        ));
        let oci = ArgoCdChart {
            repository: "oci://ghcr.io/argoproj/argo-helm/".into(),
            chart: "argo-cd".into(),
            version: Some("7.7.11".into()),
        };
        assert!(matches!(
            chart(&oci),
            Chart::Oci { reference, .. } if reference == "oci://ghcr.io/argoproj/argo-helm/argo-cd"
        ));
        let path = ArgoCdChart {
            repository: "/opt/charts/argo-cd".into(),
            chart: String::new(),
            version: None,
        };
        assert_eq!(chart(&path), Chart::Path("/opt/charts/argo-cd".into()));
    }
}
