//! Each test peer is real: moto answers the AWS SDK, terraform is 1.15 and keeps state in S3 on
//! moto, helm renders a chart, kubectl runs, Postgres gives a fresh database, git serves a clone.
//!
//! Run `cargo xtask peers` first (CI does it in `cargo xtask ci`).

// Tests run the peers' CLIs directly: this is test code, not product code (see clippy.toml).
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use grape_testkit::{GitRemote, Moto, PgDatabase, TestkitError};
use sqlx::{Connection, PgConnection};

async fn sdk_config(moto: &Moto) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto.endpoint_url())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await
}

fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn terraform(dir: &Path) -> Command {
    let mut cmd = Command::new(grape_testkit::terraform_bin());
    cmd.current_dir(dir).envs(grape_testkit::terraform_env());
    cmd
}

#[tokio::test]
async fn moto_answers_sts_get_caller_identity() {
    let moto = Moto::start().await.expect("start moto");
    let sts = aws_sdk_sts::Client::new(&sdk_config(&moto).await);
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(identity.account(), Some("123456789012"));
    assert!(
        identity
            .arn()
            .is_some_and(|arn| arn.starts_with("arn:aws:"))
    );
}

#[tokio::test]
async fn moto_reset_clears_state_and_extra_env_is_accepted() {
    let moto = Moto::builder()
        .env("MOTO_ECS_SERVICE_RUNNING", "1")
        .start()
        .await
        .expect("start moto");
    let s3 = s3_client(&sdk_config(&moto).await);
    s3.create_bucket()
        .bucket("reset-me")
        .send()
        .await
        .expect("CreateBucket");
    let before = s3.list_buckets().send().await.expect("ListBuckets");
    assert_eq!(before.buckets().len(), 1);
    moto.reset().await.expect("reset");
    let after = s3.list_buckets().send().await.expect("ListBuckets");
    assert!(
        after.buckets().is_empty(),
        "buckets after reset: {:?}",
        after.buckets()
    );
}

#[tokio::test]
async fn two_motos_run_side_by_side_and_stop_on_drop() {
    let (a, b) = (
        Moto::start().await.expect("a"),
        Moto::start().await.expect("b"),
    );
    assert_ne!(a.port(), b.port());
    let url = format!("{}/moto-api/", a.endpoint_url());
    drop(a);
    let gone = grape_testkit::wait_for_http(&url, Duration::from_millis(300)).await;
    assert!(
        matches!(gone, Err(TestkitError::HttpTimeout { .. })),
        "still answers: {gone:?}"
    );
    grape_testkit::wait_for_http(
        &format!("{}/moto-api/", b.endpoint_url()),
        Duration::from_secs(5),
    )
    .await
    .expect("b still up");
}

#[test]
fn terraform_is_1_15() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(terraform(dir.path()).args(["version", "-json"]));
    let version: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let version = version["terraform_version"]
        .as_str()
        .expect("terraform_version");
    assert!(version.starts_with("1.15."), "terraform {version}");
}

#[test]
fn terraform_exit_codes_propagate() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("main.tf"),
        "resource \"terraform_data\" \"x\" {}\n",
    )
    .expect("write");
    run(terraform(dir.path()).args(["init", "-input=false"]));
    let plan = terraform(dir.path())
        .args(["plan", "-input=false", "-detailed-exitcode"])
        .output()
        .expect("spawn");
    assert_eq!(
        plan.status.code(),
        Some(2),
        "plan -detailed-exitcode with changes"
    );
    let bad = terraform(dir.path())
        .arg("no-such-command")
        .output()
        .expect("spawn");
    assert_ne!(bad.status.code(), Some(0));
}

#[tokio::test]
async fn terraform_applies_with_state_in_s3_on_moto() {
    let moto = Moto::start().await.expect("start moto");
    let s3 = s3_client(&sdk_config(&moto).await);
    s3.create_bucket()
        .bucket("tf-state")
        .send()
        .await
        .expect("CreateBucket");

    let dir = tempfile::tempdir().expect("tempdir");
    let main_tf = format!(
        r#"terraform {{
  backend "s3" {{
    bucket                      = "tf-state"
    key                         = "envs/test/terraform.tfstate"
    region                      = "us-east-1"
    endpoints                   = {{ s3 = "{endpoint}" }}
    use_path_style              = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
    use_lockfile                = true
  }}
}}

