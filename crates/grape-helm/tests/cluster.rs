//! The real Helm 4 against the real Kubernetes test peer (kube-apiserver v1.20.2 with the
//! controller manager, scheduler and fake kubelet, so `--wait` sees pods Ready): install, upgrade
//! and uninstall of a local chart with `--wait`, and a chart from a loopback chart repository.
//! The chart's Service port sets `protocol: TCP`: Helm 4's server-side apply fails on 1.20 for a
//! port without it (grape-helm keeps Helm's defaults for real clusters).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grape_api::Secret;
use grape_helm::{Chart, Helm, HelmError, Kubeconfig, Release, UpgradeOptions};
use grape_process::{CancellationToken, OutputStream};
use grape_testkit::KubeApi;
use serde_json::json;

fn chart(dir: &Path, version: &str) -> PathBuf {
    let chart = dir.join("web");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        format!("apiVersion: v2\nname: web\nversion: {version}\n"),
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "replicas: 1\nimage: nginx:1\n").unwrap();
    std::fs::write(
        chart.join("templates/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels: {app: {{ .Release.Name }}}\n  template:\n    metadata:\n      labels: {app: {{ .Release.Name }}}\n    spec:\n      containers:\n      - name: web\n        image: {{ .Values.image | quote }}\n        ports: [{containerPort: 80, protocol: TCP}]\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/service.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector: {app: {{ .Release.Name }}}\n  ports:\n  - {port: 80, targetPort: 80, protocol: TCP}\n",
    )
    .unwrap();
    chart
}

fn helm(api: &KubeApi, dir: &Path) -> Helm {
    Helm::new(grape_testkit::helm_bin(), dir.join("helm")).kubeconfig(Kubeconfig::new(
        Secret::new(api.kubeconfig()),
        vec![Secret::new(api.token())],
    ))
}

/// The lines Helm printed.
type Lines = Arc<Mutex<Vec<String>>>;

fn sink() -> (Lines, impl Fn(OutputStream, &str) + Send + Sync) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    (lines, move |_: OutputStream, text: &str| {
        println!("helm: {text}");
        seen.lock().unwrap().push(text.to_owned());
    })
}

fn waiting(timeout: u64) -> UpgradeOptions {
    UpgradeOptions {
        wait: true,
        timeout: Duration::from_secs(timeout),
        ..UpgradeOptions::default()
    }
}

#[tokio::test]
async fn install_upgrade_and_uninstall_with_wait() {
    let api = KubeApi::shared();
    let ns = api.namespace("helm").await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let chart_dir = chart(work.path(), "0.1.0");
    let helm = helm(api, work.path());
    let release = Release::new("web", ns.name());
    let cancel = CancellationToken::new();
    let (lines, sink) = sink();

    let installed = helm
        .upgrade_install(
            &release,
            &Chart::Path(chart_dir.clone()),
            &waiting(120),
            &sink,
            &cancel,
        )
        .await
        .expect("install --wait: the fake kubelet makes the pod Ready");
    assert_eq!(installed.status, "deployed");
    assert_eq!(installed.revision, 1);
    // Found here: Helm 4's `status -o json` carries no `chart`, so `ReleaseStatus::chart` is
    // empty against a real Helm 4 (grape-helm's unit test used a Helm 3-shaped document). Left
    // for grape-helm to read it from `helm list -o json`; not asserted until then.

    let mut options = waiting(120);
    options.values = vec![json!({"replicas": 2, "image": "nginx:2"})];
    let upgraded = helm
        .upgrade_install(&release, &Chart::Path(chart_dir), &options, &sink, &cancel)
        .await
        .expect("upgrade --wait");
    assert_eq!(upgraded.revision, 2);
    assert_eq!(upgraded.status, "deployed");

    let removed = helm
        .uninstall(&release, Some(Duration::from_secs(60)), &sink, &cancel)
        .await
        .expect("uninstall --wait");
    assert!(removed);
    assert!(helm.status(&release, &cancel).await.unwrap().is_none());
    let again = helm
        .uninstall(&release, None, &sink, &cancel)
        .await
        .unwrap();
    assert!(!again, "a release already gone is done");
    let token = api.token();
    assert!(lines.lock().unwrap().iter().all(|l| !l.contains(token)));
    assert!(
        !work.path().join("helm/kubeconfig").exists(),
        "the kubeconfig was left behind"
    );
}

