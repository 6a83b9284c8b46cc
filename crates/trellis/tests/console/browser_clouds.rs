//! GCP and Azure identities in the browser: added through their forms, tested and refreshed
//! from their page on a real tendril whose endpoints are grape-testkit's strict fakes of Google
//! and of Entra ID / Resource Manager, their discovery shown as tables — and no token the fakes
//! issued (nor the worker's assertion) in any page.

use crate::common::Visitor;
use crate::harness::{Scenario, Tendril, trellis};
use grape_api::{CloudProvider, JobStatus, JobType};
use grape_testkit::{FakeAzure, FakeAzureConfig, FakeGcp, FakeGcpConfig};
use uuid::Uuid;

#[tokio::test]
async fn gcp_and_azure_identities_added_in_the_browser_are_tested_and_show_their_discovery() {
    let gcp = FakeGcp::start(FakeGcpConfig::default());
    let azure_config = FakeAzureConfig::default();
    let azure = FakeAzure::start(azure_config.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let assertion = dir.path().join("federated-token");
    std::fs::write(&assertion, &azure_config.assertion).expect("assertion file");
    let server = trellis().await;
    let (id, token) = server
        .register_worker("console-clouds")
        .await
        .expect("register");
    let env: Vec<(String, String)> = [
        ("AWS_ACCESS_KEY_ID", "ASIAWORKERKEY".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "worker-secret-key".to_owned()),
        ("AWS_SESSION_TOKEN", "worker-session-token".to_owned()),
        ("AWS_REGION", "eu-west-1".to_owned()),
        ("NO_PROXY", "127.0.0.1,localhost".to_owned()),
        ("TENDRIL_GCP_STS_URL", gcp.sts_url()),
        ("TENDRIL_GCP_IAM_CREDENTIALS_URL", gcp.url().to_owned()),
        ("TENDRIL_GCP_COMPUTE_URL", gcp.url().to_owned()),
        ("TENDRIL_GCP_DNS_URL", gcp.url().to_owned()),
        ("TENDRIL_AZURE_AUTHORITY_HOST", azure.url().to_owned()),
        ("TENDRIL_AZURE_ARM_URL", azure.url().to_owned()),
        (
            "TENDRIL_AZURE_FEDERATED_TOKEN_FILE",
            assertion.display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let tendril = Tendril::start(&server, id, &token, &[], &env);
    let mut s = Scenario::start("identities_clouds", &server, &[]);
    let gcp_id: Uuid = s.step("gcp").parse().expect("the GCP identity's id");
    let azure_id: Uuid = s.step("azure").parse().expect("the Azure identity's id");
    s.finish();

    let user = server.user_client();
    for (identity, provider) in [
        (gcp_id, CloudProvider::Gcp),
        (azure_id, CloudProvider::Azure),
    ] {
        let i = user.get_identity(identity).await.expect("the identity");
        assert_eq!(i.provider, provider);
        let doc = i.credentials.expect("a cached discovery");
        assert_eq!(doc["discovery"]["provider"], provider.as_str(), "{doc}");
    }
    let jobs = user.list_jobs(None, None).await.expect("jobs");
    let ran: Vec<(JobType, JobStatus, Option<Uuid>)> = jobs
        .iter()
        .rev()
        .map(|j| (j.job_type.clone(), j.status.clone(), j.cloud_identity_id))
        .collect();
    assert_eq!(
        ran,
        [
            (JobType::ConnectionTest, JobStatus::Success, Some(gcp_id)),
            (JobType::FetchResources, JobStatus::Success, Some(gcp_id)),
            (JobType::ConnectionTest, JobStatus::Success, Some(azure_id)),
        ],
        "{}",
        tendril.log()
    );

    // Nothing secret in any page of it.
    let mut v = Visitor::new(server.url());
    v.sign_in(server.api_token().expose()).await;
    let mut secrets = gcp.issued_tokens();
    secrets.extend(azure.issued_tokens());
    secrets.push(azure_config.assertion.clone());
    assert!(!secrets.is_empty());
    let mut paths = vec![
        "/identities".to_owned(),
        format!("/identities/{gcp_id}"),
        format!("/identities/{azure_id}"),
    ];
    paths.extend(jobs.iter().map(|j| format!("/jobs/{}", j.id)));
    for path in paths {
        let page = v.get(&path).await;
        assert_eq!(page.status, reqwest::StatusCode::OK, "{path}");
        for secret in &secrets {
            assert!(!page.body.contains(secret.as_str()), "a token in {path}");
        }
    }
}
