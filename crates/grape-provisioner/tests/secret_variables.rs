//! Job secrets as Terraform variables: a secret named like a variable reaches Terraform as
//! `TF_VAR_<name>` (never an argument or a file), and no log line shows its value — even for a
//! variable the configuration does not declare sensitive, whose value Terraform prints.

mod terraform_common;

use grape_api::{JobSecrets, JobType, Secret};
use grape_process::Redactor;
use grape_provisioner::JobError;
use grape_provisioner::handlers::{ApplyHandler, PlanHandler};
use grape_provisioner::local::local_job;
use serde_json::{Value, json};
use terraform_common::{Harness, walk};
use tokio_util::sync::CancellationToken;

const API_KEY: &str = "ak-7c1e0f-very-secret-value";

/// A configuration that prints the (not sensitive) variable `api_key` in its plan and output.
fn leaky() -> Value {
    let main = r#"
variable "api_key" {
  type = string
}
resource "terraform_data" "leaky" {
  input = var.api_key
}
output "echo" {
  value = terraform_data.leaky.output
}
"#;
    json!({ "main.tf": main })
}

#[allow(clippy::needless_pass_by_value)] // reads better at call sites
fn payload(variables: Value) -> Value {
    json!({
        "source": { "files": leaky() },
        "variables": variables,
        "state_key": "secrets/leaky.tfstate",
    })
}

fn secrets() -> JobSecrets {
    JobSecrets::from([("api_key".to_owned(), Secret::new(API_KEY))])
}

async fn run(
    h: &Harness,
    handler: &dyn grape_provisioner::JobHandler,
    job_type: JobType,
    payload: Value,
) -> (uuid::Uuid, Result<Option<Value>, JobError>) {
    let job = local_job(job_type, payload);
    let id = job.id;
    let result = h
        .runner
        .run_with_secrets(
            handler,
            job,
            secrets(),
            h.log(),
            Redactor::new(),
            CancellationToken::new(),
        )
        .await;
    (id, result)
}

#[tokio::test]
async fn a_secret_variable_is_planned_and_applied_and_never_logged() {
    let h = Harness::new().await;
    let (plan_id, plan) = run(&h, &PlanHandler, JobType::Plan, payload(json!({}))).await;
    let plan = plan.expect("plan succeeds").expect("a result");
    assert_eq!(plan["summary"]["add"], 1, "{plan}");
    let (_, applied) = run(
        &h,
        &ApplyHandler,
        JobType::Apply,
        json!({ "plan_job_id": plan_id }),
    )
    .await;
    applied.expect("apply succeeds");
    let log = h.all_lines();
    assert!(log.contains("TF_VAR_*): api_key"), "{log}");
    assert!(!log.contains(API_KEY), "the secret reached the log:\n{log}");
    assert!(
        log.contains("[REDACTED]"),
        "Terraform printed it masked:\n{log}"
    );
    // The value reached Terraform: it is in the state (where Terraform keeps every value).
    let state = h.object("secrets/leaky.tfstate").await.expect("state");
    assert!(state.contains(API_KEY), "the variable was not set: {state}");
    // No file of the runs is left behind with it (the workspace is gone; the plan artifact is
    // the documented secret at rest and holds no clear-text copy).
    for file in walk(h.dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()).into_owned();
        assert!(
            !text.contains(API_KEY),
            "{} holds the secret",
            file.display()
        );
    }
}

#[tokio::test]
async fn a_secret_and_a_payload_value_for_one_variable_are_refused() {
    let h = Harness::new().await;
    let (_, plan) = run(
        &h,
        &PlanHandler,
        JobType::Plan,
        payload(json!({ "api_key": "from the payload" })),
    )
    .await;
    let err = plan.expect_err("refused");
    assert!(
        matches!(&err, JobError::InvalidPayload { reason, .. } if reason.contains("both")),
        "{err}"
    );
    assert!(!h.all_lines().contains(API_KEY));
}