#[tokio::test]
async fn a_wait_that_cannot_succeed_fails_within_its_timeout_and_atomic_rolls_back() {
    let api = KubeApi::shared();
    let ns = api.namespace("helm-fail").await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let chart_dir = chart(work.path(), "0.1.0");
    let helm = helm(api, work.path());
    let release = Release::new("web", ns.name());
    let cancel = CancellationToken::new();
    let (_, sink) = sink();
    helm.upgrade_install(
        &release,
        &Chart::Path(chart_dir.clone()),
        &waiting(120),
        &sink,
        &cancel,
    )
    .await
    .expect("install");
    // A node selector no node has: the pod stays Pending, the rollout never completes.
    std::fs::write(
        chart_dir.join("templates/deployment.yaml"),
        std::fs::read_to_string(chart_dir.join("templates/deployment.yaml"))
            .unwrap()
            .replace(
                "    spec:\n      containers:",
                "    spec:\n      nodeSelector: {nowhere: \"true\"}\n      containers:",
            ),
    )
    .unwrap();
    // And a claim no provisioner binds: a new object that stays Pending whatever Helm's watcher
    // reads of the Deployment (under load it once saw the old, available rollout as current).
    std::fs::write(
        chart_dir.join("templates/claim.yaml"),
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {{ .Release.Name }}-data\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: nowhere\n  resources:\n    requests: {storage: 1Gi}\n",
    )
    .unwrap();
    let mut options = waiting(5);
    options.atomic = true;
    let err = helm
        .upgrade_install(&release, &Chart::Path(chart_dir), &options, &sink, &cancel)
        .await
        .expect_err("the rollout cannot complete");
    assert!(matches!(err, HelmError::Failed { .. }), "{err:?}");
    assert!(
        err.to_string().contains("helm upgrade --install web"),
        "{err}"
    );
    let status = helm
        .status(&release, &cancel)
        .await
        .unwrap()
        .expect("release");
    assert_eq!(status.status, "deployed", "--atomic rolled back");
    assert_eq!(status.revision, 3, "rollback is revision 3");
}

#[tokio::test]
async fn a_chart_from_a_loopback_repository_installs() {
    let api = KubeApi::shared();
    let ns = api.namespace("helm-repo").await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let chart_dir = chart(work.path(), "1.2.3");
    let repo = work.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let cancel = CancellationToken::new();
    let quiet = |_: OutputStream, _: &str| {};
    for args in [
        vec![
            "package".to_owned(),
            chart_dir.display().to_string(),
            "--destination".into(),
            repo.display().to_string(),
        ],
        vec![
            "repo".to_owned(),
            "index".into(),
            repo.display().to_string(),
        ],
    ] {
        let report =
            grape_process::Command::new(grape_testkit::helm_bin().as_os_str(), work.path())
                .args(&args)
                .env("HOME", work.path().as_os_str())
                .inherit_env(&["PATH"])
                .run(&quiet, &cancel)
                .await
                .expect("helm runs");
        assert!(report.success(), "helm {args:?}: {report:?}");
    }
    let server = grape_testkit::StaticFiles::serve(&repo).expect("file server");
    let (_, sink) = sink();
    let chart = Chart::Repository {
        url: server.url().to_owned(),
        name: "web".into(),
        version: Some("1.2.3".into()),
    };
    let installed = helm(api, work.path())
        .upgrade_install(
            &Release::new("from-repo", ns.name()),
            &chart,
            &waiting(120),
            &sink,
            &cancel,
        )
        .await
        .expect("install from the repository");
    assert_eq!(installed.status, "deployed");
}
