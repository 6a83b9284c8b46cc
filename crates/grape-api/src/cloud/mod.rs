//! The cloud-neutral session contract: "for this identity: an environment for tools (kept
//! fresh), verify, discover", implemented by each provider crate (`grape-cloud-aws`, …) and
//! used by the provisioning core, which never names a provider's types.
//!
//! A [`CloudConnector`] is one provider as this worker reaches it (endpoints, its own
//! credentials: worker configuration, never an identity's settings). [`CloudConnector::open`]
//! turns an identity's checked [`IdentitySettings`] into a [`CloudSession`]: credentials minted
//! now and renewed before they expire for as long as the session lives. Every secret the session
//! mints is handed to [`SessionEvents::secret`] before anything can print it.

mod files;
mod renewal;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use files::{ToolFile, read_token_file, write_private_file};
pub use renewal::{Expiring, RenewalPolicy, Renewing};

use crate::{CloudProvider, Discovery, IdentitySettings, Secret};

/// Why a session could not be opened, verified or used: what kind of problem, the provider's
/// own classification and a message that says what to fix. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CloudFailure {
    /// The kind of problem, across providers.
    pub kind: CloudFailureKind,
    /// The provider's classification, e.g. `ACCESS_DENIED`, `AADSTS70021`.
    pub code: String,
    /// What failed and what to fix.
    pub message: String,
}

impl CloudFailure {
    /// A failure of `kind` with the provider's `code` and a `message` saying what to fix.
    pub fn new(
        kind: CloudFailureKind,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The kinds of [`CloudFailure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CloudFailureKind {
    /// The identity's settings are wrong (role, audience, tenant, …).
    Settings,
    /// The provider refused: a trust policy, a role binding, a federated subject.
    Denied,
    /// The worker's own credentials are missing, rejected or expired.
    Credentials,
    /// The provider could not be reached.
    Network,
    /// The provider throttled the calls beyond the retries.
    Throttled,
    /// This worker cannot serve the identity's provider.
    Unsupported,
    /// Anything else; the message carries the provider's code and text.
    Other,
}

/// Where a session reports what it does: every secret it mints (to be redacted before it can
/// be printed) and every renewal.
#[derive(Clone)]
pub struct SessionEvents {
    secret: Arc<dyn Fn(&str) + Send + Sync>,
    renewed: Arc<dyn Fn(Option<DateTime<Utc>>) + Send + Sync>,
}

impl SessionEvents {
    /// Events going to `secret` (each minted secret) and `renewed` (each renewal after the
    /// first credentials, with their expiry).
    pub fn new(
        secret: impl Fn(&str) + Send + Sync + 'static,
        renewed: impl Fn(Option<DateTime<Utc>>) + Send + Sync + 'static,
    ) -> Self {
        Self {
            secret: Arc::new(secret),
            renewed: Arc::new(renewed),
        }
    }

    /// Events nobody listens to (tests, one-off calls).
    pub fn ignored() -> Self {
        Self::new(|_| {}, |_| {})
    }

    /// Reports a secret the session minted.
    pub fn secret(&self, secret: &str) {
        (self.secret)(secret);
    }

    /// Reports that the credentials were renewed, valid until `until`.
    pub fn renewed(&self, until: Option<DateTime<Utc>>) {
        (self.renewed)(until);
    }
}

impl fmt::Debug for SessionEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionEvents").finish_non_exhaustive()
    }
}

/// Who a verified session is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedIdentity {
    /// The principal: an ARN, a service account's e-mail, a client id.
    pub principal: String,
    /// The AWS account, GCP project or Azure subscription it reached.
    pub account: String,
    /// The provider's own answer (AWS: `{account, arn, user_id}`), stored with the discovery.
    pub details: Value,
}

/// A provider as this worker reaches it.
#[async_trait]
pub trait CloudConnector: Send + Sync + fmt::Debug {
    /// The provider served.
    fn provider(&self) -> CloudProvider;

    /// Mints the identity's credentials and keeps them fresh until the session is dropped.
    async fn open(
        &self,
        settings: &IdentitySettings,
        events: SessionEvents,
    ) -> Result<Arc<dyn CloudSession>, CloudFailure>;
}

/// The credentials of one identity for one job, renewed before they expire.
#[async_trait]
pub trait CloudSession: Send + Sync + fmt::Debug {
    /// The provider.
    fn provider(&self) -> CloudProvider;

    /// The variables a tool starting now in `workspace` needs (current credentials,
    /// region/project). Read at every start, so renewed credentials reach every later tool. A
    /// provider whose tools read a credential from a file (gcloud's access token, Azure's
    /// federated assertion) writes it into `workspace` here, mode 0600, and keeps it current
    /// while the session renews; the file goes with the workspace.
    fn tool_env(&self, workspace: &Path) -> Vec<(String, String)>;

    /// When the current credentials expire, if they do.
    fn expires_at(&self) -> Option<DateTime<Utc>>;

    /// How many times the credentials were renewed so far.
    fn renewals(&self) -> u64;

    /// Checks that the identity works (a `CONNECTION_TEST`): who it is.
    async fn verify(&self) -> Result<VerifiedIdentity, CloudFailure>;

    /// Lists what the identity can see. Never fails as a whole: a failed call is an entry of
    /// [`Discovery::errors`].
    async fn discover(&self) -> Discovery;

    /// The regions discovery lists, for the log line before it starts.
    fn discovery_scope(&self) -> Vec<String>;

    /// A bearer token for the provider's managed Kubernetes cluster named `cluster` (EKS,
    /// GKE, AKS), minted from the session's current credentials. Providers without one yet
    /// answer [`CloudFailureKind::Unsupported`].
    async fn cluster_token(&self, cluster: &str) -> Result<ClusterToken, CloudFailure> {
        Err(CloudFailure::new(
            CloudFailureKind::Unsupported,
            "UNSUPPORTED",
            format!(
                "Kubernetes tokens for {} clusters are not supported yet (cluster `{cluster}`)",
                self.provider()
            ),
        ))
    }
}

/// A bearer token for a Kubernetes API server, with its expiry.
#[derive(Debug, Clone)]
pub struct ClusterToken {
    /// The token (redacted in `Debug`).
    pub token: Secret,
    /// When it stops working; renew before.
    pub expires_at: DateTime<Utc>,
}
