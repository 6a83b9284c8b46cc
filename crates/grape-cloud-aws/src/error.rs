//! [`AwsError`] and its classification [`AwsErrorKind`].
//!
//! Every failure says which call failed, why (the kind) and what the user should fix (the
//! message). No secret ever appears in an error: AWS messages are sanitised before they are kept
//! (see [`crate::classify`]) and the raw SDK error of a service failure is replaced by a
//! [`ServiceErrorDetail`] carrying the code, the sanitised message and the request id.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Why an AWS call failed, as a user would fix it. Serialised in SCREAMING_SNAKE_CASE, like the
/// other enums of the Trellis API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum AwsErrorKind {
    /// The caller is not allowed to do this: a trust policy (for `sts:AssumeRole`), an IAM or an
    /// SCP policy (for any other call) denies it.
    AccessDenied,
    /// `sts:AssumeRole` was denied because the external id does not match the role's
    /// `sts:ExternalId` condition (recognised when AWS says so in its message).
    ExternalIdMismatch,
    /// The credentials were rejected: unknown access key, wrong secret, malformed session token.
    InvalidCredentials,
    /// The credentials (or the session token) have expired.
    ExpiredCredentials,
    /// No credentials could be found for the worker (default provider chain came up empty).
    NoCredentials,
    /// The role ARN is malformed or AWS rejected it.
    InvalidRoleArn,
    /// The web identity token was rejected by STS (invalid, expired, wrong audience).
    InvalidWebIdentityToken,
    /// Another setting of the identity is invalid (duration, region, session name, …).
    InvalidSettings,
    /// AWS throttled the requests beyond what the SDK's retries absorbed.
    Throttled,
    /// AWS could not be reached: connection refused, DNS, TLS, timeout.
    Network,
    /// Anything else; the message carries AWS's own code and text.
    Other,
}

impl AwsErrorKind {
    /// The wire name, e.g. `ACCESS_DENIED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "ACCESS_DENIED",
            Self::ExternalIdMismatch => "EXTERNAL_ID_MISMATCH",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::ExpiredCredentials => "EXPIRED_CREDENTIALS",
            Self::NoCredentials => "NO_CREDENTIALS",
            Self::InvalidRoleArn => "INVALID_ROLE_ARN",
            Self::InvalidWebIdentityToken => "INVALID_WEB_IDENTITY_TOKEN",
            Self::InvalidSettings => "INVALID_SETTINGS",
            Self::Throttled => "THROTTLED",
            Self::Network => "NETWORK",
            Self::Other => "OTHER",
        }
    }
}

impl fmt::Display for AwsErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What AWS answered for a failed call, kept as the source of [`AwsError::Api`] instead of the
/// raw SDK error (whose text could echo request details).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("AWS error {code}: {message}{}", request_id.as_deref().map(|id| format!(" (request id {id})")).unwrap_or_default())]
pub struct ServiceErrorDetail {
    /// AWS's error code, e.g. `AccessDenied`; `HTTP <status>` when the response had none.
    pub code: String,
    /// AWS's message, sanitised (no secret, no canonical request).
    pub message: String,
    /// The request id, for AWS support.
    pub request_id: Option<String>,
}

/// An error of this crate. [`AwsError::kind`] classifies it; its `Display` tells the user what
/// to fix and never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The identity's settings were rejected before any call (bad role ARN, duration out of
    /// range, no region, …).
    #[error("invalid AWS identity settings: {message}")]
    InvalidSettings {
        /// [`AwsErrorKind::InvalidRoleArn`] or [`AwsErrorKind::InvalidSettings`].
        kind: AwsErrorKind,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The worker's own credentials could not be loaded from the default provider chain.
    #[error(
        "cannot load the worker's own AWS credentials: {message}; give the worker credentials \
         (environment, profile, web identity, ECS task role or instance profile)"
    )]
    BaseCredentials {
        /// What the provider chain said.
        message: String,
        /// The provider's error.
        #[source]
        source: aws_credential_types::provider::error::CredentialsError,
    },
    /// The web identity token file cannot be read.
    #[error("cannot read the web identity token file {}", path.display())]
    TokenFile {
        /// The worker's web identity token file (`TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE`).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An AWS API call failed.
    #[error("{operation} failed [{kind}]: {message}")]
    Api {
        /// The call, e.g. `sts:AssumeRole`.
        operation: String,
        /// Why, for a user.
        kind: AwsErrorKind,
        /// AWS's error code, when AWS answered.
        code: Option<String>,
        /// What to fix, followed by AWS's (sanitised) explanation.
        message: String,
        /// A [`ServiceErrorDetail`] when AWS answered, else the transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// AWS answered successfully but without a field we need.
    #[error("{operation} returned no {field}")]
    MissingField {
        /// The call.
        operation: &'static str,
        /// The missing field.
        field: &'static str,
    },
}

impl AwsError {
    /// The classification of this error.
    pub fn kind(&self) -> AwsErrorKind {
        match self {
            Self::InvalidSettings { kind, .. } | Self::Api { kind, .. } => *kind,
            Self::BaseCredentials { .. } => AwsErrorKind::NoCredentials,
            Self::TokenFile { .. } => AwsErrorKind::InvalidSettings,
            Self::MissingField { .. } => AwsErrorKind::Other,
        }
    }

    /// A serialisable summary for a job's error or result: the kind and the full message.
    pub fn failure(&self) -> AwsFailure {
        AwsFailure {
            kind: self.kind(),
            message: self.to_string(),
        }
    }

    /// A problem found before any call (a setting, a name), of `kind`.
    pub fn invalid(kind: AwsErrorKind, message: impl Into<String>) -> Self {
        Self::InvalidSettings {
            kind,
            message: message.into(),
        }
    }
}

/// A failure as it goes into a job's error or result document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsFailure {
    /// The classification.
    pub kind: AwsErrorKind,
    /// What failed and what to fix.
    pub message: String,
}
