//! Azure behind the cloud-neutral session contract: [`AzureConnector`] (how this worker reaches
//! Entra ID and Resource Manager, and where it takes its client assertion) opens an
//! [`AzureSession`] whose ARM token and assertion renew themselves before they expire.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use grape_api::cloud::ToolFile;
use grape_api::identity::{AzureAssertionSource, AzureIdentitySettings};
use grape_api::{
    CloudConnector, CloudFailure, CloudFailureKind, CloudProvider, CloudSession, ClusterToken,
    Discovery, IdentitySettings, RenewalPolicy, Renewing, SessionEvents, VerifiedIdentity,
};
use serde_json::json;

use crate::AzureEndpoints;
use crate::arm::{Arm, discover};
use crate::token::{AKS_SCOPE, AssertionSource, AzureCredentials, mint, mint_for};

/// Where tools find the client assertion, inside the job's workspace.
const ASSERTION_FILE: &str = ".vintner/azure-federated-token";

/// Azure as this worker reaches it.
#[derive(Debug, Clone)]
pub struct AzureConnector {
    endpoints: AzureEndpoints,
    assertion: AssertionSource,
    renewal: RenewalPolicy,
    http: reqwest::Client,
}

impl AzureConnector {
    /// A connector presenting assertions from `assertion` at `endpoints`.
    pub fn new(
        endpoints: AzureEndpoints,
        assertion: AssertionSource,
        renewal: RenewalPolicy,
    ) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .user_agent(concat!("vintner-tendril/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            endpoints,
            assertion,
            renewal,
            http,
        }
    }

    fn check_source(&self, identity: &AzureIdentitySettings) -> Result<(), CloudFailure> {
        let ok = match identity.assertion_source {
            AzureAssertionSource::File => !self.assertion.is_external(),
            AzureAssertionSource::Aws => self.assertion.is_external(),
        };
        if ok {
            return Ok(());
        }
        let configure = match identity.assertion_source {
            AzureAssertionSource::File => {
                "`file`, but this worker has no TENDRIL_AZURE_FEDERATED_TOKEN_FILE: set it"
            }
            AzureAssertionSource::Aws => {
                "`aws`, but this worker is configured with TENDRIL_AZURE_FEDERATED_TOKEN_FILE: \
                 unset it to use the worker's AWS identity"
            }
        };
        Err(CloudFailure::new(
            CloudFailureKind::Unsupported,
            "ASSERTION_SOURCE",
            format!("the identity's assertion_source is {configure}, or change the identity"),
        ))
    }
}

#[async_trait]
impl CloudConnector for AzureConnector {
    fn provider(&self) -> CloudProvider {
        CloudProvider::Azure
    }

    async fn open(
        &self,
        settings: &IdentitySettings,
        events: SessionEvents,
    ) -> Result<Arc<dyn CloudSession>, CloudFailure> {
        let IdentitySettings::Azure(identity) = settings else {
            return Err(CloudFailure::new(
                CloudFailureKind::Unsupported,
                "UNSUPPORTED",
                format!(
                    "the Azure connector cannot open a {} identity",
                    settings.provider()
                ),
            ));
        };
        self.check_source(identity)?;
        let first = mint(&self.http, &self.endpoints, &self.assertion, identity).await?;
        events.secret(first.arm_token.expose());
        events.secret(first.assertion.expose());
        let file = ToolFile::new(ASSERTION_FILE);
        let renewed_file = file.clone();
        let (http, endpoints, source, id) = (
            self.http.clone(),
            self.endpoints.clone(),
            self.assertion.clone(),
            identity.clone(),
        );
        let reports = events.clone();
        let credentials = Renewing::start(
            first,
            self.renewal,
            move || {
                let (http, endpoints, source, id) =
                    (http.clone(), endpoints.clone(), source.clone(), id.clone());
                async move { mint(&http, &endpoints, &source, &id).await }
            },
            move |next: &AzureCredentials| {
                events.secret(next.arm_token.expose());
                events.secret(next.assertion.expose());
                events.renewed(Some(next.expires_at));
                renewed_file.rewrite_all(next.assertion.expose());
            },
        );
        Ok(Arc::new(AzureSession {
            identity: identity.clone(),
            credentials,
            file,
            connector: self.clone(),
            events: reports,
        }))
    }
}

