//! The subject token the worker exchanges at Google's STS: a `GetCallerIdentity` request signed
//! with the worker's own AWS credentials (AIP-4117, the Fargate case), or the OIDC token in a
//! file the worker is configured with. Never anything an identity's settings point at.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use grape_api::{CloudFailure, CloudFailureKind, Secret};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

/// The header that binds a signed AWS request to one workload identity pool provider.
pub const TARGET_RESOURCE_HEADER: &str = "x-goog-cloud-target-resource";

/// AWS keys to sign the subject token with.
#[derive(Clone)]
pub struct AwsKeys {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: Secret,
    /// Session token of temporary keys (ECS task role, assumed role).
    pub session_token: Option<Secret>,
}

impl fmt::Debug for AwsKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKeys")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The worker's own AWS credentials (resolved by whoever links this crate: the provisioner uses
/// the AWS SDK's default chain, ECS container credentials included).
#[async_trait]
pub trait AwsKeySource: Send + Sync + fmt::Debug {
    /// The current keys.
    async fn keys(&self) -> Result<AwsKeys, String>;
    /// The AWS region whose STS endpoint the signed request names.
    fn region(&self) -> String;
}

/// Where the worker takes its subject token.
#[derive(Debug, Clone)]
pub enum SubjectSource {
    /// Sign `GetCallerIdentity` with the worker's AWS credentials.
    Aws(Arc<dyn AwsKeySource>),
    /// Read the OIDC token in this file (`TENDRIL_GCP_SUBJECT_TOKEN_FILE`) at every exchange.
    File(PathBuf),
}

/// A subject token: its value (a secret) and the time it was made.
#[derive(Debug, Clone)]
pub struct SubjectToken(pub Secret);

/// The URL-encoded JSON of a SigV4-signed `POST sts.<region>.amazonaws.com GetCallerIdentity`
/// request whose signed headers include [`TARGET_RESOURCE_HEADER`] = `audience`.
pub fn aws_subject_token(
    keys: &AwsKeys,
    region: &str,
    audience: &str,
    time: SystemTime,
) -> Result<String, CloudFailure> {
    let host = format!("sts.{region}.amazonaws.com");
    let url = format!("https://{host}/?Action=GetCallerIdentity&Version=2011-06-15");
    let identity: Identity = Credentials::new(
        keys.access_key_id.clone(),
        keys.secret_access_key.expose(),
        keys.session_token.as_ref().map(|t| t.expose().to_owned()),
        None,
        "vintner-worker",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| signing_failure(&e))?
        .into();
    let unsigned = [("host", host.as_str()), (TARGET_RESOURCE_HEADER, audience)];
    let request = SignableRequest::new(
        "POST",
        url.as_str(),
        unsigned.iter().copied(),
        SignableBody::Bytes(b""),
    )
    .map_err(|e| signing_failure(&e))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| signing_failure(&e))?
        .into_parts();
    let mut headers: Vec<(String, String)> = unsigned
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (name, value) in instructions.headers() {
        headers.push((name.to_owned(), value.to_owned()));
    }
    headers.sort_by_key(|h| h.0.to_ascii_lowercase());
    let headers: Vec<_> = headers
        .into_iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect();
    let doc = json!({"url": url, "method": "POST", "headers": headers, "body": ""});
    Ok(utf8_percent_encode(&doc.to_string(), NON_ALPHANUMERIC).to_string())
}

fn signing_failure(e: &dyn std::error::Error) -> CloudFailure {
    CloudFailure::new(
        CloudFailureKind::Credentials,
        "AWS_SIGNING",
        format!("cannot sign the AWS subject token with the worker's AWS credentials: {e}"),
    )
}

