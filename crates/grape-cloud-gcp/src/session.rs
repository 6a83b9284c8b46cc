//! GCP behind the cloud-neutral session contract: [`GcpConnector`] (how this worker reaches
//! Google: endpoints, its subject token source, renewal) opens a [`GcpSession`] whose access
//! token renews itself before it expires.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use grape_api::cloud::ToolFile;
use grape_api::identity::GcpIdentitySettings;
use grape_api::{
    CloudConnector, CloudFailure, CloudFailureKind, CloudProvider, CloudSession, ClusterToken,
    Discovery, IdentitySettings, RenewalPolicy, Renewing, SessionEvents, VerifiedIdentity,
};
use serde_json::json;

use crate::GcpEndpoints;
use crate::discover::{Lister, discover};
use crate::subject::SubjectSource;
use crate::token::{AccessToken, mint};

/// Where gcloud finds the access token, inside the job's workspace.
const GCLOUD_TOKEN_FILE: &str = ".vintner/gcp-access-token";

/// GCP as this worker reaches it.
#[derive(Debug, Clone)]
pub struct GcpConnector {
    endpoints: GcpEndpoints,
    subject: SubjectSource,
    renewal: RenewalPolicy,
    page_size: Option<u32>,
    http: reqwest::Client,
}

impl GcpConnector {
    /// A connector exchanging subject tokens from `subject` at `endpoints`.
    pub fn new(endpoints: GcpEndpoints, subject: SubjectSource, renewal: RenewalPolicy) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .user_agent(concat!("vintner-tendril/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            endpoints,
            subject,
            renewal,
            page_size: None,
            http,
        }
    }

    /// Items per page of the discovery's lists (tests: several pages).
    #[must_use]
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    fn check_source(&self, identity: &GcpIdentitySettings) -> Result<(), CloudFailure> {
        use grape_api::identity::GcpSubjectTokenSource as Wanted;
        let ok = match identity.subject_token_source {
            Wanted::Aws => self.subject.is_aws(),
            Wanted::File => !self.subject.is_aws(),
        };
        if ok {
            return Ok(());
        }
        let (wanted, configure) = match identity.subject_token_source {
            Wanted::Aws => ("`aws`", "unset TENDRIL_GCP_SUBJECT_TOKEN_FILE"),
            Wanted::File => ("`file`", "set TENDRIL_GCP_SUBJECT_TOKEN_FILE on the worker"),
        };
        Err(CloudFailure::new(
            CloudFailureKind::Unsupported,
            "SUBJECT_TOKEN_SOURCE",
            format!(
                "the identity's subject_token_source is {wanted}, which this worker is not \
                 configured for: {configure}, or change the identity"
            ),
        ))
    }
}

#[async_trait]
impl CloudConnector for GcpConnector {
    fn provider(&self) -> CloudProvider {
        CloudProvider::Gcp
    }

    async fn open(
        &self,
        settings: &IdentitySettings,
        events: SessionEvents,
    ) -> Result<Arc<dyn CloudSession>, CloudFailure> {
        let IdentitySettings::Gcp(identity) = settings else {
            return Err(CloudFailure::new(
                CloudFailureKind::Unsupported,
                "UNSUPPORTED",
                format!(
                    "the GCP connector cannot open a {} identity",
                    settings.provider()
                ),
            ));
        };
        self.check_source(identity)?;
        let first = mint(&self.http, &self.endpoints, &self.subject, identity).await?;
        events.secret(first.token.expose());
        let file = ToolFile::new(GCLOUD_TOKEN_FILE);
        let renewed_file = file.clone();
        let (http, endpoints, subject, id) = (
            self.http.clone(),
            self.endpoints.clone(),
            self.subject.clone(),
            identity.clone(),
        );
        let token = Renewing::start(
            first,
            self.renewal,
            move || {
                let (http, endpoints, subject, id) =
                    (http.clone(), endpoints.clone(), subject.clone(), id.clone());
                async move { mint(&http, &endpoints, &subject, &id).await }
            },
            move |next: &AccessToken| {
                events.secret(next.token.expose());
                events.renewed(Some(next.expires_at));
                renewed_file.rewrite_all(next.token.expose());
            },
        );
        Ok(Arc::new(GcpSession {
            identity: identity.clone(),
            token,
            file,
            connector: self.clone(),
        }))
    }
}

/// A GCP identity's access token for one job, renewed before it expires (until dropped).
#[derive(Debug)]
pub struct GcpSession {
    identity: GcpIdentitySettings,
    token: Renewing<AccessToken>,
    file: ToolFile,
    connector: GcpConnector,
}

#[async_trait]
impl CloudSession for GcpSession {
    fn provider(&self) -> CloudProvider {
        CloudProvider::Gcp
    }

    fn tool_env(&self, workspace: &Path) -> Vec<(String, String)> {
        let current = self.token.current();
        let project = self.identity.project_id.clone();
        let mut env = vec![
            (
                "GOOGLE_OAUTH_ACCESS_TOKEN".to_owned(),
                current.token.expose().to_owned(),
            ),
            ("GOOGLE_PROJECT".to_owned(), project.clone()),
            ("CLOUDSDK_CORE_PROJECT".to_owned(), project),
        ];
        if let Some(file) = self.file.write(workspace, current.token.expose()) {
            env.push((
                "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE".to_owned(),
                file.to_string_lossy().into_owned(),
            ));
        }
        env
    }

    fn expires_at(&self) -> Option<DateTime<Utc>> {
        Some(self.token.current().expires_at)
    }

    fn renewals(&self) -> u64 {
        self.token.renewals()
    }

    async fn verify(&self) -> Result<VerifiedIdentity, CloudFailure> {
        // A fresh exchange (and impersonation): the check is that both succeed now.
        let c = &self.connector;
        let fresh = mint(&c.http, &c.endpoints, &c.subject, &self.identity).await?;
        Ok(VerifiedIdentity {
            principal: fresh.principal.clone(),
            account: self.identity.project_id.clone(),
            details: json!({
                "project_id": self.identity.project_id,
                "project_number": self.identity.project_number,
                "audience": self.identity.audience,
                "service_account": self.identity.service_account,
                "token_expires_at": fresh.expires_at,
            }),
        })
    }

    async fn discover(&self) -> Discovery {
        let current = self.token.current();
        let lister = Lister {
            http: &self.connector.http,
            endpoints: &self.connector.endpoints,
            token: current.token.expose(),
            page_size: self.connector.page_size,
        };
        discover(&lister, &self.identity.project_id, &self.identity.regions).await
    }

    /// GKE accepts the identity's OAuth access token (cloud-platform scope) as its bearer
    /// token, as `gke-gcloud-auth-plugin` hands it to kubectl: the current one, renewed by the
    /// session before it expires.
    async fn cluster_token(&self, _cluster: &str) -> Result<ClusterToken, CloudFailure> {
        let current = self.token.current();
        Ok(ClusterToken {
            token: current.token.clone(),
            expires_at: current.expires_at,
        })
    }

    fn discovery_scope(&self) -> Vec<String> {
        if self.identity.regions.is_empty() {
            vec![format!(
                "every region of project {}",
                self.identity.project_id
            )]
        } else {
            self.identity.regions.clone()
        }
    }
}
