//! The whole job life cycle, logs, cancel, retry, plan artifacts, identities.

use crate::both_backends;
use crate::common::{Backend, start, worker};
use chrono::Utc;
use futures::StreamExt;
use grape_api::{
    CloudProvider, CreateIdentityRequest, JobStatus, JobType, LogLine, LogStream, StatusUpdate,
    SubmitJobRequest, WorkerStatus,
};
use serde_json::json;
use std::time::Duration;

fn lines(range: std::ops::RangeInclusive<u64>) -> Vec<LogLine> {
    range
        .map(|seq| LogLine {
            seq,
            ts: Utc::now(),
            stream: LogStream::Stdout,
            text: format!("line {seq}"),
        })
        .collect()
}

fn submit(t: JobType, payload: serde_json::Value) -> SubmitJobRequest {
    SubmitJobRequest {
        job_type: t,
        payload,
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    }
}

async fn life_cycle(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let w = worker(&env, "w1", None).await;
    let other = worker(&env, "w2", None).await;

    assert!(
        w.client.claim_job(None).await.unwrap().is_none(),
        "empty queue: 204"
    );
    let job = user
        .submit_job(&submit(JobType::Exec, json!({"cmd": "true"})))
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    let claimed = w.client.claim_job(None).await.unwrap().expect("a job");
    assert_eq!(claimed.id, job.id);
    assert_eq!(claimed.status, JobStatus::Claimed);
    assert_eq!(claimed.worker_id, Some(w.id));
    assert!(
        other.client.claim_job(None).await.unwrap().is_none(),
        "claimed exactly once"
    );

    // Only the holder may change it.
    let err = other
        .client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    let running = w
        .client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .unwrap();
    assert_eq!(running.status, JobStatus::Running);
    assert!(running.started_at.is_some());
    // Same transition again: idempotent.
    w.client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .unwrap();

    // Logs: resending overlapping lines never duplicates.
    let ack = w.client.send_logs(job.id, &lines(1..=3)).await.unwrap();
    assert_eq!((ack.last_seq, ack.cancel_requested), (3, false));
    let ack = w.client.send_logs(job.id, &lines(2..=5)).await.unwrap();
    assert_eq!(ack.last_seq, 5);
    let ack = w.client.send_logs(job.id, &lines(1..=5)).await.unwrap();
    assert_eq!(ack.last_seq, 5);
    // A big batch goes gzip-compressed (over 8 KiB).
    let mut big = lines(6..=2000);
    for l in &mut big {
        l.text = format!("{} {}", l.text, "x".repeat(40));
    }
    assert_eq!(
        w.client.send_logs(job.id, &big).await.unwrap().last_seq,
        2000
    );
    let err = other
        .client
        .send_logs(job.id, &lines(1..=1))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));

    let page = user.get_logs(job.id, None).await.unwrap();
    assert_eq!(page.lines.len(), 2000);
    assert_eq!(
        page.lines.iter().map(|l| l.seq).collect::<Vec<_>>(),
        (1..=2000).collect::<Vec<_>>()
    );
    let page = user.get_logs(job.id, Some(1998)).await.unwrap();
    assert_eq!(page.lines.len(), 2);

    // The live stream follows until the job ends.
    let mut stream = user.stream_logs(job.id, Some(1990)).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.seq, 1991);
    let w_client = w.client.clone();
    let job_id = job.id;
    let finisher = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        w_client
            .send_logs(job_id, &lines(2001..=2002))
            .await
            .unwrap();
        w_client
            .update_job_status(job_id, &StatusUpdate::success(Some(json!({"ok": true}))))
            .await
            .unwrap()
    });
    let rest: Vec<_> = stream.collect().await;
    let seqs: Vec<u64> = rest.into_iter().map(|l| l.unwrap().seq).collect();
    assert_eq!(seqs, (1992..=2002).collect::<Vec<_>>());
    let done = finisher.await.unwrap();
    assert_eq!(done.status, JobStatus::Success);
    assert_eq!(done.result, Some(json!({"ok": true})));

    // Illegal transition: 409 with the current status; repeating SUCCESS is fine.
    let err = w
        .client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.current_status(), Some(&JobStatus::Success));
    w.client
        .update_job_status(job.id, &StatusUpdate::success(None))
        .await
        .unwrap();

    let got = user.get_job(job.id).await.unwrap();
    assert_eq!(got.status, JobStatus::Success);
    assert!(got.finished_at.is_some());
    let listed = user
        .list_jobs(Some(&JobStatus::Success), Some(10))
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![job.id]
    );
    assert!(
        user.list_jobs(Some(&JobStatus::Queued), None)
            .await
            .unwrap()
            .is_empty()
    );

    let workers = user.list_workers().await.unwrap();
    assert_eq!(workers.len(), 2);
    assert!(workers.iter().all(|w| w.status == WorkerStatus::Online));
    assert_eq!(user.health().await.unwrap().status, "ok");
    let doc = user.openapi().await.unwrap();
    assert!(doc["paths"]["/api/jobs/claim"].is_object());
}
both_backends!(whole_life_cycle, super::life_cycle);

