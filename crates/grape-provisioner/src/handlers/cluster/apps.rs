//! Steps `repository`, `applications`, `wait` and `delete applications`: what ArgoCD is told.

use std::collections::BTreeMap;

use grape_api::Secret;
use grape_argocd::{
    ARGOCD_NAMESPACE, AppsOptions, Manifest, RepositoryCredential, platform_applications,
    storage_class,
};
use grape_git::Origin;
use grape_k8s::{ObjectRef, SecretObject, WaitOptions, WaitTarget, application_synced_healthy};
use grape_vine::Vine;
use serde_json::{Value, json};

use super::connect::Connected;
use super::{Step, k8s_error, step_failed};
use crate::{JobContext, JobError};

/// The user name ArgoCD sends with a token (GitHub's; GitLab and Gitea accept any).
const TOKEN_USER: &str = "x-access-token";

/// The platform's objects for this vine: the storage class, the AppProject and the
/// Applications (with the vine's apps repository).
pub(super) fn manifests(ctx: &JobContext, vine: &Vine, cluster: &Connected) -> Vec<Manifest> {
    let options = AppsOptions {
        apps_repo: vine.repositories.apps_destination_repo.clone(),
        ..ctx.settings.cluster.apps.clone()
    };
    let mut all = vec![storage_class(cluster.facts.provider)];
    all.extend(platform_applications(&cluster.facts, &options));
    all
}

fn object_ref(manifest: &Manifest, index: usize) -> Result<ObjectRef, JobError> {
    ObjectRef::of(&manifest.0, index).map_err(|e| step_failed(Step::Applications, e))
}

/// The repository Secret of the apps repository, with a token of this host's git map when
/// the host may put its tokens into clusters. Returns the Secret's name and namespace (never
/// the token), or `null` when no Secret was written (and the log says why).
pub(super) async fn register_repository(
    ctx: &JobContext,
    vine: &Vine,
    cluster: &Connected,
) -> Result<Value, JobError> {
    let Some(url) = &vine.repositories.apps_destination_repo else {
        ctx.log.system(
            "the vine names no apps repository (repositories.apps_destination_repo): no repository credential",
        );
        return Ok(Value::Null);
    };
    if !ctx.settings.cluster.git_tokens_into_clusters {
        ctx.log.system(format!(
            "this worker is cloud-hosted: its git tokens are the platform's and never go into a \
             customer's cluster, so no repository Secret is written for {url} (ArgoCD reads it \
             only if it is public) until per-team secrets exist"
        ));
        return Ok(Value::Null);
    }
    let origin = Origin::of_url(url)
        .map_err(|e| step_failed(Step::Repository, e))?
        .ok_or_else(|| {
            step_failed(
                Step::Repository,
                format!("{url} is not an http(s) repository URL"),
            )
        })?;
    let Some(token) = ctx.settings.git_credentials.token(&origin) else {
        ctx.log.system(format!(
            "no token for {origin} in this worker's git credentials: ArgoCD reads {url} without one"
        ));
        return Ok(Value::Null);
    };
    let credential = RepositoryCredential {
        url: url.clone(),
        username: TOKEN_USER.into(),
        token: token.clone(),
    };
    let secret = secret_object(&credential.manifest().expose().0);
    let applied = cluster
        .k8s
        .apply_secret(&secret, &ctx.cancel)
        .await
        .map_err(|e| k8s_error(Step::Repository, e))?;
    ctx.log.system(format!(
        "{applied} (ArgoCD's credential for {url}, token of {origin} from this worker's map)"
    ));
    Ok(json!({"namespace": secret.namespace, "name": secret.name}))
}

/// The repository Secret manifest as grape-k8s's secret (its values kept out of errors).
fn secret_object(manifest: &Value) -> SecretObject {
    let strings = |v: &Value| -> BTreeMap<String, String> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    };
    SecretObject {
        namespace: manifest["metadata"]["namespace"]
            .as_str()
            .unwrap_or(ARGOCD_NAMESPACE)
            .to_owned(),
        name: manifest["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        secret_type: manifest["type"].as_str().map(str::to_owned),
        labels: strings(&manifest["metadata"]["labels"]),
        annotations: BTreeMap::new(),
        data: strings(&manifest["stringData"])
            .into_iter()
            .map(|(k, v)| (k, Secret::new(v)))
            .collect(),
    }
}