impl SubjectSource {
    /// A subject token for `audience`, and its type.
    pub async fn token(
        &self,
        audience: &str,
        configured_type: &str,
    ) -> Result<SubjectToken, CloudFailure> {
        match self {
            Self::Aws(source) => {
                let keys = source.keys().await.map_err(|e| {
                    CloudFailure::new(
                        CloudFailureKind::Credentials,
                        "NO_AWS_CREDENTIALS",
                        format!(
                            "the worker's own AWS credentials, which sign its GCP subject token, \
                             are not available: {e}"
                        ),
                    )
                })?;
                let token =
                    aws_subject_token(&keys, &source.region(), audience, SystemTime::now())?;
                Ok(SubjectToken(Secret::new(token)))
            }
            Self::File(path) => grape_api::cloud::read_token_file(
                path,
                &format!("GCP subject token ({configured_type})"),
                "TENDRIL_GCP_SUBJECT_TOKEN_FILE",
                "SUBJECT_TOKEN_FILE",
            )
            .await
            .map(SubjectToken),
        }
    }

    /// Whether this source makes AWS subject tokens.
    pub fn is_aws(&self) -> bool {
        matches!(self, Self::Aws(_))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use percent_encoding::percent_decode_str;
    use serde_json::Value;

    use super::*;

    fn keys() -> AwsKeys {
        AwsKeys {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: Some(Secret::new("session-token-example")),
        }
    }

    fn decode(token: &str) -> Value {
        let text = percent_decode_str(token).decode_utf8().expect("utf-8");
        serde_json::from_str(&text).expect("json")
    }

    #[test]
    fn the_aws_subject_token_is_a_signed_get_caller_identity_bound_to_the_audience() {
        let audience = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/providers/aws";
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_126_400); // 2026-12-01T12:00:00Z
        let token = aws_subject_token(&keys(), "us-east-1", audience, time).expect("signed");
        assert!(!token.contains('{'), "URL-encoded: {token}");
        let doc = decode(&token);
        assert_eq!(
            doc["url"],
            "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
        );
        assert_eq!(doc["method"], "POST");
        assert_eq!(doc["body"], "");
        let header = |name: &str| {
            doc["headers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h["key"].as_str().unwrap().eq_ignore_ascii_case(name))
                .map(|h| h["value"].as_str().unwrap().to_owned())
        };
        assert_eq!(header("x-amz-date").as_deref(), Some("20261201T120000Z"));
        assert_eq!(header(TARGET_RESOURCE_HEADER).as_deref(), Some(audience));
        assert_eq!(
            header("x-amz-security-token").as_deref(),
            Some("session-token-example")
        );
        let auth = header("authorization").expect("signed");
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/sts/aws4_request, \
                 SignedHeaders=host;x-amz-date;x-amz-security-token;x-goog-cloud-target-resource, \
                 Signature="
            ),
            "{auth}"
        );
        // Same inputs, same signature (golden); another audience, another signature.
        let again = aws_subject_token(&keys(), "us-east-1", audience, time).unwrap();
        assert_eq!(again, token);
        let other = aws_subject_token(&keys(), "us-east-1", "//other", time).unwrap();
        assert_ne!(decode(&other)["headers"], doc["headers"]);
        assert!(!format!("{:?}", keys()).contains("wJalr"));
    }

    #[tokio::test]
    async fn a_file_token_is_read_at_each_exchange_and_an_empty_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "eyJhbGciOi.first\n").unwrap();
        let source = SubjectSource::File(path.clone());
        let jwt = "urn:ietf:params:oauth:token-type:jwt";
        assert_eq!(
            source.token("aud", jwt).await.unwrap().0.expose(),
            "eyJhbGciOi.first"
        );
        std::fs::write(&path, "eyJhbGciOi.second").unwrap();
        assert_eq!(
            source.token("aud", jwt).await.unwrap().0.expose(),
            "eyJhbGciOi.second"
        );
        std::fs::write(&path, "  \n").unwrap();
        let err = source.token("aud", jwt).await.unwrap_err();
        assert_eq!(err.kind, CloudFailureKind::Credentials);
        let missing = SubjectSource::File(dir.path().join("absent"));
        let err = missing.token("aud", jwt).await.unwrap_err();
        assert!(
            err.message.contains("TENDRIL_GCP_SUBJECT_TOKEN_FILE"),
            "{err}"
        );
    }
}
