//! Minting a GCP access token: the STS token exchange (RFC 8693, form fields as Google's STS
//! takes them), then — when the identity names a service account — our own
//! `generateAccessToken` call (google-cloud-auth hard-codes its URL; ours is worker
//! configuration). Every failure is classified with what to fix.

use chrono::{DateTime, Duration, Utc};
use grape_api::identity::GcpIdentitySettings;
use grape_api::{CloudFailure, CloudFailureKind, Expiring, Secret};
use serde::Deserialize;
use serde_json::json;

use crate::GcpEndpoints;
use crate::google::{GoogleError, read_json};
use crate::subject::SubjectSource;

/// The scope tools and our own calls get.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A GCP access token and when it expires.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The bearer token (redacted in `Debug`).
    pub token: Secret,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Who it acts as: the impersonated service account, or the federated principal.
    pub principal: String,
}

impl Expiring for AccessToken {
    fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

#[derive(Deserialize)]
struct StsAnswer {
    access_token: String,
    expires_in: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImpersonationAnswer {
    access_token: String,
    expire_time: DateTime<Utc>,
}

/// Exchanges a fresh subject token at STS, then impersonates the service account, if any.
pub(crate) async fn mint(
    http: &reqwest::Client,
    endpoints: &GcpEndpoints,
    subject: &SubjectSource,
    identity: &GcpIdentitySettings,
) -> Result<AccessToken, CloudFailure> {
    let subject_type = identity.subject_token_type().to_owned();
    let subject_token = subject.token(&identity.audience, &subject_type).await?;
    let form = [
        ("grant_type", TOKEN_EXCHANGE_GRANT),
        ("audience", identity.audience.as_str()),
        ("scope", CLOUD_PLATFORM_SCOPE),
        ("requested_token_type", ACCESS_TOKEN_TYPE),
        ("subject_token", subject_token.0.expose()),
        ("subject_token_type", subject_type.as_str()),
    ];
    let answer = http
        .post(&endpoints.sts)
        .form(&form)
        .send()
        .await
        .map_err(|e| network("the STS token exchange", &endpoints.sts, &e))?;
    let federated: StsAnswer = read_json(answer)
        .await
        .map_err(|e| sts_failure(&e, identity))?;
    let federated_until = Utc::now() + Duration::seconds(federated.expires_in.max(0));
    let Some(account) = &identity.service_account else {
        return Ok(AccessToken {
            token: Secret::new(federated.access_token),
            expires_at: federated_until,
            principal: format!("principal of {}", identity.audience),
        });
    };
    let url = format!(
        "{}/v1/projects/-/serviceAccounts/{account}:generateAccessToken",
        endpoints.iam_credentials
    );
    let answer = http
        .post(&url)
        .bearer_auth(&federated.access_token)
        .json(&json!({"scope": [CLOUD_PLATFORM_SCOPE], "lifetime": "3600s"}))
        .send()
        .await
        .map_err(|e| network("the service account impersonation", &url, &e))?;
    let impersonated: ImpersonationAnswer = read_json(answer)
        .await
        .map_err(|e| impersonation_failure(&e, account, identity))?;
    Ok(AccessToken {
        token: Secret::new(impersonated.access_token),
        expires_at: impersonated.expire_time,
        principal: account.clone(),
    })
}

fn network(what: &str, url: &str, e: &reqwest::Error) -> CloudFailure {
    CloudFailure::new(
        CloudFailureKind::Network,
        "NETWORK",
        format!("{what} could not reach {url}: {e}"),
    )
}

/// What an STS error means for the identity's settings.
fn sts_failure(e: &GoogleError, identity: &GcpIdentitySettings) -> CloudFailure {
    let audience = &identity.audience;
    let (kind, hint) = match e.code.as_str() {
        "invalid_request" if e.message.contains("audience") => (
            CloudFailureKind::Settings,
            format!(
                "the identity's audience `{audience}` is not a workload identity pool provider: \
                 it must be //iam.googleapis.com/projects/<project number>/locations/global/\
                 workloadIdentityPools/<pool>/providers/<provider>"
            ),
        ),
        "invalid_target" => (
            CloudFailureKind::Settings,
            format!(
                "the workload identity pool or provider of `{audience}` does not exist or is \
                 disabled: check the pool, the provider and the project number {}",
                identity.project_number
            ),
        ),
        "invalid_grant" | "unauthorized_client" | "access_denied" => (
            CloudFailureKind::Denied,
            format!(
                "the provider of `{audience}` refused the worker's subject token: check the \
                 provider's issuer / AWS account and its attribute condition"
            ),
        ),
        _ if e.status == 429 => (
            CloudFailureKind::Throttled,
            "Google's STS throttled the exchange".to_owned(),
        ),
        _ => (
            CloudFailureKind::Other,
            "the STS token exchange failed".to_owned(),
        ),
    };
    CloudFailure::new(
        kind,
        format!("STS_{}", e.code.to_ascii_uppercase()),
        format!(
            "{hint} (Google STS: {} {}: {})",
            e.status, e.code, e.message
        ),
    )
}

/// What an IAM Credentials error means for the identity's settings.
fn impersonation_failure(
    e: &GoogleError,
    account: &str,
    identity: &GcpIdentitySettings,
) -> CloudFailure {
    let (kind, hint) = match e.status {
        403 => (
            CloudFailureKind::Denied,
            format!(
                "the federated principal may not impersonate {account}: grant it \
                 roles/iam.workloadIdentityUser on the service account (principal set of the \
                 pool of `{}`)",
                identity.audience
            ),
        ),
        404 => (
            CloudFailureKind::Settings,
            format!("the service account {account} does not exist"),
        ),
        401 => (
            CloudFailureKind::Credentials,
            "IAM Credentials refused the federated token".to_owned(),
        ),
        429 => (
            CloudFailureKind::Throttled,
            "IAM Credentials throttled the impersonation".to_owned(),
        ),
        _ => (
            CloudFailureKind::Other,
            format!("impersonating {account} failed"),
        ),
    };
    CloudFailure::new(
        kind,
        format!("IAM_{}", e.code.to_ascii_uppercase()),
        format!(
            "{hint} (IAM Credentials: {} {}: {})",
            e.status, e.code, e.message
        ),
    )
}
