//! The spec's "assume cloud credentials" step, for every provider: a job's cloud identity
//! becomes a [`CloudSession`] (grape-api's cloud-neutral contract) whose credentials are
//! renewed during the job, registered with the redactor the moment they are minted, and handed
//! to children through the environment only.
//!
//! How this host reaches each cloud is [`CloudSettings`] (worker configuration, never an
//! identity's settings); which provider crate serves it is decided here alone, so nothing
//! outside this crate names a provider's types.

use std::path::PathBuf;
use std::sync::Arc;

use grape_api::{
    CloudConnector, CloudFailure, CloudProvider, CloudSession, IdentitySettings, Job,
    RenewalPolicy, Secret, SessionEvents,
};
use grape_process::Redactor;

use crate::{JobError, JobLog, ProvisionerSettings};

/// How this host reaches AWS: its own credentials, from which job identities are assumed.
#[derive(Debug, Clone, Default)]
pub struct AwsAccess {
    /// Endpoint override of every AWS call made for a job (STS, discovery) and of its tools
    /// (`AWS_ENDPOINT_URL`): an AWS-compatible API, a VPC endpoint, moto in tests.
    pub endpoint_url: Option<String>,
    /// Assume identities with `sts:AssumeRoleWithWebIdentity` and the OIDC token in this file
    /// (EKS IRSA, a CI's token) instead of the host's own credentials.
    pub web_identity_token_file: Option<PathBuf>,
    /// Explicit keys instead of the SDK's default chain (environment, profile, ECS task role,
    /// instance profile).
    pub static_keys: Option<StaticKeys>,
}

/// Explicit AWS keys.
#[derive(Debug, Clone)]
pub struct StaticKeys {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: Secret,
    /// Session token of temporary keys.
    pub session_token: Option<Secret>,
}

impl AwsAccess {
    /// The AWS SDK credentials these settings describe.
    pub(crate) fn base(&self) -> grape_cloud_aws::BaseCredentials {
        let mut base = match &self.static_keys {
            Some(keys) => grape_cloud_aws::BaseCredentials::from_static(
                keys.access_key_id.clone(),
                keys.secret_access_key.expose().to_owned(),
                keys.session_token.as_ref().map(|t| t.expose().to_owned()),
            ),
            None => grape_cloud_aws::BaseCredentials::default_chain(),
        };
        if let Some(url) = &self.endpoint_url {
            base = base.with_endpoint_url(url.clone());
        }
        if let Some(path) = &self.web_identity_token_file {
            base = base.with_web_identity_token_file(path.clone());
        }
        base
    }
}

/// How this host reaches GCP (worker configuration; `None` endpoints are Google's own).
#[derive(Debug, Clone, Default)]
pub struct GcpAccess {
    /// The STS token endpoint (`TENDRIL_GCP_STS_URL`).
    pub sts_url: Option<String>,
    /// The IAM Credentials API (`TENDRIL_GCP_IAM_CREDENTIALS_URL`).
    pub iam_credentials_url: Option<String>,
    /// The Compute Engine API (`TENDRIL_GCP_COMPUTE_URL`).
    pub compute_url: Option<String>,
    /// The Cloud DNS API (`TENDRIL_GCP_DNS_URL`).
    pub dns_url: Option<String>,
    /// The OIDC subject token file (`TENDRIL_GCP_SUBJECT_TOKEN_FILE`); `None`: the subject
    /// token is a `GetCallerIdentity` request signed with this host's own AWS credentials
    /// ([`CloudSettings::aws`]).
    pub subject_token_file: Option<PathBuf>,
    /// The AWS region whose STS the signed subject token names (default `us-east-1`).
    pub aws_signing_region: Option<String>,
}

/// How this host reaches Azure (worker configuration; `None` endpoints are Azure's own).
#[derive(Debug, Clone, Default)]
pub struct AzureAccess {
    /// The Entra ID authority host (`TENDRIL_AZURE_AUTHORITY_HOST`).
    pub authority_host: Option<String>,
    /// The Resource Manager base (`TENDRIL_AZURE_ARM_URL`).
    pub arm_url: Option<String>,
    /// The federated token file presented as client assertion
    /// (`TENDRIL_AZURE_FEDERATED_TOKEN_FILE`); `None`: a web identity token of this host's own
    /// AWS identity (`sts:GetWebIdentityToken`, [`CloudSettings::aws`]).
    pub federated_token_file: Option<PathBuf>,
}

