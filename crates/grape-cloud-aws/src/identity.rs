//! [`AwsIdentity`]: an AWS cloud identity's settings, as stored in Trellis.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{AwsError, AwsErrorKind};

/// The session duration when the identity sets none: one hour.
pub const DEFAULT_DURATION_SECONDS: u32 = 3600;
/// The shortest session STS grants: 15 minutes.
pub const MIN_DURATION_SECONDS: u32 = 900;
/// The longest session STS grants (if the role's MaxSessionDuration allows it): 12 hours.
pub const MAX_DURATION_SECONDS: u32 = 43_200;
/// The region used when the identity lists none.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The session name used when the identity sets none.
pub const DEFAULT_SESSION_NAME: &str = "vintner";

/// An AWS cloud identity: the `settings` JSON of a Trellis cloud identity whose provider is AWS.
/// It holds no secret: the worker assumes the role with its own base credentials
/// ([`crate::BaseCredentials`]) or with a web identity token read from a file.
///
/// ```json
/// {"role_arn": "arn:aws:iam::123456789012:role/vintner", "external_id": "ext-1",
///  "regions": ["eu-west-1", "us-east-1"], "duration_seconds": 3600}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsIdentity {
    /// The role to assume, `arn:aws:iam::<account>:role/<name>`.
    pub role_arn: String,
    /// The external id the role's trust policy requires (`sts:ExternalId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The session name (shown in CloudTrail and in the assumed-role ARN); default `vintner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// The session duration in seconds, 900 to 43200; default 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    /// The regions to work in (the first is the primary one); default `["us-east-1"]`. A single
    /// string is accepted too, and `region` is an alias.
    #[serde(default, alias = "region", deserialize_with = "one_or_many")]
    pub regions: Vec<String>,
    /// An endpoint override for every AWS client (LocalStack, a VPC endpoint, moto in tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// A web identity (OIDC) token file: when set, the role is assumed with
    /// `sts:AssumeRoleWithWebIdentity` and this token instead of the worker's base credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_identity_token_file: Option<PathBuf>,
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::One(region)) => vec![region],
        Some(OneOrMany::Many(regions)) => regions,
    })
}

impl AwsIdentity {
    /// An identity for `role_arn` with every other setting at its default.
    pub fn new(role_arn: impl Into<String>) -> Self {
        Self {
            role_arn: role_arn.into(),
            ..Self::default()
        }
    }

    /// Parses the `settings` JSON of a Trellis cloud identity and validates it.
    pub fn from_settings(settings: &serde_json::Value) -> Result<Self, AwsError> {
        let identity: Self = serde_json::from_value(settings.clone()).map_err(|e| {
            AwsError::invalid(
                AwsErrorKind::InvalidSettings,
                format!("the settings are not an AWS identity: {e}"),
            )
        })?;
        identity.validate()?;
        Ok(identity)
    }

    /// Checks every setting before any call, so mistakes get a precise message.
    pub fn validate(&self) -> Result<(), AwsError> {
        validate_role_arn(&self.role_arn)?;
        let duration = self.duration_seconds.unwrap_or(DEFAULT_DURATION_SECONDS);
        if !(MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&duration) {
            return Err(AwsError::invalid(
                AwsErrorKind::InvalidSettings,
                format!(
                    "duration_seconds is {duration}: STS accepts {MIN_DURATION_SECONDS} to \
                     {MAX_DURATION_SECONDS} (and at most the role's MaxSessionDuration)"
                ),
            ));
        }
        let session = self.session_name();
        let session_ok = (2..=64).contains(&session.len())
            && session
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !session_ok {
            return Err(AwsError::invalid(
                AwsErrorKind::InvalidSettings,
                format!(
                    "session_name \"{session}\" must be 2 to 64 characters of letters, digits \
                     and +=,.@_-"
                ),
            ));
        }
        for region in &self.regions {
            let ok = !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !ok {
                return Err(AwsError::invalid(
                    AwsErrorKind::InvalidSettings,
                    format!("\"{region}\" is not an AWS region name (like eu-west-1)"),
                ));
            }
        }
        if let Some(url) = &self.endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(AwsError::invalid(
                AwsErrorKind::InvalidSettings,
                format!("endpoint_url \"{url}\" must start with http:// or https://"),
            ));
        }
        Ok(())
    }

    /// The session name, `vintner` unless the identity sets one.
    pub fn session_name(&self) -> &str {
        self.session_name.as_deref().unwrap_or(DEFAULT_SESSION_NAME)
    }

    /// The session duration (default one hour).
    pub fn duration(&self) -> Duration {
        Duration::from_secs(u64::from(
            self.duration_seconds.unwrap_or(DEFAULT_DURATION_SECONDS),
        ))
    }

    /// The regions, `["us-east-1"]` unless the identity lists some.
    pub fn regions(&self) -> Vec<String> {
        if self.regions.is_empty() {
            vec![DEFAULT_REGION.to_owned()]
        } else {
            self.regions.clone()
        }
    }

    /// The primary region: the first listed, else `us-east-1`.
    pub fn primary_region(&self) -> &str {
        self.regions.first().map_or(DEFAULT_REGION, String::as_str)
    }
}

