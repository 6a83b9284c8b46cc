//! APPLY of exactly the saved plan (real Terraform, S3 state on moto) and the cost estimate of
//! a PLAN (a stand-in `infracost` CLI from grape-testkit).

mod terraform_common;

use grape_api::Secret;
use grape_provisioner::InfracostSettings;
use grape_provisioner::JobServices as _;
use grape_provisioner::local::FileArtifacts;
use grape_testkit::{FakeInfracostOutput, fake_infracost_calls, write_fake_infracost};
use serde_json::{Value, json};
use terraform_common::{Harness, PASSWORD, config, request};
use uuid::Uuid;

const INFRACOST_KEY: &str = "ico-provisioner-test-key-42";

#[tokio::test]
async fn a_stale_plan_is_refused_with_terraforms_reason_and_plan_again() {
    let h = Harness::new().await;
    let key = "vines/stale.tfstate";
    let (first, plan) = h.plan(request(config(""), key)).await;
    plan.expect("first plan");
    // Someone plans and applies another configuration on the same state in between.
    let other = config(r#"resource "terraform_data" "extra" { input = "x" }"#);
    let (second, plan) = h.plan(request(other, key)).await;
    plan.expect("second plan");
    h.apply(second).await.1.expect("second apply");

    for (plan_job_id, what) in [
        (first, "the older plan"),
        (second, "an applied plan, again"),
    ] {
        let reason = h.apply(plan_job_id).await.1.expect_err(what).to_string();
        assert!(reason.contains("Saved plan is stale"), "{what}: {reason}");
        assert!(
            reason.contains("plan again and apply the new plan"),
            "{what}: {reason}"
        );
    }
    let state = h.object(key).await.expect("state");
    assert!(
        state.contains("extra"),
        "the refused apply changed the state: {state}"
    );
}

#[tokio::test]
async fn an_edit_of_the_git_source_between_plan_and_apply_changes_nothing() {
    let h = Harness::new().await;
    let remote = grape_testkit::GitRemote::new().expect("bare repo");
    // The local-exec reads a script from the checkout at apply time: only the commit PLAN saw
    // may be checked out.
    let main = |extra: &str| {
        format!(
            r#"
resource "terraform_data" "hello" {{
  provisioner "local-exec" {{
    command     = "sh ./hello.sh"
    working_dir = path.module
  }}
}}
{extra}
output "version" {{
  value = "planned"
}}
"#
        )
    };
    let planned = remote
        .commit(
            &[
                ("infra/main.tf", &main("")),
                ("infra/hello.sh", "echo script version one"),
            ],
            "v1",
        )
        .expect("commit v1");
    let payload = json!({
        "source": { "git": { "url": remote.url(), "ref": "main", "path": "infra" } },
        "state_key": "vines/git-edit.tfstate",
    });
    let (plan_id, plan) = h.plan(payload).await;
    plan.expect("plan of main");
    remote
        .commit(
            &[
                (
                    "infra/main.tf",
                    &main(r#"resource "terraform_data" "added_later" {}"#),
                ),
                ("infra/hello.sh", "echo script version two"),
            ],
            "v2",
        )
        .expect("commit v2");

    h.clear_lines();
    let (_, applied) = h.apply(plan_id).await;
    let applied = applied.expect("apply of the saved plan").expect("result");
    assert_eq!(applied["commit"], planned.as_str(), "{applied}");
    assert_eq!(applied["summary"]["add"], 1, "{applied}");
    let log = h.all_lines();
    assert!(
        log.contains(&format!("checked out commit {planned}")),
        "{log}"
    );
    assert!(log.contains("script version one"), "{log}");
    assert!(!log.contains("script version two"), "{log}");
    let state = h.object("vines/git-edit.tfstate").await.expect("state");
    assert!(!state.contains("added_later"), "{state}");
}

#[tokio::test]
async fn an_artifact_of_the_older_format_is_refused_with_plan_again() {
    let h = Harness::new().await;
    let plan_job_id = Uuid::new_v4();
    let v1 = json!({
        "format": "grape.plan.v1",
        "request": request(config(""), "vines/old.tfstate"),
        "plan": { "format_version": "1.2", "resource_changes": [] },
    });
    FileArtifacts::new(h.artifacts_dir())
        .upload_plan_artifact(plan_job_id, &v1)
        .await
        .expect("store a v1 artifact");
    let (_, applied) = h.apply(plan_job_id).await;
    let reason = applied.expect_err("v1 is refused").to_string();
    assert!(reason.contains("grape.plan.v1"), "{reason}");
    assert!(reason.contains("plan again"), "{reason}");
    assert!(
        !h.all_lines().contains("terraform init"),
        "nothing ran: {}",
        h.all_lines()
    );
}

async fn plan_with_infracost(output: FakeInfracostOutput) -> (Harness, Value) {
    let mut h = Harness::new().await;
    let bin = write_fake_infracost(h.dir.path(), INFRACOST_KEY, output).expect("fake infracost");
    h.set_infracost(InfracostSettings {
        bin: Some(bin),
        api_key: Some(Secret::new(INFRACOST_KEY)),
        ..InfracostSettings::default()
    });
    let (_, plan) = h.plan(request(config(""), "vines/cost.tfstate")).await;
    let plan = plan.expect("the plan succeeds").expect("result");
    assert_eq!(
        fake_infracost_calls(h.dir.path()),
        vec!["breakdown --path plan.json --format json"]
    );
    let log = h.all_lines();
    assert!(
        !log.contains(INFRACOST_KEY),
        "the key reached the log:\n{log}"
    );
    (h, plan)
}

#[tokio::test]
async fn a_plan_carries_its_cost_estimate_and_logs_a_summary_table() {
    let (h, plan) = plan_with_infracost(FakeInfracostOutput::Breakdown).await;
    let cost = &plan["cost"];
    assert_eq!(cost["currency"], "USD", "{plan}");
    assert_eq!(cost["total"]["monthly"], "30.368", "{plan}");
    assert_eq!(cost["total"]["hourly"], "0.0416", "{plan}");
    assert_eq!(cost["diff"]["monthly"], "30.368", "{plan}");
    assert_eq!(
        cost["resources"][0]["address"], "aws_instance.web",
        "{plan}"
    );
    assert!(plan.get("cost_unavailable").is_none(), "{plan}");
    let log = h.all_lines();
    assert!(
        log.contains("[system] $ infracost breakdown --path plan.json --format json"),
        "{log}"
    );
    assert!(log.contains("cost estimate (USD, by infracost"), "{log}");
    assert!(
        log.contains("change against the current state: +30.37 per month"),
        "{log}"
    );
    assert!(!log.contains(PASSWORD), "{log}");
}

#[tokio::test]
async fn a_failing_infracost_leaves_the_plan_complete_and_says_why() {
    for (output, why) in [
        (FakeInfracostOutput::Fail, "Error: Invalid API key"),
        (
            FakeInfracostOutput::BadJson,
            "infracost breakdown printed unreadable JSON",
        ),
    ] {
        let (h, plan) = plan_with_infracost(output).await;
        assert_eq!(plan["cost"], Value::Null, "{plan}");
        let reason = plan["cost_unavailable"].as_str().unwrap_or_default();
        assert!(reason.contains(why), "{output:?}: {plan}");
        assert_eq!(plan["summary"]["add"], 1, "{plan}");
        assert!(
            h.all_lines()
                .contains(&format!("no cost estimate: {reason}")),
            "{}",
            h.all_lines()
        );
    }
}
