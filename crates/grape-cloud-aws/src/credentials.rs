//! [`BaseCredentials`] (the worker's own) and [`AwsCredentials`] (concrete keys handed to SDK
//! clients and, through the environment only, to child processes).

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use aws_config::identity::IdentityCache;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AwsError;
use crate::identity::DEFAULT_REGION;
use crate::secret::SecretString;

/// The name our credentials carry inside the SDK (shown in SDK debug logs, never the keys).
pub(crate) const PROVIDER_NAME: &str = "grape-cloud-aws";

/// How long a TCP/TLS connection may take before the call counts as a network failure.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one attempt of one call may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Which credentials sign the requests of a client.
pub(crate) enum Signing {
    /// The default provider chain (environment, profile, web identity, ECS, IMDS).
    DefaultChain,
    /// A given provider, used without a cache (our providers are cheap and always current).
    Provider(SharedCredentialsProvider),
    /// No signing (`sts:AssumeRoleWithWebIdentity`).
    Unsigned,
}

/// Builds the SDK configuration every client of this crate starts from.
pub(crate) async fn sdk_config(
    region: &str,
    endpoint_url: Option<&str>,
    signing: Signing,
) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        );
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader = match signing {
        Signing::DefaultChain => loader,
        Signing::Provider(provider) => loader
            .credentials_provider(provider)
            .identity_cache(IdentityCache::no_cache()),
        Signing::Unsigned => loader.no_credentials(),
    };
    loader.load().await
}

/// The worker's own AWS credentials, used to assume cloud identities (and, for worker jobs, as
/// the platform's credentials): the default provider chain, or explicit static keys (tests).
#[derive(Debug, Clone)]
pub struct BaseCredentials {
    source: BaseSource,
    endpoint_url: Option<String>,
    region: Option<String>,
    web_identity_token_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
enum BaseSource {
    DefaultChain,
    Static(AwsCredentials),
}

impl BaseCredentials {
    /// The SDK's default provider chain: environment, profile, web identity, ECS task role,
    /// instance profile.
    pub fn default_chain() -> Self {
        Self {
            source: BaseSource::DefaultChain,
            endpoint_url: None,
            region: None,
            web_identity_token_file: None,
        }
    }

    /// Explicit keys (tests, or a worker configured with static keys).
    pub fn from_static(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        let creds = AwsCredentials {
            access_key_id: access_key_id.into(),
            secret_access_key: SecretString::new(secret_access_key),
            session_token: session_token.map(SecretString::new),
            expiration: None,
            region: DEFAULT_REGION.to_owned(),
            endpoint_url: None,
            assumed_role_arn: None,
        };
        Self {
            source: BaseSource::Static(creds),
            endpoint_url: None,
            region: None,
            web_identity_token_file: None,
        }
    }

    /// An endpoint override for every call made for a job (STS when assuming its identity, then
    /// the job's own clients and tools as `AWS_ENDPOINT_URL`). Worker configuration only.
    #[must_use]
    pub fn with_endpoint_url(mut self, endpoint_url: impl Into<String>) -> Self {
        self.endpoint_url = Some(endpoint_url.into());
        self
    }

    /// The region for calls made with these credentials when the caller names none.
    #[must_use]
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The endpoint override, if any.
    pub fn endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }

    /// Assume identities with `sts:AssumeRoleWithWebIdentity` and the OIDC token in `path`
    /// (read at each assume, so a rotated token is picked up) instead of these credentials.
    /// Worker configuration only (`TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE`).
    #[must_use]
    pub fn with_web_identity_token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.web_identity_token_file = Some(path.into());
        self
    }

    /// The web identity token file, if the worker assumes identities with one.
    pub fn web_identity_token_file(&self) -> Option<&std::path::Path> {
        self.web_identity_token_file.as_deref()
    }

    /// An SDK configuration signed with these credentials, for `region` (else the configured
    /// one, else `us-east-1`) and the endpoint override.
    pub async fn sdk_config(&self, region: Option<&str>) -> SdkConfig {
        let region = region.or(self.region.as_deref()).unwrap_or(DEFAULT_REGION);
        sdk_config(region, self.endpoint_url.as_deref(), self.signing()).await
    }

    pub(crate) fn signing(&self) -> Signing {
        match &self.source {
            BaseSource::DefaultChain => Signing::DefaultChain,
            BaseSource::Static(creds) => {
                Signing::Provider(SharedCredentialsProvider::new(creds.sdk_credentials()))
            }
        }
    }

    /// Known secret values (static keys only), so that no error message can echo them.
    pub fn secret_values(&self) -> Vec<&str> {
        match &self.source {
            BaseSource::DefaultChain => Vec::new(),
            BaseSource::Static(creds) => creds.secrets(),
        }
    }

    /// Resolves the credentials to concrete keys, e.g. to hand the platform's own credentials to
    /// a worker job's Terraform through the environment.
    pub async fn resolve(&self, region: Option<&str>) -> Result<AwsCredentials, AwsError> {
        let region = region
            .or(self.region.as_deref())
            .unwrap_or(DEFAULT_REGION)
            .to_owned();
        let endpoint_url = self.endpoint_url.clone();
        match &self.source {
            BaseSource::Static(creds) => Ok(AwsCredentials {
                region,
                endpoint_url,
                ..creds.clone()
            }),
            BaseSource::DefaultChain => {
                let config =
                    sdk_config(&region, endpoint_url.as_deref(), Signing::DefaultChain).await;
                let provider = config.credentials_provider().ok_or_else(|| AwsError::BaseCredentials {
                    message: "the default provider chain is disabled".to_owned(),
                    source: aws_credential_types::provider::error::CredentialsError::not_loaded_no_source(),
                })?;
                let creds = provider.provide_credentials().await.map_err(|source| {
                    AwsError::BaseCredentials {
                        message: source.to_string(),
                        source,
                    }
                })?;
                Ok(AwsCredentials::from_sdk(&creds, region, endpoint_url, None))
            }
        }
    }
}

