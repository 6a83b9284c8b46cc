//! Assume (AssumeRole, web identity), verify, and what the credentials show of themselves.

use std::collections::HashMap;

use chrono::Utc;
use grape_cloud_aws::{AwsIdentity, BaseCredentials, assume, verify};

use crate::support::{ACCOUNT, BASE_KEY_ID, base, identity, moto};

#[tokio::test]
async fn assume_role_gives_temporary_keys_that_every_later_call_uses() {
    let moto = moto().await;
    let identity = identity(&moto, "vintner-target", &["eu-west-1", "us-east-1"]);

    let creds = assume(&identity, &base(&moto)).await.expect("assume");
    assert!(creds.access_key_id.starts_with("ASIA"), "temporary key id");
    assert_ne!(creds.access_key_id, BASE_KEY_ID);
    assert_eq!(
        creds.region, "eu-west-1",
        "the first region is the primary one"
    );
    assert_eq!(creds.endpoint_url.as_deref(), Some(moto.endpoint_url()));
    let session_arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/vintner-target/job-42");
    assert_eq!(
        creds.assumed_role_arn.as_deref(),
        Some(session_arn.as_str())
    );
    // duration_seconds = 900 is honoured.
    let left = creds.expiration.expect("temporary credentials expire") - Utc::now();
    assert!(
        left.num_seconds() > 600 && left.num_seconds() <= 900,
        "{left}"
    );

    // GetCallerIdentity signed with the returned keys reports the assumed role, not the base user.
    let caller = verify(&creds).await.expect("verify");
    assert_eq!(caller.account, ACCOUNT);
    assert_eq!(caller.arn, session_arn);
    assert!(caller.user_id.ends_with(":job-42"), "{}", caller.user_id);
    let json = serde_json::to_value(&caller).expect("serialisable");
    assert_eq!(json["arn"], session_arn.as_str());

    // Any client built from the credentials uses them too.
    let config = creds.sdk_config(None).await;
    let provided = config.credentials_provider().expect("provider");
    let provided =
        aws_credential_types::provider::ProvideCredentials::provide_credentials(&provided)
            .await
            .expect("credentials");
    assert_eq!(provided.access_key_id(), creds.access_key_id);
    let caller = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect("sts");
    assert_eq!(caller.arn(), Some(session_arn.as_str()));

    // The environment for children, and the secrets for the redactor.
    let env: HashMap<String, String> = creds.env().into_iter().collect();
    assert_eq!(env["AWS_ACCESS_KEY_ID"], creds.access_key_id);
    assert_eq!(
        env["AWS_SECRET_ACCESS_KEY"],
        creds.secret_access_key.expose()
    );
    assert_eq!(
        Some(env["AWS_SESSION_TOKEN"].as_str()),
        creds
            .session_token
            .as_ref()
            .map(grape_cloud_aws::SecretString::expose)
    );
    assert_eq!(env["AWS_REGION"], "eu-west-1");
    assert_eq!(env["AWS_DEFAULT_REGION"], "eu-west-1");
    assert_eq!(env["AWS_ENDPOINT_URL"], moto.endpoint_url());
    assert_eq!(env.len(), 6);
    let secrets = creds.secrets();
    assert!(secrets.contains(&creds.secret_access_key.expose()));
    assert!(secrets.contains(&creds.access_key_id.as_str()));
    assert_eq!(secrets.len(), 3);

    // Nothing secret in Debug, nor in the serialisable summary.
    let shown = format!(
        "{creds:?} {:?}",
        serde_json::to_string(&creds.summary()).expect("json")
    );
    for secret in creds.secrets() {
        assert!(!shown.contains(secret), "a secret leaked: {shown}");
    }
    assert!(shown.contains("[REDACTED]"));
    assert!(!creds.needs_refresh(std::time::Duration::from_secs(60)));
    assert!(creds.needs_refresh(std::time::Duration::from_secs(3600)));
}

#[tokio::test]
async fn a_worker_web_identity_token_file_assumes_without_base_credentials() {
    let moto = moto().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(
        &token_file,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2aW50bmVyIn0.c2lnbmF0dXJl\n",
    )
    .expect("token");
    let identity = AwsIdentity {
        external_id: None,
        session_name: Some("oidc-session".into()),
        ..identity(&moto, "vintner-oidc", &["us-east-1"])
    };
    // The token file is the worker's configuration (TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE); the
    // default chain is never consulted: AssumeRoleWithWebIdentity is not signed.
    let worker = BaseCredentials::default_chain()
        .with_endpoint_url(moto.endpoint_url())
        .with_web_identity_token_file(&token_file);
    let creds = assume(&identity, &worker).await.expect("assume");
    let caller = verify(&creds).await.expect("verify");
    assert_eq!(
        caller.arn,
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/vintner-oidc/oidc-session")
    );
    let shown = format!("{creds:?}");
    assert!(!shown.contains("eyJhbGciOiJSUzI1NiJ9"), "{shown}");
}

#[tokio::test]
async fn base_credentials_resolve_to_keys_for_worker_jobs() {
    let moto = moto().await;
    let creds = base(&moto)
        .with_region("eu-central-1")
        .resolve(None)
        .await
        .expect("resolve");
    assert_eq!(creds.access_key_id, BASE_KEY_ID);
    assert_eq!(creds.region, "eu-central-1");
    assert_eq!(creds.expiration, None);
    assert!(!creds.needs_refresh(std::time::Duration::from_secs(86_400)));
    let env: HashMap<String, String> = creds.env().into_iter().collect();
    assert!(!env.contains_key("AWS_SESSION_TOKEN"));
    assert_eq!(env["AWS_ENDPOINT_URL"], moto.endpoint_url());
    let caller = verify(&creds).await.expect("verify base");
    assert_eq!(caller.account, ACCOUNT);
    assert!(!caller.arn.contains("assumed-role"), "{}", caller.arn);
}
