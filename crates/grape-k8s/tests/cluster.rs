//! grape-k8s against the real Kubernetes test peer (kube-apiserver v1.20.2 + etcd, controller
//! manager, scheduler and a fake kubelet; `cargo xtask peers`): one API server for this test
//! binary, a namespace per test.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grape_api::Secret;
use grape_k8s::{
    BearerToken, ClientOptions, ClusterAccess, K8s, K8sError, ObjectRef, Outcome, SecretObject,
    StaticToken, TokenError, TokenSource, WaitOptions, WaitTarget, application_synced_healthy,
    condition_true,
};
use grape_testkit::KubeApi;
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn access(api: &KubeApi) -> ClusterAccess {
    ClusterAccess::from_outputs(&json!({
        "cluster_endpoint": {"value": api.url()},
        "cluster_ca_certificate": {"value": api.ca_base64()},
    }))
    .expect("the outputs")
}

fn k8s(api: &KubeApi) -> K8s {
    K8s::new(access(api), Arc::new(StaticToken(Secret::new(api.token()))))
}

/// Progress lines, collected.
fn collector() -> (Arc<Mutex<Vec<String>>>, impl Fn(&str) + Send + Sync) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    (lines, move |line: &str| {
        println!("progress: {line}");
        seen.lock().unwrap().push(line.to_owned());
    })
}