/// An Azure identity's credentials for one job, renewed before they expire (until dropped).
#[derive(Debug)]
pub struct AzureSession {
    identity: AzureIdentitySettings,
    credentials: Renewing<AzureCredentials>,
    file: ToolFile,
    connector: AzureConnector,
    events: SessionEvents,
}

impl AzureSession {
    fn arm<'a>(&'a self, token: &'a str) -> Arm<'a> {
        Arm {
            http: &self.connector.http,
            base: &self.connector.endpoints.arm,
            token,
        }
    }
}

#[async_trait]
impl CloudSession for AzureSession {
    fn provider(&self) -> CloudProvider {
        CloudProvider::Azure
    }

    fn tool_env(&self, workspace: &Path) -> Vec<(String, String)> {
        let current = self.credentials.current();
        let id = &self.identity;
        let mut env: Vec<(String, String)> = [
            ("AZURE_TENANT_ID", &id.tenant_id),
            ("AZURE_CLIENT_ID", &id.client_id),
            ("AZURE_SUBSCRIPTION_ID", &id.subscription_id),
            ("ARM_TENANT_ID", &id.tenant_id),
            ("ARM_CLIENT_ID", &id.client_id),
            ("ARM_SUBSCRIPTION_ID", &id.subscription_id),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect();
        if let Some(file) = self.file.write(workspace, current.assertion.expose()) {
            let path = file.to_string_lossy().into_owned();
            env.push(("AZURE_FEDERATED_TOKEN_FILE".into(), path.clone()));
            env.push(("ARM_USE_OIDC".into(), "true".into()));
            env.push(("ARM_OIDC_TOKEN_FILE_PATH".into(), path));
        }
        env
    }

    fn expires_at(&self) -> Option<DateTime<Utc>> {
        Some(self.credentials.current().expires_at)
    }

    fn renewals(&self) -> u64 {
        self.credentials.renewals()
    }

    async fn verify(&self) -> Result<VerifiedIdentity, CloudFailure> {
        // A fresh token from the authority host, then a Resource Manager call with it.
        let c = &self.connector;
        let fresh = mint(&c.http, &c.endpoints, &c.assertion, &self.identity).await?;
        let subscription = self
            .arm(fresh.arm_token.expose())
            .subscription(&self.identity.subscription_id)
            .await?;
        Ok(VerifiedIdentity {
            principal: self.identity.client_id.clone(),
            account: self.identity.subscription_id.clone(),
            details: json!({
                "tenant_id": self.identity.tenant_id,
                "client_id": self.identity.client_id,
                "subscription_id": self.identity.subscription_id,
                "subscription_name": subscription.get("displayName"),
                "subscription_state": subscription.get("state"),
            }),
        })
    }

    async fn discover(&self) -> Discovery {
        let current = self.credentials.current();
        discover(
            &self.arm(current.arm_token.expose()),
            &self.identity.subscription_id,
        )
        .await
    }

    fn discovery_scope(&self) -> Vec<String> {
        vec![format!("subscription {}", self.identity.subscription_id)]
    }

    /// An Entra ID token for the AKS server application (what `kubelogin` gets), minted now
    /// from a fresh assertion: AKS clusters with Entra ID integration take it as the bearer.
    async fn cluster_token(&self, _cluster: &str) -> Result<ClusterToken, CloudFailure> {
        let c = &self.connector;
        let minted = mint_for(
            &c.http,
            &c.endpoints,
            &c.assertion,
            &self.identity,
            AKS_SCOPE,
        )
        .await?;
        self.events.secret(minted.arm_token.expose());
        Ok(ClusterToken {
            token: minted.arm_token,
            expires_at: minted.expires_at,
        })
    }
}
