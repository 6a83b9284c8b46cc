//! [`AwsIdentitySettings`]: an AWS role for the worker to assume.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{SettingsError, WorkerOnly, from_settings};

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

/// What an AWS identity may not set, and where it is configured instead.
const WORKER_ONLY: &[WorkerOnly] = &[
    ("endpoint_url", "TENDRIL_AWS_ENDPOINT_URL"),
    (
        "web_identity_token_file",
        "TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE",
    ),
];

/// An AWS cloud identity: the `settings` JSON of a Trellis cloud identity whose provider is AWS.
/// It holds no secret and no endpoint: the worker assumes the role with its own credentials (or
/// its configured web identity token) against its configured STS endpoint.
///
/// ```json
/// {"role_arn": "arn:aws:iam::123456789012:role/vintner", "external_id": "ext-1",
///  "regions": ["eu-west-1", "us-east-1"], "duration_seconds": 3600}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsIdentitySettings {
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

impl AwsIdentitySettings {
    /// An identity for `role_arn` with every other setting at its default.
    pub fn new(role_arn: impl Into<String>) -> Self {
        Self {
            role_arn: role_arn.into(),
            ..Self::default()
        }
    }

    /// Parses the `settings` JSON of a cloud identity and validates it.
    pub fn parse(settings: &Value) -> Result<Self, SettingsError> {
        let identity: Self = from_settings("AWS", settings, WORKER_ONLY)?;
        identity.validate()?;
        Ok(identity)
    }

    /// Checks every setting before any call, so mistakes get a precise message.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if let Some(problem) = role_arn_problem(&self.role_arn) {
            return Err(SettingsError {
                field: Some("role_arn".into()),
                message: format!(
                    "role_arn \"{}\" is not a role ARN ({problem}): use \
                     arn:aws:iam::<12-digit account id>:role/<name>",
                    self.role_arn
                ),
                invalid_role_arn: true,
            });
        }
        let duration = self.duration_seconds.unwrap_or(DEFAULT_DURATION_SECONDS);
        if !(MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&duration) {
            return Err(SettingsError::field(
                "duration_seconds",
                format!(
                    "duration_seconds is {duration}: STS accepts {MIN_DURATION_SECONDS} to \
                     {MAX_DURATION_SECONDS} (and at most the role's MaxSessionDuration)"
                ),
            ));
        }
        let session = self.session_name();
        if !((2..=64).contains(&session.len()) && session.chars().all(sts_name_char)) {
            return Err(SettingsError::field(
                "session_name",
                format!(
                    "session_name \"{session}\" must be 2 to 64 characters of letters, digits \
                     and +=,.@_-"
                ),
            ));
        }
        if let Some(external_id) = &self.external_id {
            let ok = (2..=1224).contains(&external_id.len())
                && external_id
                    .chars()
                    .all(|c| sts_name_char(c) || c == ':' || c == '/');
            if !ok {
                return Err(SettingsError::field(
                    "external_id",
                    "external_id must be 2 to 1224 characters of letters, digits and +=,.@:/_-",
                ));
            }
        }
        for region in &self.regions {
            let ok = !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !ok {
                return Err(SettingsError::field(
                    "regions",
                    format!("\"{region}\" is not an AWS region name (like eu-west-1)"),
                ));
            }
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

fn sts_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

/// What is wrong with `arn` as an IAM role ARN (`arn:<partition>:iam::<12 digits>:role/<name>`),
/// or `None` when it is one.
pub fn role_arn_problem(arn: &str) -> Option<&'static str> {
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
