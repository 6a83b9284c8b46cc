//! A vine's cluster steps against the real Kubernetes test peer: the vine's Terraform (the
//! stand-in set, real Terraform, S3 state on moto), then ArgoCD installed with the real Helm
//! (a stand-in chart: the real one cannot be downloaded here), the repository Secret with the
//! worker's token, the platform's Applications applied and waited for; a retry resumes past
//! Terraform; a Degraded Application fails the job naming it; DESTROY takes it apart in
//! reverse and resumes after a failed step. No ArgoCD controller runs here: `ArgoCdPlayer`
//! plays it (Application status, the resources finalizer).

mod terraform_common;

use std::time::Duration;

use base64::Engine as _;
use grape_api::{JobType, Secret};
use grape_k8s::{ClusterAccess, K8s, ObjectRef, StaticToken};
use grape_provisioner::handlers::{DestroyHandler, PlanHandler};
use grape_provisioner::local::local_job;
use grape_provisioner::{ArgoCdChart, DirectCluster, GitCredentials, JobError, VineTemplates};
use grape_testkit::{ArgoCdPlayer, KubeApi, argocd_standin_chart};
use serde_json::{Value, json};
use terraform_common::Harness;
use tokio_util::sync::CancellationToken;

const IDENTITY: &str = terraform_common::VINE_IDENTITY;
const APPS_REPO: &str = "https://git.example.test/acme/apps.git";
const GIT_TOKEN: &str = "glpat-worker-map-token-7f3a";

fn vine() -> Value {
    let mut vine = terraform_common::aws_vine();
    vine["repositories"] = json!({"apps_destination_repo": APPS_REPO});
    vine
}

fn job(job_type: JobType, payload: Value) -> grape_api::Job {
    let mut job = local_job(job_type, payload);
    job.cloud_identity_id = Some(IDENTITY.parse().expect("uuid"));
    job
}

async fn harness(api: &KubeApi) -> Harness {
    let mut h = Harness::new().await;
    let chart = argocd_standin_chart(h.dir.path()).expect("stand-in chart");
    let git =
        GitCredentials::from_json(&json!({"https://git.example.test": GIT_TOKEN}).to_string())
            .expect("git credentials");
    h.set_settings(|s| {
        s.vine_templates = VineTemplates::StandIn;
        s.git_credentials = git;
        s.cluster.helm_bin = Some(grape_testkit::helm_bin());
        s.cluster.argocd_chart = ArgoCdChart {
            repository: chart.display().to_string(),
            chart: String::new(),
            version: None,
        };
        s.cluster.argocd_timeout = Duration::from_secs(120);
        s.cluster.apps_timeout = Duration::from_secs(60);
        s.cluster.delete_timeout = Duration::from_secs(60);
        s.cluster.poll = Duration::from_millis(200);
        s.cluster.standin_cluster = Some(DirectCluster {
            endpoint: api.url(),
            ca_pem: api.ca_pem().to_owned(),
            token: Secret::new(api.token()),
        });
    });
    h
}

fn k8s(api: &KubeApi) -> K8s {
    K8s::new(
        ClusterAccess::new(&api.url(), api.ca_pem()).expect("access"),
        std::sync::Arc::new(StaticToken(Secret::new(api.token()))),
    )
}

fn application(name: &str) -> ObjectRef {
    ObjectRef::namespaced("argoproj.io/v1alpha1", "Application", "argocd", name)
}

fn failed(result: Result<Option<Value>, JobError>) -> String {
    match result {
        Err(JobError::Failed(reason)) => reason,
        other => panic!("expected a FAILED job, got {other:?}"),
    }
}

