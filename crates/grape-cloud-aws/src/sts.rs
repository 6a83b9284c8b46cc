//! STS: [`assume`] a cloud identity, [`verify`] credentials.

use aws_sdk_sts::types::{AssumedRoleUser, Credentials as StsCredentials};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::classify::{CallContext, sdk_error};
use crate::credentials::{AwsCredentials, BaseCredentials, Signing, sdk_config};
use crate::error::{AwsError, AwsErrorKind};
use crate::identity::{AwsIdentity, check_identity};
use crate::secret::SecretString;

/// Assumes `identity`: `sts:AssumeRole` (with its external id) signed by the worker's `base`
/// credentials, or `sts:AssumeRoleWithWebIdentity` with the token in the web identity token
/// file the worker is configured with ([`BaseCredentials::with_web_identity_token_file`]). The
/// STS endpoint is the worker's endpoint override, else AWS's regional endpoint of the primary
/// region: nothing in the identity chooses a file or a host.
///
/// Returns temporary credentials carrying the identity's primary region and endpoint override.
pub async fn assume(
    identity: &AwsIdentity,
    base: &BaseCredentials,
) -> Result<AwsCredentials, AwsError> {
    check_identity(identity)?;
    let region = identity.primary_region().to_owned();
    let endpoint_url = base.endpoint_url().map(str::to_owned);
    let duration = i32::try_from(identity.duration().as_secs()).unwrap_or(i32::MAX);
    let token = match base.web_identity_token_file() {
        Some(path) => Some(read_token(path).await?),
        None => None,
    };
    let secrets = match &token {
        Some(token) => vec![token.expose()],
        None => base.secret_values(),
    };
    let ctx = CallContext {
        operation: if token.is_some() {
            "sts:AssumeRoleWithWebIdentity"
        } else {
            "sts:AssumeRole"
        },
        role_arn: Some(&identity.role_arn),
        external_id: identity.external_id.as_deref(),
        region: Some(&region),
        endpoint_url: endpoint_url.as_deref(),
        secrets: &secrets,
    };

    let (credentials, user) = if let Some(token) = &token {
        let config = sdk_config(&region, endpoint_url.as_deref(), Signing::Unsigned).await;
        let output = aws_sdk_sts::Client::new(&config)
            .assume_role_with_web_identity()
            .role_arn(&identity.role_arn)
            .role_session_name(identity.session_name())
            .web_identity_token(token.expose())
            .duration_seconds(duration)
            .send()
            .await
            .map_err(|e| sdk_error(e, &ctx))?;
        (output.credentials, output.assumed_role_user)
    } else {
        let config = sdk_config(&region, endpoint_url.as_deref(), base.signing()).await;
        let output = aws_sdk_sts::Client::new(&config)
            .assume_role()
            .role_arn(&identity.role_arn)
            .role_session_name(identity.session_name())
            .set_external_id(identity.external_id.clone())
            .duration_seconds(duration)
            .send()
            .await
            .map_err(|e| sdk_error(e, &ctx))?;
        (output.credentials, output.assumed_role_user)
    };
    let credentials = credentials.ok_or(AwsError::MissingField {
        operation: ctx.operation,
        field: "Credentials",
    })?;
    let creds = from_sts(&credentials, region, endpoint_url, user.as_ref());
    tracing::info!(
        role_arn = %identity.role_arn,
        assumed_role_arn = creds.assumed_role_arn.as_deref().unwrap_or(""),
        expiration = ?creds.expiration,
        "assumed AWS identity"
    );
    Ok(creds)
}

/// Reads a web identity token file; the token is a secret.
async fn read_token(path: &std::path::Path) -> Result<SecretString, AwsError> {
    let token = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| AwsError::TokenFile {
            path: path.to_path_buf(),
            source,
        })?;
    let token = SecretString::new(token.trim());
    if token.expose().is_empty() {
        return Err(AwsError::invalid(
            AwsErrorKind::InvalidWebIdentityToken,
            format!("the web identity token file {} is empty", path.display()),
        ));
    }
    Ok(token)
}

fn from_sts(
    credentials: &StsCredentials,
    region: String,
    endpoint_url: Option<String>,
    user: Option<&AssumedRoleUser>,
) -> AwsCredentials {
    let expiration = credentials.expiration();
    AwsCredentials {
        access_key_id: credentials.access_key_id().to_owned(),
        secret_access_key: SecretString::new(credentials.secret_access_key()),
        session_token: Some(SecretString::new(credentials.session_token())),
        expiration: DateTime::<Utc>::from_timestamp(expiration.secs(), expiration.subsec_nanos()),
        region,
        endpoint_url,
        assumed_role_arn: user.map(|u| u.arn().to_owned()),
    }
}

/// Who a set of credentials belongs to, as `sts:GetCallerIdentity` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerIdentity {
    /// The 12-digit account id.
    pub account: String,
    /// The caller's ARN (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` for an assumed role).
    pub arn: String,
    /// The unique id (`AROA…:SESSION` for an assumed role).
    pub user_id: String,
}

/// Verifies credentials with `sts:GetCallerIdentity` (which no policy can deny) and reports
/// whose they are. Uses the credentials' primary region and endpoint override.
pub async fn verify(creds: &AwsCredentials) -> Result<CallerIdentity, AwsError> {
    let secrets = creds.secrets();
    let ctx = CallContext {
        operation: "sts:GetCallerIdentity",
        role_arn: creds.assumed_role_arn.as_deref(),
        external_id: None,
        region: Some(&creds.region),
        endpoint_url: creds.endpoint_url.as_deref(),
        secrets: &secrets,
    };
    let config = creds.sdk_config(None).await;
    let output = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| sdk_error(e, &ctx))?;
    let field = |value: Option<&str>, field| {
        value.map(str::to_owned).ok_or(AwsError::MissingField {
            operation: ctx.operation,
            field,
        })
    };
    Ok(CallerIdentity {
        account: field(output.account(), "Account")?,
        arn: field(output.arn(), "Arn")?,
        user_id: field(output.user_id(), "UserId")?,
    })
}

/// A web identity token — a JWT AWS signs for the caller's own identity (AWS outbound identity
/// federation, `sts:GetWebIdentityToken`) — for `audience` (e.g. `api://AzureADTokenExchange`),
/// valid `duration_seconds`, signed with the worker's own credentials `base`.
pub async fn web_identity_token(
    base: &BaseCredentials,
    audience: &str,
    duration_seconds: i32,
) -> Result<SecretString, AwsError> {
    let creds = base.resolve(None).await?;
    let secrets = creds.secrets();
    let ctx = CallContext {
        operation: "sts:GetWebIdentityToken",
        role_arn: None,
        external_id: None,
        region: Some(&creds.region),
        endpoint_url: creds.endpoint_url.as_deref(),
        secrets: &secrets,
    };
    let config = creds.sdk_config(None).await;
    let output = aws_sdk_sts::Client::new(&config)
        .get_web_identity_token()
        .audience(audience)
        .duration_seconds(duration_seconds)
        .signing_algorithm("RS256")
        .send()
        .await
        .map_err(|e| sdk_error(e, &ctx))?;
    output
        .web_identity_token()
        .map(SecretString::new)
        .ok_or(AwsError::MissingField {
            operation: ctx.operation,
            field: "WebIdentityToken",
        })
}