/// The clouds this host serves and how it reaches them.
#[derive(Debug, Clone, Default)]
pub struct CloudSettings {
    /// AWS.
    pub aws: AwsAccess,
    /// GCP.
    pub gcp: GcpAccess,
    /// Azure.
    pub azure: AzureAccess,
    /// When sessions renew their credentials.
    pub renewal: RenewalPolicy,
    /// Items per page asked of every paginated discovery call; `None` leaves each API's
    /// default (tests ask for small pages to cross page boundaries).
    pub discovery_page_size: Option<i32>,
    /// Connectors that replace the built-in one of their provider (a service linking this
    /// crate with its own way to a cloud; tests).
    pub connectors: Vec<Arc<dyn CloudConnector>>,
    /// The built-in connectors made so far, shared by every clone of these settings (one HTTP
    /// client and credentials chain per provider and host, not one per job). Leave it default.
    pub built: BuiltConnectors,
}

/// The connectors [`CloudSettings::connector`] has made, by provider.
#[derive(Debug, Clone, Default)]
pub struct BuiltConnectors(Arc<std::sync::Mutex<Vec<Built>>>);

/// One built connector and its provider.
type Built = (CloudProvider, Arc<dyn CloudConnector>);

impl CloudSettings {
    /// The connector serving `provider` on this host.
    pub fn connector(&self, provider: &CloudProvider) -> Result<Arc<dyn CloudConnector>, JobError> {
        if let Some(custom) = self.connectors.iter().find(|c| &c.provider() == provider) {
            return Ok(Arc::clone(custom));
        }
        let mut built = self
            .built
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, made)) = built.iter().find(|(p, _)| p == provider) {
            return Ok(Arc::clone(made));
        }
        let made = self.build_connector(provider)?;
        built.push((provider.clone(), Arc::clone(&made)));
        Ok(made)
    }

    fn build_connector(
        &self,
        provider: &CloudProvider,
    ) -> Result<Arc<dyn CloudConnector>, JobError> {
        match provider {
            CloudProvider::Aws => {
                let refresh = grape_cloud_aws::RefreshOptions {
                    margin: self.renewal.margin,
                    min_interval: self.renewal.min_interval,
                    retry_delay: self.renewal.retry_delay,
                };
                let mut aws = grape_cloud_aws::AwsConnector::new(self.aws.base(), refresh);
                if let Some(n) = self.discovery_page_size {
                    aws = aws.page_size(n);
                }
                Ok(Arc::new(aws))
            }
            CloudProvider::Gcp => Ok(Arc::new(self.gcp_connector())),
            CloudProvider::Azure => Ok(Arc::new(self.azure_connector())),
            CloudProvider::Unknown(other) => Err(JobError::Failed(format!(
                "this worker cannot assume `{other}` identities (it serves: aws, gcp, azure)"
            ))),
        }
    }

    fn azure_connector(&self) -> grape_cloud_azure::AzureConnector {
        let defaults = grape_cloud_azure::AzureEndpoints::default();
        let pick = |url: &Option<String>, default: String| {
            url.as_deref()
                .map_or(default, |u| u.trim_end_matches('/').to_owned())
        };
        let endpoints = grape_cloud_azure::AzureEndpoints {
            authority_host: pick(&self.azure.authority_host, defaults.authority_host),
            arm: pick(&self.azure.arm_url, defaults.arm),
        };
        let assertion = match &self.azure.federated_token_file {
            Some(path) => grape_cloud_azure::AssertionSource::File(path.clone()),
            None => grape_cloud_azure::AssertionSource::External(Arc::new(WorkerAwsAssertion {
                base: self.aws.base(),
            })),
        };
        grape_cloud_azure::AzureConnector::new(endpoints, assertion, self.renewal)
    }

    fn gcp_connector(&self) -> grape_cloud_gcp::GcpConnector {
        let defaults = grape_cloud_gcp::GcpEndpoints::default();
        let pick = |url: &Option<String>, default: String| {
            url.as_deref()
                .map_or(default, |u| u.trim_end_matches('/').to_owned())
        };
        let endpoints = grape_cloud_gcp::GcpEndpoints {
            sts: self.gcp.sts_url.clone().unwrap_or(defaults.sts),
            iam_credentials: pick(&self.gcp.iam_credentials_url, defaults.iam_credentials),
            compute: pick(&self.gcp.compute_url, defaults.compute),
            dns: pick(&self.gcp.dns_url, defaults.dns),
        };
        let subject = match &self.gcp.subject_token_file {
            Some(path) => grape_cloud_gcp::SubjectSource::File(path.clone()),
            None => grape_cloud_gcp::SubjectSource::Aws(Arc::new(WorkerAwsKeys {
                base: self.aws.base(),
                region: self
                    .gcp
                    .aws_signing_region
                    .clone()
                    .unwrap_or_else(|| "us-east-1".to_owned()),
            })),
        };
        let mut gcp = grape_cloud_gcp::GcpConnector::new(endpoints, subject, self.renewal);
        if let Some(n) = self.discovery_page_size.and_then(|n| u32::try_from(n).ok()) {
            gcp = gcp.page_size(n);
        }
        gcp
    }
}

