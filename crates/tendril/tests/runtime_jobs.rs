//! Jobs end to end: a real `trellis`, a real `tendril` with the EXEC handler, real children.

mod common;

use std::time::Duration;

use common::*;
use grape_api::{
    JobSecrets, JobStatus, JobType, LogStream, Secret, SubmitJobRequest, WorkerStatus,
};
use grape_process::REDACTED;
use serde_json::json;

const T: Duration = Duration::from_secs(30);
const METRICS_TOKEN: &str = "runtime-jobs-metrics-token";

#[tokio::test]
async fn exec_job_output_arrives_in_order_and_succeeds() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let port = grape_testkit::free_port().expect("free port");
    let listen = format!("127.0.0.1:{port}");
    let worker = Tendril::start(
        &trellis,
        "w-ordered",
        TendrilOptions {
            extra_args: vec!["--listen".into(), listen.clone()],
            extra_env: vec![("TENDRIL_METRICS_TOKEN".into(), METRICS_TOKEN.into())],
            ..Default::default()
        },
    )
    .await;
    let w = wait_worker(&user, worker.id, WorkerStatus::Online, T).await;
    let info = w
        .info
        .expect("the first heartbeat carries the worker's info");
    assert_eq!(
        info.job_types,
        vec![
            JobType::Apply,
            JobType::Bootstrap,
            JobType::ConnectionTest,
            JobType::Destroy,
            JobType::Exec,
            JobType::FetchResources,
            JobType::Plan,
        ]
    );
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));

    let job = submit_exec(
        &user,
        sh("i=1; while [ $i -le 3000 ]; do echo \"line $i\"; i=$((i+1)); done"),
    )
    .await;
    let done = wait_terminal(&user, job.id, T).await;
    assert_eq!(
        done.status,
        JobStatus::Success,
        "{done:#?}\n{}",
        worker.log()
    );
    assert_eq!(done.worker_id, Some(worker.id));
    assert_eq!(
        done.result
            .as_ref()
            .and_then(|r| r.get("exit_code"))
            .and_then(serde_json::Value::as_i64),
        Some(0)
    );

    let lines = all_logs(&user, job.id).await;
    let seqs: Vec<u64> = lines.iter().map(|l| l.seq).collect();
    let expected: Vec<u64> = (1..=lines.len() as u64).collect();
    assert_eq!(seqs, expected, "seq numbers have no gap and no duplicate");
    let out: Vec<&str> = lines
        .iter()
        .filter(|l| l.stream == LogStream::Stdout)
        .map(|l| l.text.as_str())
        .collect();
    let want: Vec<String> = (1..=3000).map(|i| format!("line {i}")).collect();
    assert_eq!(out, want.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        lines
            .iter()
            .any(|l| l.stream == LogStream::System && l.text.starts_with("$ sh -c")),
        "the command line is logged"
    );

    // Health and metrics.
    let http = reqwest::Client::new();
    let health = http
        .get(format!("http://{listen}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    let metrics = http
        .get(format!("http://{listen}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("tendril_jobs_total{outcome=\"success\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tendril_job_duration_seconds_count 1\n"),
        "{metrics}"
    );
    let sent: u64 = metric(&metrics, "tendril_log_lines_sent_total");
    assert_eq!(sent, lines.len() as u64, "{metrics}");
    assert!(
        metrics.contains("tendril_log_backlog_lines 0\n"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("tendril_seconds_since_last_heartbeat NaN"),
        "{metrics}"
    );

    // The workspace is gone.
    let work = worker.state_dir.join("work").join(job.id.to_string());
    assert!(!work.exists(), "{} was not removed", work.display());
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("{name} missing: {text}"))
}

#[tokio::test]
async fn failing_command_fails_with_its_reason() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let worker = Tendril::start(&trellis, "w-fail", TendrilOptions::default()).await;
    let job = submit_exec(
        &user,
        sh("echo starting; echo 'disk is on fire' >&2; exit 3"),
    )
    .await;
    let done = wait_terminal(&user, job.id, T).await;
    assert_eq!(done.status, JobStatus::Failed, "{}", worker.log());
    let error = done.error.unwrap_or_default();
    assert!(
        error.contains('3') && error.contains("disk is on fire"),
        "{error}"
    );
    let logs = all_logs(&user, job.id).await;
    assert!(
        logs.iter()
            .any(|l| l.stream == LogStream::Stderr && l.text == "disk is on fire")
    );
    assert!(
        logs.iter()
            .any(|l| l.stream == LogStream::System && l.text.starts_with("job failed:"))
    );

    // A program that does not exist is FAILED too, and the worker goes on.
    let job = submit_exec(&user, json!({"argv": ["/definitely/not/here"]})).await;
    let done = wait_terminal(&user, job.id, T).await;
    assert_eq!(done.status, JobStatus::Failed);
    assert!(
        done.error
            .unwrap_or_default()
            .contains("/definitely/not/here")
    );
}

#[tokio::test]
async fn bad_payload_and_unknown_type_do_not_stop_the_worker() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let worker = Tendril::start(&trellis, "w-bad", TendrilOptions::default()).await;

    let bad = submit_exec(&user, json!({"argv": "not a list"})).await;
    let done = wait_terminal(&user, bad.id, T).await;
    assert_eq!(done.status, JobStatus::Failed, "{}", worker.log());
    assert!(
        done.error
            .as_deref()
            .unwrap_or_default()
            .starts_with("invalid payload for EXEC"),
        "{done:?}"
    );

    let empty = submit_exec(&user, json!({"argv": []})).await;
    let done = wait_terminal(&user, empty.id, T).await;
    assert_eq!(done.status, JobStatus::Failed);
    assert!(done.error.unwrap_or_default().contains("argv"));

    // A type this worker does not run is not offered to it (a worker without
    // --enable-worker-jobs does not run DEPLOY_WORKER, which only the admin token submits); the
    // executor's own "unknown job type" path is covered by the unit tests of the executor.
    let unknown = submit(&trellis.admin_client(), JobType::DeployWorker, json!({})).await;

    let good = submit_exec(&user, sh("echo fine")).await;
    let done = wait_terminal(&user, good.id, T).await;
    assert_eq!(done.status, JobStatus::Success, "{}", worker.log());
    assert_eq!(stdout_lines(&user, good.id).await, vec!["fine"]);
    assert_eq!(
        user.get_job(unknown.id).await.expect("job").status,
        JobStatus::Queued
    );
}

