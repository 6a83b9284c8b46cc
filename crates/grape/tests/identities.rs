//! `grape identities add/show` against a real trellis, and the Terraform commands' local checks.

mod common;

use common::{Env, MotoWorld, assert_clean_error, outcome};

#[test]
fn add_and_show_an_aws_identity() {
    let env = Env::new();
    let added = env.add_aws_identity(
        "sandbox",
        "arn:aws:iam::123456789012:role/vintner",
        &[
            "--external-id",
            "ext-1",
            "--region",
            "eu-west-1",
            "--region",
            "us-east-1",
        ],
    );
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

    assert!(added["settings"].get("endpoint_url").is_none(), "{added}");
    // The endpoint is the worker's configuration: the flag is gone.
    let out = env
        .authed()
        .args(["identities", "add", "aws", "--name", "y", "--role-arn"])
        .arg("arn:aws:iam::123456789012:role/vintner")
        .args(["--endpoint-url", "http://127.0.0.1:5000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

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

const ROLE: &str = "arn:aws:iam::123456789012:role/vintner-cli";

/// Creates a VPC in moto's account (boto3 of the peers' venv, moto's static credentials).
fn create_vpc(moto: &grape_testkit::Moto, region: &str, cidr: &str) {
    let python = grape_testkit::peers_dir().join("venv/bin/python");
    let script = format!(
        "import boto3\n\
         print(boto3.client('ec2', region_name='{region}').create_vpc(CidrBlock='{cidr}')['Vpc']['VpcId'])\n"
    );
    let out = common::command(python)
        .args(["-c", &script])
        .envs(moto.aws_env())
        .output()
        .expect("run the peers' python");
    assert!(
        out.status.success(),
        "create_vpc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `grape ARGS` (authenticated, no colours): (exit code, stdout, stderr); no worker secret
/// may show in either.
fn run(env: &Env, args: &[&str]) -> (i32, String, String) {
    env.run_hiding(args, &[common::WORKER_AWS_SECRET])
}

#[test]
fn test_and_refresh_an_identity_through_a_worker() {
    let world = MotoWorld::start("discovery-worker", &[]);
    let (env, moto) = (&world.env, &world.moto);
    let added = env.add_aws_identity(
        "sandbox",
        ROLE,
        &[
            "--external-id",
            "cli",
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
        ],
    );
    let id = added["id"].as_str().unwrap().to_owned();
    let listed = env.json(&["identities", "list"]);
    assert_eq!(listed[0]["id"], id.as_str(), "{listed}");
    assert_eq!(listed[0]["settings"]["regions"][1], "eu-west-1", "{listed}");
    let (code, stdout, _) = run(env, &["identities", "list"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("sandbox") && stdout.contains(ROLE) && stdout.contains("never"),
        "{stdout}"
    );

    // Nothing discovered yet.
    let (code, _, stderr) = run(env, &["identities", "show", &id]);
    assert_eq!(code, 0);
    assert!(stderr.contains("No discovered resources yet"), "{stderr}");

    // `identities test` (human): a CONNECTION_TEST on the worker, its log, who we are, tables.
    let (code, stdout, stderr) = run(env, &["identities", "test", &id]);
    assert_eq!(code, 0, "identities test:\n{stdout}\n{stderr}");
    assert!(stderr.contains("CONNECTION_TEST"), "{stderr}");
    assert!(stderr.contains("SUCCESS"), "{stderr}");
    assert!(
        stdout.contains("verifying the AWS identity"),
        "no live log:\n{stdout}"
    );
    assert!(stdout.contains("Caller identity"), "{stdout}");
    assert!(
        stdout.contains("assumed-role/vintner-cli/"),
        "the role was not assumed:\n{stdout}"
    );
    assert!(stdout.contains("Networks (2)"), "{stdout}");
    assert!(stdout.contains("IS_DEFAULT"), "no VPC table:\n{stdout}");
    assert!(
        stdout.contains("us-east-1, eu-west-1") && stdout.contains("123456789012"),
        "no regions or account:\n{stdout}"
    );
    assert!(!stdout.contains("Calls that failed"), "{stdout}");

    // What the table showed is what Trellis cached for the identity.
    let shown = env.json(&["identities", "show", &id]);
    let cached = &shown["credentials"];
    let vpcs = cached["discovery"]["networks"].as_array().unwrap();
    assert_eq!(vpcs.len(), 2, "{cached}");
    for vpc in vpcs {
        let vpc_id = vpc["id"].as_str().unwrap();
        assert!(
            stdout.contains(vpc_id),
            "{vpc_id} not in the table:\n{stdout}"
        );
    }
    let regions: Vec<&str> = vpcs.iter().map(|v| v["region"].as_str().unwrap()).collect();
    assert!(regions.contains(&"us-east-1") && regions.contains(&"eu-west-1"));
    assert!(
        cached["identity"]["arn"]
            .as_str()
            .is_some_and(|a| a.contains("assumed-role/vintner-cli/")),
        "{cached}"
    );
    let test_job = cached["job_id"].as_str().unwrap().to_owned();
    assert_eq!(
        env.json(&["jobs", "show", &test_job])["type"],
        "CONNECTION_TEST"
    );

    // `identities show` (human) prints the cached tables too.
    let (code, stdout, _) = run(env, &["identities", "show", &id]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Networks (2)") && stdout.contains(vpcs[0]["id"].as_str().unwrap()));

    // A new VPC appears after `identities refresh` (FETCH_RESOURCES), JSON parsed.
    create_vpc(moto, "eu-west-1", "10.77.0.0/16");
    let (code, stdout, stderr) = run(env, &["identities", "refresh", &id, "-o", "json"]);
    assert_eq!(code, 0, "identities refresh:\n{stdout}\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("refresh -o json is not JSON ({e}):\n{stdout}"));
    assert_eq!(doc["job"]["type"], "FETCH_RESOURCES");
    assert_eq!(doc["job"]["status"], "SUCCESS");
    let refreshed = &doc["identity"]["credentials"];
    assert_eq!(refreshed["job_id"], doc["job"]["id"], "{doc}");
    assert_ne!(refreshed["job_id"].as_str(), Some(test_job.as_str()));
    let vpcs = refreshed["discovery"]["networks"].as_array().unwrap();
    assert_eq!(vpcs.len(), 3, "{refreshed}");
    assert!(
        vpcs.iter()
            .any(|v| v["cidr_blocks"] == serde_json::json!(["10.77.0.0/16"])
                && v["region"] == "eu-west-1"),
        "{refreshed}"
    );

    // `jobs submit --identity`: an EXEC job runs with the identity's assumed credentials.
    let python = grape_testkit::peers_dir().join("venv/bin/python");
    let script = "import boto3; print('caller', boto3.client('sts').get_caller_identity()['Arn'])";
    let payload = serde_json::json!({ "argv": [python, "-c", script] }).to_string();
    let (code, stdout, stderr) = outcome(
        env.authed()
            .env("NO_COLOR", "1")
            .args([
                "jobs",
                "submit",
                "EXEC",
                "--identity",
                &id,
                "--follow",
                "--payload",
                "-",
            ])
            .write_stdin(payload),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("caller arn:aws:sts::123456789012:assumed-role/vintner-cli/"),
        "{stdout}"
    );

    // `identities test -o json`: the job and the identity.
    let (code, stdout, _) = run(env, &["identities", "test", &id, "-o", "json"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["job"]["type"], "CONNECTION_TEST");
    assert_eq!(doc["identity"]["id"], id.as_str());
    assert_eq!(
        doc["identity"]["credentials"]["discovery"]["networks"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn a_failing_identity_test_exits_1_and_caches_nothing() {
    let world = MotoWorld::start("discovery-fail-worker", &[]);
    let env = &world.env;
    // A malformed role ARN exits 2 before anything is sent.
    let (code, _, stderr) = run(
        env,
        &[
            "identities",
            "add",
            "aws",
            "--name",
            "broken",
            "--role-arn",
            "arn:aws:iam::123:nope",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("account id must be 12 digits"), "{stderr}");
    assert_clean_error(stderr.as_bytes());

    // A well-formed identity that the worker cannot assume: moto now refuses its keys.
    let added = env.add_aws_identity("broken", "arn:aws:iam::123456789012:role/nope", &[]);
    let id = added["id"].as_str().unwrap().to_owned();
    world.enforce_moto_auth();

    let (code, stdout, stderr) = run(env, &["identities", "test", &id]);
    assert_eq!(code, 1, "broken identity test:\n{stdout}\n{stderr}");
    assert_clean_error(stderr.as_bytes());
    assert!(
        stderr.contains("FAILED") && stderr.contains("sts:AssumeRole"),
        "{stderr}"
    );

    let (code, stdout, stderr) = run(env, &["identities", "refresh", &id, "-o", "json"]);
    assert_eq!(code, 1, "broken identity refresh:\n{stdout}\n{stderr}");
    let doc: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"));
    assert_eq!(doc["job"]["type"], "FETCH_RESOURCES");
    assert_eq!(doc["job"]["status"], "FAILED");
    assert!(doc["identity"].is_null(), "{doc}");
    assert_clean_error(stderr.as_bytes());

    assert!(
        env.json(&["identities", "show", &id])["credentials"].is_null(),
        "a failed test cached something"
    );

    // Unknown identity: exit 1 before any job is submitted; a bad id: exit 2.
    let before = env.json(&["jobs", "list"]).as_array().unwrap().len();
    let (code, _, stderr) = run(
        env,
        &["identities", "test", "6f1c3e9a-2d4b-4c8e-9f00-000000000001"],
    );
    assert_eq!(code, 1);
    assert_clean_error(stderr.as_bytes());
    let (code, _, stderr) = run(env, &["identities", "refresh", "nope"]);
    assert_eq!(code, 2);
    assert_clean_error(stderr.as_bytes());
    assert_eq!(
        env.json(&["jobs", "list"]).as_array().unwrap().len(),
        before
    );
}