resource "terraform_data" "hello" {{
  input = "world"
}}

output "hello" {{
  value = terraform_data.hello.output
}}
"#,
        endpoint = moto.endpoint_url()
    );
    std::fs::write(dir.path().join("main.tf"), main_tf).expect("write main.tf");
    let creds = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ];
    // Blocking here is fine: moto is another process, not a task of this runtime.
    for args in [
        &["init", "-input=false", "-no-color"][..],
        &["apply", "-input=false", "-auto-approve", "-no-color"][..],
    ] {
        run(terraform(dir.path()).envs(creds).args(args));
    }

    let state = s3
        .get_object()
        .bucket("tf-state")
        .key("envs/test/terraform.tfstate")
        .send()
        .await
        .expect("state object in the bucket");
    let body = state.body.collect().await.expect("body").into_bytes();
    let state: serde_json::Value = serde_json::from_slice(&body).expect("state json");
    assert_eq!(state["outputs"]["hello"]["value"], "world");
    assert_eq!(state["resources"][0]["type"], "terraform_data");
    // The lock file is gone once apply finished.
    let objects = s3
        .list_objects_v2()
        .bucket("tf-state")
        .send()
        .await
        .expect("list");
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["envs/test/terraform.tfstate"]);
}

#[test]
fn helm_template_renders_a_created_chart() {
    let home = tempfile::tempdir().expect("tempdir");
    let helm = |args: &[&str]| {
        let mut cmd = Command::new(grape_testkit::helm_bin());
        cmd.current_dir(home.path())
            .env("HELM_CACHE_HOME", home.path().join("cache"))
            .env("HELM_CONFIG_HOME", home.path().join("config"))
            .env("HELM_DATA_HOME", home.path().join("data"))
            .args(args);
        run(&mut cmd)
    };
    let version = helm(&["version", "--short"]);
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("v4."));
    helm(&["create", "demo"]);
    let out = helm(&["template", "release-one", "demo", "--set", "replicaCount=3"]);
    let rendered = String::from_utf8_lossy(&out.stdout);
    assert!(rendered.contains("kind: Deployment"), "{rendered}");
    assert!(rendered.contains("name: release-one-demo"), "{rendered}");
    assert!(rendered.contains("replicas: 3"), "{rendered}");
}

#[test]
fn kubectl_is_1_33() {
    let out = run(Command::new(grape_testkit::kubectl_bin()).args(["version", "--client"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Client Version: v1.33."), "{text}");
}

#[tokio::test]
async fn postgres_database_is_created_and_dropped() {
    let db = PgDatabase::create().await.expect("create database");
    let name = db.name().to_owned();
    let mut conn = PgConnection::connect(db.url())
        .await
        .expect("connect to the new database");
    let (current,): (String,) = sqlx::query_as("SELECT current_database()")
        .fetch_one(&mut conn)
        .await
        .expect("query");
    assert_eq!(current, name);
    // The open connection does not keep the database alive: it is dropped WITH (FORCE).
    drop(db);
    let admin = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| grape_testkit::postgres::DEFAULT_ADMIN_URL.to_owned());
    let mut admin = PgConnection::connect(&admin)
        .await
        .expect("admin connection");
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .expect("query");
    assert_eq!(count, 0, "database {name} still exists");
}

#[test]
fn git_remote_can_be_cloned() {
    let remote = GitRemote::new().expect("bare repo");
    let first = remote
        .commit(
            &[("main.tf", "# one\n"), ("modules/a/x.tf", "# a\n")],
            "first",
        )
        .expect("commit");
    let second = remote
        .commit_on("feature", &[("main.tf", "# two\n")], "second")
        .expect("commit");
    remote.tag("v1", "main").expect("tag");
    assert_ne!(first, second);

    let dir = tempfile::tempdir().expect("tempdir");
    let clone = dir.path().join("clone");
    run(Command::new("git")
        .arg("clone")
        .arg("--quiet")
        .arg(remote.url())
        .arg(&clone));
    assert_eq!(
        std::fs::read_to_string(clone.join("main.tf")).expect("main.tf"),
        "# one\n"
    );
    assert_eq!(
        std::fs::read_to_string(clone.join("modules/a/x.tf")).expect("x.tf"),
        "# a\n"
    );
    let head = run(Command::new("git").current_dir(&clone).args([
        "rev-parse",
        "HEAD",
        "v1",
        "origin/feature",
    ]));
    let revs: Vec<String> = String::from_utf8_lossy(&head.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(revs, [first.clone(), first, second]);
}

#[tokio::test]
async fn wait_for_http_times_out_on_a_closed_port() {
    let port = grape_testkit::free_port().expect("port");
    let url = format!("http://127.0.0.1:{port}/");
    let err = grape_testkit::wait_for_http(&url, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, TestkitError::HttpTimeout { .. }), "{err}");
}

#[test]
fn terraform_handles_sigint_itself() {
    use std::os::unix::process::CommandExt;

    use nix::sys::signal::{Signal, kill, killpg};
    use nix::unistd::Pid;

    let dir = tempfile::tempdir().expect("tempdir");
    let main_tf = r#"resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 30"
  }
}
"#;
    std::fs::write(dir.path().join("main.tf"), main_tf).expect("write");
    run(terraform(dir.path()).args(["init", "-input=false"]));
    let log = dir.path().join("apply.log");
    let out = std::fs::File::create(&log).expect("log");
    let mut child = terraform(dir.path())
        .args(["apply", "-input=false", "-auto-approve", "-no-color"])
        .stdout(out.try_clone().expect("dup"))
        .stderr(out)
        .process_group(0)
        .spawn()
        .expect("spawn");
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Executing:")
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "apply never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    kill(pid, Signal::SIGINT).expect("SIGINT");
    let status = child.wait().expect("wait");
    // Terraform's own graceful stop, not Python's KeyboardInterrupt.
    let _ = killpg(pid, Signal::SIGKILL); // the orphaned `sleep` of local-exec
    let text = std::fs::read_to_string(&log).expect("log");
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("Interrupt received"), "{text}");
    assert!(
        !text.contains("Traceback") && !text.contains("KeyboardInterrupt"),
        "{text}"
    );
}