async fn long_poll_wakes_up(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let w = worker(&env, "w1", None).await;
    let client = w.client.clone();
    let waiting =
        tokio::spawn(async move { client.claim_job(Some(Duration::from_secs(20))).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished());
    let job = user
        .submit_job(&submit(JobType::Plan, json!({})))
        .await
        .unwrap();
    let claimed = waiting.await.unwrap().unwrap().expect("woken with the job");
    assert_eq!(claimed.id, job.id);
    // A wait that ends with nothing queued: 204.
    assert!(
        w.client
            .claim_job(Some(Duration::from_secs(1)))
            .await
            .unwrap()
            .is_none()
    );
}
both_backends!(long_poll, super::long_poll_wakes_up);

async fn job_types_and_draining(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let planner = worker(&env, "planner", Some(vec![JobType::Plan])).await;
    let exec = user
        .submit_job(&submit(JobType::Exec, json!({})))
        .await
        .unwrap();
    assert!(
        planner.client.claim_job(None).await.unwrap().is_none(),
        "EXEC is not for a PLAN-only worker"
    );
    let plan = user
        .submit_job(&submit(JobType::Plan, json!({})))
        .await
        .unwrap();
    assert_eq!(
        planner.client.claim_job(None).await.unwrap().unwrap().id,
        plan.id
    );
    let any = worker(&env, "any", None).await;
    any.heartbeat(WorkerStatus::Draining, None).await;
    assert!(
        any.client.claim_job(None).await.unwrap().is_none(),
        "DRAINING gets 204"
    );
    any.heartbeat(WorkerStatus::Online, None).await;
    assert_eq!(
        any.client.claim_job(None).await.unwrap().unwrap().id,
        exec.id
    );
}
both_backends!(job_types_draining, super::job_types_and_draining);

async fn cancel_and_retry(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let w = worker(&env, "w1", None).await;

    let queued = user
        .submit_job(&submit(JobType::Exec, json!({"n": 1})))
        .await
        .unwrap();
    assert_eq!(
        user.cancel_job(queued.id).await.unwrap().status,
        JobStatus::Cancelled
    );
    assert!(w.client.claim_job(None).await.unwrap().is_none());

    let job = user
        .submit_job(&submit(JobType::Exec, json!({"n": 2})))
        .await
        .unwrap();
    w.client.claim_job(None).await.unwrap().unwrap();
    w.client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .unwrap();
    assert!(
        w.heartbeat(WorkerStatus::Online, Some(job.id))
            .await
            .is_empty()
    );
    let c = user.cancel_job(job.id).await.unwrap();
    assert!(c.cancel_requested);
    assert_eq!(c.status, JobStatus::Running);
    // Delivered by the next heartbeat and by the next log ack.
    assert_eq!(
        w.heartbeat(WorkerStatus::Online, Some(job.id)).await,
        vec![job.id]
    );
    assert!(
        w.client
            .send_logs(job.id, &lines(1..=1))
            .await
            .unwrap()
            .cancel_requested
    );
    w.client
        .update_job_status(job.id, &StatusUpdate::cancelled())
        .await
        .unwrap();
    assert!(w.heartbeat(WorkerStatus::Online, None).await.is_empty());

    // Retry of a CANCELLED job: a new QUEUED job with the same payload.
    let retry = user.retry_job(job.id).await.unwrap();
    assert_eq!(
        (retry.status.clone(), retry.retry_of, retry.payload.clone()),
        (JobStatus::Queued, Some(job.id), json!({"n": 2}))
    );
    let again = w.client.claim_job(None).await.unwrap().unwrap();
    assert_eq!(again.id, retry.id);
    w.client
        .update_job_status(retry.id, &StatusUpdate::failed("boom"))
        .await
        .unwrap();
    let failed = user.get_job(retry.id).await.unwrap();
    assert_eq!(failed.error.as_deref(), Some("boom"));
    assert_eq!(
        user.retry_job(retry.id).await.unwrap().retry_of,
        Some(retry.id)
    );

    let ok = user
        .submit_job(&submit(JobType::Exec, json!({})))
        .await
        .unwrap();
    // Oldest first: the retry (queued earlier) comes before.
    let next = w.client.claim_job(None).await.unwrap().unwrap();
    assert_ne!(next.id, ok.id);
    w.client
        .update_job_status(next.id, &StatusUpdate::success(None))
        .await
        .unwrap();
    assert_eq!(
        user.retry_job(next.id).await.unwrap_err().status(),
        Some(409)
    );
    assert_eq!(
        user.cancel_job(next.id).await.unwrap_err().status(),
        Some(409)
    );
}
both_backends!(cancel_retry, super::cancel_and_retry);

/// Eight retries of one FAILED job at once make one job; the others are told which.
async fn concurrent_retries_make_one_job(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let job = user
        .submit_job(&submit(JobType::Exec, json!({"n": 3})))
        .await
        .unwrap();
    user.cancel_job(job.id).await.unwrap();
    let attempts = (0..8).map(|_| user.retry_job(job.id));
    let outcomes = futures::future::join_all(attempts).await;
    let made: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(made.len(), 1, "{outcomes:?}");
    let retry = made[0].id;
    for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert_eq!(refused.status(), Some(409), "{refused}");
        assert!(
            refused
                .to_string()
                .contains(&format!("already retried as job {retry}")),
            "{refused}"
        );
    }
    let retries = user
        .list_jobs(None, Some(100))
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.retry_of == Some(job.id))
        .count();
    assert_eq!(retries, 1);
}
both_backends!(concurrent_retry, super::concurrent_retries_make_one_job);

