//! A vine PLAN against Terraform run by hand on the rendered directory. Prints figures;
//! asserts nothing.
//!
//! `cargo xtask bench vine` (release). Needs the test peers (`cargo xtask peers`): real
//! Terraform and moto for the S3 state.
//!
//! Each iteration plans the same vine twice in fresh directories, alternating which goes first:
//! 1. through the PLAN handler (`LocalRunner`): parse + checks + render + `terraform init` (S3
//!    backend, credential-process profile) + `terraform plan -out` + `terraform show -json` +
//!    saving the plan artifact;
//! 2. by hand: `grape_vine::render` into a directory, then `terraform init
//!    -backend-config=state.s3.tfbackend`, `terraform plan -out` and `terraform show -json` as
//!    plain child processes (state keys in `AWS_*`).
//!
//! With the stand-in templates (no provider); with the provider mirror
//! (`VINTNER_TF_PROVIDER_MIRROR` or the one `cargo xtask peers` found) the AWS set on moto too.
//! Target: handler / by hand ≤ 1.05.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use grape_api::{JobType, Secret};
use grape_process::Redactor;
use grape_provisioner::handlers::PlanHandler;
use grape_provisioner::local::{FileArtifacts, LocalRunner, StaticCloudEnv, local_job};
use grape_provisioner::vine::StateBackend;
use grape_provisioner::{JobLog, ProvisionerSettings, StateBackendSettings, VineTemplates};
use grape_testkit::Moto;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const ITERATIONS: usize = 5;
const BUCKET: &str = "terraform-state";
const KEY_ID: &str = "bench-state-key-id";
const SECRET_KEY: &str = "bench-state-secret-key";

fn vine(n: usize) -> Value {
    json!({
        "project_name": format!("bench{n}"),
        "environment_stage": "dev",
        "region": "us-east-1",
        "provider": "aws",
        "cloud_identity_id": "5b0c8f3e-4a7d-4a51-9e0b-1f6a2c7d9e10",
        "cluster": {"cluster_version": "1.31", "instance_types": ["m5.large"],
                    "node_min_size": 1, "node_max_size": 3, "node_desired_size": 2}
    })
}

