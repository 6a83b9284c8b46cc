//! `GET /api/vines` and the Vines pages: a vine key derived from a PLAN's `vine`, an APPLY of
//! that PLAN counted for the same vine, another team's vine hidden.

use crate::common::Visitor;
use grape_api::{CreateTokenRequest, JobType, SubmitJobRequest, TokenRole};
use grape_testkit::trellis::TrellisServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn api(server: &TrellisServer, token: &str, path: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn vines_are_derived_from_plan_payloads_and_listed_per_team() {
    let server = TrellisServer::start().await.expect("trellis");
    let vine: Value = serde_json::from_str(include_str!(
        "../../../grape-vine/tests/samples/valid-azure.json"
    ))
    .expect("sample");
    let user = server.user_client();
    let plan = user
        .submit_job(&SubmitJobRequest {
            job_type: JobType::Plan,
            payload: json!({ "vine": vine }),
            cloud_identity_id: None,
            team: None,
            labels: Vec::new(),
            secrets: grape_api::JobSecrets::new(),
        })
        .await
        .expect("submit PLAN");
    user.submit_job(&SubmitJobRequest {
        job_type: JobType::Apply,
        payload: json!({ "plan_job_id": plan.id }),
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    })
    .await
    .expect("submit APPLY");
    // Not a vine job: not listed.
    user.submit_job(&SubmitJobRequest {
        job_type: JobType::Exec,
        payload: json!({ "argv": ["true"] }),
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    })
    .await
    .expect("submit EXEC");

    let (status, list) = api(&server, server.api_token().expose(), "/api/vines").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let vines = list["vines"].as_array().expect("vines");
    assert_eq!(vines.len(), 1, "{list}");
    assert_eq!(vines[0]["key"], "default/shop/staging/westeurope");
    assert_eq!(vines[0]["project"], "shop");
    assert_eq!(vines[0]["jobs"], 2);
    assert_eq!(vines[0]["latest_job_type"], "APPLY");
    let (status, jobs) = api(
        &server,
        server.api_token().expose(),
        "/api/vines/default/shop/staging/westeurope/jobs",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(2));

    // Another team sees no vine and cannot read this one.
    let other = server
        .admin_client()
        .create_token(&CreateTokenRequest {
            team: "red".into(),
            role: TokenRole::User,
            name: None,
        })
        .await
        .expect("token");
    let (_, list) = api(&server, other.token.expose(), "/api/vines").await;
    assert_eq!(list["vines"].as_array().map(Vec::len), Some(0));
    let (status, _) = api(
        &server,
        other.token.expose(),
        "/api/vines/default/shop/staging/westeurope/jobs",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let mut v = Visitor::new(server.url());
    v.sign_in(server.api_token().expose()).await;
    let page = v.get("/vines").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("href=\"/vines/default/shop/staging/westeurope\""),
        "{}",
        page.body
    );
    let page = v.get("/vines/default/shop/staging/westeurope").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&format!("/jobs/{}", plan.id)));
    assert!(page.body.contains("Latest plan"));
}