/// Web identity tokens of this host's own AWS identity: the client assertions of Azure
/// identities whose `assertion_source` is `aws`.
#[derive(Debug)]
struct WorkerAwsAssertion {
    base: grape_cloud_aws::BaseCredentials,
}

/// The audience Entra ID expects of a federated credential's token.
const AZURE_TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

#[async_trait::async_trait]
impl grape_cloud_azure::ClientAssertion for WorkerAwsAssertion {
    async fn assertion(&self) -> Result<Secret, CloudFailure> {
        let token =
            grape_cloud_aws::web_identity_token(&self.base, AZURE_TOKEN_EXCHANGE_AUDIENCE, 3600)
                .await
                .map_err(|e| {
                    let mut failure = grape_cloud_aws::cloud_failure(&e);
                    failure.message = format!(
                        "the worker's AWS identity could not make a web identity token for \
                         Azure (sts:GetWebIdentityToken; outbound identity federation must be \
                         enabled on the AWS account): {}",
                        failure.message
                    );
                    failure
                })?;
        Ok(Secret::new(token.expose()))
    }
}

/// This host's own AWS credentials, which sign the subject tokens of GCP identities.
#[derive(Debug)]
struct WorkerAwsKeys {
    base: grape_cloud_aws::BaseCredentials,
    region: String,
}

#[async_trait::async_trait]
impl grape_cloud_gcp::AwsKeySource for WorkerAwsKeys {
    async fn keys(&self) -> Result<grape_cloud_gcp::AwsKeys, String> {
        let creds = self
            .base
            .resolve(Some(&self.region))
            .await
            .map_err(|e| e.to_string())?;
        Ok(grape_cloud_gcp::AwsKeys {
            access_key_id: creds.access_key_id.clone(),
            secret_access_key: Secret::new(creds.secret_access_key.expose()),
            session_token: creds
                .session_token
                .as_ref()
                .map(|t| Secret::new(t.expose())),
        })
    }

    fn region(&self) -> String {
        self.region.clone()
    }
}

/// A cloud's name as messages print it: `AWS`, `GCP`, `Azure`.
pub fn provider_label(provider: &CloudProvider) -> &str {
    match provider {
        CloudProvider::Aws => "AWS",
        CloudProvider::Gcp => "GCP",
        CloudProvider::Azure => "Azure",
        CloudProvider::Unknown(other) => other,
    }
}

/// Opens the session of the cloud identity of `job`, if it has one. Every secret minted (now
/// and at each renewal) is added to `redactor` before anything can print it; each renewal is
/// noted in the job's `log` (with the new expiry, never a secret).
///
/// A job without an identity gets `Ok(None)`. A failure is a [`JobError::Failed`] with the
/// classified reason (what to fix), and no tool has run yet.
pub async fn open_session(
    job: &Job,
    settings: &ProvisionerSettings,
    redactor: &Redactor,
    log: &JobLog,
) -> Result<Option<Arc<dyn CloudSession>>, JobError> {
    let Some(identity) = &job.identity else {
        if let Some(id) = job.cloud_identity_id {
            return Err(JobError::Failed(format!(
                "the job names cloud identity {id}, but Trellis sent none of its settings"
            )));
        }
        return Ok(None);
    };
    let label = provider_label(&identity.provider).to_owned();
    let parsed = IdentitySettings::parse(&identity.provider, &identity.settings).map_err(|e| {
        JobError::Failed(format!(
            "{label}: the settings of cloud identity {} are invalid: {e}",
            identity.id
        ))
    })?;
    let connector = settings.cloud.connector(&identity.provider)?;
    let secrets = redactor.clone();
    let renewals = log.clone();
    let events = SessionEvents::new(
        move |secret| secrets.add(secret),
        move |until| {
            let until = until.map_or_else(
                || "without expiry".to_owned(),
                |t| format!("valid until {}", t.format("%Y-%m-%dT%H:%M:%SZ")),
            );
            renewals.system(format!(
                "renewed the cloud identity's credentials ({until})"
            ));
        },
    );
    let session = connector
        .open(&parsed, events)
        .await
        .map_err(|e| cloud_failure(&identity.provider, &e))?;
    Ok(Some(session))
}

/// A cloud failure as a job failure: `AWS: <what to fix>`.
pub(crate) fn cloud_failure(provider: &CloudProvider, e: &CloudFailure) -> JobError {
    JobError::Failed(format!("{}: {e}", provider_label(provider)))
}
