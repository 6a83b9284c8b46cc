//! AWS for Vintner jobs, on the official AWS SDK for Rust: assume a cloud identity, verify it,
//! keep its credentials fresh, and discover the account's resources.
//!
//! # The three calls of a connection test
//! - [`assume`]: `sts:AssumeRole` with the identity's external id, signed by the worker's own
//!   [`BaseCredentials`] (default provider chain, or static keys), or
//!   `sts:AssumeRoleWithWebIdentity` with a token file. Gives [`AwsCredentials`].
//! - [`verify`]: `sts:GetCallerIdentity` with those credentials. Gives a [`CallerIdentity`].
//! - [`discover`]: VPCs, subnets, security groups (every region, in parallel), Route 53 hosted
//!   zones and IAM users (once). Gives grape-api's provider-neutral `Discovery` document with
//!   per-call errors kept beside the results.
//!
//! # Credentials for every job
//! [`AwsCredentials::env`] hands the credentials to child processes (the only way they leave the
//! process); [`AwsCredentials::secrets`] are what the log redactor must mask. For long jobs,
//! [`CredentialRefresher`] re-assumes the identity before expiry, publishes each new set through
//! a `tokio::sync::watch` channel, calls a hook first (register the new secrets there), and is an
//! SDK credentials provider too ([`CredentialRefresher::provider`]).
//!
//! # The cloud-neutral session
//! [`AwsConnector`] and [`AwsSession`] implement grape-api's `CloudConnector` / `CloudSession`:
//! the provisioning core opens, renews, verifies and discovers through them without naming an
//! AWS type. The ECS fleet of the worker jobs is `grape-fleet-aws`, built on this crate.
//!
//! # Errors
//! Every failure is an [`AwsError`] with an [`AwsErrorKind`] (access denied / trust policy,
//! external id mismatch, invalid or expired credentials, invalid role ARN, network, …) and a
//! message telling the user what to fix. No secret appears in any error, `Debug` or `Display`.
//!
//! # Endpoint override and web identity: worker configuration only
//! An identity's settings choose the role, never how the worker reaches AWS. The endpoint
//! override (LocalStack, a VPC endpoint, moto in tests) and a web identity token file belong to
//! the worker's [`BaseCredentials`] (`TENDRIL_AWS_ENDPOINT_URL`,
//! `TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE`); every client honours them, and the child environment
//! carries the endpoint as `AWS_ENDPOINT_URL`.

#![warn(missing_docs)]

mod classify;
mod credentials;
mod discover;
mod eks_token;
mod error;
mod identity;
mod refresh;
mod secret;
mod session;

/// Classifying SDK errors, for crates that make AWS calls of their own on this crate's
/// credentials (`grape-fleet-aws`): [`sdk::sdk_error`] turns a failed call into an [`AwsError`]
/// that says what to fix and holds no secret.
pub mod sdk {
    pub use crate::classify::{CallContext, sdk_error, service_code};
}
mod sts;

pub use credentials::{AwsCredentials, BaseCredentials, CredentialsSummary};
pub use discover::{DEFAULT_CONCURRENCY, DiscoveryOptions, discover};
pub use eks_token::{
    CLUSTER_ID_HEADER, EKS_TOKEN_LIFETIME, EKS_TOKEN_PREFIX, EksToken, EksTokenError,
    EksTokenRequest, eks_token, eks_token_at,
};
pub use error::{AwsError, AwsErrorKind, AwsFailure, ServiceErrorDetail};
pub use identity::{
    AwsIdentity, DEFAULT_DURATION_SECONDS, DEFAULT_REGION, DEFAULT_SESSION_NAME,
    MAX_DURATION_SECONDS, MIN_DURATION_SECONDS, check_identity, parse_identity, validate_role_arn,
};
pub use refresh::{CredentialRefresher, CredentialsHook, RefreshOptions, RefreshingProvider};
pub use secret::SecretString;
pub use session::{AwsConnector, AwsSession, failure as cloud_failure};
pub use sts::{CallerIdentity, assume, verify, web_identity_token};
