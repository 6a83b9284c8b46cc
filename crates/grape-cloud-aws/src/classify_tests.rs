//! Unit tests of the classifier on sample SDK errors (the texts AWS returns).

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ConnectorError, ErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_types::body::SdkBody;

use super::{CallContext, classify, sanitize, sdk_error};
use crate::error::{AwsError, AwsErrorKind};

const ROLE: &str = "arn:aws:iam::222222222222:role/vintner-target";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn service_error(
    code: &str,
    message: &str,
    status: u16,
) -> SdkError<AssumeRoleError, HttpResponse> {
    let meta = ErrorMetadata::builder()
        .code(code)
        .message(message)
        .custom("aws_request_id", "req-123")
        .build();
    let raw = HttpResponse::new(status.try_into().expect("status"), SdkBody::empty());
    SdkError::service_error(AssumeRoleError::generic(meta), raw)
}

fn assume_ctx<'a>(external_id: Option<&'a str>, secrets: &'a [&'a str]) -> CallContext<'a> {
    CallContext {
        operation: "sts:AssumeRole",
        role_arn: Some(ROLE),
        external_id,
        region: Some("us-east-1"),
        endpoint_url: None,
        secrets,
    }
}

/// (code, message, status, operation, expected kind)
const CASES: &[(&str, &str, u16, &str, AwsErrorKind)] = &[
    (
        "AccessDenied",
        "User: arn:aws:iam::111111111111:user/worker is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/vintner-target",
        403,
        "sts:AssumeRole",
        AwsErrorKind::AccessDenied,
    ),
    (
        "AccessDenied",
        "Access denied: the ExternalId does not match the sts:ExternalId condition",
        403,
        "sts:AssumeRole",
        AwsErrorKind::ExternalIdMismatch,
    ),
    (
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        403,
        "sts:AssumeRole",
        AwsErrorKind::InvalidCredentials,
    ),
    (
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        403,
        "sts:AssumeRole",
        AwsErrorKind::InvalidCredentials,
    ),
    (
        "ExpiredToken",
        "The security token included in the request is expired",
        400,
        "sts:AssumeRole",
        AwsErrorKind::ExpiredCredentials,
    ),
    (
        "ExpiredTokenException",
        "Token expired: current date/time 1700000000 must be before the expiration date/time 1690000000",
        400,
        "sts:AssumeRoleWithWebIdentity",
        AwsErrorKind::InvalidWebIdentityToken,
    ),
    (
        "InvalidIdentityToken",
        "No OpenIDConnect provider found in your account for https://token.actions.example",
        400,
        "sts:AssumeRoleWithWebIdentity",
        AwsErrorKind::InvalidWebIdentityToken,
    ),
    (
        "ValidationError",
        "1 validation error detected: Value 'not-an-arn' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
        400,
        "sts:AssumeRole",
        AwsErrorKind::InvalidRoleArn,
    ),
    (
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        400,
        "sts:AssumeRole",
        AwsErrorKind::InvalidSettings,
    ),
    (
        "UnauthorizedOperation",
        "You are not authorized to perform this operation.",
        403,
        "ec2:DescribeVpcs",
        AwsErrorKind::AccessDenied,
    ),
    (
        "AuthFailure",
        "AWS was not able to validate the provided access credentials",
        401,
        "ec2:DescribeSubnets",
        AwsErrorKind::InvalidCredentials,
    ),
    (
        "Throttling",
        "Rate exceeded",
        400,
        "iam:ListUsers",
        AwsErrorKind::Throttled,
    ),
    (
        "RequestLimitExceeded",
        "Request limit exceeded.",
        503,
        "ec2:DescribeVpcs",
        AwsErrorKind::Throttled,
    ),
    (
        "",
        "",
        403,
        "route53:ListHostedZones",
        AwsErrorKind::AccessDenied,
    ),
    (
        "InternalFailure",
        "boom",
        500,
        "route53:ListHostedZones",
        AwsErrorKind::Other,
    ),
];

#[test]
fn classifies_sample_aws_errors() {
    for (code, message, status, operation, expected) in CASES {
        let code = (!code.is_empty()).then_some(*code);
        let got = classify(operation, code, Some(message), Some(*status));
        assert_eq!(got, *expected, "{operation} {code:?} {message}");
    }
}

