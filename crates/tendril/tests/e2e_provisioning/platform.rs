//! A vine becomes a platform through trellis + tendril: the worker renders vines with the
//! stand-in templates and runs their cluster steps against the Kubernetes test peer (its
//! stand-in cluster), installs ArgoCD with the real Helm (a stand-in chart), writes the
//! repository Secret with the token of its own git map, applies the Applications. One
//! Application left Degraded fails the APPLY naming it; the retry resumes past Terraform;
//! DESTROY takes it apart; BOOTSTRAP does the cluster steps on the existing cluster. No ArgoCD
//! controller runs here: `ArgoCdPlayer` plays it.

use std::os::unix::fs::PermissionsExt as _;

use grape_api::{JobStatus, JobType};
use grape_testkit::{ArgoCdPlayer, KubeApi, argocd_standin_chart};
use serde_json::{Value, json};

use super::{costed_worker, log_texts, run_as, sandbox_identity};

const APPS_REPO: &str = "https://git.example.test/acme/apps.git";
const GIT_TOKEN: &str = "glpat-e2e-worker-token-51c9";

fn worker_args(api: &KubeApi, dir: &std::path::Path) -> Vec<String> {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        path.display().to_string()
    };
    let ca = write("ca.pem", api.ca_pem());
    let token = write("token", api.token());
    let git = write(
        "git.json",
        &json!({"https://git.example.test": GIT_TOKEN}).to_string(),
    );
    let chart = argocd_standin_chart(dir).expect("chart");
    [
        "--vine-templates",
        "standin",
        "--helm-bin",
        &grape_testkit::helm_bin().display().to_string(),
        "--argocd-chart",
        &chart.display().to_string(),
        "--argocd-wait",
        "2m",
        "--applications-wait",
        "20s",
        "--standin-cluster-endpoint",
        &api.url(),
        "--standin-cluster-ca-file",
        &ca,
        "--standin-cluster-token-file",
        &token,
        "--git-credentials",
        &git,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

#[tokio::test]
async fn a_vine_is_applied_into_a_platform_resumed_destroyed_and_bootstrapped() {
    let api = KubeApi::shared();
    let files = tempfile::tempdir().expect("tempdir");
    let args = worker_args(api, files.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_moto, server, _tools, _worker) = costed_worker("e2e-platform", &args).await;
    let player = ArgoCdPlayer::start(api).expect("player");
    let user = server.user_client();
    let identity = sandbox_identity(&user).await;
    let vine = json!({
        "project_name": "shop",
        "environment_stage": "prod",
        "region": "eu-west-1",
        "provider": "aws",
        "cloud_identity_id": identity,
        "cluster": {"cluster_version": "1.31", "instance_types": ["m5.large"],
                    "node_min_size": 1, "node_max_size": 3, "node_desired_size": 2},
        "repositories": {"apps_destination_repo": APPS_REPO}
    });
    let has = |log: &[String], needle: &str| log.iter().any(|l| l.contains(needle));

    let plan = run_as(&user, identity, JobType::Plan, json!({ "vine": vine })).await;
    assert_eq!(plan.status, JobStatus::Success, "{plan:#?}");

    // One Application is Degraded: the APPLY runs Terraform and the cluster steps, then fails
    // at the wait, naming it.
    player.set("metrics-server", ("Synced", "Degraded"));
    let apply = |id: uuid::Uuid| {
        run_as(
            &user,
            identity,
            JobType::Apply,
            json!({ "plan_job_id": id }),
        )
    };
    let first = apply(plan.id).await;
    assert_eq!(first.status, JobStatus::Failed, "{first:#?}");
    let reason = first.error.as_deref().unwrap_or_default();
    assert!(reason.starts_with("step `wait`: "), "{reason}");
    assert!(
        reason.contains("metrics-server") && reason.contains("Degraded"),
        "{reason}"
    );
    let log = log_texts(&user, first.id).await;
    assert!(has(&log, "$ terraform apply saved.tfplan"), "{log:#?}");
    assert!(has(&log, "ArgoCD release argocd revision"), "{log:#?}");
    assert!(
        !has(&log, GIT_TOKEN) && !has(&log, api.token()),
        "a secret reached the log"
    );

    // ArgoCD heals it; the retry resumes past Terraform and succeeds.
    player.set("metrics-server", ("Synced", "Healthy"));
    let retry = apply(plan.id).await;
    assert_eq!(retry.status, JobStatus::Success, "{retry:#?}");
    let result = retry.result.clone().expect("result");
    let log = log_texts(&user, retry.id).await;
    assert!(has(&log, "resuming: the state records"), "{log:#?}");
    assert!(!has(&log, "$ terraform apply"), "{log:#?}");
    assert_eq!(result["cluster_name"], "shop-prod", "{result}");
    assert_eq!(result["cluster_endpoint"], api.url(), "{result}");
    assert_eq!(
        result["argocd_admin_secret"]["name"],
        "argocd-initial-admin-secret"
    );
    assert_eq!(
        result["steps"].as_array().map(Vec::len),
        Some(6),
        "{result}"
    );
    let apps = result["applications"].as_array().expect("applications");
    assert!(
        apps.iter()
            .any(|a| a["name"] == "metrics-server" && a["health"] == "Healthy")
    );
    assert!(result["outputs"].get("cluster_name").is_some(), "{result}");
    assert!(!result.to_string().contains(GIT_TOKEN));
    let secret_name = result["repository_secret"]["name"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert!(
        secret_name.starts_with("repo-git-example-test"),
        "{secret_name}"
    );

    // DESTROY: the Applications and ArgoCD go first, then Terraform's resources.
    let destroy = run_as(&user, identity, JobType::Destroy, json!({ "vine": vine })).await;
    assert_eq!(destroy.status, JobStatus::Success, "{destroy:#?}");
    let steps = &destroy.result.as_ref().expect("result")["steps"];
    assert_eq!(
        steps,
        &json!([
            "cluster",
            "delete applications",
            "uninstall argocd",
            "terraform destroy"
        ]),
        "{destroy:#?}"
    );

    // BOOTSTRAP: the cluster steps on the existing cluster, named in the payload (nothing
    // secret: the worker has the token).
    let bootstrap = run_as(
        &user,
        identity,
        JobType::Bootstrap,
        json!({ "vine": vine, "cluster": {
            "name": "shop-prod", "endpoint": api.url(), "ca_certificate": api.ca_pem(),
            "network_id": "vpc-0abc"
        }}),
    )
    .await;
    assert_eq!(bootstrap.status, JobStatus::Success, "{bootstrap:#?}");
    let result: Value = bootstrap.result.clone().expect("result");
    assert_eq!(
        result["steps"],
        json!(["cluster", "argocd", "repository", "applications", "wait"]),
        "{result}"
    );
    let log = log_texts(&user, bootstrap.id).await;
    assert!(has(&log, "bootstrapping cluster shop-prod"), "{log:#?}");

    // A BOOTSTRAP whose payload is wrong fails before any tool runs, naming the field.
    let bad = run_as(
        &user,
        identity,
        JobType::Bootstrap,
        json!({ "vine": vine, "cluster": { "name": "x", "endpoint": api.url() } }),
    )
    .await;
    assert_eq!(bad.status, JobStatus::Failed, "{bad:#?}");
    assert!(
        bad.error
            .as_deref()
            .unwrap_or_default()
            .contains("ca_certificate"),
        "{bad:#?}"
    );
}
