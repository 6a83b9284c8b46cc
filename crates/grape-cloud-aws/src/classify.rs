//! Turning SDK errors into [`AwsError`]s: classification, a hint telling the user what to fix,
//! and sanitising of AWS's message (no secret, no canonical request).

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use crate::error::{AwsError, AwsErrorKind, ServiceErrorDetail};

/// The longest AWS message we keep, in characters.
const MAX_MESSAGE_CHARS: usize = 600;

/// What we know about a call when it fails: enough to tell the user what to fix.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallContext<'a> {
    /// The call, `service:Action`.
    pub operation: &'static str,
    /// The role being assumed or used.
    pub role_arn: Option<&'a str>,
    /// The external id sent with `sts:AssumeRole`.
    pub external_id: Option<&'a str>,
    /// The region of the call.
    pub region: Option<&'a str>,
    /// The endpoint override, when one is configured.
    pub endpoint_url: Option<&'a str>,
    /// Values that must never appear in a message.
    pub secrets: &'a [&'a str],
}

/// Converts a failed SDK call into an [`AwsError::Api`].
pub fn sdk_error<E>(err: SdkError<E, HttpResponse>, ctx: &CallContext<'_>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    match err {
        SdkError::ServiceError(_) => {
            // AWS-compatible endpoints (moto, LocalStack) sometimes wrap query-protocol errors
            // the EC2 way (`<Errors><Error>`), which the SDK does not parse: read them ourselves.
            let body = err
                .raw_response()
                .and_then(|r| r.body().bytes())
                .map(String::from_utf8_lossy);
            let code = err
                .code()
                .map(str::to_owned)
                .or_else(|| body.as_deref().and_then(|b| xml_element(b, "Code")));
            let raw_message = err
                .message()
                .map(str::to_owned)
                .or_else(|| body.as_deref().and_then(|b| xml_element(b, "Message")))
                .unwrap_or_default();
            let aws_message = sanitize(&raw_message, ctx.secrets);
            let request_id = err.meta().extra("aws_request_id").map(str::to_owned);
            let kind = classify(ctx.operation, code.as_deref(), Some(&aws_message), status);
            let shown_code = code
                .clone()
                .or_else(|| status.map(|s| format!("HTTP {s}")))
                .unwrap_or_else(|| "unknown".to_owned());
            let said = if aws_message.is_empty() {
                shown_code.clone()
            } else {
                format!("{shown_code}: {aws_message}")
            };
            let message = format!("{} (AWS said {said})", hint(kind, ctx, &aws_message));
            let detail = ServiceErrorDetail {
                code: shown_code,
                message: aws_message,
                request_id,
            };
            AwsError::Api {
                operation: ctx.operation.to_owned(),
                kind,
                code,
                message,
                source: Box::new(detail),
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => AwsError::Api {
            operation: ctx.operation.to_owned(),
            kind: AwsErrorKind::Network,
            code: None,
            message: hint(AwsErrorKind::Network, ctx, ""),
            source: Box::new(err),
        },
        SdkError::ResponseError(_) => AwsError::Api {
            operation: ctx.operation.to_owned(),
            kind: AwsErrorKind::Other,
            code: None,
            message: format!(
                "the response{} could not be understood: is the endpoint an AWS-compatible API?",
                status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
            ),
            source: Box::new(err),
        },
        _ => AwsError::Api {
            operation: ctx.operation.to_owned(),
            kind: AwsErrorKind::Other,
            code: None,
            message: "the request could not be built or sent".to_owned(),
            source: Box::new(err),
        },
    }
}

/// AWS's error code of a failed call, when AWS answered (also from an EC2-style XML body the SDK
/// did not parse): lets callers treat "not found" or "already exists" as success.
pub fn service_code<E>(err: &SdkError<E, HttpResponse>) -> Option<String>
where
    E: ProvideErrorMetadata,
{
    if !matches!(err, SdkError::ServiceError(_)) {
        return None;
    }
    err.code().map(str::to_owned).or_else(|| {
        err.raw_response()
            .and_then(|r| r.body().bytes())
            .map(String::from_utf8_lossy)
            .and_then(|b| xml_element(&b, "Code"))
    })
}

/// The text of the first `<name>…</name>` element of an XML error body, unescaped.
fn xml_element(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = start + body[start..].find(&format!("</{name}>"))?;
    let text = body[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    (!text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// Classifies an AWS error by its code, message and HTTP status.
pub(crate) fn classify(
    operation: &str,
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
) -> AwsErrorKind {
    let message = message.unwrap_or_default().to_ascii_lowercase();
    let web_identity = operation.ends_with("AssumeRoleWithWebIdentity");
    let assume = operation.starts_with("sts:AssumeRole");
    match code.unwrap_or_default() {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "AuthorizationError"
        | "Forbidden"
        | "UnauthorizedAccess"
        | "NotAuthorized" => {
            if message.contains("externalid") || message.contains("external id") {
                AwsErrorKind::ExternalIdMismatch
            } else {
                AwsErrorKind::AccessDenied
            }
        }
        "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "MissingAuthenticationTokenException"
        | "AuthFailure"
        | "InvalidAccessKeyId"
        | "InvalidToken" => AwsErrorKind::InvalidCredentials,
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
            if web_identity {
                AwsErrorKind::InvalidWebIdentityToken
            } else {
                AwsErrorKind::ExpiredCredentials
            }
        }
        "InvalidIdentityToken"
        | "InvalidIdentityTokenException"
        | "IDPRejectedClaim"
        | "IDPRejectedClaimException"
        | "IDPCommunicationError" => AwsErrorKind::InvalidWebIdentityToken,
        "ValidationError"
        | "ValidationException"
        | "InvalidParameterValue"
        | "InvalidInput"
        | "MalformedPolicyDocument" => {
            if assume && (message.contains("rolearn") || message.contains("role arn")) {
                AwsErrorKind::InvalidRoleArn
            } else {
                AwsErrorKind::InvalidSettings
            }
        }
        "RegionDisabledException" | "OptInRequired" | "InvalidRegion" => {
            AwsErrorKind::InvalidSettings
        }
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled"
        | "PriorRequestNotComplete" => AwsErrorKind::Throttled,
        _ => match status {
            Some(401) => AwsErrorKind::InvalidCredentials,
            Some(403) => AwsErrorKind::AccessDenied,
            Some(429) => AwsErrorKind::Throttled,
            _ => AwsErrorKind::Other,
        },
    }
}

/// The principal named in an AWS "User: ARN is not authorized …" message.
fn principal_in(message: &str) -> Option<&str> {
    let start = message.find("User: ")? + "User: ".len();
    let rest = &message[start..];
    let end = rest.find(' ').unwrap_or(rest.len());
    let principal = &rest[..end];
    principal.starts_with("arn:").then_some(principal)
}

/// What the user should fix, for a kind of failure in a context.
fn hint(kind: AwsErrorKind, ctx: &CallContext<'_>, aws_message: &str) -> String {
    let role = ctx.role_arn.unwrap_or("the role");
    let assume = ctx.operation.starts_with("sts:AssumeRole");
    let web_identity = ctx.operation.ends_with("AssumeRoleWithWebIdentity");
    match kind {
        AwsErrorKind::AccessDenied if web_identity => format!(
            "the trust policy of {role} must allow sts:AssumeRoleWithWebIdentity for this token's \
             issuer (a Federated principal) with matching audience and subject conditions"
        ),
        AwsErrorKind::AccessDenied if assume => {
            let principal = principal_in(aws_message).unwrap_or("the worker's own identity");
            let condition = ctx
                .external_id
                .map(|id| format!(" with the condition sts:ExternalId = \"{id}\""))
                .unwrap_or_default();
            format!(
                "the trust policy of {role} must allow {principal} to call sts:AssumeRole\
                 {condition}, and that principal's own policies must allow sts:AssumeRole on \
                 {role}{}",
                if ctx.external_id.is_some() {
                    " (AWS gives the same answer when the external id does not match)"
                } else {
                    ""
                }
            )
        }
        AwsErrorKind::AccessDenied => format!(
            "{role} is not allowed to call {}: grant it in the role's IAM policies (or lift the \
             permission boundary / SCP that denies it)",
            ctx.operation
        ),
        AwsErrorKind::ExternalIdMismatch => format!(
            "the external id \"{}\" does not match the sts:ExternalId condition in the trust \
             policy of {role}: use the external id that policy expects, or update the policy",
            ctx.external_id.unwrap_or("")
        ),
        AwsErrorKind::InvalidCredentials if assume => "the worker's own AWS credentials were \
             rejected (unknown access key id or wrong secret key): fix the credentials the \
             worker runs with"
            .to_owned(),
        AwsErrorKind::InvalidCredentials => format!(
            "the credentials of {role} were rejected by {}: the region may not be enabled for \
             the account, or the session was revoked",
            ctx.operation
        ),
        AwsErrorKind::ExpiredCredentials if assume => "the worker's own AWS credentials (its \
             session token) have expired: renew them"
            .to_owned(),
        AwsErrorKind::ExpiredCredentials => "the temporary credentials have expired: assume the \
             identity again"
            .to_owned(),
        AwsErrorKind::InvalidRoleArn => format!(
            "the role ARN \"{role}\" is not valid: use arn:aws:iam::<12-digit account id>:role/<name>"
        ),
        AwsErrorKind::InvalidWebIdentityToken => "STS rejected the web identity token: check that \
             its issuer is registered as an OIDC provider in the account, its audience, and that \
             it has not expired"
            .to_owned(),
        AwsErrorKind::InvalidSettings => "fix the identity's settings (duration, region, session \
             name)"
            .to_owned(),
        AwsErrorKind::Throttled => format!(
            "AWS throttled {}: retry later or lower the discovery concurrency",
            ctx.operation
        ),
        AwsErrorKind::Network => format!(
            "cannot reach AWS at {}{}: check the worker's network and proxy, and its \
             TENDRIL_AWS_ENDPOINT_URL",
            ctx.endpoint_url.unwrap_or("the regional endpoint"),
            ctx.region
                .map(|r| format!(" (region {r})"))
                .unwrap_or_default()
        ),
        AwsErrorKind::NoCredentials => "the worker has no AWS credentials".to_owned(),
        AwsErrorKind::Other => "AWS returned an error".to_owned(),
    }
}

/// Removes anything secret from an AWS message: the canonical request some services echo on
/// `SignatureDoesNotMatch` (it holds the session token), and every known secret value.
pub(crate) fn sanitize(message: &str, secrets: &[&str]) -> String {
    let lower = message.to_ascii_lowercase();
    let cut = [
        "the canonical string",
        "canonical request",
        "string-to-sign",
        "string to sign",
    ]
    .iter()
    .filter_map(|marker| lower.find(marker))
    .min()
    .unwrap_or(message.len());
    let mut kept = message[..cut].trim_end().to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        kept = kept.replace(secret, "[REDACTED]");
    }
    if kept.chars().count() > MAX_MESSAGE_CHARS {
        kept = kept.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…";
    }
    kept
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