#[test]
fn access_denied_on_assume_names_the_principal_role_and_external_id() {
    let (_, message, status, _, _) = CASES[0];
    let err = sdk_error(
        service_error("AccessDenied", message, status),
        &assume_ctx(Some("ext-42"), &[]),
    );
    assert_eq!(err.kind(), AwsErrorKind::AccessDenied);
    let text = err.to_string();
    assert!(
        text.starts_with("sts:AssumeRole failed [ACCESS_DENIED]: the trust policy of "),
        "{text}"
    );
    assert!(text.contains(&format!("the trust policy of {ROLE} must allow arn:aws:iam::111111111111:user/worker to call sts:AssumeRole with the condition sts:ExternalId = \"ext-42\"")), "{text}");
    assert!(
        text.contains("AWS said AccessDenied: User: arn:aws:iam::111111111111:user/worker"),
        "{text}"
    );
    let AwsError::Api { source, code, .. } = &err else {
        panic!("not an Api error: {err:?}")
    };
    assert_eq!(code.as_deref(), Some("AccessDenied"));
    assert!(
        source.to_string().contains("request id req-123"),
        "{source}"
    );
}

#[test]
fn invalid_role_arn_message_shows_the_expected_form() {
    let (_, message, status, _, _) = CASES[7];
    let err = sdk_error(
        service_error("ValidationError", message, status),
        &assume_ctx(None, &[]),
    );
    assert_eq!(err.kind(), AwsErrorKind::InvalidRoleArn);
    assert!(
        err.to_string()
            .contains("use arn:aws:iam::<12-digit account id>:role/<name>"),
        "{err}"
    );
}

#[test]
fn network_failures_are_classified_and_name_the_endpoint() {
    let err: SdkError<AssumeRoleError, HttpResponse> =
        SdkError::dispatch_failure(ConnectorError::io("connection refused".into()));
    let mut ctx = assume_ctx(None, &[]);
    ctx.endpoint_url = Some("http://127.0.0.1:9");
    let err = sdk_error(err, &ctx);
    assert_eq!(err.kind(), AwsErrorKind::Network);
    assert!(
        err.to_string()
            .contains("cannot reach AWS at http://127.0.0.1:9 (region us-east-1)"),
        "{err}"
    );
    let timeout: SdkError<AssumeRoleError, HttpResponse> = SdkError::timeout_error("slow");
    assert_eq!(sdk_error(timeout, &ctx).kind(), AwsErrorKind::Network);
}

#[test]
fn secrets_and_canonical_requests_never_reach_the_message() {
    let echoed = format!(
        "The request signature we calculated does not match. key {SECRET} The Canonical String for this request should have been 'POST\n/\n\nx-amz-security-token:TOKENVALUE'"
    );
    let secrets = [SECRET];
    let err = sdk_error(
        service_error("SignatureDoesNotMatch", &echoed, 403),
        &assume_ctx(None, &secrets),
    );
    let shown = format!(
        "{err} {err:?} {:?}",
        std::error::Error::source(&err).map(ToString::to_string)
    );
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains("TOKENVALUE"), "{shown}");
    assert!(shown.contains("[REDACTED]"), "{shown}");
    assert_eq!(sanitize("short", &[]), "short");
    assert!(sanitize(&"x".repeat(2000), &[]).chars().count() <= 601);
}

#[test]
fn unparsed_ec2_style_error_bodies_are_read_as_a_fallback() {
    // moto (and LocalStack) answer query-protocol auth failures with `<Errors><Error>`, which
    // the SDK's STS and IAM parsers do not read.
    let body = "<?xml version=\"1.0\"?>\n<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::111111111111:user/nobody is not authorized to perform: sts:AssumeRole &amp; more</Message></Error></Errors></ErrorResponse>";
    let raw = HttpResponse::new(403.try_into().expect("status"), SdkBody::from(body));
    let err = SdkError::service_error(
        AssumeRoleError::generic(ErrorMetadata::builder().build()),
        raw,
    );
    let err = sdk_error(err, &assume_ctx(None, &[]));
    assert_eq!(err.kind(), AwsErrorKind::AccessDenied);
    let text = err.to_string();
    assert!(
        text.contains("must allow arn:aws:iam::111111111111:user/nobody to call sts:AssumeRole"),
        "{text}"
    );
    assert!(text.contains("(AWS said AccessDenied: User: arn:aws:iam::111111111111:user/nobody is not authorized to perform: sts:AssumeRole & more)"), "{text}");

    let raw = HttpResponse::new(403.try_into().expect("status"), SdkBody::empty());
    let err = SdkError::service_error(
        AssumeRoleError::generic(ErrorMetadata::builder().build()),
        raw,
    );
    let err = sdk_error(err, &assume_ctx(None, &[]));
    assert_eq!(err.kind(), AwsErrorKind::AccessDenied);
    assert!(err.to_string().ends_with("(AWS said HTTP 403)"), "{err}");
}
