//! The worker jobs without platform settings: each ends with a clear reason before any AWS or
//! Trellis call (end to end with platform settings: `tendril/tests/e2e_worker_jobs.rs`).

use std::sync::Arc;

use grape_api::{JobType, LogStream};
use grape_process::Redactor;
use grape_provisioner::handlers::{DeployWorkerHandler, DestroyWorkerHandler, UpdateWorkerHandler};
use grape_provisioner::local::{FileArtifacts, LocalRunner, local_job};
use grape_provisioner::{JobError, JobHandler, JobLog, ProvisionerSettings};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

async fn run(
    handler: &dyn JobHandler,
    job_type: JobType,
    payload: Value,
) -> Result<Option<Value>, JobError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let runner = LocalRunner {
        settings: Arc::new(ProvisionerSettings::default()),
        services: Arc::new(FileArtifacts::new(dir.path().join("artifacts"))),
        work_dir: dir.path().join("work"),
        cloud: None,
    };
    let log = JobLog::new(Arc::new(|_: LogStream, _: &str| {}));
    runner
        .run(
            handler,
            local_job(job_type, payload),
            log,
            Redactor::new(),
            CancellationToken::new(),
        )
        .await
}

#[tokio::test]
async fn worker_jobs_without_platform_settings_fail_with_a_clear_reason() {
    let deploy = json!({ "name": "w1", "region": "eu-west-1", "image": "tendril:1",
                         "vpc_id": "vpc-1", "subnet_ids": ["subnet-1"] });
    let update = json!({ "name": "w1", "region": "eu-west-1", "image": "tendril:2" });
    let destroy = json!({ "name": "w1", "region": "eu-west-1" });
    let cases: [(&dyn JobHandler, JobType, Value); 3] = [
        (&DeployWorkerHandler, JobType::DeployWorker, deploy),
        (&UpdateWorkerHandler, JobType::UpdateWorker, update),
        (&DestroyWorkerHandler, JobType::DestroyWorker, destroy),
    ];
    for (handler, job_type, payload) in cases {
        let err = run(handler, job_type.clone(), payload)
            .await
            .expect_err("no platform settings");
        let reason = err.to_string();
        assert!(matches!(err, JobError::Failed(_)), "{err:?}");
        assert!(
            reason.contains("this worker has no platform credentials")
                && reason.contains(job_type.as_str()),
            "{reason}"
        );
    }
}

#[tokio::test]
async fn an_invalid_payload_is_refused_before_anything_else() {
    let err = run(
        &DeployWorkerHandler,
        JobType::DeployWorker,
        json!({ "name": "w1", "region": "eu-west-1", "image": "tendril:1",
                "vpc_id": "vpc-1", "subnet_ids": [], "bogus": true }),
    )
    .await
    .expect_err("unknown field");
    assert!(
        err.to_string()
            .starts_with("invalid payload for DEPLOY_WORKER"),
        "{err}"
    );
    let err = run(
        &DestroyWorkerHandler,
        JobType::DestroyWorker,
        json!({ "name": "w1", "region": "not a region" }),
    )
    .await
    .expect_err("bad region");
    assert!(err.to_string().contains("`region`"), "{err}");
}