fn deployment(ns: &str, image: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {ns}}}\ndata: {{colour: blue}}\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: {ns}}}\nspec:\n  replicas: 1\n  \
         selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      \
         containers: [{{name: web, image: \"{image}\"}}]\n"
    )
}

#[tokio::test]
async fn rustls_accepts_the_api_server_certificate_from_the_outputs() {
    let api = KubeApi::shared();
    let version = k8s(api)
        .server_version(&CancellationToken::new())
        .await
        .expect("kube-rs (rustls) talks to the API server with the CA from the outputs");
    assert_eq!(version, "v1.20.2");
}

#[tokio::test]
async fn apply_then_reapply_is_unchanged_and_a_change_is_configured() {
    let api = KubeApi::shared();
    let ns = api.namespace("apply").await.unwrap();
    let k8s = k8s(api);
    let cancel = CancellationToken::new();
    let first = k8s
        .apply_yaml(&deployment(ns.name(), "nginx:1"), &cancel)
        .await
        .unwrap();
    let outcomes: Vec<Outcome> = first.iter().map(|a| a.outcome).collect();
    assert_eq!(outcomes, [Outcome::Created, Outcome::Created], "{first:?}");
    assert_eq!(
        first[1].to_string(),
        format!("Deployment {}/web created", ns.name())
    );

    let again = k8s
        .apply_yaml(&deployment(ns.name(), "nginx:1"), &cancel)
        .await
        .unwrap();
    assert!(
        again.iter().all(|a| a.outcome == Outcome::Unchanged),
        "{again:?}"
    );

    let changed = k8s
        .apply_yaml(&deployment(ns.name(), "nginx:2"), &cancel)
        .await
        .unwrap();
    assert_eq!(changed[0].outcome, Outcome::Unchanged);
    assert_eq!(changed[1].outcome, Outcome::Configured);

    // An annotation is a change too (no new generation: only our metadata moved).
    let annotated = deployment(ns.name(), "nginx:2").replace(
        "metadata: {name: web,",
        "metadata: {annotations: {owner: payments}, name: web,",
    );
    let changed = k8s.apply_yaml(&annotated, &cancel).await.unwrap();
    assert_eq!(changed[1].outcome, Outcome::Configured, "{changed:?}");
    let again = k8s.apply_yaml(&annotated, &cancel).await.unwrap();
    assert_eq!(again[1].outcome, Outcome::Unchanged, "{again:?}");

    let web = ObjectRef::namespaced("apps/v1", "Deployment", ns.name(), "web");
    let live = k8s
        .get(&web, &cancel)
        .await
        .unwrap()
        .expect("the Deployment");
    let managers: Vec<&str> = live["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"vintner"), "{managers:?}");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2"
    );
}

#[tokio::test]
async fn a_wait_reports_progress_until_the_deployment_is_available() {
    let api = KubeApi::shared();
    let ns = api.namespace("wait").await.unwrap();
    let k8s = k8s(api);
    let cancel = CancellationToken::new();
    k8s.apply_yaml(&deployment(ns.name(), "nginx:1"), &cancel)
        .await
        .unwrap();
    let (lines, progress) = collector();
    let target = WaitTarget::new(
        ObjectRef::namespaced("apps/v1", "Deployment", ns.name(), "web"),
        condition_true("Available"),
    );
    let mut options = WaitOptions::new(Duration::from_secs(120));
    options.poll = Duration::from_millis(200);
    k8s.wait_all("rollout", &[target], &options, &progress, &cancel)
        .await
        .expect("the fake kubelet makes the pod ready");
    let lines = lines.lock().unwrap();
    assert!(
        lines[0].starts_with("rollout: waiting for 1 of 1 object") && lines[0].contains("web"),
        "{lines:?}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("rollout: 1 object ready after"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_wait_that_runs_out_names_each_object_and_its_state() {
    let api = KubeApi::shared();
    let ns = api.namespace("timeout").await.unwrap();
    let k8s = k8s(api);
    let cancel = CancellationToken::new();
    k8s.apply_yaml(&deployment(ns.name(), "nginx:1"), &cancel)
        .await
        .unwrap();
    let settings = ObjectRef::namespaced("v1", "ConfigMap", ns.name(), "settings");
    let missing = ObjectRef::namespaced("v1", "ConfigMap", ns.name(), "never");
    let targets = [
        WaitTarget::new(settings, condition_true("Ready")),
        WaitTarget::new(missing, condition_true("Ready")),
    ];
    let mut options = WaitOptions::new(Duration::from_secs(1));
    options.poll = Duration::from_millis(200);
    let (_, progress) = collector();
    let err = k8s
        .wait_all("settings ready", &targets, &options, &progress, &cancel)
        .await
        .expect_err("a ConfigMap has no Ready condition");
    let text = err.to_string();
    assert!(
        matches!(err, K8sError::Timeout { ref pending, .. } if pending.len() == 2),
        "{err:?}"
    );
    assert!(
        text.starts_with("settings ready: not ready after"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "ConfigMap {}/settings: no Ready condition yet",
            ns.name()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("ConfigMap {}/never: not found", ns.name())),
        "{text}"
    );
}

#[tokio::test]
async fn cancel_during_a_wait_returns_cancelled_long_before_the_bound() {
    let api = KubeApi::shared();
    let ns = api.namespace("cancel").await.unwrap();
    let k8s = k8s(api);
    let cancel = CancellationToken::new();
    let target = WaitTarget::new(
        ObjectRef::namespaced("v1", "ConfigMap", ns.name(), "never"),
        condition_true("Ready"),
    );
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.cancel();
    });
    let start = Instant::now();
    let (_, progress) = collector();
    // Bound of 10 minutes: a wait that ignored the cancel would time out instead (or be killed).
    let options = WaitOptions::new(Duration::from_secs(600));
    let err = k8s
        .wait_all("never ready", &[target], &options, &progress, &cancel)
        .await
        .expect_err("cancelled");
    println!("cancelled after {:?}", start.elapsed());
    assert!(matches!(err, K8sError::Cancelled { .. }), "{err:?}");
    assert!(err.to_string().starts_with("never ready"), "{err}");
}