#[tokio::test]
async fn a_vine_becomes_a_platform_resumes_and_is_taken_apart_in_reverse() {
    let api = KubeApi::shared();
    let mut h = harness(api).await;
    let player = ArgoCdPlayer::start(api).expect("player");
    let cluster = k8s(api);
    let cancel = CancellationToken::new();

    let (plan_id, planned) = h
        .run_job(
            &PlanHandler,
            job(JobType::Plan, json!({"vine": vine()})),
            cancel.clone(),
        )
        .await;
    planned.expect("plan").expect("result");

    // APPLY: Terraform, then the cluster steps.
    h.clear_lines();
    let (_, applied) = h.apply(plan_id).await;
    let applied = applied.expect("apply").expect("result");
    let log = h.all_lines();
    assert_eq!(
        applied["steps"],
        json!([
            "terraform",
            "cluster",
            "argocd",
            "repository",
            "applications",
            "wait"
        ]),
        "{applied}\n{log}"
    );
    assert_eq!(applied["cluster_name"], "web-dev", "{applied}");
    assert_eq!(applied["cluster_endpoint"], api.url(), "{applied}");
    assert_eq!(applied["argocd_url"], Value::Null, "no domain: {applied}");
    assert!(
        applied["argocd_access"]
            .as_str()
            .is_some_and(|h| h.contains("port-forward")),
        "{applied}"
    );
    assert_eq!(
        applied["argocd_admin_secret"]["name"],
        "argocd-initial-admin-secret"
    );
    let apps = applied["applications"].as_array().expect("applications");
    let names: Vec<&str> = apps.iter().filter_map(|a| a["name"].as_str()).collect();
    for expected in [
        "aws-load-balancer-controller",
        "external-secrets",
        "metrics-server",
    ] {
        assert!(names.contains(&expected), "{expected} missing: {applied}");
    }
    assert!(
        apps.iter()
            .all(|a| a["sync"] == "Synced" && a["health"] == "Healthy"),
        "{applied}"
    );
    assert!(log.contains("$ terraform apply saved.tfplan"), "{log}");
    assert!(log.contains("Kubernetes v1.20.2"), "{log}");
    // ArgoCD got the vine's values (the stand-in chart renders them into argocd-cm).
    let cm = cluster
        .get(
            &ObjectRef::namespaced("v1", "ConfigMap", "argocd", "argocd-cm"),
            &cancel,
        )
        .await
        .expect("get")
        .expect("argocd-cm");
    assert_eq!(cm["data"]["cluster.name"], "web-dev", "{cm}");
    // The repository Secret, with the token of the worker's map; the token shows nowhere else.
    let secret_name = applied["repository_secret"]["name"]
        .as_str()
        .expect("secret");
    let secret = cluster
        .get(
            &ObjectRef::namespaced("v1", "Secret", "argocd", secret_name),
            &cancel,
        )
        .await
        .expect("get")
        .expect("repository secret");
    assert_eq!(
        secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"],
        "repository"
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(secret["data"]["password"], b64.encode(GIT_TOKEN));
    assert_eq!(secret["data"]["url"], b64.encode(APPS_REPO));
    assert!(!log.contains(GIT_TOKEN), "{log}");
    assert!(!applied.to_string().contains(GIT_TOKEN));
    assert!(!log.contains(api.token()), "{log}");

    // A retry of the same APPLY: Terraform is done (the state says so), the cluster steps go on.
    h.clear_lines();
    let (_, again) = h.apply(plan_id).await;
    let again = again.expect("resumed apply").expect("result");
    let log = h.all_lines();
    assert!(log.contains("resuming: the state records"), "{log}");
    assert!(!log.contains("$ terraform apply"), "{log}");
    assert_eq!(again["summary"], Value::Null, "{again}");
    assert_eq!(again["steps"], applied["steps"]);

    // An Application ArgoCD reports Degraded: the wait runs out and names it.
    player.set("external-secrets", ("Synced", "Degraded"));
    h.set_settings(|s| s.cluster.apps_timeout = Duration::from_secs(3));
    let (_, degraded) = h.apply(plan_id).await;
    let reason = failed(degraded);
    assert!(reason.starts_with("step `wait`: "), "{reason}");
    assert!(reason.contains("external-secrets"), "{reason}");
    assert!(reason.contains("health Degraded"), "{reason}");
    assert!(
        !reason.contains("metrics-server"),
        "only the app not ready: {reason}"
    );

    // A cancel during the wait (a long bound this time) ends the job as CANCELLED at once.
    h.set_settings(|s| s.cluster.apps_timeout = Duration::from_secs(600));
    h.clear_lines();
    let stop = CancellationToken::new();
    let waiting = h.run_job(
        &grape_provisioner::handlers::ApplyHandler,
        job(JobType::Apply, json!({"plan_job_id": plan_id})),
        stop.clone(),
    );
    let cancel_when_waiting = async {
        while !h
            .all_lines()
            .contains("applications Synced and Healthy: waiting for")
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.cancel();
        std::time::Instant::now()
    };
    let ((_, cancelled), at) = tokio::join!(waiting, cancel_when_waiting);
    assert!(
        matches!(cancelled, Err(JobError::Cancelled)),
        "{cancelled:?}"
    );
    assert!(
        at.elapsed() < Duration::from_secs(30),
        "the wait outlived its cancel"
    );
    player.set("external-secrets", ("Synced", "Healthy"));

    // DESTROY, in reverse. First the Applications cannot go (ArgoCD does not prune): the step
    // fails, named; ArgoCD is still there; the next DESTROY resumes.
    player.set_finalizing(false);
    h.set_settings(|s| s.cluster.delete_timeout = Duration::from_secs(3));
    let destroy = || job(JobType::Destroy, json!({"vine": vine()}));
    let (_, stuck) = h.run_job(&DestroyHandler, destroy(), cancel.clone()).await;
    let reason = failed(stuck);
    assert!(
        reason.starts_with("step `delete applications`: "),
        "{reason}"
    );
    assert!(
        cluster
            .get(&application("metrics-server"), &cancel)
            .await
            .unwrap()
            .is_some()
    );

    player.set_finalizing(true);
    h.set_settings(|s| s.cluster.delete_timeout = Duration::from_secs(60));
    h.clear_lines();
    let (_, destroyed) = h.run_job(&DestroyHandler, destroy(), cancel.clone()).await;
    let destroyed = destroyed.expect("destroy").expect("result");
    let log = h.all_lines();
    assert_eq!(
        destroyed["steps"],
        json!([
            "cluster",
            "delete applications",
            "uninstall argocd",
            "terraform destroy"
        ]),
        "{destroyed}\n{log}"
    );
    assert!(log.contains("ArgoCD uninstalled"), "{log}");
    for name in &names {
        assert!(
            cluster
                .get(&application(name), &cancel)
                .await
                .unwrap()
                .is_none(),
            "{name} left behind"
        );
    }
    assert!(
        cluster
            .get(
                &ObjectRef::namespaced("v1", "ConfigMap", "argocd", "argocd-cm"),
                &cancel
            )
            .await
            .unwrap()
            .is_none(),
        "ArgoCD's release left behind"
    );
    assert!(player.seen().len() >= names.len());

    // Once more: the state names no cluster any more; nothing to do but an empty destroy.
    h.clear_lines();
    let (_, empty) = h.run_job(&DestroyHandler, destroy(), cancel.clone()).await;
    empty.expect("destroy of a destroyed vine").expect("result");
    assert!(h.all_lines().contains("the state names no cluster"));
}