/// Terraform as a plain child process, output read and dropped.
fn by_hand(bin: &Path, env: &[(String, String)], dir: &Path, args: &[&str]) {
    let out =
        grape_testkit::peers::terraform_by_hand(bin, env, grape_terraform::FIXED_ENV, dir, args);
    assert!(
        out.status.success(),
        "terraform {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Setup {
    moto_url: String,
    env: Vec<(String, String)>,
    templates: VineTemplates,
}

async fn handler_plan(setup: &Setup, payload: Value, dir: &Path) -> Duration {
    let settings = ProvisionerSettings {
        terraform_bin: Some(grape_testkit::terraform_bin()),
        state_backend: Some(StateBackendSettings {
            endpoint: Some(setup.moto_url.clone()),
            region: "us-east-1".into(),
            bucket: BUCKET.into(),
            access_key_id: Secret::new(KEY_ID),
            secret_access_key: Secret::new(SECRET_KEY),
        }),
        env: setup.env.clone(),
        vine_templates: setup.templates,
        ..ProvisionerSettings::default()
    };
    let runner = LocalRunner {
        settings: Arc::new(settings),
        services: Arc::new(FileArtifacts::new(dir.join("artifacts"))),
        work_dir: dir.join("work"),
        // No identity is assumed: the tools get the setup's environment only.
        cloud: Some(Arc::new(StaticCloudEnv::default())),
    };
    let mut job = local_job(JobType::Plan, payload);
    job.cloud_identity_id = Some(
        "5b0c8f3e-4a7d-4a51-9e0b-1f6a2c7d9e10"
            .parse()
            .expect("uuid"),
    );
    let log = JobLog::new(Arc::new(|_, _: &str| {}));
    let start = Instant::now();
    runner
        .run(
            &PlanHandler,
            job,
            log,
            Redactor::new(),
            CancellationToken::new(),
        )
        .await
        .expect("vine plan");
    start.elapsed()
}

fn hand_plan(setup: &Setup, payload: &Value, dir: &Path) -> Duration {
    let start = Instant::now();
    let vine = grape_provisioner::vine::vine_from_value(payload["vine"].clone()).expect("vine");
    let backend = StateBackend {
        bucket: BUCKET.into(),
        region: "us-east-1".into(),
        endpoint: Some(setup.moto_url.clone()),
    };
    let set = setup.templates.set(vine.provider);
    let rendered =
        grape_provisioner::vine::render_with(&vine, "default", &backend, set).expect("render");
    for file in &rendered.files {
        std::fs::write(dir.join(&file.path), &file.contents).expect("write");
    }
    let bin = grape_testkit::terraform_bin();
    let mut env = setup.env.clone();
    env.extend([
        ("AWS_ACCESS_KEY_ID".into(), KEY_ID.into()),
        ("AWS_SECRET_ACCESS_KEY".into(), SECRET_KEY.into()),
    ]);
    let init_backend = format!(
        "-backend-config={}",
        grape_provisioner::vine::BACKEND_CONFIG_FILE
    );
    by_hand(
        &bin,
        &env,
        dir,
        &["init", "-no-color", "-input=false", &init_backend],
    );
    by_hand(
        &bin,
        &env,
        dir,
        &["plan", "-no-color", "-json", "-input=false", "-out=tfplan"],
    );
    by_hand(&bin, &env, dir, &["show", "-no-color", "-json", "tfplan"]);
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn compare(name: &str, setup: &Setup) {
    let (mut handler, mut hand) = (Vec::new(), Vec::new());
    for i in 0..ITERATIONS {
        for handler_first in [i % 2 == 0, i % 2 != 0] {
            let dir = tempfile::tempdir().expect("tempdir");
            // A vine of its own per run: both start from an empty state.
            let payload = json!({ "vine": vine(i * 2 + usize::from(handler_first)) });
            if handler_first {
                handler.push(handler_plan(setup, payload, dir.path()).await);
            } else {
                hand.push(hand_plan(setup, &payload, dir.path()));
            }
        }
    }
    let (handler, hand) = (median(handler), median(hand));
    println!(
        "vine plan ({name}): by hand {:>8.1} ms   handler {:>8.1} ms   ratio {:.3} (target <= 1.05; {ITERATIONS} iterations, medians)",
        hand.as_secs_f64() * 1000.0,
        handler.as_secs_f64() * 1000.0,
        handler.as_secs_f64() / hand.as_secs_f64()
    );
}

/// A Terraform CLI configuration file in `dir` installing `hashicorp/*` from `mirror`.
fn mirror_rc(mirror: &Path, dir: &Path) -> String {
    let rc = dir.join("terraformrc");
    std::fs::write(&rc, grape_testkit::peers::provider_mirror_rc(mirror)).expect("terraformrc");
    rc.display().to_string()
}

#[tokio::main]
async fn main() {
    let moto = Moto::builder()
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .start()
        .await
        .expect("moto");
    moto.create_bucket(BUCKET).await.expect("bucket");
    let standin = Setup {
        moto_url: moto.endpoint_url().to_owned(),
        env: grape_testkit::terraform_env(),
        templates: VineTemplates::StandIn,
    };
    compare("stand-in templates", &standin).await;
    let Some(mirror) = grape_testkit::tf_provider_mirror() else {
        println!("vine plan (AWS templates): did not run: no hashicorp/aws provider mirror");
        return;
    };
    let rc_dir = tempfile::tempdir().expect("tempdir");
    let mut env: Vec<(String, String)> = grape_testkit::terraform_env()
        .into_iter()
        .filter(|(k, _)| k != "TF_CLI_CONFIG_FILE")
        .collect();
    env.extend([
        (
            "TF_CLI_CONFIG_FILE".into(),
            mirror_rc(&mirror, rc_dir.path()),
        ),
        ("AWS_ENDPOINT_URL".into(), moto.endpoint_url().to_owned()),
        ("AWS_REGION".into(), "us-east-1".into()),
        // The provider's own credentials (moto takes any); by hand they are the state keys.
        ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
    ]);
    let aws = Setup {
        moto_url: moto.endpoint_url().to_owned(),
        env,
        templates: VineTemplates::Provider,
    };
    compare("AWS templates, hashicorp/aws on moto", &aws).await;
}
