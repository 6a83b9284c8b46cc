//! The ARM token of an Azure identity: the worker's client assertion (a federated JWT) presented
//! to Microsoft Entra ID (`POST {authority}/{tenant}/oauth2/v2.0/token`, the
//! `client_credentials` grant with `client_assertion`), and AADSTS errors mapped to what to fix.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use grape_api::identity::AzureIdentitySettings;
use grape_api::{CloudFailure, CloudFailureKind, Expiring, Secret};
use serde::Deserialize;
use serde_json::Value;

use crate::AzureEndpoints;

/// The scope of Resource Manager.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// A client assertion made by whoever links this crate (the provisioner: a web identity token
/// of the worker's own AWS identity, `sts:GetWebIdentityToken`).
#[async_trait]
pub trait ClientAssertion: Send + Sync + fmt::Debug {
    /// A fresh assertion for the audience `api://AzureADTokenExchange`.
    async fn assertion(&self) -> Result<Secret, CloudFailure>;
}

/// Where the worker takes its client assertion.
#[derive(Debug, Clone)]
pub enum AssertionSource {
    /// The token file the worker is configured with (`TENDRIL_AZURE_FEDERATED_TOKEN_FILE`),
    /// read again at every renewal (Kubernetes and CI systems rotate it).
    File(PathBuf),
    /// Another source (the worker's AWS identity).
    External(Arc<dyn ClientAssertion>),
}

impl AssertionSource {
    /// The current assertion.
    pub async fn assertion(&self) -> Result<Secret, CloudFailure> {
        match self {
            Self::File(path) => {
                grape_api::cloud::read_token_file(
                    path,
                    "Azure federated token",
                    "TENDRIL_AZURE_FEDERATED_TOKEN_FILE",
                    "ASSERTION_FILE",
                )
                .await
            }
            Self::External(source) => source.assertion().await,
        }
    }

    /// Whether the assertion comes from the worker's AWS identity.
    pub fn is_external(&self) -> bool {
        matches!(self, Self::External(_))
    }
}

/// An ARM token, the assertion it was obtained with (tools present it themselves), and expiry.
#[derive(Debug, Clone)]
pub struct AzureCredentials {
    /// The Resource Manager bearer token.
    pub arm_token: Secret,
    /// The client assertion (for tools: `AZURE_FEDERATED_TOKEN_FILE`).
    pub assertion: Secret,
    /// When the ARM token expires.
    pub expires_at: DateTime<Utc>,
}

impl Expiring for AzureCredentials {
    fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: i64,
}

/// The scope of AKS clusters' API servers with Entra ID integration (the AKS server
/// application, the same in every tenant), as `kubelogin` asks for it.
pub(crate) const AKS_SCOPE: &str = "6dae42f8-4368-4678-94ff-3960e28e3630/.default";

/// Takes a fresh assertion and exchanges it for an ARM token.
pub(crate) async fn mint(
    http: &reqwest::Client,
    endpoints: &AzureEndpoints,
    source: &AssertionSource,
    identity: &AzureIdentitySettings,
) -> Result<AzureCredentials, CloudFailure> {
    mint_for(http, endpoints, source, identity, ARM_SCOPE).await
}

/// Takes a fresh assertion and exchanges it for a token of `scope`.
pub(crate) async fn mint_for(
    http: &reqwest::Client,
    endpoints: &AzureEndpoints,
    source: &AssertionSource,
    identity: &AzureIdentitySettings,
    scope: &str,
) -> Result<AzureCredentials, CloudFailure> {
    let assertion = source.assertion().await?;
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        endpoints.authority_host, identity.tenant_id
    );
    let form = [
        ("client_assertion", assertion.expose()),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_id", identity.client_id.as_str()),
        ("grant_type", "client_credentials"),
        ("scope", scope),
    ];
    let answer = http.post(&url).form(&form).send().await.map_err(|e| {
        CloudFailure::new(
            CloudFailureKind::Network,
            "NETWORK",
            format!("Microsoft Entra ID could not be reached at {url}: {e}"),
        )
    })?;
    let status = answer.status().as_u16();
    let body = answer.bytes().await.unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(entra_failure(
            status,
            &body[..body.len().min(MAX_ERROR_BYTES)],
            identity,
        ));
    }
    let token: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
        CloudFailure::new(
            CloudFailureKind::Other,
            "INVALID_ANSWER",
            format!("Entra ID's token answer is not what was expected: {e}"),
        )
    })?;
    Ok(AzureCredentials {
        arm_token: Secret::new(token.access_token),
        assertion,
        expires_at: Utc::now() + Duration::seconds(token.expires_in.max(0)),
    })
}

