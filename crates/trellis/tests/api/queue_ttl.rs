//! Jobs no worker offers: a warning on submit, FAILED "expired: no worker offers TYPE" after
//! `--queue-ttl`; a job some online worker offers waits however long it takes.

use std::time::{Duration, Instant};

use crate::both_backends;
use crate::common::{Backend, start_with, worker};
use grape_api::{JobStatus, JobType, SubmitJobRequest};

fn submit(job_type: JobType) -> SubmitJobRequest {
    SubmitJobRequest {
        job_type,
        payload: serde_json::json!({"argv": ["true"]}),
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    }
}

both_backends!(
    unserved_jobs_expire,
    super::unserved_jobs_expire_after_the_ttl
);
async fn unserved_jobs_expire_after_the_ttl(backend: Backend) {
    let env = start_with(backend, |b| {
        b.queue_ttl(Duration::from_secs(1))
            .sweep_interval(Duration::from_millis(200))
            .worker_offline_after(Duration::from_secs(30))
    })
    .await;
    let user = env.server.user_client();
    // An online worker that offers EXEC only (it never claims here).
    let w = worker(&env, "exec-only", Some(vec![JobType::Exec])).await;

    // The EXEC job first: when the PLAN expires, the EXEC job has been past the TTL longer.
    let exec = user
        .submit_job_with_warnings(&submit(JobType::Exec))
        .await
        .unwrap();
    assert!(exec.warnings.is_empty(), "{exec:?}");
    let plan = user
        .submit_job_with_warnings(&submit(JobType::Plan))
        .await
        .unwrap();
    assert_eq!(plan.warnings.len(), 1, "{plan:?}");
    assert!(
        plan.warnings[0].contains("no online worker offers PLAN jobs for team default"),
        "{plan:?}"
    );

    // The sweeper fails the PLAN once it waited the TTL (hang guard: a minute).
    let deadline = Instant::now() + Duration::from_secs(60);
    let expired = loop {
        let job = user.get_job(plan.job.id).await.unwrap();
        if job.status.is_terminal() {
            break job;
        }
        assert!(Instant::now() < deadline, "the PLAN never expired: {job:?}");
        // The EXEC worker stays online however long the sweeper takes to start.
        w.heartbeat(grape_api::WorkerStatus::Online, None).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(expired.status, JobStatus::Failed);
    let reason = expired.error.unwrap_or_default();
    assert!(
        reason.starts_with("expired: no worker offers PLAN"),
        "{reason}"
    );
    // The EXEC job, past the TTL too, waits for its worker.
    let exec = user.get_job(exec.job.id).await.unwrap();
    assert_eq!(exec.status, JobStatus::Queued, "{exec:?}");
}
