//! `grape cluster bootstrap --local --kubeconfig`: a vine's platform (ArgoCD with the real
//! Helm and a stand-in chart, the Applications) on an existing cluster — the Kubernetes test
//! peer, reached with the kubeconfig's token. No ArgoCD controller runs here: `ArgoCdPlayer`
//! plays it. Through a worker, BOOTSTRAP is covered by tendril's end-to-end tests.

mod common;

use std::time::Duration;

use common::outcome;
use grape_testkit::{ArgoCdPlayer, KubeApi, argocd_standin_chart};

const VINE: &str = "project_name: web\nenvironment_stage: dev\nregion: eu-west-1\nprovider: aws\ncloud_identity_id: 5b0c8f3e-4a7d-4a51-9e0b-1f6a2c7d9e10\ncluster:\n  cluster_version: '1.31'\n  instance_types: [m5.large]\n  node_min_size: 1\n  node_max_size: 3\n  node_desired_size: 2\nnetwork:\n  provision_network: false\n  network_id: vpc-0123456789abcdef0\n";

#[test]
fn an_existing_cluster_of_a_kubeconfig_is_bootstrapped_locally() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = KubeApi::shared();
    let home = tempfile::tempdir().unwrap();
    let player = {
        let _in_runtime = rt.enter();
        ArgoCdPlayer::start(api).expect("player")
    };
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(&kubeconfig, api.kubeconfig()).unwrap();
    let vine = home.path().join("vine.yaml");
    std::fs::write(&vine, VINE).unwrap();
    let chart = argocd_standin_chart(home.path()).unwrap();
    let grape = || {
        let mut c = assert_cmd::Command::cargo_bin("grape").unwrap();
        c.env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_STATE_HOME", home.path().join("state"))
            .env("NO_COLOR", "1")
            .env("GRAPE_HELM_BIN", grape_testkit::helm_bin())
            .env("GRAPE_ARGOCD_CHART", &chart)
            .args(["cluster", "bootstrap", "--vine"])
            .arg(&vine)
            .timeout(Duration::from_secs(300));
        c
    };

    let (code, stdout, stderr) = outcome(
        grape()
            .args(["--local", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(["--cluster-name", "web-dev"]),
    );
    assert_eq!(code, 0, "bootstrap failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("the cluster steps run against the cluster of your kubeconfig"),
        "{stdout}"
    );
    assert!(stdout.contains("bootstrapping cluster web-dev"), "{stdout}");
    for app in [
        "aws-load-balancer-controller",
        "external-secrets",
        "metrics-server",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains(app) && l.contains("Synced") && l.contains("Healthy")),
            "{app}: {stdout}"
        );
    }
    assert!(
        stderr.contains("port-forward svc/argocd-server"),
        "{stderr}"
    );
    assert!(
        stderr.contains("argocd/argocd-initial-admin-secret"),
        "{stderr}"
    );
    for out in [&stdout, &stderr] {
        assert!(
            !out.contains(api.token()),
            "the kubeconfig's token was printed"
        );
    }
    assert!(player.seen().iter().any(|a| a == "metrics-server"));

    // A kubeconfig context that does not exist: exit 2, naming it, before any job runs.
    let (code, _, stderr) = outcome(
        grape()
            .args(["--local", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(["--context", "nope"]),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no context `nope`"), "{stderr}");

    // Through a worker the cluster must be named: exit 2 with what is missing.
    let (code, _, stderr) = outcome(&mut grape());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--cluster-name is required"), "{stderr}");
}
