//! CredentialRefresher: re-assumes before expiry (forced here with a margin longer than the
//! 15-minute session, since STS sessions cannot be shorter), hook first, then the channel.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use grape_cloud_aws::{AwsErrorKind, CredentialRefresher, CredentialsHook, RefreshOptions};

use crate::support::{ACCOUNT, base, identity, moto};

const WAIT: Duration = Duration::from_secs(30);

fn options() -> RefreshOptions {
    RefreshOptions {
        // Longer than the 900 s session: every set is due at once, paced by min_interval.
        margin: Duration::from_secs(3600),
        min_interval: Duration::from_millis(200),
        retry_delay: Duration::from_millis(100),
    }
}

#[tokio::test]
async fn refresher_renews_keys_calls_the_hook_first_and_feeds_sdk_clients() {
    let moto = moto().await;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let hook_seen = Arc::clone(&seen);
    let hook: CredentialsHook = Arc::new(move |creds| {
        hook_seen
            .lock()
            .expect("lock")
            .push(creds.access_key_id.clone());
    });
    let refresher = CredentialRefresher::start(
        identity(&moto, "long-job", &["us-east-1"]),
        base(&moto),
        options(),
        hook,
    )
    .await
    .expect("start");
    let first = refresher.current();
    assert_eq!(
        *seen.lock().expect("lock"),
        std::slice::from_ref(&first.access_key_id),
        "hook sees the first set"
    );

    let mut updates = refresher.subscribe();
    let mut keys = vec![first.access_key_id.clone()];
    for _ in 0..2 {
        tokio::time::timeout(WAIT, updates.changed())
            .await
            .expect("a refresh in time")
            .expect("sender alive");
        let creds = Arc::clone(&updates.borrow_and_update());
        // The hook ran before the new set was published.
        assert!(seen.lock().expect("lock").contains(&creds.access_key_id));
        keys.push(creds.access_key_id.clone());
    }
    assert_ne!(keys[0], keys[1]);
    assert_ne!(keys[1], keys[2]);
    assert!(refresher.refreshes() >= 2);
    assert_eq!(refresher.last_error(), None);

    // An SDK client over the refresher always signs with the latest keys.
    let config = refresher.sdk_config(None).await;
    let shared = config.credentials_provider().expect("provider");
    let now = refresher.current();
    let provided = aws_credential_types::provider::ProvideCredentials::provide_credentials(&shared)
        .await
        .expect("credentials");
    let latest = refresher.current();
    assert!(
        provided.access_key_id() == now.access_key_id
            || provided.access_key_id() == latest.access_key_id,
        "the provider hands out the current set"
    );
    let caller = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect("sts");
    assert_eq!(
        caller.arn(),
        Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/long-job/job-42").as_str())
    );

    refresher.stop().await;
}

#[tokio::test]
async fn failed_refresh_keeps_the_last_credentials_and_reports_why() {
    let moto = moto().await;
    let hook: CredentialsHook = Arc::new(|_| {});
    let options = RefreshOptions {
        min_interval: Duration::from_millis(300),
        ..options()
    };
    let refresher = CredentialRefresher::start(
        identity(&moto, "long-job", &["us-east-1"]),
        base(&moto),
        options,
        hook,
    )
    .await
    .expect("start");
    let before = refresher.current();
    drop(moto);
    let deadline = tokio::time::Instant::now() + WAIT;
    while refresher.last_error().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failed refresh reported"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failure = refresher.last_error().expect("failure");
    assert_eq!(failure.kind, AwsErrorKind::Network, "{}", failure.message);
    let after = refresher.current();
    assert_eq!(
        refresher.refreshes(),
        0,
        "moto was gone before the first refresh"
    );
    assert_eq!(
        after.access_key_id, before.access_key_id,
        "the last good set stays"
    );
    for secret in after.secrets() {
        assert!(!failure.message.contains(secret));
    }
    refresher.stop().await;
}
