//! [`CredentialRefresher`]: keeps an assumed identity's credentials fresh during long jobs.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::credentials::{AwsCredentials, BaseCredentials, Signing, sdk_config};
use crate::error::{AwsError, AwsFailure};
use crate::identity::AwsIdentity;
use crate::sts::assume;

/// When and how often a [`CredentialRefresher`] re-assumes its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshOptions {
    /// Re-assume this long before the credentials expire (default 5 minutes).
    pub margin: Duration,
    /// Never re-assume more often than this, even when `margin` is as long as the session
    /// (default 30 seconds; tests shrink it to force refreshes).
    pub min_interval: Duration,
    /// After a failed refresh, try again this much later (default 15 seconds); the previous
    /// credentials stay in use meanwhile.
    pub retry_delay: Duration,
}

impl Default for RefreshOptions {
    fn default() -> Self {
        Self {
            margin: Duration::from_secs(300),
            min_interval: Duration::from_secs(30),
            retry_delay: Duration::from_secs(15),
        }
    }
}

/// Called with every new set of credentials, before anyone else can see them (register their
/// [`AwsCredentials::secrets`] with the log redactor here).
pub type CredentialsHook = Arc<dyn Fn(&AwsCredentials) + Send + Sync + 'static>;

#[derive(Debug, Default)]
struct RefreshState {
    refreshes: u64,
    last_error: Option<AwsFailure>,
}

/// Assumes an identity, then re-assumes it in a background task `margin` before each expiry,
/// publishing every new set through a `tokio::sync::watch` channel ([`Self::subscribe`]) and
/// a [`CredentialsHook`]. [`Self::provider`] gives SDK clients a provider that always hands out
/// the latest set. The task stops on [`Self::stop`] or when the refresher is dropped.
pub struct CredentialRefresher {
    current: watch::Receiver<Arc<AwsCredentials>>,
    state: Arc<Mutex<RefreshState>>,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for CredentialRefresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRefresher")
            .field("current", &*self.current.borrow())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl CredentialRefresher {
    /// Assumes `identity` with `base` (failing like [`assume`] if that fails), calls `hook` with
    /// the first set, and starts refreshing. Must be called inside a Tokio runtime.
    pub async fn start(
        identity: AwsIdentity,
        base: BaseCredentials,
        options: RefreshOptions,
        hook: CredentialsHook,
    ) -> Result<Self, AwsError> {
        let first = assume(&identity, &base).await?;
        hook(&first);
        let (tx, rx) = watch::channel(Arc::new(first));
        let state = Arc::new(Mutex::new(RefreshState::default()));
        let cancel = CancellationToken::new();
        let task = tokio::spawn(refresh_loop(
            identity,
            base,
            options,
            hook,
            tx,
            Arc::clone(&state),
            cancel.clone(),
        ));
        Ok(Self {
            current: rx,
            state,
            cancel,
            task: Some(task),
        })
    }

    /// The latest credentials.
    pub fn current(&self) -> Arc<AwsCredentials> {
        Arc::clone(&self.current.borrow())
    }

    /// A receiver that sees every new set of credentials.
    pub fn subscribe(&self) -> watch::Receiver<Arc<AwsCredentials>> {
        self.current.clone()
    }

    /// A credentials provider for SDK clients that always hands out the latest set.
    pub fn provider(&self) -> RefreshingProvider {
        RefreshingProvider {
            current: self.current.clone(),
        }
    }

    /// An SDK configuration signed through [`Self::provider`] for `region` (default: the primary
    /// one), honouring the endpoint override.
    pub async fn sdk_config(&self, region: Option<&str>) -> SdkConfig {
        let current = self.current();
        let provider = SharedCredentialsProvider::new(self.provider());
        sdk_config(
            region.unwrap_or(&current.region),
            current.endpoint_url.as_deref(),
            Signing::Provider(provider),
        )
        .await
    }

    /// How many times the credentials were renewed so far.
    pub fn refreshes(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .refreshes
    }

    /// The failure of the latest refresh attempt, cleared by the next success.
    pub fn last_error(&self) -> Option<AwsFailure> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_error
            .clone()
    }

    /// Stops refreshing and waits for the background task to end.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for CredentialRefresher {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// How long to wait before renewing `creds`: until `margin` before expiry, at least
/// `min_interval`; `None` for credentials that never expire.
fn next_wait(creds: &AwsCredentials, options: &RefreshOptions) -> Option<Duration> {
    let expiration = creds.expiration?;
    let until_expiry = (expiration - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    Some(
        until_expiry
            .saturating_sub(options.margin)
            .max(options.min_interval),
    )
}

async fn refresh_loop(
    identity: AwsIdentity,
    base: BaseCredentials,
    options: RefreshOptions,
    hook: CredentialsHook,
    tx: watch::Sender<Arc<AwsCredentials>>,
    state: Arc<Mutex<RefreshState>>,
    cancel: CancellationToken,
) {
    let mut wait = next_wait(&tx.borrow(), &options);
    loop {
        let Some(delay) = wait else {
            cancel.cancelled().await;
            return;
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        let result = tokio::select! {
            () = cancel.cancelled() => return,
            result = assume(&identity, &base) => result,
        };
        match result {
            Ok(creds) => {
                hook(&creds);
                wait = next_wait(&creds, &options);
                tx.send_replace(Arc::new(creds));
                let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                state.refreshes += 1;
                state.last_error = None;
                tracing::debug!(role_arn = %identity.role_arn, refreshes = state.refreshes, "renewed AWS credentials");
            }
            Err(err) => {
                tracing::warn!(role_arn = %identity.role_arn, error = %err, "cannot renew AWS credentials; retrying");
                state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .last_error = Some(err.failure());
                wait = Some(options.retry_delay);
            }
        }
    }
}

/// A credentials provider over a [`CredentialRefresher`]'s channel: always the latest set.
#[derive(Debug, Clone)]
pub struct RefreshingProvider {
    current: watch::Receiver<Arc<AwsCredentials>>,
}

impl ProvideCredentials for RefreshingProvider {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::ready(Ok(self.current.borrow().sdk_credentials()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretString;

    fn creds(expires_in: Option<chrono::Duration>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: SecretString::new("secret"),
            session_token: Some(SecretString::new("token")),
            expiration: expires_in.map(|d| Utc::now() + d),
            region: "us-east-1".into(),
            endpoint_url: None,
            assumed_role_arn: None,
        }
    }

    #[test]
    fn waits_until_margin_before_expiry_but_at_least_min_interval() {
        let options = RefreshOptions::default();
        let wait = next_wait(&creds(Some(chrono::Duration::hours(1))), &options).expect("expires");
        assert!(
            wait > Duration::from_secs(3280) && wait <= Duration::from_secs(3300),
            "{wait:?}"
        );
        let wait =
            next_wait(&creds(Some(chrono::Duration::minutes(2))), &options).expect("expires");
        assert_eq!(wait, options.min_interval);
        assert_eq!(next_wait(&creds(None), &options), None);
        assert!(creds(Some(chrono::Duration::minutes(2))).needs_refresh(options.margin));
        assert!(!creds(Some(chrono::Duration::hours(1))).needs_refresh(options.margin));
        assert!(!creds(None).needs_refresh(options.margin));
    }
}
