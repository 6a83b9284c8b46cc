//! Sweeper (requeue, worker lost), worker deletion, server restart, hashed tokens.

use crate::both_backends;
use crate::common::{Backend, start, start_with, wait_for_status, worker};
use grape_api::{JobStatus, JobType, StatusUpdate, SubmitJobRequest, WorkerStatus};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Connection;
use std::time::Duration;

fn exec() -> SubmitJobRequest {
    SubmitJobRequest {
        job_type: JobType::Exec,
        payload: json!({}),
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    }
}

async fn sweeper(backend: Backend) {
    let env = start_with(backend, |b| {
        b.worker_offline_after(Duration::from_secs(1))
            .job_stale_after(Duration::from_secs(2))
            .sweep_interval(Duration::from_millis(200))
    })
    .await;
    let user = env.server.user_client();
    let a = worker(&env, "a", None).await;
    let job = user.submit_job(&exec()).await.unwrap();
    a.client.claim_job(None).await.unwrap().unwrap();
    // `a` goes silent: its CLAIMED job goes back to the queue.
    let requeued = wait_for_status(&env, job.id, JobStatus::Queued, Duration::from_secs(20)).await;
    assert_eq!(requeued.worker_id, None);
    assert_eq!(
        a.client
            .update_job_status(job.id, &StatusUpdate::running())
            .await
            .unwrap_err()
            .status(),
        Some(403)
    );

    let b = worker(&env, "b", None).await;
    assert_eq!(b.client.claim_job(None).await.unwrap().unwrap().id, job.id);
    b.client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .unwrap();
    // Heartbeats naming the job keep it alive past job_stale_after.
    for _ in 0..6 {
        b.heartbeat(WorkerStatus::Online, Some(job.id)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        user.get_job(job.id).await.unwrap().status,
        JobStatus::Running
    );
    // `b` goes silent: OFFLINE after 1 s, failed after 2 s without a sign of life.
    let lost = wait_for_status(&env, job.id, JobStatus::Failed, Duration::from_secs(20)).await;
    assert_eq!(lost.error.as_deref(), Some("worker lost"));
    let workers = user.list_workers().await.unwrap();
    assert!(workers.iter().all(|w| w.status == WorkerStatus::Offline));
}
both_backends!(sweeper_requeue_and_worker_lost, super::sweeper);

async fn delete_requeues(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let a = worker(&env, "a", None).await;
    let job = user.submit_job(&exec()).await.unwrap();
    a.client.claim_job(None).await.unwrap().unwrap();
    user.delete_worker(a.id, env.server.admin_token())
        .await
        .unwrap();
    assert_eq!(
        user.get_job(job.id).await.unwrap().status,
        JobStatus::Queued
    );
    // Its token no longer works; deleting needs an admin (a user token: 403).
    assert_eq!(
        a.client.claim_job(None).await.unwrap_err().status(),
        Some(401)
    );
    let b = worker(&env, "b", None).await;
    assert_eq!(
        user.delete_worker(b.id, env.server.api_token())
            .await
            .unwrap_err()
            .status(),
        Some(403)
    );
    assert_eq!(
        user.delete_worker(a.id, env.server.admin_token())
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
}
both_backends!(delete_worker_requeues, super::delete_requeues);

async fn restart_mid_job(backend: Backend) {
    let mut env = start(backend).await;
    let user = env.server.user_client();
    let w = worker(&env, "w", None).await;
    let job = user.submit_job(&exec()).await.unwrap();
    w.client.claim_job(None).await.unwrap().unwrap();
    w.client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .unwrap();
    env.server.stop().await;
    let err = w.client.send_logs(job.id, &[]).await.unwrap_err();
    // Transient, names the call, never shows the token.
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.call(), "send_logs");
    let shown = format!("{err} {err:?} {:?}", w.client);
    assert!(
        !shown.contains(w.token.expose()),
        "the token leaked: {shown}"
    );
    env.server.start_again().await.unwrap();
    w.heartbeat(WorkerStatus::Online, Some(job.id)).await;
    w.client
        .update_job_status(job.id, &StatusUpdate::success(None))
        .await
        .unwrap();
    assert_eq!(
        user.get_job(job.id).await.unwrap().status,
        JobStatus::Success
    );
    // A crash (SIGKILL) loses no acknowledged write either.
    let job2 = user.submit_job(&exec()).await.unwrap();
    env.server.kill();
    env.server.start_again().await.unwrap();
    assert_eq!(
        user.get_job(job2.id).await.unwrap().status,
        JobStatus::Queued
    );
}
both_backends!(restart, super::restart_mid_job);

async fn tokens_hashed(backend: Backend) {
    let env = start(backend).await;
    let w = worker(&env, "w", None).await;
    let token = w.token.expose().to_owned();
    let expected = hex::encode(Sha256::digest(token.as_bytes()));
    let hashes: Vec<String> = match backend {
        Backend::Sqlite => {
            let path = env.server.sqlite_path().unwrap();
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            let rows: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM workers")
                .fetch_all(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
            // No file of the database holds the token in clear.
            for suffix in ["", "-wal"] {
                let file = format!("{}{suffix}", path.display());
                if let Ok(bytes) = std::fs::read(&file) {
                    assert!(
                        !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                        "{file} holds the token"
                    );
                }
            }
            rows.into_iter().map(|r| r.0).collect()
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(env.server.database_url())
                .await
                .unwrap();
            let rows: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM workers")
                .fetch_all(&mut conn)
                .await
                .unwrap();
            let clear: Vec<(String,)> = sqlx::query_as("SELECT table_name::text FROM information_schema.columns WHERE table_schema = 'public'")
                .fetch_all(&mut conn)
                .await
                .unwrap();
            assert!(!clear.is_empty());
            conn.close().await.unwrap();
            rows.into_iter().map(|r| r.0).collect()
        }
    };
    assert_eq!(hashes, vec![expected]);
    assert!(!hashes[0].contains(&token));
}
both_backends!(tokens_stored_hashed, super::tokens_hashed);