/// Checks that `arn` is an IAM role ARN: `arn:<partition>:iam::<12 digits>:role/<path/name>`.
pub fn validate_role_arn(arn: &str) -> Result<(), AwsError> {
    let problem = role_arn_problem(arn);
    match problem {
        None => Ok(()),
        Some(problem) => Err(AwsError::invalid(
            AwsErrorKind::InvalidRoleArn,
            format!(
                "role_arn \"{arn}\" is not a role ARN ({problem}): use \
                 arn:aws:iam::<12-digit account id>:role/<name>"
            ),
        )),
    }
}

fn role_arn_problem(arn: &str) -> Option<&'static str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return Some("it needs six ':'-separated parts");
    };
    if *prefix != "arn" {
        return Some("it must start with arn:");
    }
    if !partition.starts_with("aws") {
        return Some("the partition must be aws, aws-cn, aws-us-gov, …");
    }
    if *service != "iam" {
        return Some("the service must be iam");
    }
    if !region.is_empty() {
        return Some("IAM ARNs have no region");
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Some("the account id must be 12 digits");
    }
    let Some(name) = resource.strip_prefix("role/") else {
        return Some("the resource must be role/<name>");
    };
    let name_ok = !name.is_empty()
        && !name.ends_with('/')
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c));
    if !name_ok {
        return Some("the role name may hold letters, digits and +=,.@_-/");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_json_with_defaults() {
        let id = AwsIdentity::from_settings(&serde_json::json!({
            "role_arn": "arn:aws:iam::123456789012:role/vintner",
            "external_id": "ext-1",
            "region": "eu-west-1"
        }))
        .expect("valid");
        assert_eq!(id.regions(), ["eu-west-1"]);
        assert_eq!(id.duration(), Duration::from_secs(3600));
        assert_eq!(id.session_name(), "vintner");
        let id = AwsIdentity::new("arn:aws:iam::123456789012:role/path/to/r");
        assert_eq!(id.regions(), ["us-east-1"]);
        assert_eq!(id.primary_region(), "us-east-1");
        id.validate().expect("valid");
    }

    #[test]
    fn rejects_bad_settings_with_a_kind() {
        for arn in [
            "not-an-arn",
            "arn:aws:iam::12345:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam:eu-west-1:123456789012:role/x",
        ] {
            let err = AwsIdentity::new(arn).validate().expect_err(arn);
            assert_eq!(err.kind(), AwsErrorKind::InvalidRoleArn, "{arn}");
            assert!(
                err.to_string()
                    .contains("arn:aws:iam::<12-digit account id>:role/<name>")
            );
        }
        let arn = "arn:aws:iam::123456789012:role/r";
        let bad = [
            AwsIdentity {
                duration_seconds: Some(60),
                ..AwsIdentity::new(arn)
            },
            AwsIdentity {
                session_name: Some("has space".into()),
                ..AwsIdentity::new(arn)
            },
            AwsIdentity {
                regions: vec!["EU West".into()],
                ..AwsIdentity::new(arn)
            },
            AwsIdentity {
                endpoint_url: Some("127.0.0.1:5000".into()),
                ..AwsIdentity::new(arn)
            },
        ];
        for id in bad {
            assert_eq!(
                id.validate().expect_err("invalid").kind(),
                AwsErrorKind::InvalidSettings
            );
        }
    }
}
