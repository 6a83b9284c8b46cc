//! EKS bearer tokens, made the way aws-iam-authenticator (and `aws eks get-token`) makes them:
//! `k8s-aws-v1.` + base64url (no padding) of a presigned STS `GetCallerIdentity` GET URL whose
//! SigV4 signature covers the header `x-k8s-aws-id: <cluster name>`, valid for 60 s to present
//! (`X-Amz-Expires=60`); EKS accepts such a token for 15 minutes after signing, so callers treat
//! it as expiring after 14 ([`EKS_TOKEN_LIFETIME`]) and make a new one before that. No external
//! binary; the credentials are the job identity's (refreshed by the caller).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::{AwsCredentials, SecretString};

/// The prefix of every EKS token.
pub const EKS_TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header that binds a token to one cluster.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// How long a token is used after it was made (EKS accepts it for 15 minutes).
pub const EKS_TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 60);
/// `X-Amz-Expires` of the presigned URL, as aws-iam-authenticator sets it.
const PRESIGN_EXPIRES: Duration = Duration::from_secs(60);

/// A bearer token for an EKS cluster's API server.
#[derive(Debug, Clone)]
pub struct EksToken {
    /// `k8s-aws-v1.…` (hidden in `Debug`).
    pub token: SecretString,
    /// When to stop using it: [`EKS_TOKEN_LIFETIME`] after it was made.
    pub expires_at: DateTime<Utc>,
}

/// What a token is made from.
#[derive(Debug, Clone, Copy)]
pub struct EksTokenRequest<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a SecretString,
    /// The session token of temporary credentials.
    pub session_token: Option<&'a SecretString>,
    /// The STS region (the cluster's). The URL is always the regional STS endpoint
    /// `https://sts.<region>.amazonaws.com/` (`.amazonaws.com.cn` in China), the only hosts EKS
    /// accepts — never an endpoint override, which EKS could not call.
    pub region: &'a str,
    /// The EKS cluster's name (signed as `x-k8s-aws-id`).
    pub cluster_name: &'a str,
}

/// The token could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot make an EKS token for cluster `{cluster}`: {reason}")]
pub struct EksTokenError {
    /// The cluster.
    pub cluster: String,
    /// Why (never a secret).
    pub reason: String,
}

impl<'a> EksTokenRequest<'a> {
    /// A request from a job identity's credentials (their region and endpoint).
    pub fn from_credentials(credentials: &'a AwsCredentials, cluster_name: &'a str) -> Self {
        Self {
            access_key_id: &credentials.access_key_id,
            secret_access_key: &credentials.secret_access_key,
            session_token: credentials.session_token.as_ref(),
            region: &credentials.region,
            cluster_name,
        }
    }
}

/// Makes a token now.
pub fn eks_token(request: &EksTokenRequest<'_>) -> Result<EksToken, EksTokenError> {
    eks_token_at(request, SystemTime::now())
}

/// Makes a token as if the clock said `now` (tests pin the clock).
pub fn eks_token_at(
    request: &EksTokenRequest<'_>,
    now: SystemTime,
) -> Result<EksToken, EksTokenError> {
    let failed = |reason: String| EksTokenError {
        cluster: request.cluster_name.to_owned(),
        reason,
    };
    if request.cluster_name.is_empty() {
        return Err(failed("the cluster name is empty".into()));
    }
    if request.region.is_empty() {
        return Err(failed("no region".into()));
    }
    let domain = if request.region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let url = format!(
        "https://sts.{}.{domain}/?Action=GetCallerIdentity&Version=2011-06-15",
        request.region
    );

    let identity = Credentials::new(
        request.access_key_id,
        request.secret_access_key.expose(),
        request.session_token.map(|t| t.expose().to_owned()),
        None,
        "grape-eks-token",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGN_EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(request.region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| failed(format!("signing parameters: {e}")))?
        .into();
    let headers = [(CLUSTER_ID_HEADER, request.cluster_name)];
    let signable = SignableRequest::new(
        "GET",
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| failed(format!("the STS URL {url}: {e}")))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| failed(format!("signing: {e}")))?
        .into_parts();
    let mut presigned = url;
    for (name, value) in instructions.params() {
        presigned.push('&');
        presigned.push_str(name);
        presigned.push('=');
        presigned.push_str(&percent_encode(value));
    }
    let token = format!(
        "{EKS_TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned)
    );
    let lifetime = chrono::Duration::from_std(EKS_TOKEN_LIFETIME).unwrap_or_default();
    Ok(EksToken {
        token: SecretString::new(token),
        expires_at: DateTime::<Utc>::from(now) + lifetime,
    })
}

