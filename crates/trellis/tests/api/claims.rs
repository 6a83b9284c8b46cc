//! Targeted long-poll wake-ups and claims whose answer was lost (idempotency key, heartbeat
//! take-back).

use crate::both_backends;
use crate::common::{Backend, Env, TestWorker, metric, start, start_with, worker};
use grape_api::{Job, JobStatus, JobType, StatusUpdate, SubmitJobRequest, WorkerStatus};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;

fn submit(t: JobType) -> SubmitJobRequest {
    SubmitJobRequest {
        job_type: t,
        payload: json!({}),
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    }
}

/// Waits until `n` long-poll claims wait on the server.
async fn waiting(env: &Env, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while metric(env, "trellis_claims_waiting").await != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} claims never waited"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn long_poll(w: &TestWorker) -> tokio::task::JoinHandle<Option<Job>> {
    let client = w.client.clone();
    tokio::spawn(async move {
        client
            .claim_job(Some(Duration::from_secs(30)))
            .await
            .expect("claim")
    })
}

/// A claim sent by hand with a chosen idempotency key: (status, job).
async fn claim_with_key(env: &Env, w: &TestWorker, key: Uuid) -> (StatusCode, Option<Job>) {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/jobs/claim", env.server.url()))
        .header("X-Worker-ID", w.id.to_string())
        .header("X-Worker-Token", w.token.expose())
        .json(&json!({ "request_id": key }))
        .send()
        .await
        .expect("claim");
    let status = resp.status();
    let job = if status == StatusCode::OK {
        let body: serde_json::Value = resp.json().await.expect("claim body");
        Some(serde_json::from_value(body["job"].clone()).expect("a job"))
    } else {
        None
    };
    (status, job)
}

async fn only_fitting_claims_wake(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let planner = worker(&env, "planner", Some(vec![JobType::Plan])).await;
    let runner = worker(&env, "runner", Some(vec![JobType::Exec])).await;
    let waiting_planner = long_poll(&planner);
    waiting(&env, 1).await;
    // An EXEC job wakes no PLAN-only claim: it stays waiting.
    let exec = user.submit_job(&submit(JobType::Exec)).await.unwrap();
    assert_eq!(metric(&env, "trellis_claim_wakeups_total").await, 0);
    assert_eq!(
        metric(&env, "trellis_claim_wakeups_unmatched_total").await,
        1
    );
    assert_eq!(metric(&env, "trellis_claims_waiting").await, 1);
    assert_eq!(
        runner.client.claim_job(None).await.unwrap().unwrap().id,
        exec.id
    );
    // A PLAN job wakes it.
    let plan = user.submit_job(&submit(JobType::Plan)).await.unwrap();
    assert_eq!(metric(&env, "trellis_claim_wakeups_total").await, 1);
    let got = waiting_planner.await.unwrap().expect("woken with the job");
    assert_eq!(got.id, plan.id);
    // A DRAINING heartbeat ends the worker's waiting claim with 204 (well before its 30 s).
    let waiting_planner = long_poll(&planner);
    waiting(&env, 1).await;
    planner.heartbeat(WorkerStatus::Draining, None).await;
    let ended = tokio::time::timeout(Duration::from_secs(25), waiting_planner)
        .await
        .expect("the drained claim ends before its wait")
        .unwrap();
    assert!(ended.is_none());
}
both_backends!(
    long_poll_wakes_only_fitting_claims,
    super::only_fitting_claims_wake
);

async fn one_job_wakes_one_claim(backend: Backend) {
    const WAITERS: u64 = 6;
    let env = start(backend).await;
    let user = env.server.user_client();
    let mut tasks = Vec::new();
    for i in 0..WAITERS {
        let w = worker(&env, &format!("w{i}"), None).await;
        tasks.push(long_poll(&w));
    }
    waiting(&env, WAITERS).await;
    let first = user.submit_job(&submit(JobType::Exec)).await.unwrap();
    assert_eq!(
        metric(&env, "trellis_claim_wakeups_total").await,
        1,
        "one job wakes one claim"
    );
    waiting(&env, WAITERS - 1).await;
    let mut submitted = HashSet::from([first.id]);
    for left in (0..WAITERS - 1).rev() {
        submitted.insert(user.submit_job(&submit(JobType::Exec)).await.unwrap().id);
        waiting(&env, left).await;
    }
    let mut claimed = HashSet::new();
    for t in tasks {
        claimed.insert(t.await.unwrap().expect("every claim got a job").id);
    }
    assert_eq!(claimed, submitted, "each job went to exactly one claim");
    assert_eq!(metric(&env, "trellis_claim_wakeups_total").await, WAITERS);
}
both_backends!(one_job_wakes_one_claim, super::one_job_wakes_one_claim);

