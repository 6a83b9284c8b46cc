//! The `settings` of a cloud identity, per provider: IO-free types that Trellis validates on
//! create and the worker parses before it assumes anything.
//!
//! Settings choose *what* to assume (a role, a service account, an app registration), never
//! *how the worker reaches it*: endpoints, token files and credential sources are worker
//! configuration (`TENDRIL_AWS_ENDPOINT_URL`, `TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE`, …). A
//! setting that names one is refused with the variable to use instead, and every other unknown
//! field is refused by name (`deny_unknown_fields`), so a typo never silently does nothing.

mod aws;
mod azure;
mod gcp;

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use aws::{
    AwsIdentitySettings, DEFAULT_DURATION_SECONDS, DEFAULT_REGION, DEFAULT_SESSION_NAME,
    MAX_DURATION_SECONDS, MIN_DURATION_SECONDS, role_arn_problem,
};
pub use azure::{AzureAssertionSource, AzureIdentitySettings};
pub use gcp::{GCP_DEFAULT_TOKEN_URL, GcpIdentitySettings, GcpSubjectTokenSource};

use crate::CloudProvider;

/// Why a cloud identity's settings were refused: the field (a JSON path such as
/// `external_account.token_url`, when one is to blame) and what is allowed instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SettingsError {
    /// The offending field, when the problem is one field.
    pub field: Option<String>,
    /// What is wrong and what is allowed, in one sentence.
    pub message: String,
    /// The problem is a malformed role ARN (AWS), so callers can classify it.
    pub invalid_role_arn: bool,
}

impl SettingsError {
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            message: message.into(),
            invalid_role_arn: false,
        }
    }
}

/// A cloud identity's settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySettings {
    /// An AWS role to assume.
    Aws(AwsIdentitySettings),
    /// A GCP workload identity federation (optionally impersonating a service account).
    Gcp(GcpIdentitySettings),
    /// An Azure app registration with a federated credential.
    Azure(AzureIdentitySettings),
}

impl IdentitySettings {
    /// Parses and validates `settings` (a JSON object; `null` counts as `{}`) for `provider`.
    pub fn parse(provider: &CloudProvider, settings: &Value) -> Result<Self, SettingsError> {
        match provider {
            CloudProvider::Aws => AwsIdentitySettings::parse(settings).map(Self::Aws),
            CloudProvider::Gcp => GcpIdentitySettings::parse(settings).map(Self::Gcp),
            CloudProvider::Azure => AzureIdentitySettings::parse(settings).map(Self::Azure),
            CloudProvider::Unknown(other) => Err(SettingsError::field(
                "provider",
                format!(
                    "unknown provider `{other}` (expected one of: {})",
                    CloudProvider::expected()
                ),
            )),
        }
    }

    /// The provider these settings are for.
    pub fn provider(&self) -> CloudProvider {
        match self {
            Self::Aws(_) => CloudProvider::Aws,
            Self::Gcp(_) => CloudProvider::Gcp,
            Self::Azure(_) => CloudProvider::Azure,
        }
    }
}

/// A field an identity may not set, and the worker variable that configures it instead.
pub(crate) type WorkerOnly = (&'static str, &'static str);

/// Deserialises `settings` into `T` after refusing the worker-only fields by name. Serde's own
/// messages name unknown fields and wrong types (`unknown field `x`, expected one of …`).
pub(crate) fn from_settings<T: DeserializeOwned>(
    provider: &str,
    settings: &Value,
    worker_only: &[WorkerOnly],
) -> Result<T, SettingsError> {
    let empty = Value::Object(serde_json::Map::new());
    let settings = if settings.is_null() { &empty } else { settings };
    let Some(object) = settings.as_object() else {
        return Err(SettingsError::field(
            "settings",
            "settings must be a JSON object",
        ));
    };
    for (field, variable) in worker_only {
        if object.contains_key(*field) {
            return Err(SettingsError::field(
                *field,
                format!(
                    "`{field}` is not an identity setting: endpoints, files and credential \
                     sources are worker configuration ({variable} on the worker)"
                ),
            ));
        }
    }
    serde_json::from_value(settings.clone()).map_err(|e| {
        let message = e.to_string();
        let field = unknown_field(&message).or_else(|| missing_field(&message));
        SettingsError {
            field,
            message: format!("the settings are not a valid {provider} identity: {message}"),
            invalid_role_arn: false,
        }
    })
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next().map(str::to_owned)
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next().map(str::to_owned)
}

/// Checks that `value` is a GUID (`8-4-4-4-12` hex digits), as Azure ids are.
pub(crate) fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests;