/// The AADSTS code of an Entra error body, and the body's description.
fn aadsts(body: &[u8]) -> (Option<u64>, String, String) {
    let doc: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = doc
        .pointer("/error_codes/0")
        .and_then(Value::as_u64)
        .or_else(|| {
            let text = doc.get("error_description")?.as_str()?;
            let digits: String = text
                .strip_prefix("AADSTS")?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        });
    let error = doc
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("error")
        .to_owned();
    // The description's first line: Entra appends trace and correlation ids after it.
    let description = doc
        .get("error_description")
        .and_then(Value::as_str)
        .map_or_else(
            || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            |d| d.lines().next().unwrap_or_default().to_owned(),
        );
    (code, error, description)
}

fn entra_failure(status: u16, body: &[u8], identity: &AzureIdentitySettings) -> CloudFailure {
    let (code, error, description) = aadsts(body);
    let (tenant, client) = (&identity.tenant_id, &identity.client_id);
    let (kind, hint) = match code {
        Some(70_021 | 700_211 | 700_212 | 700_213) => (
            CloudFailureKind::Denied,
            format!(
                "no federated credential of app {client} matches the worker's token: add one \
                 whose issuer and subject are the worker's (federated subject mismatch)"
            ),
        ),
        Some(700_016) => (
            CloudFailureKind::Settings,
            format!("there is no application {client} in tenant {tenant}: check client_id"),
        ),
        Some(90_002 | 900_023 | 90_013) => (
            CloudFailureKind::Settings,
            format!("tenant {tenant} does not exist or is not valid: check tenant_id"),
        ),
        Some(700_024 | 50_027 | 700_027) => (
            CloudFailureKind::Credentials,
            "the worker's client assertion is expired or malformed: check the worker's \
             federated token file / AWS web identity token"
                .to_owned(),
        ),
        _ if status == 429 => (
            CloudFailureKind::Throttled,
            "Entra ID throttled the token request".to_owned(),
        ),
        _ => (
            CloudFailureKind::Other,
            "Entra ID refused the token request".to_owned(),
        ),
    };
    let code_text = code.map_or_else(|| error.to_ascii_uppercase(), |c| format!("AADSTS{c}"));
    CloudFailure::new(
        kind,
        code_text,
        format!("{hint} (Entra ID: {status} {error}: {description})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_codes_say_what_to_fix() {
        let identity = AzureIdentitySettings {
            tenant_id: "t".into(),
            client_id: "c".into(),
            subscription_id: "s".into(),
            ..AzureIdentitySettings::default()
        };
        let body = br#"{"error":"invalid_client","error_description":"AADSTS70021: No matching federated identity record found for presented assertion.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[70021]}"#;
        let f = entra_failure(400, body, &identity);
        assert_eq!(f.kind, CloudFailureKind::Denied);
        assert_eq!(f.code, "AADSTS70021");
        assert!(f.message.contains("federated subject mismatch"), "{f}");
        assert!(!f.message.contains("Trace ID"), "{f}");
        let no_codes = br#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier 'c' was not found"}"#;
        let f = entra_failure(400, no_codes, &identity);
        assert_eq!(f.code, "AADSTS700016");
        assert_eq!(f.kind, CloudFailureKind::Settings);
        let f = entra_failure(502, b"<html>", &identity);
        assert_eq!(f.kind, CloudFailureKind::Other);
    }
}