#[tokio::test]
async fn argocd_crds_an_app_project_and_an_application_synced_and_healthy() {
    let api = KubeApi::shared();
    let ns = api.namespace("argocd").await.unwrap();
    let k8s = k8s(api);
    let cancel = CancellationToken::new();
    let crds = k8s
        .apply_yaml(grape_testkit::ARGOCD_MIN_CRDS, &cancel)
        .await
        .unwrap();
    assert_eq!(crds.len(), 2);
    let app = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {{name: infrastructure, namespace: {ns}}}\n\
         spec: {{sourceRepos: ['*'], destinations: [{{namespace: '*', server: 'https://kubernetes.default.svc'}}]}}\n---\n\
         apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: external-dns, namespace: {ns}}}\n\
         spec:\n  project: infrastructure\n  source: {{repoURL: 'https://example.invalid/charts', chart: external-dns, targetRevision: 1.0.0}}\n  \
         destination: {{server: 'https://kubernetes.default.svc', namespace: external-dns}}\n",
        ns = ns.name()
    );
    let applied = k8s.apply_yaml(&app, &cancel).await.unwrap();
    assert!(
        applied.iter().all(|a| a.outcome == Outcome::Created),
        "{applied:?}"
    );

    // No ArgoCD controller runs here: the test plays it and patches the status.
    let application = ObjectRef::namespaced(
        "argoproj.io/v1alpha1",
        "Application",
        ns.name(),
        "external-dns",
    );
    let patcher = K8s::new(access(api), Arc::new(StaticToken(Secret::new(api.token()))));
    let target = application.clone();
    let controller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let status =
            json!({"status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}});
        patcher
            .merge_patch(&target, &status, &CancellationToken::new())
            .await
    });
    let (lines, progress) = collector();
    let mut options = WaitOptions::new(Duration::from_secs(60));
    options.poll = Duration::from_millis(200);
    k8s.wait_all(
        "applications",
        &[WaitTarget::new(application, application_synced_healthy())],
        &options,
        &progress,
        &cancel,
    )
    .await
    .unwrap();
    controller.await.unwrap().unwrap();
    let lines = lines.lock().unwrap();
    assert!(
        lines[0].contains("external-dns: sync Unknown, health Unknown"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn secrets_are_applied_and_their_values_never_show() {
    let api = KubeApi::shared();
    let ns = api.namespace("secret").await.unwrap();
    let k8s = k8s(api);
    let cancel = CancellationToken::new();
    let value = "ghp_repository-token-very-secret-7";
    let mut secret = SecretObject {
        namespace: ns.name().to_owned(),
        name: "repo".into(),
        ..SecretObject::default()
    };
    secret
        .labels
        .insert("argocd.argoproj.io/secret-type".into(), "repository".into());
    secret.data.insert("password".into(), Secret::new(value));
    assert!(!format!("{secret:?}").contains(value));
    let applied = k8s.apply_secret(&secret, &cancel).await.unwrap();
    assert_eq!(applied.outcome, Outcome::Created);
    assert_eq!(
        k8s.apply_secret(&secret, &cancel).await.unwrap().outcome,
        Outcome::Unchanged
    );
    let live = k8s
        .get(
            &ObjectRef::namespaced("v1", "Secret", ns.name(), "repo"),
            &cancel,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        live["metadata"]["labels"]["argocd.argoproj.io/secret-type"],
        "repository"
    );
    assert!(live["data"]["password"].is_string());
    // A new value is a change.
    let mut rotated = secret.clone();
    rotated.data.insert(
        "password".into(),
        Secret::new("ghp_rotated-token-very-secret-8"),
    );
    assert_eq!(
        k8s.apply_secret(&rotated, &cancel).await.unwrap().outcome,
        Outcome::Configured
    );

    // A refused Secret: the error names it, and the value is not in it.
    let mut bad = secret.clone();
    bad.data
        .insert("not a valid key!".into(), Secret::new(value));
    let err = k8s
        .apply_secret(&bad, &cancel)
        .await
        .expect_err("invalid key");
    let text = format!("{err} {err:?}");
    assert!(
        text.contains(&format!("apply Secret {}/repo", ns.name())),
        "{text}"
    );
    assert!(!text.contains(value), "{text}");
}

#[tokio::test]
async fn delete_waits_until_gone_and_is_rerunnable() {
    let api = KubeApi::shared();
    let ns = api.namespace("delete").await.unwrap();
    let k8s = k8s(api);
    let cancel = CancellationToken::new();
    k8s.apply_yaml(&deployment(ns.name(), "nginx:1"), &cancel)
        .await
        .unwrap();
    let objects = [
        ObjectRef::namespaced("apps/v1", "Deployment", ns.name(), "web"),
        ObjectRef::namespaced("v1", "ConfigMap", ns.name(), "settings"),
        ObjectRef::namespaced("argoproj.io/v1alpha1", "Application", ns.name(), "absent"),
    ];
    let (lines, progress) = collector();
    let mut options = WaitOptions::new(Duration::from_secs(120));
    options.poll = Duration::from_millis(200);
    let existed = k8s
        .delete("delete", &objects, &options, &progress, &cancel)
        .await
        .unwrap();
    assert_eq!(existed.len(), 2, "{existed:?}");
    assert!(
        lines
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .contains("ready after")
    );
    for object in &objects[..2] {
        assert!(
            k8s.get(object, &cancel).await.unwrap().is_none(),
            "{object}"
        );
    }
    let again = k8s
        .delete("delete", &objects, &options, &progress, &cancel)
        .await
        .unwrap();
    assert!(again.is_empty());
}

#[tokio::test]
async fn unknown_kinds_bad_tokens_and_unreachable_servers_are_named() {
    let api = KubeApi::shared();
    let ns = api.namespace("errors").await.unwrap();
    let cancel = CancellationToken::new();
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": ns.name()}});
    let err = k8s(api)
        .apply(&[widget], &cancel)
        .await
        .expect_err("no such CRD");
    assert_eq!(
        err.to_string(),
        format!(
            "apply Widget {}/w: the cluster serves no example.com/v1 Widget",
            ns.name()
        )
    );

    let wrong = K8s::new(
        access(api),
        Arc::new(StaticToken(Secret::new("not-a-token"))),
    );
    let err = wrong.ensure_namespace("x", &cancel).await.expect_err("401");
    assert_eq!(err.code(), Some(401), "{err}");
    assert!(!err.to_string().contains("not-a-token"));

    let port = grape_testkit::free_port().unwrap();
    let closed = ClusterAccess::new(&format!("https://127.0.0.1:{port}"), api.ca_pem()).unwrap();
    let err = K8s::new(closed, Arc::new(StaticToken(Secret::new(api.token()))))
        .ensure_namespace("x", &cancel)
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, K8sError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("is unreachable"), "{err}");
}

/// A token source whose tokens expire at once: every use asks for a new one.
#[derive(Debug)]
struct ShortLived {
    token: String,
    calls: AtomicU64,
}

#[async_trait::async_trait]
impl TokenSource for ShortLived {
    async fn token(&self) -> Result<BearerToken, TokenError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(BearerToken {
            token: Secret::new(self.token.clone()),
            expires_at: Some(chrono::Utc::now() + chrono::Duration::seconds(30)),
        })
    }
}

#[tokio::test]
async fn a_token_within_the_refresh_margin_is_renewed_and_a_fresh_one_is_reused() {
    let api = KubeApi::shared();
    let cancel = CancellationToken::new();
    let source = Arc::new(ShortLived {
        token: api.token().to_owned(),
        calls: AtomicU64::new(0),
    });
    // A 30-second token within a 2-minute margin: renewed for every call.
    let renewing = K8s::new(access(api), source.clone());
    for _ in 0..3 {
        renewing.server_version(&cancel).await.unwrap();
    }
    assert_eq!(source.calls.load(Ordering::Relaxed), 3);
    // With a 10-second margin the same token serves every call.
    let options = ClientOptions {
        refresh_margin: Duration::from_secs(10),
        ..ClientOptions::default()
    };
    let reusing = K8s::with_options(access(api), source.clone(), options);
    for _ in 0..3 {
        reusing.server_version(&cancel).await.unwrap();
    }
    assert_eq!(reusing.tokens_fetched(), 1);
}
