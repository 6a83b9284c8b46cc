//! Faults that must neither rewrite history nor strand a job, through the real `trellis` and
//! `tendril` binaries: a deleted worker, Trellis back after an outage, a job the sweeper failed
//! while its worker was cut off, a corrupt outbox journal, a claim answer the worker cannot
//! decode.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use common::proxy::Proxy;
use common::*;
use grape_api::{JobStatus, WorkerStatus};
use grape_testkit::trellis::TrellisServer;
use nix::sys::signal::Signal;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);

/// Polls until `cond` holds (hang guard `T`), showing `what` otherwise.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool, shown: impl Fn() -> String) {
    let deadline = Instant::now() + T;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}\n{}", shown());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The number of sweeps the server ran since it started.
async fn sweeps(trellis: &TrellisServer) -> u64 {
    // With the admin token: a Trellis that guards /metrics accepts it.
    let text = reqwest::Client::new()
        .get(format!("{}/metrics", trellis.url()))
        .bearer_auth(trellis.admin_token().expose())
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics");
    text.lines()
        .find_map(|l| l.strip_prefix("trellis_sweeps_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no trellis_sweeps_total in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_worker_exits_non_zero_with_a_clear_message() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let mut worker = Tendril::start(&trellis, "w-deleted", TendrilOptions::default()).await;
    wait_worker(&user, worker.id, WorkerStatus::Online, T).await;
    user.delete_worker(worker.id, trellis.admin_token())
        .await
        .expect("delete the worker");
    let status = worker.wait_exit(T).await;
    let log = worker.log();
    assert!(!status.success(), "exit {status:?}\n{log}");
    assert!(
        log.contains("the worker was deleted or its token revoked"),
        "{log}"
    );
    assert!(
        !log.contains(worker.token.expose()),
        "the token leaked:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trellis_back_after_an_outage_spares_a_job_whose_worker_heartbeats_again() {
    let offline_after = Duration::from_secs(2);
    let stale_after = Duration::from_secs(1);
    let mut trellis = trellis_with(offline_after, stale_after).await;
    let user = trellis.user_client();
    let go = tempfile::tempdir().expect("tempdir");
    let flag = go.path().join("go");
    let worker = Tendril::start(&trellis, "w-outage", TendrilOptions::default()).await;
    let job = submit_exec(
        &user,
        sh(&format!(
            "echo started; while [ ! -e '{}' ]; do sleep 0.05; done; echo finished",
            flag.display()
        )),
    )
    .await;
    wait_status(&user, job.id, JobStatus::Running, T).await;
    trellis.stop().await;
    // The outage outlasts the offline and the stale window (a scenario input, not an assertion).
    tokio::time::sleep(offline_after + stale_after + Duration::from_millis(500)).await;
    trellis.start_again().await.expect("trellis restarts");
    let deadline = Instant::now() + T;
    while sweeps(&trellis).await < 3 {
        assert!(Instant::now() < deadline, "no sweep after the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let running = user.get_job(job.id).await.expect("job");
    assert_eq!(running.status, JobStatus::Running, "{running:?}");
    std::fs::write(&flag, b"").expect("release the job");
    let done = wait_terminal(&user, job.id, T).await;
    assert_eq!(
        done.status,
        JobStatus::Success,
        "{done:?}\n{}",
        worker.log()
    );
    assert_eq!(
        stdout_lines(&user, job.id).await,
        vec!["started", "finished"]
    );
    assert!(!worker.log().contains("refused the final status"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_the_sweeper_failed_is_abandoned_by_its_worker() {
    let trellis = trellis_with(Duration::from_secs(1), Duration::from_secs(1)).await;
    let user = trellis.user_client();
    let worker = Tendril::start(&trellis, "w-cut-off", TendrilOptions::default()).await;
    let job = submit_exec(&user, sh("echo started; sleep 30; echo finished")).await;
    wait_status(&user, job.id, JobStatus::Running, T).await;
    // The worker is cut off (stopped; its tool keeps running): the sweeper fails the job.
    worker.signal(Signal::SIGSTOP);
    let lost = wait_status(&user, job.id, JobStatus::Failed, T).await;
    worker.signal(Signal::SIGCONT);
    assert_eq!(lost.error.as_deref(), Some("worker lost"));
    let journal = worker.state_dir.join("outbox").join(job.id.to_string());
    wait_until(
        "the worker does not abandon the job",
        || worker.log().contains("the job ended on the server") && !journal.exists(),
        || worker.log(),
    )
    .await;
    // Nothing more was reported: no final status tried (so no 409 loop), no "finished" line.
    let log = worker.log();
    assert!(!log.contains("refused the final status"), "{log}");
    let after = user.get_job(job.id).await.expect("job");
    assert_eq!(after.error.as_deref(), Some("worker lost"));
    assert!(
        !stdout_lines(&user, job.id)
            .await
            .contains(&"finished".to_owned())
    );
    // The worker goes on.
    let next = submit_exec(&user, sh("echo next")).await;
    let done = wait_terminal(&user, next.id, T).await;
    assert_eq!(done.status, JobStatus::Success, "{}", worker.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_journal_is_quarantined_and_its_job_failed() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let mut first = Tendril::start(&trellis, "w-corrupt", TendrilOptions::default()).await;
    let job = submit_exec(&user, sh("echo started; sleep 30")).await;
    wait_status(&user, job.id, JobStatus::Running, T).await;
    first.kill9();
    let outbox = first.state_dir.join("outbox");
    std::fs::write(
        outbox.join(job.id.to_string()).join("status.json"),
        b"{\"status\": \"SUCC",
    )
    .expect("corrupt the journal");
    let worker = Tendril::start_as(
        &trellis,
        first.id,
        first.token.clone(),
        TendrilOptions {
            state_dir: Some(first.state_dir.clone()),
            ..Default::default()
        },
    );
    let failed = wait_terminal(&user, job.id, T).await;
    assert_eq!(failed.status, JobStatus::Failed, "{}", worker.log());
    let error = failed.error.unwrap_or_default();
    assert!(
        error.contains("outbox journal of this job is corrupt"),
        "{error}"
    );
    assert!(error.contains("status.json"), "{error}");
    assert!(outbox.join(format!("{}.corrupt", job.id)).is_dir());
    assert!(!outbox.join(job.id.to_string()).exists());
    let next = submit_exec(&user, sh("echo next")).await;
    let done = wait_terminal(&user, next.id, T).await;
    assert_eq!(done.status, JobStatus::Success, "{}", worker.log());
}

/// Makes the claim answer of a job whose payload has `"mangle": true` undecodable (a number
/// where a time is expected), as a Trellis of another version could send it.
fn mangle_claims(path: &str, status: StatusCode, body: Bytes) -> Bytes {
    if path != "/api/jobs/claim" || status != StatusCode::OK {
        return body;
    }
    let Ok(mut answer) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    if answer["job"]["payload"]["mangle"] != json!(true) {
        return body;
    }
    answer["job"]["created_at"] = json!(12345);
    Bytes::from(serde_json::to_vec(&answer).expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_claim_answer_fails_the_job_and_the_worker_goes_on() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let proxy = Proxy::start(trellis.url(), Arc::new(mangle_claims)).await;
    let worker = Tendril::start(
        &trellis,
        "w-undecodable",
        TendrilOptions {
            extra_env: vec![("TRELLIS_URL".into(), proxy.url.clone())],
            ..Default::default()
        },
    )
    .await;
    let bad = submit_exec(&user, json!({"argv": ["true"], "mangle": true})).await;
    let failed = wait_terminal(&user, bad.id, T).await;
    assert_eq!(failed.status, JobStatus::Failed, "{}", worker.log());
    let error = failed.error.unwrap_or_default();
    assert!(error.contains("cannot read the claimed job"), "{error}");
    assert!(error.contains("line 1 column"), "{error}");
    let next = submit_exec(&user, sh("echo next")).await;
    let done = wait_terminal(&user, next.id, T).await;
    assert_eq!(done.status, JobStatus::Success, "{}", worker.log());
    assert_eq!(stdout_lines(&user, next.id).await, vec!["next"]);
}
