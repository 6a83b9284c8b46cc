//! A worker rewrites no history (late plan artifacts and log batches: 409 with
//! `current_status`), a job the server ended is reported abandoned to its worker, and a server
//! back from an outage sweeps only after one offline window.

use crate::both_backends;
use crate::common::{Backend, Env, TestWorker, metric, start_with, wait_for_status, worker};
use grape_api::{
    HeartbeatRequest, HeartbeatResponse, JobStatus, JobType, LogLine, LogStream, StatusUpdate,
    SubmitJobRequest, WorkerStatus,
};
use grape_testkit::trellis::TrellisServer;
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

fn lines(from: u64, n: u64) -> Vec<LogLine> {
    (from..from + n)
        .map(|seq| LogLine {
            seq,
            ts: chrono::Utc::now(),
            stream: LogStream::Stdout,
            text: format!("line {seq}"),
        })
        .collect()
}

async fn heartbeat(w: &TestWorker, job: Uuid) -> HeartbeatResponse {
    w.client
        .send_heartbeat(&HeartbeatRequest {
            status: WorkerStatus::Online,
            current_job_id: Some(job),
            info: None,
        })
        .await
        .expect("heartbeat")
}

/// A job submitted, claimed and set RUNNING by `w`.
async fn running_job(env: &Env, w: &TestWorker) -> Uuid {
    let job = env
        .server
        .user_client()
        .submit_job(&SubmitJobRequest {
            job_type: JobType::Plan,
            payload: json!({}),
            cloud_identity_id: None,
            team: None,
            labels: Vec::new(),
            secrets: grape_api::JobSecrets::new(),
        })
        .await
        .expect("submit");
    let claimed = w
        .client
        .claim_job(None)
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(claimed.id, job.id);
    w.client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .expect("RUNNING");
    job.id
}

async fn late_writes(backend: Backend) {
    let env = start_with(backend, |b| {
        b.job_stale_after(Duration::from_secs(1))
            .log_tail_window(Duration::from_secs(1))
    })
    .await;
    let w = worker(&env, "w", None).await;
    let id = running_job(&env, &w).await;
    w.client
        .upload_plan_artifact(id, &json!({"format_version": "1.2"}))
        .await
        .expect("an artifact is accepted while the job runs");
    let ack = w.client.send_logs(id, &lines(1, 2)).await.expect("logs");
    assert_eq!(ack.job_status, Some(JobStatus::Running));
    assert!(heartbeat(&w, id).await.abandoned_job_ids.is_empty());
    w.client
        .update_job_status(id, &StatusUpdate::success(None))
        .await
        .expect("SUCCESS");

    let late = w
        .client
        .upload_plan_artifact(id, &json!({"format_version": "9"}))
        .await
        .expect_err("a late artifact is refused");
    assert_eq!(late.status(), Some(409), "{late}");
    assert_eq!(late.current_status(), Some(&JobStatus::Success));
    // (The stored artifact stays the one uploaded while the job ran; only the worker holding an
    // APPLY of this plan may read it back, which `lifecycle::plan_artifact` covers.)

    // Within the tail window a batch is still stored (its ack says the job ended); after it,
    // 409. Hang guard only: the window is one second.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut seq = 3;
    let refused = loop {
        match w.client.send_logs(id, &lines(seq, 1)).await {
            Ok(ack) => assert_eq!(ack.job_status, Some(JobStatus::Success)),
            Err(e) => break e,
        }
        seq += 1;
        assert!(
            tokio::time::Instant::now() < deadline,
            "the log never closed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(refused.status(), Some(409), "{refused}");
    assert_eq!(refused.current_status(), Some(&JobStatus::Success));
    assert!(refused.to_string().contains("log tail window"), "{refused}");
    let stored = env.server.user_client().get_logs(id, None).await.unwrap();
    assert_eq!(stored.last_seq, seq - 1);
}
both_backends!(late_artifact_and_log_batch_get_409, super::late_writes);

async fn abandoned(backend: Backend) {
    let env = start_with(backend, |b| {
        b.worker_offline_after(Duration::from_secs(1))
            .job_stale_after(Duration::from_secs(1))
            .sweep_interval(Duration::from_millis(100))
    })
    .await;
    let w = worker(&env, "w", None).await;
    let id = running_job(&env, &w).await;
    // The worker is cut off: the sweeper fails the job while the worker still runs it.
    let lost = wait_for_status(&env, id, JobStatus::Failed, Duration::from_secs(30)).await;
    assert_eq!(lost.error.as_deref(), Some("worker lost"));
    // Back: its heartbeat naming the job says abandoned (not a cancel) ...
    let answer = heartbeat(&w, id).await;
    assert_eq!(answer.abandoned_job_ids, vec![id]);
    assert!(answer.cancel_job_ids.is_empty());
    // ... and so does the acknowledgement of its log tail (within the default tail window).
    let ack = w.client.send_logs(id, &lines(1, 3)).await.expect("tail");
    assert_eq!(ack.job_status, Some(JobStatus::Failed));
    assert_eq!(ack.last_seq, 3);
    let refused = w
        .client
        .update_job_status(id, &StatusUpdate::success(None))
        .await
        .unwrap_err();
    assert_eq!(refused.current_status(), Some(&JobStatus::Failed));
    // A job the worker never held is abandoned too.
    let stranger = heartbeat(&w, Uuid::new_v4()).await;
    assert_eq!(stranger.abandoned_job_ids.len(), 1);
}
both_backends!(
    heartbeat_and_log_ack_tell_an_abandoned_job,
    super::abandoned
);

async fn outage(backend: Backend) {
    let offline_after = Duration::from_secs(2);
    let stale_after = Duration::from_secs(1);
    let mut env = start_with(backend, |b| {
        b.worker_offline_after(offline_after)
            .job_stale_after(stale_after)
            .sweep_interval(Duration::from_millis(100))
    })
    .await;
    let w = worker(&env, "w", None).await;
    let id = running_job(&env, &w).await;
    heartbeat(&w, id).await;
    env.server.stop().await;
    // The outage outlasts the offline window and the stale window (a scenario input, not an
    // assertion on time).
    tokio::time::sleep(offline_after + stale_after + Duration::from_millis(500)).await;
    env.server.start_again().await.expect("restart");
    // The worker heartbeats again as soon as Trellis is back; sweeps then find it alive.
    assert!(heartbeat(&w, id).await.abandoned_job_ids.is_empty());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while metric(&env, "trellis_sweeps_total").await < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no sweep after the restart"
        );
        let answer = heartbeat(&w, id).await;
        assert!(answer.abandoned_job_ids.is_empty(), "the job was failed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let job = env.server.user_client().get_job(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Running, "{job:?}");
    w.client
        .update_job_status(id, &StatusUpdate::success(None))
        .await
        .expect("its worker finishes it");
}
both_backends!(restart_after_an_outage_spares_running_jobs, super::outage);

#[tokio::test]
async fn a_log_tail_window_shorter_than_stale_after_is_refused() {
    let err = TrellisServer::builder()
        .job_stale_after(Duration::from_secs(60))
        .log_tail_window(Duration::from_secs(5))
        .start()
        .await
        .expect_err("the server refuses to start");
    let shown = err.to_string();
    assert!(
        shown.contains("--log-tail-window (5s) must be at least --job-stale-after (1m)"),
        "{shown}"
    );
}
