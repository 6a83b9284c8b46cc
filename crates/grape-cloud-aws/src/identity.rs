//! [`AwsIdentity`]: an AWS cloud identity's settings, as stored in Trellis. The type lives in
//! grape-api (Trellis validates settings on create without linking the AWS SDK); this module
//! turns its checks into [`AwsError`]s.

use grape_api::identity::SettingsError;
pub use grape_api::identity::{
    AwsIdentitySettings as AwsIdentity, DEFAULT_DURATION_SECONDS, DEFAULT_REGION,
    DEFAULT_SESSION_NAME, MAX_DURATION_SECONDS, MIN_DURATION_SECONDS,
};

use crate::error::{AwsError, AwsErrorKind};

/// Parses the `settings` JSON of a Trellis cloud identity and validates it. Unknown fields
/// (and endpoints or token files, which are worker configuration) are refused by name.
pub fn parse_identity(settings: &serde_json::Value) -> Result<AwsIdentity, AwsError> {
    AwsIdentity::parse(settings).map_err(settings_error)
}

/// Checks an identity before any call, as a classified [`AwsError`].
pub fn check_identity(identity: &AwsIdentity) -> Result<(), AwsError> {
    identity.validate().map_err(settings_error)
}

/// Checks that `arn` is an IAM role ARN: `arn:<partition>:iam::<12 digits>:role/<path/name>`.
pub fn validate_role_arn(arn: &str) -> Result<(), AwsError> {
    check_identity(&AwsIdentity::new(arn))
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(settings_error)`
fn settings_error(e: SettingsError) -> AwsError {
    let kind = if e.invalid_role_arn {
        AwsErrorKind::InvalidRoleArn
    } else {
        AwsErrorKind::InvalidSettings
    };
    AwsError::invalid(kind, e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_problems_are_classified() {
        let err = parse_identity(&serde_json::json!({"role_arn": "arn:aws:iam::1:role/x"}))
            .expect_err("bad arn");
        assert_eq!(err.kind(), AwsErrorKind::InvalidRoleArn);
        let err = parse_identity(&serde_json::json!({
            "role_arn": "arn:aws:iam::123456789012:role/r",
            "endpoint_url": "http://127.0.0.1:9"
        }))
        .expect_err("endpoint");
        assert_eq!(err.kind(), AwsErrorKind::InvalidSettings);
        assert!(
            err.to_string().contains("TENDRIL_AWS_ENDPOINT_URL"),
            "{err}"
        );
        validate_role_arn("arn:aws:iam::123456789012:role/path/r").expect("valid");
    }
}