/// RFC 3986 query encoding (unreserved characters kept), as SigV4 canonicalises it.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn query(token: &EksToken) -> (String, BTreeMap<String, String>) {
        let raw = token
            .token
            .expose()
            .strip_prefix(EKS_TOKEN_PREFIX)
            .expect("prefix");
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .expect("base64url without padding");
        let url = String::from_utf8(url).unwrap();
        let (base, query) = url.split_once('?').unwrap();
        let params = query
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_owned(), percent_decode(v))
            })
            .collect();
        (base.to_owned(), params)
    }

    fn percent_decode(v: &str) -> String {
        let bytes = v.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// Fixed credentials and clock. The expected signature was computed by an independent
    /// SigV4 implementation (the Python of `grape-testkit/kube/eks_webhook.py`'s check), not
    /// by this code.
    #[test]
    fn golden_signature_with_fixed_credentials_and_clock() {
        let secret = SecretString::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let session = SecretString::new("session/token+example=");
        let request = EksTokenRequest {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: &secret,
            session_token: Some(&session),
            region: "eu-west-1",
            cluster_name: "web-dev",
        };
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_323_045); // 2026-01-02T03:04:05Z
        let token = eks_token_at(&request, now).unwrap();
        assert!(!format!("{token:?}").contains("k8s-aws-v1"));
        assert!(!token.token.expose().contains('='), "no padding");
        let (base, q) = query(&token);
        assert_eq!(base, "https://sts.eu-west-1.amazonaws.com/");
        let expect = [
            ("Action", "GetCallerIdentity"),
            ("Version", "2011-06-15"),
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            (
                "X-Amz-Credential",
                "AKIDEXAMPLE/20260102/eu-west-1/sts/aws4_request",
            ),
            ("X-Amz-Date", "20260102T030405Z"),
            ("X-Amz-Expires", "60"),
            ("X-Amz-SignedHeaders", "host;x-k8s-aws-id"),
            ("X-Amz-Security-Token", "session/token+example="),
            (
                "X-Amz-Signature",
                "7899b25878891f80162e16ac4d2cbab2d61a6ed59fa8f0f2d198eb143e025725",
            ),
        ];
        for (k, v) in expect {
            assert_eq!(q.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert_eq!(q.len(), expect.len(), "{q:?}");
        assert_eq!(
            token.expires_at,
            DateTime::<Utc>::from(now) + chrono::Duration::minutes(14)
        );

        // Another cluster, another signature: the token is bound to its cluster.
        let other = EksTokenRequest {
            cluster_name: "web-prod",
            ..request
        };
        let (_, q2) = query(&eks_token_at(&other, now).unwrap());
        assert_ne!(q2["X-Amz-Signature"], q["X-Amz-Signature"]);
    }

    #[test]
    fn china_regions_use_their_sts_domain_and_bad_input_is_named() {
        let secret = SecretString::new("s");
        let mut request = EksTokenRequest {
            access_key_id: "AKID",
            secret_access_key: &secret,
            session_token: None,
            region: "cn-north-1",
            cluster_name: "c",
        };
        let (base, q) = query(&eks_token(&request).unwrap());
        assert_eq!(base, "https://sts.cn-north-1.amazonaws.com.cn/");
        assert!(!q.contains_key("X-Amz-Security-Token"));
        request.cluster_name = "";
        let err = eks_token(&request).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot make an EKS token for cluster ``: the cluster name is empty"
        );
    }
}
