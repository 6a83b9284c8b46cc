//! GCP and Azure identities end to end through real processes: trellis + tendril, with the
//! worker's endpoints pointed at grape-testkit's strict fakes of Google and of Entra ID /
//! Resource Manager (no emulator exists). GCP: the subject token is signed with the worker's
//! own AWS keys, exchanged, impersonated. Azure: the client assertion is a web identity token of
//! the worker's AWS identity (a fake STS route; moto lacks it), or a token file. The discovery
//! lands in the identity; a wrong audience / federated subject fails with the classified
//! reason; no minted token reaches a stored log or result.

mod common;

use std::time::Duration;

use common::{Tendril, TendrilOptions, all_logs, trellis, wait_terminal};
use grape_api::{
    CloudProvider, CreateIdentityRequest, JobStatus, JobType, SubmitJobRequest, UserApiClient,
};
use grape_testkit::{FakeAzure, FakeAzureConfig, FakeGcp, FakeGcpConfig};
use serde_json::json;

fn gcp_worker(fake: &FakeGcp) -> TendrilOptions {
    TendrilOptions {
        extra_env: vec![
            ("AWS_ACCESS_KEY_ID".into(), "ASIAWORKERKEY".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "worker-secret-key".into()),
            ("AWS_SESSION_TOKEN".into(), "worker-session-token".into()),
            ("AWS_REGION".into(), "eu-west-1".into()),
            ("NO_PROXY".into(), "127.0.0.1,localhost".into()),
            ("TENDRIL_GCP_STS_URL".into(), fake.sts_url()),
            ("TENDRIL_GCP_IAM_CREDENTIALS_URL".into(), fake.url().into()),
            ("TENDRIL_GCP_COMPUTE_URL".into(), fake.url().into()),
            ("TENDRIL_GCP_DNS_URL".into(), fake.url().into()),
        ],
        ..TendrilOptions::default()
    }
}

async fn run(user: &UserApiClient, identity: uuid::Uuid, job_type: JobType) -> grape_api::Job {
    let job = user
        .submit_job(&SubmitJobRequest {
            job_type,
            payload: json!({}),
            cloud_identity_id: Some(identity),
            team: None,
            labels: Vec::new(),
            secrets: grape_api::JobSecrets::new(),
        })
        .await
        .expect("submit");
    wait_terminal(user, job.id, Duration::from_secs(60)).await
}

/// No token the fake issued appears in the job's stored log or result.
async fn assert_no_token(user: &UserApiClient, fake: &FakeGcp, job: &grape_api::Job) {
    let log: Vec<String> = all_logs(user, job.id)
        .await
        .into_iter()
        .map(|l| l.text)
        .collect();
    let result = job
        .result
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    for token in fake.issued_tokens() {
        assert!(
            log.iter().all(|l| !l.contains(&token)),
            "a token in the log"
        );
        assert!(!result.contains(&token), "a token in the result");
        assert!(!job.error.clone().unwrap_or_default().contains(&token));
    }
}

#[tokio::test]
async fn a_gcp_identity_is_tested_and_its_discovery_cached() {
    let config = FakeGcpConfig::default();
    let fake = FakeGcp::start(config.clone());
    let server = trellis().await;
    let _worker = Tendril::start(&server, "e2e-gcp", gcp_worker(&fake)).await;
    let user = server.user_client();
    let identity = user
        .create_identity(&CreateIdentityRequest {
            name: "acme gcp".into(),
            provider: CloudProvider::Gcp,
            settings: json!({
                "project_id": config.project,
                "project_number": "123456789012",
                "audience": config.audience,
                "service_account": config.service_accounts[0],
            }),
        })
        .await
        .expect("create identity");

    let job = run(&user, identity.id, JobType::ConnectionTest).await;
    assert_eq!(job.status, JobStatus::Success, "{job:#?}");
    let cached = user.get_identity(identity.id).await.expect("identity");
    let doc = cached.credentials.expect("cached discovery");
    assert_eq!(doc["discovery"]["format_version"], 3, "{doc}");
    assert_eq!(doc["discovery"]["provider"], "gcp");
    assert_eq!(
        doc["discovery"]["networks"].as_array().map(Vec::len),
        Some(config.networks + 1)
    );
    assert_eq!(
        doc["identity"]["service_account"],
        config.service_accounts[0]
    );
    let log: Vec<String> = all_logs(&user, job.id)
        .await
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert!(
        log.iter()
            .any(|l| l.contains(&format!("authenticated as {}", config.service_accounts[0]))),
        "{log:#?}"
    );
    assert_no_token(&user, &fake, &job).await;

    let refresh = run(&user, identity.id, JobType::FetchResources).await;
    assert_eq!(refresh.status, JobStatus::Success, "{refresh:#?}");
    assert_no_token(&user, &fake, &refresh).await;
}

