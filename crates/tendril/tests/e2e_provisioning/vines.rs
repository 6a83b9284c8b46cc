//! A vine through trellis + tendril: PLAN with a cost estimate (a stand-in `infracost`), APPLY
//! of the saved plan, a retry of it resuming past Terraform, another plan of the same state
//! refused once stale, an invalid vine FAILED with the field path. The worker renders vines with the stand-in templates (`--vine-templates standin`:
//! `terraform_data` with the same variables and outputs), as no provider can be installed here.

use grape_api::{JobStatus, JobType};
use serde_json::json;

use super::{INFRACOST_KEY, STATE_SECRET, costed_worker, log_texts, run_as, sandbox_identity};

#[tokio::test]
async fn a_vine_is_planned_with_its_cost_applied_and_its_stale_plan_refused() {
    let (_moto, server, _tools, _worker) =
        costed_worker("e2e-vines", &["--vine-templates", "standin"]).await;
    let user = server.user_client();
    let identity = sandbox_identity(&user).await;
    let vine = json!({
        "project_name": "shop",
        "environment_stage": "staging",
        "region": "eu-west-1",
        "provider": "aws",
        "cloud_identity_id": identity,
        "cluster": {"cluster_version": "1.31", "instance_types": ["m5.large"],
                    "node_min_size": 1, "node_max_size": 3, "node_desired_size": 2}
    });

    let plan = run_as(&user, identity, JobType::Plan, json!({ "vine": vine })).await;
    assert_eq!(plan.status, JobStatus::Success, "{plan:#?}");
    let result = plan.result.as_ref().expect("result");
    assert!(result["summary"]["add"].as_u64() > Some(0), "{result}");
    assert_eq!(result["cost"]["total"]["monthly"], "30.368", "{result}");
    let log = log_texts(&user, plan.id).await;
    let has = |log: &[String], needle: &str| log.iter().any(|l| l.contains(needle));
    assert!(
        has(&log, "vine shop/staging in eu-west-1 (aws)"),
        "{log:#?}"
    );
    assert!(
        has(
            &log,
            "state key vines/default/shop/staging/eu-west-1/terraform.tfstate"
        ),
        "{log:#?}"
    );

    // A second plan of the same (empty) state: stale once the first is applied.
    let rival = run_as(&user, identity, JobType::Plan, json!({ "vine": vine })).await;
    assert_eq!(rival.status, JobStatus::Success, "{rival:#?}");

    let apply = run_as(
        &user,
        identity,
        JobType::Apply,
        json!({ "plan_job_id": plan.id }),
    )
    .await;
    assert_eq!(apply.status, JobStatus::Success, "{apply:#?}");
    let outputs = &apply.result.as_ref().expect("result")["outputs"];
    assert!(outputs.get("cluster_name").is_some(), "{outputs}");
    let log = log_texts(&user, apply.id).await;
    assert!(
        !has(&log, "terraform plan"),
        "APPLY made a new plan: {log:#?}"
    );
    for secret in [STATE_SECRET, INFRACOST_KEY] {
        assert!(!has(&log, secret), "a secret reached the log");
    }

    // The same APPLY again (a retry): the state records this plan as applied, so Terraform is
    // not run again (no cluster here: the worker names no stand-in cluster).
    let again = run_as(
        &user,
        identity,
        JobType::Apply,
        json!({ "plan_job_id": plan.id }),
    )
    .await;
    assert_eq!(again.status, JobStatus::Success, "{again:#?}");
    let log = log_texts(&user, again.id).await;
    assert!(has(&log, "resuming: the state records"), "{log:#?}");
    assert!(!has(&log, "$ terraform apply"), "{log:#?}");
    assert!(
        has(
            &log,
            "the cluster steps (ArgoCD, repository, Applications) are skipped"
        ),
        "{log:#?}"
    );

    let again = run_as(
        &user,
        identity,
        JobType::Apply,
        json!({ "plan_job_id": rival.id }),
    )
    .await;
    assert_eq!(again.status, JobStatus::Failed, "{again:#?}");
    let reason = again.error.as_deref().unwrap_or_default();
    assert!(reason.contains("Saved plan is stale"), "{reason}");
    assert!(reason.contains("plan again"), "{reason}");

    let mut bad = vine.clone();
    bad["environment_stage"] = json!("Staging_1");
    let failed = run_as(&user, identity, JobType::Plan, json!({ "vine": bad })).await;
    assert_eq!(failed.status, JobStatus::Failed, "{failed:#?}");
    let reason = failed.error.as_deref().unwrap_or_default();
    assert!(reason.contains("environment_stage"), "{reason}");
    let log = log_texts(&user, failed.id).await;
    assert!(
        !has(&log, "$ terraform"),
        "a tool ran for an invalid vine: {log:#?}"
    );
}
