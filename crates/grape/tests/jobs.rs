//! `grape jobs …` against a real trellis and a real worker (`grape worker start --enable-exec`).

mod common;

use common::{ADMIN_TOKEN, Env, assert_clean_error, assert_error_exit, has_ansi};
use serde_json::Value;

#[test]
fn submit_follow_show_list_logs() {
    let env = Env::new();
    let _worker = env.start_worker("jobs-worker");

    // Submit and follow: the lines in order on stdout, exit 0.
    let payload = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(payload.path(), r#"{"argv": ["sh", "-c", "for i in 1 2 3 4 5; do echo line-$i; done; echo to-stderr >&2"]}"#).unwrap();
    let out = env
        .authed()
        .args(["jobs", "submit", "exec", "--follow", "--payload"])
        .arg(payload.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("line-")).collect();
    assert_eq!(lines, ["line-1", "line-2", "line-3", "line-4", "line-5"]);
    assert!(stdout.contains("to-stderr"));
    assert!(
        !has_ansi(&out.stdout) && !has_ansi(&out.stderr),
        "colours in a pipe"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("SUCCESS"));

    // --follow -o json: stdout is only the finished job (no log lines), exit 0.
    let out = env
        .authed()
        .args([
            "jobs",
            "submit",
            "EXEC",
            "--follow",
            "-o",
            "json",
            "--payload",
            "-",
        ])
        .write_stdin(r#"{"argv": ["sh", "-c", "echo not-on-stdout"]}"#)
        .output()
        .unwrap();
    assert!(out.status.success());
    let done: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "submit --follow -o json: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(done["status"], "SUCCESS");
    assert!(done["finished_at"].is_string(), "{done}");

    // Without --follow, JSON: the job; then show / list / logs.
    let id = env.submit_sh("echo hello-json; echo second");
    let job = env.wait_job(&id);
    assert_eq!(job["status"], "SUCCESS");
    assert_eq!(job["type"], "EXEC");
    assert_eq!(job["id"], id.as_str());

    let all = env.json(&["jobs", "list"]);
    assert!(all.as_array().unwrap().len() >= 2);
    let ok = env.json(&["jobs", "list", "--status", "success", "--limit", "1"]);
    assert_eq!(ok.as_array().unwrap().len(), 1);
    assert!(
        ok.as_array()
            .unwrap()
            .iter()
            .all(|j| j["status"] == "SUCCESS")
    );

    // Human list: a table with the id.
    let out = env.authed().args(["jobs", "list"]).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("STATUS") && table.contains(&id), "{table}");

    // Logs: plain text, and one JSON object per line.
    let out = env.authed().args(["jobs", "logs", &id]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hello-json\nsecond"), "{text}");
    let out = env
        .authed()
        .args(["jobs", "logs", &id, "-o", "json"])
        .output()
        .unwrap();
    let parsed: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let texts: Vec<&str> = parsed
        .iter()
        .filter(|l| l["stream"] == "stdout")
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["hello-json", "second"]);
    let seqs: Vec<u64> = parsed.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // Following a finished job replays its log and exits with its outcome.
    let out = env
        .authed()
        .args(["jobs", "logs", &id, "--follow"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("hello-json"));

    // Unknown job: exit 1 with a hint.
    let out = env
        .authed()
        .args(["jobs", "show", "6f1c3e9a-2d4b-4c8e-9f00-000000000001"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_clean_error(&out.stderr);
}

#[test]
fn failed_job_exits_1_and_retry_makes_a_new_job() {
    let env = Env::new();
    let _worker = env.start_worker("fail-worker");
    let payload = r#"{"argv": ["sh", "-c", "echo about-to-fail; exit 7"]}"#;
    let out = env
        .authed()
        .args(["jobs", "submit", "EXEC", "--payload", "-", "--follow"])
        .write_stdin(payload)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("about-to-fail"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FAILED") && err.contains("hint:"), "{err}");

    let failed = env.json(&["jobs", "list", "--status", "FAILED"]);
    let id = failed[0]["id"].as_str().unwrap().to_owned();
    let out = env
        .authed()
        .args(["jobs", "logs", &id, "--follow"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    let retried = env.json(&["jobs", "retry", &id]);
    assert_eq!(retried["retry_of"], id.as_str());
    assert_ne!(retried["id"], id.as_str());
    let again = env.wait_job(retried["id"].as_str().unwrap());
    assert_eq!(again["status"], "FAILED");

    // Retrying a job that is not FAILED/CANCELLED is refused: exit 1, clean message.
    let ok = env.submit_sh("true");
    env.wait_job(&ok);
    let out = env.authed().args(["jobs", "retry", &ok]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_clean_error(&out.stderr);
}

#[test]
fn cancel_a_queued_and_a_running_job() {
    let env = Env::new();
    // No worker yet: the job stays QUEUED and is cancelled at once.
    let queued = env.submit_sh("echo never");
    let job = env.json(&["jobs", "cancel", &queued]);
    assert_eq!(job["status"], "CANCELLED");

    let _worker = env.start_worker("cancel-worker");
    let running = env.submit_sh("echo started; sleep 60");
    // Wait for it to run.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let j = env.json(&["jobs", "show", &running]);
        if j["status"] == "RUNNING" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never RUNNING: {j}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = env
        .authed()
        .args(["jobs", "cancel", &running])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env
        .authed()
        .args(["jobs", "logs", &running, "--follow"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a cancelled job exits 1");
    assert!(String::from_utf8_lossy(&out.stdout).contains("started"));
    assert_eq!(env.json(&["jobs", "show", &running])["status"], "CANCELLED");

    let retried = env.json(&["jobs", "retry", &queued]);
    assert_eq!(retried["status"], "QUEUED");
    assert_eq!(
        env.wait_job(retried["id"].as_str().unwrap())["status"],
        "SUCCESS"
    );
}

#[test]
fn a_worker_job_needs_the_admin_token() {
    let env = Env::new();
    let args = ["jobs", "submit", "DEPLOY_WORKER", "--payload", "-"];
    let payload = r#"{"name": "w1", "region": "eu-west-1"}"#;
    let out = env
        .authed()
        .args(args)
        .write_stdin(payload)
        .output()
        .unwrap();
    let err = assert_error_exit(&out, 3, &args);
    assert!(
        err.contains("DEPLOY_WORKER jobs need the admin token") && err.contains("GRAPE_TOKEN"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "a refused submission printed a job id"
    );

    // With the admin token as GRAPE_TOKEN the same submission is accepted.
    let out = env
        .grape()
        .env("TRELLIS_URL", &env.trellis.url)
        .env("GRAPE_TOKEN", ADMIN_TOKEN)
        .args(args)
        .write_stdin(payload)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
}

#[test]
fn list_filters_by_type_and_status_together() {
    // No worker: every job stays QUEUED, so only the filters pick.
    let env = Env::new();
    let exec = env.submit_sh("echo never runs");
    let out = env
        .authed()
        .args(["jobs", "submit", "PLAN", "--payload", "-", "-o", "json"])
        .write_stdin(r#"{"source": {"files": {"main.tf": ""}}}"#)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let plan = plan["id"].as_str().unwrap().to_owned();
    let ids = |args: &[&str]| -> Vec<String> {
        env.json(args)
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&["jobs", "list", "--type", "plan"]), [plan.as_str()]);
    assert_eq!(ids(&["jobs", "list", "--type", "EXEC"]), [exec.as_str()]);
    assert_eq!(
        ids(&["jobs", "list", "--type", "exec", "--status", "queued"]),
        [exec.as_str()]
    );
    assert!(ids(&["jobs", "list", "--type", "exec", "--status", "failed"]).is_empty());
    assert!(ids(&["jobs", "list", "--type", "connection-test"]).is_empty());
    assert_eq!(ids(&["jobs", "list"]).len(), 2);
    // The human table shows the one type.
    let out = env
        .authed()
        .args(["jobs", "list", "--type", "plan"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains(&plan) && !table.contains(&exec), "{table}");
    // An unknown type exits 2 before anything is sent, naming the types there are.
    let args = ["jobs", "list", "--type", "compile"];
    let out = env.authed().args(args).output().unwrap();
    let err = assert_error_exit(&out, 2, &args);
    assert!(
        err.contains("`compile` is not a job type") && err.contains("CONNECTION_TEST"),
        "{err}"
    );
}
