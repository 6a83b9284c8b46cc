//! 64 workers claiming 5,000 jobs at once: every job is claimed exactly once.

use crate::both_backends;
use crate::common::{Backend, start, worker};
use grape_api::{JobStatus, JobType, SubmitJobRequest};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

const WORKERS: usize = 64;
const JOBS: usize = 5000;

async fn claim_race(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let mut workers = Vec::new();
    for i in 0..WORKERS {
        workers.push(worker(&env, &format!("w{i}"), None).await);
    }
    // Submit concurrently (16 at a time).
    let mut submitted = HashSet::new();
    let reqs: Vec<_> = (0..JOBS).collect();
    for chunk in reqs.chunks(16) {
        let futs = chunk.iter().map(|i| {
            let user = user.clone();
            async move {
                user.submit_job(&SubmitJobRequest {
                    job_type: JobType::Exec,
                    payload: json!({"i": i}),
                    cloud_identity_id: None,
                    team: None,
                    labels: Vec::new(),
                    secrets: grape_api::JobSecrets::new(),
                })
                .await
                .unwrap()
                .id
            }
        });
        submitted.extend(futures::future::join_all(futs).await);
    }
    assert_eq!(submitted.len(), JOBS);

    // All workers claim at once until the queue is empty.
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|w| {
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(job) = w.client.claim_job(None).await.expect("claim") {
                    assert_eq!(job.worker_id, Some(w.id));
                    mine.push(job.id);
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut busy_workers = 0;
    for t in tasks {
        let mine = tokio::time::timeout(Duration::from_secs(600), t)
            .await
            .expect("claims finish")
            .unwrap();
        busy_workers += usize::from(!mine.is_empty());
        all.extend(mine);
    }
    assert_eq!(all.len(), JOBS, "every job claimed once, none twice");
    let unique: HashSet<_> = all.iter().copied().collect();
    assert_eq!(unique, submitted);
    assert!(busy_workers > 1, "claims were spread over workers");
    assert!(
        user.list_jobs(Some(&JobStatus::Queued), None)
            .await
            .unwrap()
            .is_empty()
    );
    println!(
        "{backend:?}: {JOBS} jobs claimed exactly once by {busy_workers} of {WORKERS} workers"
    );
}
both_backends!(sixty_four_workers_five_thousand_jobs, super::claim_race);
