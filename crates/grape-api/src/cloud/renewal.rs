//! [`Renewing`]: credentials that renew themselves before they expire, for the providers whose
//! SDK does not do it for us (GCP access tokens, Azure ARM tokens). One loop for every
//! provider: renew `margin` before expiry (never more often than `min_interval`), keep the
//! current credentials and retry after `retry_delay` when a renewal fails.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::CloudFailure;

/// When a session renews its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalPolicy {
    /// Renew this long before the credentials expire (default 5 minutes).
    pub margin: Duration,
    /// Never renew more often than this (default 30 seconds; tests shrink it).
    pub min_interval: Duration,
    /// After a failed renewal, try again this much later (default 15 seconds); the previous
    /// credentials stay in use meanwhile.
    pub retry_delay: Duration,
}

impl Default for RenewalPolicy {
    fn default() -> Self {
        Self {
            margin: Duration::from_secs(300),
            min_interval: Duration::from_secs(30),
            retry_delay: Duration::from_secs(15),
        }
    }
}

impl RenewalPolicy {
    /// How long to wait before renewing credentials that expire at `expires_at` (now: `now`).
    pub fn wait_before_renewing(&self, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
        let left = (expires_at - now).to_std().unwrap_or_default();
        left.saturating_sub(self.margin).max(self.min_interval)
    }
}

/// Credentials with an expiry.
pub trait Expiring {
    /// When they stop working.
    fn expires_at(&self) -> DateTime<Utc>;
}

/// The current credentials of type `T`, renewed in a background task until dropped.
pub struct Renewing<T> {
    current: watch::Receiver<Arc<T>>,
    renewals: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl<T> fmt::Debug for Renewing<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renewing")
            .field("renewals", &self.renewals.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<T: Expiring + Send + Sync + 'static> Renewing<T> {
    /// Starts renewing `first` with `mint` per `policy`; `on_renewed` sees each new set before
    /// anyone else can (register its secrets there). Must be called inside a Tokio runtime.
    pub fn start<M, Fut>(
        first: T,
        policy: RenewalPolicy,
        mint: M,
        on_renewed: impl Fn(&T) + Send + Sync + 'static,
    ) -> Self
    where
        M: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, CloudFailure>> + Send,
    {
        let (tx, rx) = watch::channel(Arc::new(first));
        let renewals = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&renewals);
        let task = tokio::spawn(async move {
            loop {
                let expires_at = tx.borrow().expires_at();
                tokio::time::sleep(policy.wait_before_renewing(expires_at, Utc::now())).await;
                loop {
                    match mint().await {
                        Ok(next) => {
                            on_renewed(&next);
                            count.fetch_add(1, Ordering::Relaxed);
                            if tx.send(Arc::new(next)).is_err() {
                                return;
                            }
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "renewing cloud credentials failed; retrying");
                            tokio::time::sleep(policy.retry_delay).await;
                        }
                    }
                }
            }
        });
        Self {
            current: rx,
            renewals,
            task,
        }
    }

    /// The current credentials.
    pub fn current(&self) -> Arc<T> {
        Arc::clone(&self.current.borrow())
    }

    /// How many times they were renewed.
    pub fn renewals(&self) -> u64 {
        self.renewals.load(Ordering::Relaxed)
    }
}

impl<T> Drop for Renewing<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Token(u32, DateTime<Utc>);

    impl Expiring for Token {
        fn expires_at(&self) -> DateTime<Utc> {
            self.1
        }
    }

    #[test]
    fn waits_until_the_margin_but_at_least_the_minimum() {
        let policy = RenewalPolicy::default();
        let now = Utc::now();
        let in_an_hour = now + chrono::Duration::seconds(3600);
        assert_eq!(
            policy.wait_before_renewing(in_an_hour, now),
            Duration::from_secs(3300)
        );
        let past = now - chrono::Duration::seconds(10);
        assert_eq!(policy.wait_before_renewing(past, now), policy.min_interval);
    }

    #[tokio::test]
    async fn renews_before_expiry_and_keeps_the_old_set_on_failure() {
        let policy = RenewalPolicy {
            margin: Duration::from_secs(3600),
            min_interval: Duration::from_millis(20),
            retry_delay: Duration::from_millis(20),
        };
        let calls = Arc::new(AtomicU64::new(0));
        let minted = Arc::clone(&calls);
        let seen = Arc::new(AtomicU64::new(0));
        let hook = Arc::clone(&seen);
        let renewing = Renewing::start(
            Token(0, Utc::now()),
            policy,
            move || {
                let n = minted.fetch_add(1, Ordering::Relaxed);
                async move {
                    if n == 0 {
                        Err(CloudFailure::new(
                            super::super::CloudFailureKind::Network,
                            "NETWORK",
                            "down",
                        ))
                    } else {
                        Ok(Token(u32::try_from(n).unwrap_or(0), Utc::now()))
                    }
                }
            },
            move |t: &Token| hook.store(u64::from(t.0), Ordering::Relaxed),
        );
        let mut current = renewing.current.clone();
        current.wait_for(|t| t.0 >= 2).await.expect("renewed twice");
        assert!(renewing.renewals() >= 2);
        assert!(seen.load(Ordering::Relaxed) >= 2, "the hook saw each set");
        assert!(
            calls.load(Ordering::Relaxed) >= 3,
            "one failure, then renewals"
        );
    }
}
