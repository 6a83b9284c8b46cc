//! A job's secrets are on none of the console's pages (its job page shows what its document
//! shows: names at most, never a value).

use crate::common::Visitor;
use grape_api::{JobType, Secret, SubmitJobRequest};
use grape_testkit::trellis::TrellisServer;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn no_page_shows_a_secret() {
    const VALUE: &str = "console-s3cret-4b7d";
    let server = TrellisServer::start().await.expect("trellis");
    let job = server
        .user_client()
        .submit_job(&SubmitJobRequest {
            job_type: JobType::Exec,
            payload: json!({"argv": ["true"]}),
            cloud_identity_id: None,
            team: None,
            labels: Vec::new(),
            secrets: [("db_password".to_owned(), Secret::new(VALUE))].into(),
        })
        .await
        .expect("submit");
    let mut v = Visitor::new(server.url());
    v.sign_in(server.api_token().expose()).await;
    for path in [
        format!("/jobs/{}", job.id),
        format!("/jobs/{}?part=summary", job.id),
        format!("/jobs/{}/log.txt", job.id),
        "/jobs".to_owned(),
    ] {
        let page = v.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(!page.body.contains(VALUE), "{path} shows the secret");
    }
}