#[tokio::test]
async fn secrets_never_reach_the_server() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let s3_secret = "s3-secret-key-0123456789";
    let env_secret = "service-key-abcdefghij";
    let worker = Tendril::start(
        &trellis,
        "w-secret",
        TendrilOptions {
            extra_env: vec![
                ("SUPABASE_S3_REGION".into(), "eu-west-1".into()),
                ("SUPABASE_STORAGE_KEY_ID".into(), "AKIAEXAMPLEKEYID".into()),
                ("SUPABASE_STORAGE_SECRET_KEY".into(), s3_secret.into()),
                ("SOME_SERVICE_KEY".into(), env_secret.into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let token = worker.token.expose().to_owned();
    let payload_secret = "payload-secret-value-42";
    let script = format!(
        "echo \"token=$0\"; echo \"b64=$(printf %s \"$0\" | base64 -w0)\"; echo \"s3={s3_secret}\"; \
         echo \"env={env_secret}\"; echo \"payload=$DB_PASSWORD\"; env; \
         echo \"leak $0\" >&2; exit 1"
    );
    let job = submit_exec(
        &user,
        json!({
            "argv": ["sh", "-c", script, token],
            "secret_env": {"DB_PASSWORD": payload_secret},
        }),
    )
    .await;
    let done = wait_terminal(&user, job.id, T).await;
    assert_eq!(done.status, JobStatus::Failed, "{}", worker.log());
    let lines = all_logs(&user, job.id).await;
    let all: String = lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let error = done.error.clone().unwrap_or_default();
    let b64 = base64_of(&token);
    for secret in [
        token.as_str(),
        b64.as_str(),
        s3_secret,
        env_secret,
        payload_secret,
    ] {
        assert!(
            !all.contains(secret),
            "a secret reached the stored log:\n{all}"
        );
        assert!(
            !error.contains(secret),
            "a secret reached the error: {error}"
        );
    }
    assert!(all.contains(&format!("token={REDACTED}")), "{all}");
    assert!(all.contains(&format!("b64={REDACTED}")), "{all}");
    assert!(all.contains(&format!("s3={REDACTED}")), "{all}");
    assert!(all.contains(&format!("env={REDACTED}")), "{all}");
    assert!(all.contains(&format!("payload={REDACTED}")), "{all}");
    assert!(error.contains(REDACTED), "{error}");
    // The child's environment holds none of the worker's own settings.
    for name in [
        "GRAPE_WORKER_TOKEN",
        "GRAPE_WORKER_ID",
        "SUPABASE_STORAGE_SECRET_KEY",
        "SOME_SERVICE_KEY",
        "TRELLIS_URL",
    ] {
        assert!(
            !all.contains(&format!("{name}=")),
            "{name} leaked into the child's environment:\n{all}"
        );
    }
    assert!(
        !worker.log().contains(&token),
        "the worker's own log shows its token"
    );
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

// A job's secrets on a real worker: the claim hands them to tendril, which registers every
// value with the job's redactor before anything runs, so no stored log line, result or job
// document shows one — even when a tool prints it.

/// The secret; the job's script assembles it from two halves, so its payload never holds it.
const VALUE: &str = "ak-51f0c2secondhalf";

#[tokio::test]
async fn a_printed_secret_is_masked_in_the_log_and_the_result() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let worker = Tendril::start(&trellis, "w-secrets", TendrilOptions::default()).await;
    wait_worker(&user, worker.id, WorkerStatus::Online, T).await;
    let job = user
        .submit_job(&SubmitJobRequest {
            job_type: JobType::Exec,
            payload: sh("a=ak-51f0c2; b=secondhalf; echo \"value=$a$b\"; echo \"$a$b\" >&2"),
            cloud_identity_id: None,
            team: None,
            labels: Vec::new(),
            secrets: JobSecrets::from([("api_key".to_owned(), Secret::new(VALUE))]),
        })
        .await
        .expect("submit");
    let done = wait_terminal(&user, job.id, T).await;
    assert_eq!(
        done.status,
        JobStatus::Success,
        "{done:#?}\n{}",
        worker.log()
    );
    assert_eq!(done.secret_names, vec!["api_key".to_owned()]);
    let lines = all_logs(&user, job.id).await;
    let all: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    let all = all.join("\n");
    assert!(all.contains(&format!("value={REDACTED}")), "{all}");
    assert!(!all.contains(VALUE), "the secret reached the log:\n{all}");
    let document = serde_json::to_string(&done).expect("json");
    assert!(!document.contains(VALUE), "{document}");
    assert!(
        !worker.log().contains(VALUE),
        "the worker logged the secret"
    );
}