async fn retried_claim_gets_the_same_job(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let w = worker(&env, "w", None).await;
    let j1 = user.submit_job(&submit(JobType::Exec)).await.unwrap();
    let j2 = user.submit_job(&submit(JobType::Exec)).await.unwrap();
    let (k1, k2) = (Uuid::new_v4(), Uuid::new_v4());
    // The answer of the first claim is "lost"; its retry (same key) gets the same job.
    let (status, first) = claim_with_key(&env, &w, k1).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first.unwrap().id, j1.id);
    let (_, again) = claim_with_key(&env, &w, k1).await;
    assert_eq!(again.expect("the same job again").id, j1.id);
    assert_eq!(metric(&env, "trellis_claims_redelivered_total").await, 1);
    // A new claim (new key) gets a new job, even while the worker holds one.
    let (_, second) = claim_with_key(&env, &w, k2).await;
    assert_eq!(second.unwrap().id, j2.id);
    // A held job whose cancel was requested is cancelled, not handed out again; the retry
    // claims a new job instead.
    user.cancel_job(j1.id).await.unwrap();
    let j3 = user.submit_job(&submit(JobType::Exec)).await.unwrap();
    let (_, instead) = claim_with_key(&env, &w, k1).await;
    assert_eq!(instead.expect("a new job").id, j3.id);
    assert_eq!(
        user.get_job(j1.id).await.unwrap().status,
        JobStatus::Cancelled
    );
    // Once its job is RUNNING, a key is spent: it neither hands the job out again nor
    // claims another one.
    w.client
        .update_job_status(j3.id, &StatusUpdate::running())
        .await
        .unwrap();
    let j4 = user.submit_job(&submit(JobType::Exec)).await.unwrap();
    let (status, none) = claim_with_key(&env, &w, k1).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(none.is_none());
    // grape-api sends a fresh key per call: each claim_job gets a new job.
    let j5 = user.submit_job(&submit(JobType::Exec)).await.unwrap();
    assert_eq!(w.client.claim_job(None).await.unwrap().unwrap().id, j4.id);
    assert_eq!(w.client.claim_job(None).await.unwrap().unwrap().id, j5.id);
}
both_backends!(
    retried_claim_gets_the_same_job,
    super::retried_claim_gets_the_same_job
);

async fn heartbeats_take_back_lost_claims(backend: Backend) {
    // The sweeper never runs here: every requeue below is the heartbeat's.
    let env = start_with(backend, |b| {
        b.claim_ack_timeout(Duration::from_secs(2))
            .sweep_interval(Duration::from_secs(3600))
    })
    .await;
    let user = env.server.user_client();
    let a = worker(&env, "a", None).await;
    let b = worker(&env, "b", None).await;
    let job = user.submit_job(&submit(JobType::Exec)).await.unwrap();
    // `a` claims; pretend the answer was lost.
    a.client.claim_job(None).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // A heartbeat naming the job keeps it, however old the claim.
    a.heartbeat(WorkerStatus::Online, Some(job.id)).await;
    assert_eq!(
        user.get_job(job.id).await.unwrap().status,
        JobStatus::Claimed
    );
    // A heartbeat without it, past the claim-ack timeout, takes it back.
    a.heartbeat(WorkerStatus::Online, None).await;
    let requeued = user.get_job(job.id).await.unwrap();
    assert_eq!(requeued.status, JobStatus::Queued);
    assert_eq!(requeued.worker_id, None);
    // Should `a` still have it, it cannot start it: it is not its job any more.
    let err = a
        .client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    // `b` claims it; an OFFLINE heartbeat gives it back at once.
    assert_eq!(b.client.claim_job(None).await.unwrap().unwrap().id, job.id);
    b.heartbeat(WorkerStatus::Offline, None).await;
    assert_eq!(
        user.get_job(job.id).await.unwrap().status,
        JobStatus::Queued
    );
    // A taken-back job whose cancel was requested is cancelled, not requeued.
    assert_eq!(a.client.claim_job(None).await.unwrap().unwrap().id, job.id);
    user.cancel_job(job.id).await.unwrap();
    a.heartbeat(WorkerStatus::Offline, None).await;
    assert_eq!(
        user.get_job(job.id).await.unwrap().status,
        JobStatus::Cancelled
    );
    assert_eq!(metric(&env, "trellis_claims_taken_back_total").await, 3);
}
both_backends!(
    heartbeats_take_back_lost_claims,
    super::heartbeats_take_back_lost_claims
);

async fn fresh_claims_are_kept(backend: Backend) {
    let env = start_with(backend, |b| b.claim_ack_timeout(Duration::from_secs(3600))).await;
    let user = env.server.user_client();
    let w = worker(&env, "w", None).await;
    let job = user.submit_job(&submit(JobType::Exec)).await.unwrap();
    w.client.claim_job(None).await.unwrap().unwrap();
    // A heartbeat sent before the worker saw the claim's answer does not take it back.
    w.heartbeat(WorkerStatus::Online, None).await;
    w.heartbeat(WorkerStatus::Draining, None).await;
    assert_eq!(
        user.get_job(job.id).await.unwrap().status,
        JobStatus::Claimed
    );
    w.client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .unwrap();
}
both_backends!(fresh_claims_are_kept, super::fresh_claims_are_kept);

async fn abandoned_long_poll_leaves(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let gone = worker(&env, "gone", None).await;
    // A long-poll whose client gives up (timeout, dropped connection) stops waiting at once,
    // so no job is handed to a claim nobody reads.
    let url = format!("{}/api/jobs/claim", env.server.url());
    let (id, token) = (gone.id.to_string(), gone.token.expose().to_owned());
    let abandoned = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .header("X-Worker-ID", id)
            .header("X-Worker-Token", token)
            .json(&json!({ "wait_seconds": 30 }))
            .send()
            .await
    });
    waiting(&env, 1).await;
    abandoned.abort();
    waiting(&env, 0).await;
    let alive = worker(&env, "alive", None).await;
    let task = long_poll(&alive);
    waiting(&env, 1).await;
    let job = user.submit_job(&submit(JobType::Exec)).await.unwrap();
    assert_eq!(
        task.await.unwrap().expect("the live claim got it").id,
        job.id
    );
}
both_backends!(
    abandoned_long_poll_leaves,
    super::abandoned_long_poll_leaves
);