async fn plan_artifacts(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let planner = worker(&env, "planner", Some(vec![JobType::Plan])).await;
    let applier = worker(&env, "applier", Some(vec![JobType::Apply])).await;
    let stranger = worker(&env, "stranger", Some(vec![JobType::Exec])).await;

    let plan = user
        .submit_job(&submit(JobType::Plan, json!({})))
        .await
        .unwrap();
    planner.client.claim_job(None).await.unwrap().unwrap();
    let doc = json!({"format": "grape.plan.v2", "plan_b64": "UEsDBA=="});
    let ack = planner
        .client
        .upload_plan_artifact(plan.id, &doc)
        .await
        .unwrap();
    assert_eq!(ack.job_id, plan.id);
    // The saved plan is a secret at rest: not even its planner reads it back.
    let err = planner
        .client
        .download_plan_artifact(plan.id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    planner
        .client
        .update_job_status(plan.id, &StatusUpdate::success(None))
        .await
        .unwrap();

    let apply = user
        .submit_job(&submit(JobType::Apply, json!({"plan_job_id": plan.id})))
        .await
        .unwrap();
    let claimed = applier.client.claim_job(None).await.unwrap().unwrap();
    assert_eq!(claimed.plan_job_id(), Some(plan.id));
    assert_eq!(
        applier
            .client
            .download_plan_artifact(plan.id)
            .await
            .unwrap(),
        Some(doc)
    );
    let err = stranger
        .client
        .download_plan_artifact(plan.id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    let err = applier
        .client
        .upload_plan_artifact(plan.id, &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    // No user endpoint serves it: the route is a worker route.
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/api/jobs/{}/plan-artifact",
            env.server.url(),
            plan.id
        ))
        .bearer_auth(env.server.api_token().expose())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    // A big plan (over the old 32 MiB cap, under 64 MiB) is accepted.
    let big = json!({"blob": "p".repeat(33 * 1024 * 1024)});
    applier
        .client
        .upload_plan_artifact(apply.id, &big)
        .await
        .unwrap();
    // Once the APPLY has ended, its worker cannot read the plan any more.
    applier
        .client
        .update_job_status(apply.id, &StatusUpdate::success(None))
        .await
        .unwrap();
    let err = applier
        .client
        .download_plan_artifact(plan.id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
}
both_backends!(plan_artifact, super::plan_artifacts);

async fn identity_credentials(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let w = worker(&env, "w1", None).await;
    let identity = user
        .create_identity(&CreateIdentityRequest {
            name: "prod".into(),
            provider: CloudProvider::Aws,
            settings: json!({"role_arn": "arn:aws:iam::123456789012:role/vintner", "external_id": "ext-1", "regions": ["eu-west-1"]}),
        })
        .await
        .unwrap();
    assert_eq!(identity.credentials, None);
    let job = user
        .submit_job(&SubmitJobRequest {
            job_type: JobType::ConnectionTest,
            payload: json!({}),
            cloud_identity_id: Some(identity.id),
            team: None,
            labels: Vec::new(),
            secrets: grape_api::JobSecrets::new(),
        })
        .await
        .unwrap();
    let claimed = w.client.claim_job(None).await.unwrap().unwrap();
    let carried = claimed.identity.expect("the claim carries the identity");
    assert_eq!(
        carried.settings["role_arn"],
        "arn:aws:iam::123456789012:role/vintner"
    );
    w.client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .unwrap();
    let result = json!({
        "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/vintner/s", "account": "123456789012"},
        "discovery": {"format_version": 3, "networks": [{"id": "vpc-1", "cidr_blocks": ["172.31.0.0/16"]}], "dns_zones": []}
    });
    w.client
        .update_job_status(job.id, &StatusUpdate::success(Some(result.clone())))
        .await
        .unwrap();
    let stored = user.get_identity(identity.id).await.unwrap();
    let creds = stored.credentials.expect("credentials cached");
    assert_eq!(creds["discovery"], result["discovery"]);
    assert_eq!(creds["identity"], result["identity"]);
    assert_eq!(creds["job_id"], json!(job.id));
    // An unknown identity on submit is a 400.
    let err = user
        .submit_job(&SubmitJobRequest {
            job_type: JobType::FetchResources,
            payload: json!({}),
            cloud_identity_id: Some(uuid::Uuid::new_v4()),
            team: None,
            labels: Vec::new(),
            secrets: grape_api::JobSecrets::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
}
both_backends!(identity, super::identity_credentials);
