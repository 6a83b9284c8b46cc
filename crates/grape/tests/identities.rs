//! `grape identities add/show` against a real trellis, and the Terraform commands' local checks.

mod common;

use common::{Env, assert_clean_error};

#[test]
fn add_and_show_an_aws_identity() {
    let env = Env::new();
    let added = env.json(&[
        "identities",
        "add",
        "aws",
        "--name",
        "sandbox",
        "--role-arn",
        "arn:aws:iam::123456789012:role/vintner",
        "--external-id",
        "ext-1",
        "--region",
        "eu-west-1",
        "--region",
        "us-east-1",
        "--endpoint-url",
        "http://127.0.0.1:5000",
    ]);
    let id = added["id"].as_str().unwrap().to_owned();
    assert_eq!(added["provider"], "aws");
    assert_eq!(
        added["settings"]["role_arn"],
        "arn:aws:iam::123456789012:role/vintner"
    );
    assert_eq!(
        added["settings"]["regions"],
        serde_json::json!(["eu-west-1", "us-east-1"])
    );

    let shown = env.json(&["identities", "show", &id]);
    assert_eq!(shown["name"], "sandbox");
    assert_eq!(shown["settings"]["external_id"], "ext-1");

    let out = env
        .authed()
        .args(["identities", "show", &id])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("sandbox") && text.contains("role_arn"),
        "{text}"
    );

    // A bad ARN is a usage error; an unknown id exits 1.
    let out = env
        .authed()
        .args([
            "identities",
            "add",
            "aws",
            "--name",
            "x",
            "--role-arn",
            "vintner",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_clean_error(&out.stderr);
    let out = env
        .authed()
        .args(["identities", "show", "6f1c3e9a-2d4b-4c8e-9f00-000000000001"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_clean_error(&out.stderr);
}

#[test]
fn plan_local_without_a_state_backend_fails_clearly() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        "resource \"terraform_data\" \"x\" {}\n",
    )
    .unwrap();
    let out = env
        .authed()
        .arg("plan")
        .arg(dir.path())
        .arg("--local")
        .env_remove("SUPABASE_STORAGE_KEY_ID")
        .env_remove("SUPABASE_STORAGE_SECRET_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_clean_error(&out.stderr);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SUPABASE_STORAGE_KEY_ID"), "{stderr}");
    // apply of a job that is not a PLAN is refused before anything is submitted.
    let exec = env.submit_sh("true");
    let out = env.authed().args(["apply", &exec]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_clean_error(&out.stderr);
}