/// Concrete AWS credentials: temporary ones from assuming an identity, or the worker's own.
/// `Debug` shows only the first characters of the access key id; the secret key and the session
/// token are [`SecretString`]s. Not serialisable on purpose: hand them to children with
/// [`AwsCredentials::env`] and register [`AwsCredentials::secrets`] with the log redactor.
#[derive(Clone)]
pub struct AwsCredentials {
    /// The access key id (`ASIA…` for temporary credentials).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretString,
    /// The session token of temporary credentials.
    pub session_token: Option<SecretString>,
    /// When the credentials expire (`None`: long-lived keys).
    pub expiration: Option<DateTime<Utc>>,
    /// The primary region.
    pub region: String,
    /// The endpoint override every client (and child) should use.
    pub endpoint_url: Option<String>,
    /// The assumed role's session ARN (`arn:aws:sts::…:assumed-role/ROLE/SESSION`).
    pub assumed_role_arn: Option<String>,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix: String = self.access_key_id.chars().take(4).collect();
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &format_args!("{prefix}…"))
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .field("expiration", &self.expiration)
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("assumed_role_arn", &self.assumed_role_arn)
            .finish()
    }
}

impl AwsCredentials {
    pub(crate) fn from_sdk(
        creds: &Credentials,
        region: String,
        endpoint_url: Option<String>,
        assumed_role_arn: Option<String>,
    ) -> Self {
        Self {
            access_key_id: creds.access_key_id().to_owned(),
            secret_access_key: SecretString::new(creds.secret_access_key()),
            session_token: creds.session_token().map(SecretString::new),
            expiration: creds.expiry().map(DateTime::<Utc>::from),
            region,
            endpoint_url,
            assumed_role_arn,
        }
    }

    /// The environment that hands these credentials to a child process: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (temporary credentials), `AWS_REGION`,
    /// `AWS_DEFAULT_REGION`, and `AWS_ENDPOINT_URL` when an endpoint override is configured.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("AWS_ACCESS_KEY_ID".to_owned(), self.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                self.secret_access_key.expose().to_owned(),
            ),
        ];
        if let Some(token) = &self.session_token {
            env.push(("AWS_SESSION_TOKEN".to_owned(), token.expose().to_owned()));
        }
        env.push(("AWS_REGION".to_owned(), self.region.clone()));
        env.push(("AWS_DEFAULT_REGION".to_owned(), self.region.clone()));
        if let Some(url) = &self.endpoint_url {
            env.push(("AWS_ENDPOINT_URL".to_owned(), url.clone()));
        }
        env
    }

    /// The values the log redactor must mask: the access key id, the secret access key and the
    /// session token.
    pub fn secrets(&self) -> Vec<&str> {
        let mut secrets = vec![self.access_key_id.as_str(), self.secret_access_key.expose()];
        if let Some(token) = &self.session_token {
            secrets.push(token.expose());
        }
        secrets
    }

    /// Whether the credentials expire within `margin` (never for long-lived keys).
    pub fn needs_refresh(&self, margin: Duration) -> bool {
        self.expiration.is_some_and(|expiration| {
            let margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::MAX);
            Utc::now()
                .checked_add_signed(margin)
                .is_none_or(|deadline| deadline >= expiration)
        })
    }

    /// The SDK's form of these credentials (for a client config or a provider).
    pub fn sdk_credentials(&self) -> Credentials {
        Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.expose().to_owned(),
            self.session_token.as_ref().map(|t| t.expose().to_owned()),
            self.expiration.map(SystemTime::from),
            PROVIDER_NAME,
        )
    }

    /// An SDK configuration signed with these credentials for `region` (default: the primary
    /// one), honouring the endpoint override: build any service client from it.
    pub async fn sdk_config(&self, region: Option<&str>) -> SdkConfig {
        let provider = SharedCredentialsProvider::new(self.sdk_credentials());
        sdk_config(
            region.unwrap_or(&self.region),
            self.endpoint_url.as_deref(),
            Signing::Provider(provider),
        )
        .await
    }

    /// A serialisable description without any secret, for a job result.
    pub fn summary(&self) -> CredentialsSummary {
        CredentialsSummary {
            assumed_role_arn: self.assumed_role_arn.clone(),
            expiration: self.expiration,
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

/// What can be said about credentials in a document: no key, no token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsSummary {
    /// The assumed role's session ARN.
    pub assumed_role_arn: Option<String>,
    /// When the credentials expire.
    pub expiration: Option<DateTime<Utc>>,
    /// The primary region.
    pub region: String,
    /// The endpoint override.
    pub endpoint_url: Option<String>,
}