#[tokio::test]
async fn the_kube_api_server_is_v1_20_and_kubectl_applies_to_it() {
    let api = grape_testkit::KubeApi::shared();
    let ns = api.namespace("peer").await.expect("a namespace");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, api.kubeconfig()).unwrap();
    let kubectl = |args: &[&str]| {
        let mut cmd = Command::new(grape_testkit::kubectl_bin());
        cmd.env("KUBECONFIG", &kubeconfig).args(args);
        String::from_utf8_lossy(&run(&mut cmd).stdout).into_owned()
    };
    let version = kubectl(&["version", "-o", "json"]);
    assert!(version.contains("\"gitVersion\": \"v1.20.2\""), "{version}");
    let crds = dir.path().join("crds.yaml");
    std::fs::write(&crds, grape_testkit::ARGOCD_MIN_CRDS).unwrap();
    kubectl(&["apply", "--server-side", "-f", crds.to_str().unwrap()]);
    kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/applications.argoproj.io",
        "--timeout=60s",
    ]);
    kubectl(&[
        "create",
        "configmap",
        "c",
        "-n",
        ns.name(),
        "--from-literal=k=v",
    ]);
    let node = kubectl(&[
        "get",
        "node",
        "fake-node",
        "-o",
        "jsonpath={.status.conditions[0].type}",
    ]);
    assert_eq!(node, "Ready", "the fake kubelet registered its node");
}

#[test]
fn a_missing_kube_peer_names_the_install_command() {
    let dir = tempfile::tempdir().unwrap();
    let err = grape_testkit::kube::kube_bin_in(dir.path()).expect_err("nothing installed");
    assert!(matches!(err, TestkitError::MissingPeer { .. }), "{err:?}");
    assert!(err.to_string().contains("cargo xtask peers"), "{err}");
    // A build of another recipe (a stale link) is missing too.
    let stale = dir.path().join("kube-0000000000000000");
    std::fs::create_dir_all(stale.join("bin")).unwrap();
    for bin in ["kube-apiserver", "etcd"] {
        std::fs::write(stale.join("bin").join(bin), "").unwrap();
    }
    std::os::unix::fs::symlink(&stale, dir.path().join("kube")).unwrap();
    let err = grape_testkit::kube::kube_bin_in(dir.path()).expect_err("stale");
    assert!(err.to_string().contains("current recipe"), "{err}");
}
