//! The Trellis API contract: wire types and the clients.
//!
//! - [`types`] and [`enums`]: every request and response body (serde, no IO). Enums are
//!   SCREAMING_SNAKE_CASE on the wire (lower case for [`LogStream`], [`WorkerMode`],
//!   [`CloudProvider`]) and keep unknown values in an `Unknown(String)` variant.
//! - [`WorkerApiClient`]: the six calls of a Tendril plus [`WorkerApiClient::register`].
//! - [`UserApiClient`]: the calls of a user (grape CLI), and the admin's token management
//!   ([`tokens`]); [`AdminClient`]: registration, deletion.
//! - [`Secret`]: tokens, redacted in `Debug`/`Display`; errors ([`ApiError`]) never hold one.
//!   [`SecretSetting`]: a program's secret setting, from its variable or a `--…-file`, never argv.
//!
//! Every call has a timeout and retries transient failures (connect errors, timeouts, 5xx, 429
//! honouring `Retry-After`) with capped exponential backoff and jitter, per [`RetryPolicy`];
//! a 4xx is never retried. A write that is not idempotent by design carries an
//! `Idempotency-Key` (submit, retry, register: a new key per call, the same on its retries) or
//! is retried only after a connect error (create identity, create token).
#![warn(missing_docs)]

pub mod cloud;
pub mod discovery;
pub mod enums;
pub mod error;
mod http;
pub mod identity;
pub mod job_secrets;
pub mod options;
pub mod secret;
pub mod secret_setting;
pub mod sse;
pub mod tokens;
pub mod types;
mod user;
mod worker;

pub use cloud::{
    CloudConnector, CloudFailure, CloudFailureKind, CloudSession, ClusterToken, Expiring,
    RenewalPolicy, Renewing, SessionEvents, VerifiedIdentity,
};
pub use discovery::{CachedDiscoveryError, DISCOVERY_FORMAT_VERSION, Discovery};
pub use enums::{
    CloudProvider, JobStatus, JobType, LogStream, TokenRole, UnknownVariant, WorkerMode,
    WorkerStatus,
};
pub use error::{ApiError, RawBody, Result};
pub use http::{
    IDEMPOTENCY_KEY_HEADER, MAX_ANSWER_BYTES, WORKER_ID_HEADER, WORKER_TOKEN_HEADER,
    new_idempotency_key, valid_idempotency_key,
};
pub use identity::{IdentitySettings, SettingsError};
pub use job_secrets::{JobSecrets, SecretsError, validate_secrets};
pub use options::{ClientOptions, RetryPolicy};
pub use secret::Secret;
pub use secret_setting::{SecretSetting, SecretSettingError};
pub use sse::LogLineStream;
pub use tokens::{ApiToken, CreateTokenRequest, CreatedToken, TokenList};
pub use types::*;
pub use user::{JobFilter, UserApiClient};
pub use worker::{AdminClient, ClaimedJob, MAX_CLAIM_WAIT, WorkerApiClient};
