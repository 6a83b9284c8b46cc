//! PLAN, APPLY and DESTROY of a vine (`{"vine": …}`): checked before any tool runs, rendered
//! with the stand-in templates (the provider templates are planned on moto in grape-vine's own
//! tests, where the provider mirror exists), planned and applied with real Terraform and S3
//! state on moto under the one state key of the vine.

mod terraform_common;

use chrono::Utc;
use grape_api::{CloudIdentity, CloudProvider, Job, JobType};
use grape_provisioner::handlers::{DestroyHandler, PlanHandler};
use grape_provisioner::local::local_job;
use grape_provisioner::{JobError, VineTemplates};
use serde_json::{Value, json};
use terraform_common::Harness;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const IDENTITY: &str = terraform_common::VINE_IDENTITY;
const STATE_KEY: &str = "vines/default/web/dev/eu-west-1/terraform.tfstate";

fn vine() -> Value {
    terraform_common::aws_vine()
}

/// A job of `job_type` for `payload` running as `identity`.
fn job(job_type: JobType, payload: Value, identity: Option<&str>) -> Job {
    let mut job = local_job(job_type, payload);
    job.cloud_identity_id = identity.map(|i| i.parse().expect("uuid"));
    job
}

fn identity_of(provider: CloudProvider, credentials: Option<Value>) -> CloudIdentity {
    CloudIdentity {
        id: IDENTITY.parse().expect("uuid"),
        name: "acme".into(),
        provider,
        settings: json!({}),
        credentials,
        team: "default".into(),
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

async fn standin() -> Harness {
    let mut h = Harness::new().await;
    h.set_settings(|s| s.vine_templates = VineTemplates::StandIn);
    h
}

async fn plan(h: &Harness, job: Job) -> (Uuid, Result<Option<Value>, JobError>) {
    h.run_job(&PlanHandler, job, CancellationToken::new()).await
}

#[tokio::test]
async fn a_vine_is_planned_applied_and_destroyed_under_its_state_key() {
    let h = standin().await;
    let (plan_id, planned) = plan(
        &h,
        job(JobType::Plan, json!({"vine": vine()}), Some(IDENTITY)),
    )
    .await;
    let planned = planned.expect("vine plan").expect("result");
    assert_eq!(planned["has_changes"], true, "{planned}");
    assert!(planned["summary"]["add"].as_u64() > Some(0), "{planned}");
    let log = h.all_lines();
    assert!(log.contains("vine web/dev in eu-west-1 (aws)"), "{log}");
    assert!(log.contains("`stand-in` template set"), "{log}");
    assert!(log.contains(&format!("state key {STATE_KEY}")), "{log}");

    h.clear_lines();
    let (_, applied) = h.apply(plan_id).await;
    let applied = applied.expect("apply of the vine's plan").expect("result");
    let log = h.all_lines();
    assert!(
        !log.contains("$ terraform plan"),
        "APPLY planned again: {log}"
    );
    let outputs = &applied["outputs"];
    for name in ["cluster_name", "cluster_endpoint", "region", "network_id"] {
        assert!(outputs.get(name).is_some(), "no output {name}: {applied}");
    }
    let state = h
        .object(STATE_KEY)
        .await
        .expect("state under the vine's key");
    assert!(state.contains("terraform_data"), "{state}");

    let (_, destroyed) = h
        .run_job(
            &DestroyHandler,
            job(JobType::Destroy, json!({"vine": vine()}), Some(IDENTITY)),
            CancellationToken::new(),
        )
        .await;
    let destroyed = destroyed.expect("destroy").expect("result");
    assert!(
        !destroyed["destroyed"].as_array().expect("list").is_empty(),
        "{destroyed}"
    );
}

#[tokio::test]
async fn an_invalid_vine_fails_before_any_tool_runs_naming_each_field() {
    let h = standin().await;
    let mut bad = vine();
    bad["cluster"]["node_max_size"] = json!(0);
    bad["colour"] = json!("blue");
    let (_, outcome) = plan(&h, job(JobType::Plan, json!({"vine": bad}), Some(IDENTITY))).await;
    let reason = outcome.expect_err("invalid vine").to_string();
    assert!(reason.contains("invalid payload for PLAN"), "{reason}");
    assert!(reason.contains("colour"), "{reason}");
    let log = h.all_lines();
    assert!(!log.contains("terraform"), "a tool ran: {log}");

    let mut bad = vine();
    bad["cluster"]["node_max_size"] = json!(0);
    let (_, outcome) = plan(&h, job(JobType::Plan, json!({"vine": bad}), Some(IDENTITY))).await;
    let reason = outcome.expect_err("invalid vine").to_string();
    assert!(reason.contains("cluster.node_max_size"), "{reason}");
}

#[tokio::test]
async fn a_payload_is_a_vine_or_a_source_never_a_mix() {
    let h = standin().await;
    let payload = json!({"vine": vine(), "state_key": "mine", "variables": {"a": 1}});
    let (_, outcome) = plan(&h, job(JobType::Plan, payload, Some(IDENTITY))).await;
    let reason = outcome.expect_err("mixed payload").to_string();
    assert!(reason.contains("never a mix"), "{reason}");
    assert!(reason.contains("`state_key`, `variables`"), "{reason}");
}

#[tokio::test]
async fn the_job_runs_as_the_vines_identity_of_the_vines_cloud() {
    let h = standin().await;
    let other = "11111111-2222-4333-8444-555555555555";
    let (_, outcome) = plan(&h, job(JobType::Plan, json!({"vine": vine()}), Some(other))).await;
    let reason = outcome.expect_err("other identity").to_string();
    assert!(
        reason.contains(&format!("runs as cloud identity {other}")),
        "{reason}"
    );

    let (_, outcome) = plan(&h, job(JobType::Plan, json!({"vine": vine()}), None)).await;
    let reason = outcome.expect_err("no identity").to_string();
    assert!(reason.contains("names no cloud identity"), "{reason}");

    let mut gcp = job(JobType::Plan, json!({"vine": vine()}), Some(IDENTITY));
    gcp.identity = Some(identity_of(CloudProvider::Gcp, None));
    let (_, outcome) = plan(&h, gcp).await;
    let reason = outcome.expect_err("identity of another cloud").to_string();
    assert!(reason.contains("is a gcp identity"), "{reason}");
}

fn discovery(version: u32, private_zones: &[&str]) -> Value {
    let subnets: Vec<Value> = private_zones
        .iter()
        .enumerate()
        .map(|(i, az)| {
            json!({"id": format!("subnet-{i}"), "name": null, "cidr": null,
                   "network_id": "vpc-0abc1234", "region": "eu-west-1", "zone": az,
                   "available_ips": 250, "public": false})
        })
        .collect();
    json!({ "discovery": {
        "format_version": version, "discovered_at": "2026-12-01T10:00:00Z", "provider": "aws",
        "account": "123456789012", "regions": ["eu-west-1"],
        "networks": [{"id": "vpc-0abc1234", "name": "shared", "cidr_blocks": ["10.1.0.0/16"],
                      "region": "eu-west-1", "is_default": false}],
        "subnets": subnets, "dns_zones": [], "errors": [],
        "aws": {"security_groups": [], "iam_users": []}
    }})
}

#[tokio::test]
async fn an_existing_network_is_checked_against_the_identitys_cached_discovery() {
    let h = standin().await;
    let mut existing = vine();
    existing["network"] = json!({"network_id": "vpc-0abc1234"});
    let run = |credentials: Option<Value>| {
        let mut j = job(
            JobType::Plan,
            json!({"vine": existing.clone()}),
            Some(IDENTITY),
        );
        j.identity = Some(identity_of(CloudProvider::Aws, credentials));
        j
    };
    for (credentials, expected) in [
        (None, "has no cached discovery"),
        (
            Some(discovery(2, &["eu-west-1a", "eu-west-1b"])),
            "older than format 3",
        ),
        (
            Some(discovery(3, &["eu-west-1a"])),
            "at least two availability zones",
        ),
    ] {
        let (_, outcome) = plan(&h, run(credentials)).await;
        let reason = outcome.expect_err(expected).to_string();
        assert!(reason.contains(expected), "{reason}");
        assert!(reason.contains("grape identities refresh"), "{reason}");
    }
    h.clear_lines();
    let (_, outcome) = plan(&h, run(Some(discovery(3, &["eu-west-1a", "eu-west-1b"])))).await;
    outcome.expect("plan on a known network");
    let log = h.all_lines();
    assert!(
        log.contains("network vpc-0abc1234 found in the identity's discovery"),
        "{log}"
    );
}

#[tokio::test]
async fn the_vines_terraform_version_is_checked_against_the_terraform_in_use() {
    let h = standin().await;
    let mut old = vine();
    old["terraform_version"] = json!("< 1.0");
    let (_, outcome) = plan(&h, job(JobType::Plan, json!({"vine": old}), Some(IDENTITY))).await;
    let reason = outcome
        .expect_err("a Terraform outside the constraint")
        .to_string();
    assert!(
        reason.contains("Unsupported Terraform Core version"),
        "{reason}"
    );
}
