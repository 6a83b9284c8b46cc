//! Every 4xx of the spec, and garbage input: JSON `{error}` answers, never a 500.

use crate::both_backends;
use crate::common::{Backend, start, worker};
use grape_api::{JobStatus, JobType, StatusUpdate, SubmitJobRequest};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn expect_error(resp: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(resp.status(), status, "unexpected status");
    let body: Value = resp.json().await.expect("a JSON error body");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    body
}

async fn garbage(backend: Backend) {
    let env = start(backend).await;
    let url = env.server.url().to_owned();
    let api = env.server.api_token().expose().to_owned();
    let http = reqwest::Client::new();
    let w = worker(&env, "w", None).await;
    let (wid, wtok) = (w.id.to_string(), w.token.expose().to_owned());
    let user = env.server.user_client();

    // User API authentication.
    expect_error(
        http.get(format!("{url}/api/jobs")).send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    expect_error(
        http.get(format!("{url}/api/jobs"))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // Worker authentication.
    expect_error(
        http.post(format!("{url}/api/jobs/claim"))
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let wrong = http
        .post(format!("{url}/api/jobs/claim"))
        .header("X-Worker-ID", &wid)
        .header("X-Worker-Token", "x")
        .send()
        .await
        .unwrap();
    expect_error(wrong, StatusCode::UNAUTHORIZED).await;
    let register = http
        .post(format!("{url}/api/tendrils/register"))
        .bearer_auth(&api)
        .json(&json!({"name": "x", "mode": "self-hosted"}));
    // The API token is a valid user, but registering is an admin's: 403.
    expect_error(register.send().await.unwrap(), StatusCode::FORBIDDEN).await;

    let post = |path: &str, body: &'static str| {
        http.post(format!("{url}{path}"))
            .bearer_auth(&api)
            .header("content-type", "application/json")
            .body(body)
    };
    expect_error(
        post("/api/jobs", "{not json").send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect_error(
        post("/api/jobs", "").send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect_error(
        post("/api/jobs", r#"{"type": 12, "payload": {}}"#)
            .send()
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    expect_error(
        post("/api/jobs", r#"{"payload": {}}"#)
            .send()
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let unknown = expect_error(
        post("/api/jobs", r#"{"type": "MINE_BITCOIN", "payload": {}}"#)
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(unknown["error"].as_str().unwrap().contains("MINE_BITCOIN"));
    expect_error(
        post(
            "/api/cloud-identities",
            r#"{"name": "x", "provider": "oracle"}"#,
        )
        .send()
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let huge = "[".repeat(2 * 1024 * 1024);
    let resp = http
        .post(format!("{url}/api/jobs"))
        .bearer_auth(&api)
        .body(huge)
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::PAYLOAD_TOO_LARGE).await;
    let nested = format!(
        "{{\"type\":\"EXEC\",\"payload\":{}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let resp = http
        .post(format!("{url}/api/jobs"))
        .bearer_auth(&api)
        .body(nested)
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_client_error(),
        "deep nesting: {}",
        resp.status()
    );
    // Paths, queries, unknown endpoints.
    expect_error(
        http.get(format!("{url}/api/jobs/not-a-uuid"))
            .bearer_auth(&api)
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect_error(
        http.get(format!("{url}/api/jobs?limit=abc"))
            .bearer_auth(&api)
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect_error(
        http.get(format!("{url}/api/jobs?status=WHATEVER"))
            .bearer_auth(&api)
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect_error(
        http.get(format!("{url}/api/nothing")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let missing = uuid::Uuid::new_v4();
    assert_eq!(user.get_job(missing).await.unwrap_err().status(), Some(404));
    assert_eq!(
        user.get_identity(missing).await.unwrap_err().status(),
        Some(404)
    );
    assert_eq!(
        user.cancel_job(missing).await.unwrap_err().status(),
        Some(404)
    );

    // Worker endpoints.
    let wpost = |path: String, body: String| {
        http.post(format!("{url}{path}"))
            .header("X-Worker-ID", &wid)
            .header("X-Worker-Token", &wtok)
            .body(body)
    };
    expect_error(
        wpost("/api/jobs/claim".into(), r#"{"wait_seconds": 31}"#.into())
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect_error(
        wpost("/api/jobs/claim".into(), r#"{"wait_seconds": "x"}"#.into())
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect_error(
        wpost("/api/workers/heartbeat".into(), r#"{"status": 5}"#.into())
            .send()
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        w.client
            .update_job_status(missing, &StatusUpdate::running())
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    assert_eq!(
        w.client.send_logs(missing, &[]).await.unwrap_err().status(),
        Some(404)
    );

    let job = user
        .submit_job(&SubmitJobRequest {
            job_type: JobType::Exec,
            payload: json!({}),
            cloud_identity_id: None,
            team: None,
            labels: Vec::new(),
            secrets: grape_api::JobSecrets::new(),
        })
        .await
        .unwrap();
    // Not held yet: 403.
    assert_eq!(
        w.client
            .update_job_status(job.id, &StatusUpdate::running())
            .await
            .unwrap_err()
            .status(),
        Some(403)
    );
    w.client.claim_job(None).await.unwrap().unwrap();
    // QUEUED is never a worker's transition: 409 with the current status.
    let back = StatusUpdate {
        status: JobStatus::Queued,
        error: None,
        result: None,
    };
    let err = w.client.update_job_status(job.id, &back).await.unwrap_err();
    assert_eq!(
        (err.status(), err.current_status()),
        (Some(409), Some(&JobStatus::Claimed))
    );
    let body = expect_error(
        http.put(format!("{url}/api/jobs/{}/status", job.id))
            .header("X-Worker-ID", &wid)
            .header("X-Worker-Token", &wtok)
            .body(r#"{"status":"EXPLODED"}"#)
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("EXPLODED"));
    // Log batches: more than 5,000 lines or 1 MiB → 413; seq 0 → 400; bad gzip → 400.
    let many: Vec<Value> = (1..=5001)
        .map(|s| json!({"seq": s, "ts": "2026-01-01T00:00:00Z", "stream": "stdout", "text": ""}))
        .collect();
    let resp = wpost(
        format!("/api/jobs/{}/logs", job.id),
        json!({"lines": many}).to_string(),
    )
    .send()
    .await
    .unwrap();
    expect_error(resp, StatusCode::PAYLOAD_TOO_LARGE).await;
    let big = json!({"lines": [{"seq": 1, "ts": "2026-01-01T00:00:00Z", "stream": "stdout", "text": "x".repeat(1024 * 1024 + 10)}]});
    expect_error(
        wpost(format!("/api/jobs/{}/logs", job.id), big.to_string())
            .send()
            .await
            .unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    let zero = json!({"lines": [{"seq": 0, "ts": "2026-01-01T00:00:00Z", "stream": "stdout", "text": ""}]});
    expect_error(
        wpost(format!("/api/jobs/{}/logs", job.id), zero.to_string())
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let gz = wpost(format!("/api/jobs/{}/logs", job.id), "not gzip".into())
        .header("Content-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    expect_error(gz, StatusCode::BAD_REQUEST).await;
    // A gzip bomb is cut at 1 MiB decompressed.
    let bomb = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(
            br#"{"lines": [{"seq": 1, "ts": "2026-01-01T00:00:00Z", "stream": "stdout", "text": ""#,
        )
        .unwrap();
        enc.write_all(&vec![b'a'; 8 * 1024 * 1024]).unwrap();
        enc.write_all(br#""}]}"#).unwrap();
        enc.finish().unwrap()
    };
    let resp = http
        .post(format!("{url}/api/jobs/{}/logs", job.id))
        .header("X-Worker-ID", &wid)
        .header("X-Worker-Token", &wtok)
        .header("Content-Encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::PAYLOAD_TOO_LARGE).await;
    // A plan artifact over 64 MiB → 413.
    let resp = http
        .post(format!("{url}/api/jobs/{}/plan-artifact", job.id))
        .header("X-Worker-ID", &wid)
        .header("X-Worker-Token", &wtok)
        .body(format!("\"{}\"", "p".repeat(65 * 1024 * 1024)))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::PAYLOAD_TOO_LARGE).await;
    // The server survived all of it.
    assert_eq!(user.health().await.unwrap().status, "ok");
}
both_backends!(garbage_gets_json_4xx, super::garbage);
