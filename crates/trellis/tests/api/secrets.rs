//! Job secrets: never served by a user endpoint (job, list, logs, stream, metrics, the console's
//! job page), handed to the worker holding the job in its claim answer, copied on retry and to an
//! APPLY of the PLAN; invalid maps refused with 422 naming the field.

use crate::both_backends;
use crate::common::{Backend, Env, start, worker};
use grape_api::{JobSecrets, JobType, Secret, StatusUpdate, SubmitJobRequest};
use reqwest::StatusCode;
use serde_json::{Value, json};

const VALUE: &str = "s3cr3t-Value-9f2c71";

fn secrets(pairs: &[(&str, &str)]) -> JobSecrets {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Secret::new(*v)))
        .collect()
}

fn request(job_type: JobType, payload: Value, secrets: JobSecrets) -> SubmitJobRequest {
    SubmitJobRequest {
        job_type,
        payload,
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets,
    }
}

/// GET `path` with the API token: the status and the raw body.
async fn get_raw(env: &Env, path: &str) -> (StatusCode, String) {
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", env.server.url()))
        .bearer_auth(env.server.api_token().expose())
        .send()
        .await
        .expect("GET");
    (resp.status(), resp.text().await.expect("body"))
}

/// POST `body` to `/api/jobs` with the API token: the status and the raw body.
async fn submit_raw(env: &Env, body: &Value) -> (StatusCode, String) {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/jobs", env.server.url()))
        .bearer_auth(env.server.api_token().expose())
        .json(body)
        .send()
        .await
        .expect("POST");
    (resp.status(), resp.text().await.expect("body"))
}

both_backends!(
    a_secret_reaches_only_its_worker,
    super::a_secret_reaches_only_its_worker
);
async fn a_secret_reaches_only_its_worker(backend: Backend) {
    let env = start(backend).await;
    let body =
        json!({"type": "EXEC", "payload": {"argv": ["true"]}, "secrets": {"db_password": VALUE}});
    let (status, answer) = submit_raw(&env, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert!(
        !answer.contains(VALUE),
        "the submit answer shows the value: {answer}"
    );
    let job: Value = serde_json::from_str(&answer).expect("json");
    assert_eq!(job["secret_names"], json!(["db_password"]));
    let id = job["id"].as_str().expect("id").to_owned();

    let w = worker(&env, "w", None).await;
    let claimed = w.client.claim(None).await.expect("claim").expect("a job");
    assert_eq!(claimed.job.id.to_string(), id);
    assert_eq!(claimed.secrets["db_password"].expose(), VALUE);
    assert_eq!(claimed.job.secret_names, vec!["db_password".to_owned()]);
    let job_id = claimed.job.id;
    w.client
        .update_job_status(job_id, &StatusUpdate::running())
        .await
        .expect("running");
    w.client
        .update_job_status(job_id, &StatusUpdate::failed("boom"))
        .await
        .expect("failed");

    // Not on any user endpoint or page, while queued, claimed or ended.
    for path in [
        format!("/api/jobs/{id}"),
        "/api/jobs".to_owned(),
        format!("/api/jobs/{id}/logs"),
        format!("/api/jobs/{id}/logs/stream"),
    ] {
        let (status, text) = get_raw(&env, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {text}");
        assert!(!text.contains(VALUE), "{path} shows the value: {text}");
    }
    let (_, listed) = get_raw(&env, "/api/jobs").await;
    assert!(listed.contains("db_password"), "names are listed: {listed}");
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", env.server.url()))
        .bearer_auth(env.server.metrics_token().expose())
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics");
    assert!(!metrics.contains(VALUE));

    // A retry carries the secrets to its worker too.
    let retry = env
        .server
        .user_client()
        .retry_job(job_id)
        .await
        .expect("retry");
    assert_eq!(retry.secret_names, vec!["db_password".to_owned()]);
    let again = w
        .client
        .claim(None)
        .await
        .expect("claim")
        .expect("the retry");
    assert_eq!(again.job.id, retry.id);
    assert_eq!(again.secrets["db_password"].expose(), VALUE);

    // A job without secrets has none in its claim.
    let plain = env
        .server
        .user_client()
        .submit_job(&request(JobType::Exec, json!({}), JobSecrets::new()))
        .await
        .expect("submit");
    let claimed = w.client.claim(None).await.expect("claim").expect("a job");
    assert_eq!(claimed.job.id, plain.id);
    assert!(claimed.secrets.is_empty() && claimed.job.secret_names.is_empty());
}

both_backends!(
    an_apply_gets_its_plans_secrets,
    super::an_apply_gets_its_plans_secrets
);
async fn an_apply_gets_its_plans_secrets(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let plan = user
        .submit_job(&request(
            JobType::Plan,
            json!({}),
            secrets(&[("db_password", VALUE)]),
        ))
        .await
        .expect("plan");
    let apply = user
        .submit_job(&request(
            JobType::Apply,
            json!({ "plan_job_id": plan.id }),
            JobSecrets::new(),
        ))
        .await
        .expect("apply");
    assert_eq!(apply.secret_names, vec!["db_password".to_owned()]);
    let w = worker(&env, "w", Some(vec![JobType::Apply])).await;
    let claimed = w
        .client
        .claim(None)
        .await
        .expect("claim")
        .expect("the apply");
    assert_eq!(claimed.job.id, apply.id);
    assert_eq!(claimed.secrets["db_password"].expose(), VALUE);
}

both_backends!(
    invalid_secrets_are_422_naming_the_field,
    super::invalid_secrets_are_422_naming_the_field
);
async fn invalid_secrets_are_422_naming_the_field(backend: Backend) {
    let env = start(backend).await;
    let many: serde_json::Map<String, Value> = (0..65)
        .map(|i| (format!("s{i}"), json!("a-long-enough-value")))
        .collect();
    let cases = [
        (json!({"db-pass": "hunter2222"}), "secrets.\\\"db-pass\\\""),
        (json!({"pw": "abc"}), "secrets.pw"),
        (json!({"pw": "x".repeat(40_000)}), "secrets.pw"),
        (Value::Object(many), "secrets: 65 secrets"),
    ];
    for (map, field) in cases {
        let body = json!({"type": "EXEC", "payload": {}, "secrets": map});
        let (status, text) = submit_raw(&env, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        assert!(text.contains(field), "{field} not named: {text}");
        assert!(!text.contains("hunter2222"), "{text}");
    }
    let (_, listed) = get_raw(&env, "/api/jobs").await;
    assert_eq!(listed, r#"{"jobs":[]}"#, "no job was made");
}
