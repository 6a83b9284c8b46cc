//! [`ApiError`]: what went wrong in which call. Never contains a token.

use crate::enums::JobStatus;

/// An error of a Trellis API call. Every variant names the call (for example `claim_job`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request could not be sent or its answer not received (connect error, timeout, reset).
    #[error("{call}: request failed: {source}")]
    Transport {
        /// The API call.
        call: &'static str,
        /// The underlying HTTP client error (its URL holds no secret).
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("{call}: HTTP {status}: {message}")]
    Status {
        /// The API call.
        call: &'static str,
        /// HTTP status code.
        status: u16,
        /// The server's `{"error"}` message (or the start of its body).
        message: String,
        /// The job's current status (409 on a status update).
        current_status: Option<JobStatus>,
    },
    /// The answer was not the JSON expected.
    #[error("{call}: cannot decode the answer: {source}")]
    Decode {
        /// The API call.
        call: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The request body could not be encoded (JSON or gzip).
    #[error("{call}: cannot encode the request: {source}")]
    Encode {
        /// The API call.
        call: &'static str,
        /// The encoding error.
        #[source]
        source: std::io::Error,
    },
    /// The base URL or a path joined to it is not a valid URL.
    #[error("invalid Trellis URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL text.
        url: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the HTTP client: {source}")]
    Client {
        /// The HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// A server-sent event stream was malformed.
    #[error("{call}: malformed event stream: {reason}")]
    Stream {
        /// The API call.
        call: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl ApiError {
    /// True for failures worth retrying: connect errors, timeouts, 5xx, 429.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Transport { source, .. } => {
                source.is_connect()
                    || source.is_timeout()
                    || source.is_request()
                    || source.is_body()
            }
            ApiError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The job's current status carried by a 409 answer.
    pub fn current_status(&self) -> Option<&JobStatus> {
        match self {
            ApiError::Status { current_status, .. } => current_status.as_ref(),
            _ => None,
        }
    }

    /// The API call that failed (empty for client construction errors).
    pub fn call(&self) -> &'static str {
        match self {
            ApiError::Transport { call, .. }
            | ApiError::Status { call, .. }
            | ApiError::Decode { call, .. }
            | ApiError::Encode { call, .. }
            | ApiError::Stream { call, .. } => call,
            ApiError::InvalidUrl { .. } | ApiError::Client { .. } => "",
        }
    }
}

/// Result of a Trellis API call.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;
