//! The real Helm 4 (`cargo xtask peers`): rendering a local chart and a chart from a loopback
//! chart repository, offline; an install against a cluster that is not there fails as
//! "unreachable", with the kubeconfig's token in no line or error and its file removed.
//! (Installs into a real API server come with the Kubernetes test peer.)

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grape_api::Secret;
use grape_helm::{Chart, Helm, HelmError, Kubeconfig, Release, UpgradeOptions};
use grape_process::{CancellationToken, OutputStream};
use serde_json::json;

fn chart(dir: &Path) -> std::path::PathBuf {
    let chart = dir.join("hello");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: hello\nversion: 0.3.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "greeting: hi\n").unwrap();
    std::fs::write(
        chart.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
    )
    .unwrap();
    chart
}

#[tokio::test]
async fn a_local_chart_renders_with_values_and_helm_keeps_its_files_in_the_job() {
    let work = tempfile::tempdir().unwrap();
    let chart_dir = chart(work.path());
    let helm = Helm::new(grape_testkit::helm_bin(), work.path().join("helm"));
    let out = helm
        .template(
            &Release::new("greeter", "apps"),
            &Chart::Path(chart_dir),
            &[json!({"greeting": "hello from vintner"})],
            &CancellationToken::new(),
        )
        .await
        .expect("helm template");
    assert!(out.contains("greeting: \"hello from vintner\""), "{out}");
    assert!(out.contains("namespace: apps"), "{out}");
    for sub in ["cache", "config", "data"] {
        assert!(work.path().join("helm").join(sub).is_dir(), "{sub}");
    }
}

#[tokio::test]
async fn a_chart_from_a_loopback_repository() {
    let work = tempfile::tempdir().unwrap();
    let chart_dir = chart(work.path());
    let repo = work.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let helm_bin = grape_testkit::helm_bin();
    let cancel = CancellationToken::new();
    let quiet = |_: OutputStream, _: &str| {};
    let env = [("HOME", work.path().to_path_buf())];
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
        let report = grape_process::Command::new(helm_bin.as_os_str(), work.path())
            .args(&args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
            .inherit_env(&["PATH"])
            .run(&quiet, &cancel)
            .await
            .expect("helm runs");
        assert!(report.success(), "helm {args:?}: {report:?}");
    }
    let server = grape_testkit::StaticFiles::serve(&repo).expect("file server");
    let helm = Helm::new(&helm_bin, work.path().join("helm"));
    let out = helm
        .template(
            &Release::new("from-repo", "default"),
            &Chart::Repository {
                url: server.url().to_owned(),
                name: "hello".into(),
                version: Some("0.3.0".into()),
            },
            &[],
            &cancel,
        )
        .await
        .expect("helm template from the repository");
    assert!(out.contains("greeting: \"hi\""), "{out}");
}

#[tokio::test]
async fn an_unreachable_cluster_is_named_and_the_kubeconfig_token_never_shows() {
    let work = tempfile::tempdir().unwrap();
    let chart_dir = chart(work.path());
    let port = grape_testkit::free_port().unwrap();
    let token = "kube-bearer-token-very-secret-42";
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: {token}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
    );
    let helm = Helm::new(grape_testkit::helm_bin(), work.path().join("helm")).kubeconfig(
        Kubeconfig::new(Secret::new(kubeconfig), vec![Secret::new(token)]),
    );
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = lines.clone();
    let sink = move |_: OutputStream, text: &str| seen.lock().unwrap().push(text.to_owned());
    let options = UpgradeOptions {
        timeout: Duration::from_secs(20),
        ..UpgradeOptions::default()
    };
    let err = helm
        .upgrade_install(
            &Release::new("greeter", "apps"),
            &Chart::Path(chart_dir),
            &options,
            &sink,
            &CancellationToken::new(),
        )
        .await
        .expect_err("no cluster");
    assert!(
        matches!(err, HelmError::ClusterUnreachable { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("helm upgrade --install greeter"), "{text}");
    assert!(!text.contains(token), "{text}");
    assert!(lines.lock().unwrap().iter().all(|l| !l.contains(token)));
    assert!(
        !work.path().join("helm/kubeconfig").exists(),
        "the kubeconfig was left behind"
    );
}