#[tokio::test]
async fn a_wrong_audience_fails_with_what_to_fix_and_the_worker_goes_on() {
    let config = FakeGcpConfig::default();
    let fake = FakeGcp::start(config.clone());
    let server = trellis().await;
    let _worker = Tendril::start(&server, "e2e-gcp-bad", gcp_worker(&fake)).await;
    let user = server.user_client();
    let bad = user
        .create_identity(&CreateIdentityRequest {
            name: "typo".into(),
            provider: CloudProvider::Gcp,
            settings: json!({
                "project_id": config.project,
                "project_number": "123456789012",
                "audience": "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/typo/providers/aws",
            }),
        })
        .await
        .expect("create identity");
    let job = run(&user, bad.id, JobType::ConnectionTest).await;
    assert_eq!(job.status, JobStatus::Failed, "{job:#?}");
    let reason = job.error.clone().unwrap_or_default();
    assert!(reason.contains("GCP:"), "{reason}");
    assert!(reason.contains("pool or provider"), "{reason}");
    assert_no_token(&user, &fake, &job).await;

    // An endpoint in the settings is refused by Trellis before anything runs.
    let err = user
        .create_identity(&CreateIdentityRequest {
            name: "sneaky".into(),
            provider: CloudProvider::Gcp,
            settings: json!({
                "project_id": config.project, "project_number": "123456789012",
                "audience": config.audience, "token_url": "http://127.0.0.1:1/steal",
            }),
        })
        .await
        .expect_err("an endpoint in the settings");
    assert!(err.to_string().contains("TENDRIL_GCP_STS_URL"), "{err}");

    // The worker keeps serving: a good identity still works.
    let good = user
        .create_identity(&CreateIdentityRequest {
            name: "ok".into(),
            provider: CloudProvider::Gcp,
            settings: json!({
                "project_id": config.project, "project_number": "123456789012",
                "audience": config.audience,
            }),
        })
        .await
        .expect("create identity");
    let job = run(&user, good.id, JobType::FetchResources).await;
    assert_eq!(job.status, JobStatus::Success, "{job:#?}");
}

fn azure_worker(fake: &FakeAzure, token_file: Option<&std::path::Path>) -> TendrilOptions {
    let mut env = vec![
        ("AWS_ACCESS_KEY_ID".into(), "AKIAWORKERKEY".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "worker-secret-key".into()),
        ("AWS_REGION".into(), "eu-west-1".into()),
        ("NO_PROXY".into(), "127.0.0.1,localhost".into()),
        // The fake serves STS GetWebIdentityToken too (moto lacks it).
        ("TENDRIL_AWS_ENDPOINT_URL".into(), fake.url().into()),
        ("TENDRIL_AZURE_AUTHORITY_HOST".into(), fake.url().into()),
        ("TENDRIL_AZURE_ARM_URL".into(), fake.url().into()),
    ];
    if let Some(path) = token_file {
        env.push((
            "TENDRIL_AZURE_FEDERATED_TOKEN_FILE".into(),
            path.display().to_string(),
        ));
    }
    TendrilOptions {
        extra_env: env,
        ..TendrilOptions::default()
    }
}

async fn azure_identity(
    user: &UserApiClient,
    config: &FakeAzureConfig,
    source: &str,
) -> uuid::Uuid {
    user.create_identity(&CreateIdentityRequest {
        name: format!("azure {source}"),
        provider: CloudProvider::Azure,
        settings: json!({
            "tenant_id": config.tenant, "client_id": config.client,
            "subscription_id": config.subscription, "assertion_source": source,
        }),
    })
    .await
    .expect("create identity")
    .id
}

/// No token the fake issued (nor the assertions) appears in the job's stored log or result.
async fn assert_no_azure_secret(
    user: &UserApiClient,
    fake: &FakeAzure,
    config: &FakeAzureConfig,
    job: &grape_api::Job,
) {
    let log: Vec<String> = all_logs(user, job.id)
        .await
        .into_iter()
        .map(|l| l.text)
        .collect();
    let result = job
        .result
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let error = job.error.clone().unwrap_or_default();
    let mut secrets = fake.issued_tokens();
    secrets.push(config.assertion.clone());
    secrets.push(config.aws_web_identity_token.clone());
    for secret in secrets {
        assert!(
            log.iter().all(|l| !l.contains(&secret)),
            "a secret in the log"
        );
        assert!(!result.contains(&secret) && !error.contains(&secret));
    }
}

#[tokio::test]
async fn an_azure_identity_on_the_workers_aws_identity_is_tested_and_cached() {
    let config = FakeAzureConfig::default();
    let fake = FakeAzure::start(config.clone());
    let server = trellis().await;
    let _worker = Tendril::start(&server, "e2e-azure", azure_worker(&fake, None)).await;
    let user = server.user_client();
    let id = azure_identity(&user, &config, "aws").await;
    let job = run(&user, id, JobType::ConnectionTest).await;
    assert_eq!(job.status, JobStatus::Success, "{job:#?}");
    let doc = user
        .get_identity(id)
        .await
        .expect("identity")
        .credentials
        .expect("cached");
    assert_eq!(doc["discovery"]["provider"], "azure", "{doc}");
    assert_eq!(
        doc["discovery"]["networks"].as_array().map(Vec::len),
        Some(config.vnets)
    );
    assert_eq!(doc["identity"]["subscription_name"], "Acme Production");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.starts_with("POST /?") || r == "POST /?"),
        "the assertion came from STS GetWebIdentityToken: {:#?}",
        fake.requests()
    );
    assert_no_azure_secret(&user, &fake, &config, &job).await;
}

#[tokio::test]
async fn a_federated_subject_mismatch_fails_with_what_to_fix() {
    let config = FakeAzureConfig::default();
    let fake = FakeAzure::start(config.clone());
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("federated-token");
    std::fs::write(&token, "eyJ.not-the-federated-subject.sig").unwrap();
    let server = trellis().await;
    let _worker = Tendril::start(&server, "e2e-azure-bad", azure_worker(&fake, Some(&token))).await;
    let user = server.user_client();
    let id = azure_identity(&user, &config, "file").await;
    let job = run(&user, id, JobType::ConnectionTest).await;
    assert_eq!(job.status, JobStatus::Failed, "{job:#?}");
    let reason = job.error.clone().unwrap_or_default();
    assert!(reason.contains("Azure:"), "{reason}");
    assert!(reason.contains("federated subject mismatch"), "{reason}");
    assert!(reason.contains("AADSTS70021"), "{reason}");
    assert_no_azure_secret(&user, &fake, &config, &job).await;
}
