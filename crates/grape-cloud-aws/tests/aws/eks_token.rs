//! EKS tokens against a real API server (the Kubernetes test peer) whose token webhook checks
//! them as EKS does: the SigV4 signature over the presigned STS URL and the `x-k8s-aws-id`
//! header (verified by the webhook itself, since moto does not check presigned signatures), then
//! the URL replayed to moto's STS. A broken signer — wrong key, another cluster, a token that is
//! not one — gets 401.

use grape_cloud_aws::{EksTokenRequest, SecretString, assume, eks_token};
use grape_testkit::{EksWebhook, KubeApi};

use crate::support::{base, identity, moto};

async fn get_namespaces(api: &KubeApi, token: &str) -> reqwest::StatusCode {
    let ca = reqwest::Certificate::from_pem_bundle(api.ca_pem().as_bytes()).expect("CA");
    let client = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only(ca)
        .build()
        .expect("client");
    client
        .get(format!("{}/api/v1/namespaces", api.url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("the API server answers")
        .status()
}

#[tokio::test]
async fn an_eks_token_from_assumed_credentials_is_accepted_and_broken_ones_are_not() {
    let moto = moto().await;
    let creds = assume(
        &identity(&moto, "vintner-target", &["us-east-1"]),
        &base(&moto),
    )
    .await
    .expect("assume");
    let webhook = EksWebhook::start(
        "web-dev",
        moto.endpoint_url(),
        &[(&creds.access_key_id, creds.secret_access_key.expose())],
    )
    .expect("the token webhook");
    let mut builder = KubeApi::builder().api_server_only();
    for arg in webhook.apiserver_args() {
        builder = builder.apiserver_arg(arg);
    }
    let api = builder.start().expect("an API server asking the webhook");

    let good = eks_token(&EksTokenRequest::from_credentials(&creds, "web-dev")).expect("token");
    assert!(good.token.expose().starts_with("k8s-aws-v1."));
    assert_eq!(
        get_namespaces(&api, good.token.expose()).await,
        200,
        "{}",
        webhook.log()
    );
    // The user the API server sees is the identity STS (moto) names for the token's key.
    let accepted = "accepted arn:aws:sts::123456789012:assumed-role/vintner-target/job-42";
    assert!(webhook.log().contains(accepted), "{}", webhook.log());

    // A token for another cluster: the webhook signs x-k8s-aws-id with its own cluster name.
    let other = eks_token(&EksTokenRequest::from_credentials(&creds, "web-prod")).unwrap();
    assert_eq!(get_namespaces(&api, other.token.expose()).await, 401);

    // Signed with a wrong secret key (a broken signer).
    let wrong = SecretString::new("not-the-secret-key");
    let bad = eks_token(&EksTokenRequest {
        secret_access_key: &wrong,
        ..EksTokenRequest::from_credentials(&creds, "web-dev")
    })
    .unwrap();
    assert_eq!(get_namespaces(&api, bad.token.expose()).await, 401);

    // A temporary key without its session token is no valid STS request either.
    let no_session = eks_token(&EksTokenRequest {
        session_token: None,
        ..EksTokenRequest::from_credentials(&creds, "web-dev")
    })
    .unwrap();
    assert_eq!(get_namespaces(&api, no_session.token.expose()).await, 401);

    assert_eq!(get_namespaces(&api, "k8s-aws-v1.bm90LWEtdXJs").await, 401);
    let log = webhook.log();
    assert!(log.contains("refused: signature does not match"), "{log}");
    assert!(log.contains("refused: not an STS URL"), "{log}");
    assert!(!log.contains(creds.secret_access_key.expose()));
}