/// Applies the storage class, the AppProject and the Applications; returns the Applications.
pub(super) async fn apply(
    ctx: &JobContext,
    vine: &Vine,
    cluster: &Connected,
) -> Result<Vec<ObjectRef>, JobError> {
    let manifests = manifests(ctx, vine, cluster);
    let values: Vec<Value> = manifests.iter().map(|m| m.0.clone()).collect();
    let applied = cluster
        .k8s
        .apply(&values, &ctx.cancel)
        .await
        .map_err(|e| k8s_error(Step::Applications, e))?;
    for a in &applied {
        ctx.log.system(a.to_string());
    }
    manifests
        .iter()
        .enumerate()
        .filter(|(_, m)| m.kind() == "Application")
        .map(|(i, m)| object_ref(m, i))
        .collect()
}

/// Waits (bounded) until every Application is Synced and Healthy, with progress lines; a wait
/// that runs out fails naming each Application not ready and its state. Returns each
/// Application's `{name, sync, health}`.
pub(super) async fn wait(
    ctx: &JobContext,
    cluster: &Connected,
    applications: &[ObjectRef],
) -> Result<Value, JobError> {
    let targets: Vec<WaitTarget> = applications
        .iter()
        .map(|a| WaitTarget::new(a.clone(), application_synced_healthy()))
        .collect();
    let options = WaitOptions {
        poll: ctx.settings.cluster.poll,
        ..WaitOptions::new(ctx.settings.cluster.apps_timeout)
    };
    let log = ctx.log.clone();
    let progress = move |line: &str| log.system(line);
    cluster
        .k8s
        .wait_all(
            "applications Synced and Healthy",
            &targets,
            &options,
            &progress,
            &ctx.cancel,
        )
        .await
        .map_err(|e| k8s_error(Step::Wait, e))?;
    let mut statuses = Vec::with_capacity(applications.len());
    for app in applications {
        let live = cluster
            .k8s
            .get(app, &ctx.cancel)
            .await
            .map_err(|e| k8s_error(Step::Wait, e))?
            .unwrap_or(Value::Null);
        statuses.push(json!({
            "name": app.name,
            "sync": live["status"]["sync"]["status"],
            "health": live["status"]["health"]["status"],
        }));
    }
    Ok(Value::Array(statuses))
}

/// Deletes the Applications (foreground: what they made goes first, through ArgoCD's
/// resources finalizer), then the AppProject, the repository Secret and the storage class,
/// each wait bounded; what is gone already is fine.
pub(super) async fn delete(
    ctx: &JobContext,
    vine: &Vine,
    cluster: &Connected,
) -> Result<(), JobError> {
    let manifests = manifests(ctx, vine, cluster);
    let mut applications = Vec::new();
    let mut rest = Vec::new();
    for (i, m) in manifests.iter().enumerate() {
        let object = object_ref(m, i)?;
        if m.kind() == "Application" {
            applications.push(object);
        } else {
            rest.push(object);
        }
    }
    if let Some(url) = &vine.repositories.apps_destination_repo {
        let credential = RepositoryCredential {
            url: url.clone(),
            username: TOKEN_USER.into(),
            token: Secret::new(String::new()),
        };
        rest.push(ObjectRef::namespaced(
            "v1",
            "Secret",
            ARGOCD_NAMESPACE,
            &credential.secret_name(),
        ));
    }
    let options = WaitOptions {
        poll: ctx.settings.cluster.poll,
        ..WaitOptions::new(ctx.settings.cluster.delete_timeout)
    };
    let log = ctx.log.clone();
    let progress = move |line: &str| log.system(line);
    for (what, objects) in [
        ("applications deleted", applications),
        ("platform objects deleted", rest),
    ] {
        let existed = cluster
            .k8s
            .delete(what, &objects, &options, &progress, &ctx.cancel)
            .await
            .map_err(|e| k8s_error(Step::DeleteApplications, e))?;
        for object in existed {
            ctx.log.system(format!("{object} deleted"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_secret_keeps_its_labels_and_hides_its_values() {
        let credential = RepositoryCredential {
            url: "https://git.example.com/acme/apps.git".into(),
            username: TOKEN_USER.into(),
            token: Secret::new("glpat-very-secret".to_owned()),
        };
        let secret = secret_object(&credential.manifest().expose().0);
        assert_eq!(secret.namespace, "argocd");
        assert_eq!(secret.name, credential.secret_name());
        assert_eq!(
            secret.labels["argocd.argoproj.io/secret-type"],
            "repository"
        );
        assert_eq!(secret.data["password"].expose(), "glpat-very-secret");
        assert_eq!(
            secret.data["url"].expose(),
            "https://git.example.com/acme/apps.git"
        );
        assert!(!format!("{secret:?}").contains("glpat-very-secret"));
    }
}
