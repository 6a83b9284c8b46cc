//! `Idempotency-Key` on submit, retry and register: one key makes one resource (also under
//! concurrent repeats), another body with the key is 422, keys are per token, keys expire.

use crate::both_backends;
use crate::common::{Backend, Env, start, start_with, worker};
use grape_api::{
    CreateTokenRequest, HeartbeatRequest, JobType, RegisterRequest, StatusUpdate, SubmitJobRequest,
    TokenRole, WorkerMode, WorkerStatus,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// POST `body` to `path` with `token` and `Idempotency-Key: key`: status, replayed flag, body.
async fn post(
    env: &Env,
    token: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, bool, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", env.server.url()))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = resp.status();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (status, replayed, resp.json().await.expect("json"))
}

async fn job_count(env: &Env) -> usize {
    env.server
        .admin_client()
        .list_jobs(None, None)
        .await
        .expect("list")
        .len()
}

fn exec(arg: &str) -> Value {
    json!({"type": "EXEC", "payload": {"argv": ["echo", arg]}})
}

both_backends!(one_key_makes_one_job, super::one_key_makes_one_job);
async fn one_key_makes_one_job(backend: Backend) {
    let env = start(backend).await;
    let api = env.server.api_token().expose().to_owned();
    let (status, replayed, first) = post(&env, &api, "/api/jobs", "key-1", &exec("a")).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{first}");
    let (status, replayed, again) = post(&env, &api, "/api/jobs", "key-1", &exec("a")).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true), "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(job_count(&env).await, 1);

    // The same key with another body is refused and makes nothing.
    let (status, _, refused) = post(&env, &api, "/api/jobs", "key-1", &exec("b")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or("")
            .contains("Idempotency-Key")
    );
    assert_eq!(job_count(&env).await, 1);

    // Keys are per token: another token's same key and body is another job.
    let other = env
        .server
        .admin_client()
        .create_token(&CreateTokenRequest {
            team: "default".into(),
            role: TokenRole::User,
            name: None,
        })
        .await
        .expect("token");
    let (status, _, theirs) =
        post(&env, other.token.expose(), "/api/jobs", "key-1", &exec("a")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(theirs["id"], first["id"]);
    assert_eq!(job_count(&env).await, 2);

    // Concurrent repeats of one request make one job.
    let repeats = (0..8).map(|_| {
        let (env, api) = (&env, api.clone());
        async move { post(env, &api, "/api/jobs", "key-2", &exec("c")).await }
    });
    let answers = futures::future::join_all(repeats).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(s, _, b)| {
            assert_eq!(*s, StatusCode::CREATED, "{b}");
            b["id"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(job_count(&env).await, 3);

    // The grape-api client sends its key on every retry of a call.
    let user = env.server.user_client();
    let request = SubmitJobRequest {
        job_type: JobType::Exec,
        payload: json!({}),
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    };
    let a = user
        .submit_job_with_key(&request, "key-3")
        .await
        .expect("a");
    let b = user
        .submit_job_with_key(&request, "key-3")
        .await
        .expect("b");
    assert_eq!(a.job.id, b.job.id);

    // A key that is not 1..255 visible ASCII characters is refused.
    let (status, _, _) = post(&env, &api, "/api/jobs", "two words", &exec("a")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

both_backends!(
    a_keyed_retry_makes_one_retry,
    super::a_keyed_retry_makes_one_retry
);
async fn a_keyed_retry_makes_one_retry(backend: Backend) {
    let env = start(backend).await;
    let api = env.server.api_token().expose().to_owned();
    let job = env
        .server
        .user_client()
        .submit_job(&SubmitJobRequest {
            job_type: JobType::Exec,
            payload: json!({}),
            cloud_identity_id: None,
            team: None,
            labels: Vec::new(),
            secrets: grape_api::JobSecrets::new(),
        })
        .await
        .expect("submit");
    let w = worker(&env, "w", None).await;
    w.client.claim_job(None).await.expect("claim").expect("job");
    w.client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .expect("running");
    w.client
        .update_job_status(job.id, &StatusUpdate::failed("boom"))
        .await
        .expect("failed");
    let path = format!("/api/jobs/{}/retry", job.id);
    let (s1, r1, first) = post(&env, &api, &path, "retry-1", &json!(null)).await;
    let (s2, r2, again) = post(&env, &api, &path, "retry-1", &json!(null)).await;
    assert_eq!(
        (s1, r1, s2, r2),
        (StatusCode::CREATED, false, StatusCode::CREATED, true)
    );
    assert_eq!(first["id"], again["id"]);
    // Without the key a second retry is the usual 409 naming the first.
    let (s3, _, conflict) = post(&env, &api, &path, "retry-2", &json!(null)).await;
    assert_eq!(s3, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(job_count(&env).await, 2);
}

both_backends!(
    a_keyed_registration_makes_one_worker,
    super::a_keyed_registration_makes_one_worker
);
async fn a_keyed_registration_makes_one_worker(backend: Backend) {
    let env = start(backend).await;
    let admin = env.server.admin_token().expose().to_owned();
    let body = serde_json::to_value(RegisterRequest {
        name: "w".into(),
        mode: WorkerMode::SelfHosted,
        labels: std::collections::BTreeMap::new(),
        team: None,
    })
    .expect("json");
    let path = "/api/tendrils/register";
    let (s1, _, first) = post(&env, &admin, path, "reg-1", &body).await;
    let (s2, replayed, again) = post(&env, &admin, path, "reg-1", &body).await;
    assert_eq!(
        (s1, s2, replayed),
        (StatusCode::CREATED, StatusCode::CREATED, true)
    );
    assert_eq!(first["worker_id"], again["worker_id"]);
    assert_ne!(first["worker_token"], again["worker_token"]);
    let workers = env
        .server
        .admin_client()
        .list_workers()
        .await
        .expect("list");
    assert_eq!(workers.len(), 1);
    // The repeat's token works; the first one is void.
    let id = again["worker_id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let hb = HeartbeatRequest {
        status: WorkerStatus::Online,
        current_job_id: None,
        info: None,
    };
    let token = |v: &Value| grape_api::Secret::new(v["worker_token"].as_str().expect("token"));
    let old = env.server.worker_client(id, token(&first));
    assert_eq!(
        old.send_heartbeat(&hb).await.unwrap_err().status(),
        Some(401)
    );
    let new = env.server.worker_client(id, token(&again));
    new.send_heartbeat(&hb).await.expect("the new token works");
    let mut other = body.clone();
    other["name"] = json!("w2");
    let (s3, _, _) = post(&env, &admin, path, "reg-1", &other).await;
    assert_eq!(s3, StatusCode::UNPROCESSABLE_ENTITY);
}

both_backends!(
    an_expired_key_is_free_again,
    super::an_expired_key_is_free_again
);
async fn an_expired_key_is_free_again(backend: Backend) {
    let ttl = Duration::from_secs(1);
    let env = start_with(backend, |b| b.idempotency_key_ttl(ttl)).await;
    let api = env.server.api_token().expose().to_owned();
    let (_, _, first) = post(&env, &api, "/api/jobs", "short", &exec("a")).await;
    // Repeats answer the first job until the key expires; then the key makes a new one.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, replayed, answer) = post(&env, &api, "/api/jobs", "short", &exec("a")).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        if !replayed {
            assert_ne!(answer["id"], first["id"]);
            break;
        }
        assert_eq!(answer["id"], first["id"]);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the key never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(job_count(&env).await, 2);
}
