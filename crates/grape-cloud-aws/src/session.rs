//! AWS behind the cloud-neutral session contract of grape-api: [`AwsConnector`] (how this
//! worker reaches AWS) opens an [`AwsSession`] (an identity's assumed, self-renewing
//! credentials) that hands tools their variables, verifies and discovers.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use grape_api::{
    CloudConnector, CloudFailure, CloudFailureKind, CloudProvider, CloudSession, ClusterToken,
    Discovery, IdentitySettings, SessionEvents, VerifiedIdentity,
};

use crate::credentials::{AwsCredentials, BaseCredentials};
use crate::discover::{DiscoveryOptions, discover};
use crate::error::{AwsError, AwsErrorKind};
use crate::refresh::{CredentialRefresher, CredentialsHook, RefreshOptions};
use crate::sts::verify;

/// AWS as this worker reaches it: its own credentials (from which identities are assumed),
/// when assumed credentials are renewed, and how discovery pages.
#[derive(Debug, Clone)]
pub struct AwsConnector {
    base: BaseCredentials,
    refresh: RefreshOptions,
    concurrency: usize,
    page_size: Option<i32>,
}

impl AwsConnector {
    /// A connector assuming identities with `base`, renewing per `refresh`.
    pub fn new(base: BaseCredentials, refresh: RefreshOptions) -> Self {
        Self {
            base,
            refresh,
            concurrency: crate::discover::DEFAULT_CONCURRENCY,
            page_size: None,
        }
    }

    /// Sets the items per page of every paginated discovery call (tests: several pages).
    #[must_use]
    pub fn page_size(mut self, page_size: i32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// The worker's own credentials.
    pub fn base(&self) -> &BaseCredentials {
        &self.base
    }
}

#[async_trait]
impl CloudConnector for AwsConnector {
    fn provider(&self) -> CloudProvider {
        CloudProvider::Aws
    }

    async fn open(
        &self,
        settings: &IdentitySettings,
        events: SessionEvents,
    ) -> Result<Arc<dyn CloudSession>, CloudFailure> {
        let IdentitySettings::Aws(identity) = settings else {
            return Err(CloudFailure::new(
                CloudFailureKind::Unsupported,
                "UNSUPPORTED",
                format!(
                    "the AWS connector cannot open a {} identity",
                    settings.provider()
                ),
            ));
        };
        let regions = identity.regions();
        let first = AtomicBool::new(true);
        let hook: CredentialsHook = Arc::new(move |creds: &AwsCredentials| {
            for secret in creds.secrets() {
                events.secret(secret);
            }
            if !first.swap(false, Ordering::Relaxed) {
                events.renewed(creds.expiration);
            }
        });
        let refresher =
            CredentialRefresher::start(identity.clone(), self.base.clone(), self.refresh, hook)
                .await
                .map_err(|e| failure(&e))?;
        let mut options = DiscoveryOptions::new(regions).concurrency(self.concurrency);
        options.page_size = self.page_size;
        Ok(Arc::new(AwsSession { refresher, options }))
    }
}

/// An AWS identity's credentials for one job, renewed before they expire (until dropped).
#[derive(Debug)]
pub struct AwsSession {
    refresher: CredentialRefresher,
    options: DiscoveryOptions,
}

impl AwsSession {
    /// The current credentials (for AWS calls of the worker's own, e.g. an EKS token).
    pub fn credentials(&self) -> Arc<AwsCredentials> {
        self.refresher.current()
    }
}

#[async_trait]
impl CloudSession for AwsSession {
    fn provider(&self) -> CloudProvider {
        CloudProvider::Aws
    }

    fn tool_env(&self, _workspace: &Path) -> Vec<(String, String)> {
        self.refresher.current().env()
    }

    fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.refresher.current().expiration
    }

    fn renewals(&self) -> u64 {
        self.refresher.refreshes()
    }

    async fn verify(&self) -> Result<VerifiedIdentity, CloudFailure> {
        let caller = verify(&self.credentials()).await.map_err(|e| failure(&e))?;
        Ok(VerifiedIdentity {
            principal: caller.arn.clone(),
            account: caller.account.clone(),
            details: serde_json::to_value(&caller).unwrap_or_default(),
        })
    }

    async fn discover(&self) -> Discovery {
        discover(&self.credentials(), &self.options).await
    }

    fn discovery_scope(&self) -> Vec<String> {
        self.options.regions.clone()
    }

    async fn cluster_token(&self, cluster: &str) -> Result<ClusterToken, CloudFailure> {
        let creds = self.credentials();
        let token = crate::eks_token::eks_token(
            &crate::eks_token::EksTokenRequest::from_credentials(&creds, cluster),
        )
        .map_err(|e| {
            CloudFailure::new(CloudFailureKind::Credentials, "EKS_TOKEN", e.to_string())
        })?;
        Ok(ClusterToken {
            token: grape_api::Secret::new(token.token.expose()),
            expires_at: token.expires_at,
        })
    }
}

/// An AWS error as a cloud-neutral failure (its message already says what to fix).
pub fn failure(e: &AwsError) -> CloudFailure {
    let kind = match e.kind() {
        AwsErrorKind::AccessDenied | AwsErrorKind::ExternalIdMismatch => CloudFailureKind::Denied,
        AwsErrorKind::InvalidCredentials
        | AwsErrorKind::ExpiredCredentials
        | AwsErrorKind::NoCredentials
        | AwsErrorKind::InvalidWebIdentityToken => CloudFailureKind::Credentials,
        AwsErrorKind::InvalidRoleArn | AwsErrorKind::InvalidSettings => CloudFailureKind::Settings,
        AwsErrorKind::Throttled => CloudFailureKind::Throttled,
        AwsErrorKind::Network => CloudFailureKind::Network,
        AwsErrorKind::Other => CloudFailureKind::Other,
    };
    CloudFailure::new(kind, e.kind().as_str(), e.to_string())
}
