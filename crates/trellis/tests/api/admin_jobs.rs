//! The worker jobs (DEPLOY/UPDATE/DESTROY_WORKER) run with the platform's AWS credentials and
//! the admin token on the worker: only the admin token may submit or retry them (403 for the
//! API token, which still submits every other job type).

use crate::both_backends;
use crate::common::{Backend, start};
use grape_api::{ApiError, JobStatus, JobType, SubmitJobRequest, UserApiClient};
use serde_json::json;

fn request(job_type: JobType) -> SubmitJobRequest {
    SubmitJobRequest {
        job_type,
        payload: json!({ "name": "w1", "region": "eu-west-1" }),
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    }
}

/// Asserts a 403 whose message names the job type and the admin token.
fn assert_forbidden(err: &ApiError, job_type: &JobType) {
    let ApiError::Status {
        status, message, ..
    } = err
    else {
        panic!("not an HTTP status: {err:?}");
    };
    assert_eq!(*status, 403, "{message}");
    assert!(
        message.contains(job_type.as_str()) && message.contains("admin token"),
        "{message}"
    );
}

async fn jobs(user: &UserApiClient) -> usize {
    user.list_jobs(None, Some(1000)).await.expect("list").len()
}

async fn worker_jobs_need_the_admin_token(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let admin = env.server.admin_client();
    for job_type in [
        JobType::DeployWorker,
        JobType::UpdateWorker,
        JobType::DestroyWorker,
    ] {
        let err = user
            .submit_job(&request(job_type.clone()))
            .await
            .expect_err("the API token submitted a worker job");
        assert_forbidden(&err, &job_type);
    }
    assert_eq!(jobs(&user).await, 0, "a refused submission stored a job");

    // The admin token submits them; the API token may not retry one.
    let job = admin
        .submit_job(&request(JobType::DeployWorker))
        .await
        .expect("the admin submits DEPLOY_WORKER");
    assert_eq!(job.status, JobStatus::Queued);
    let cancelled = admin.cancel_job(job.id).await.expect("cancel");
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    let err = user
        .retry_job(job.id)
        .await
        .expect_err("the API token retried a worker job");
    assert_forbidden(&err, &JobType::DeployWorker);
    assert_eq!(jobs(&user).await, 1, "a refused retry stored a job");
    let retried = admin.retry_job(job.id).await.expect("the admin retries");
    assert_eq!(retried.retry_of, Some(job.id));

    // Every other job type stays open to the API token.
    let exec = user
        .submit_job(&request(JobType::Exec))
        .await
        .expect("the API token submits EXEC");
    user.cancel_job(exec.id).await.expect("cancel");
    user.retry_job(exec.id)
        .await
        .expect("the API token retries EXEC");
}

both_backends!(
    worker_jobs_are_admin_only,
    super::worker_jobs_need_the_admin_token
);
