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
    /// The answer was larger than a client reads ([`crate::MAX_ANSWER_BYTES`]).
    #[error("{call}: the answer is larger than {limit} bytes")]
    AnswerTooLarge {
        /// The API call.
        call: &'static str,
        /// The bound, in bytes.
        limit: usize,
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
    /// A claim took a job but its answer could not be decoded as a [`crate::Job`] (a server of
    /// another version, a corrupt stored value, a proxy that mangled it). The job is CLAIMED by
    /// this worker: report it FAILED (with [`ApiError::claimed_job_id`]) rather than strand it.
    ///
    /// The answer may hold payload values (an EXEC job's `secret_env`), so neither the message
    /// nor `Debug` shows the body or a value from it: only the kind and position of the problem.
    #[error("{call}: cannot decode the claimed job{}: {reason}", job_id.map(|id| format!(" {id}")).unwrap_or_default())]
    UndecodableJob {
        /// The API call (`claim_job`).
        call: &'static str,
        /// The job's id, when the answer has a readable `job.id`.
        job_id: Option<uuid::Uuid>,
        /// What is wrong and where (e.g. `unexpected shape or value at line 1 column 80`).
        reason: String,
        /// The raw answer body.
        body: RawBody,
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

    /// True for a transport failure before the request reached the server (connecting failed):
    /// the only failure a write without an idempotency key is retried on.
    pub fn is_connect_error(&self) -> bool {
        matches!(self, ApiError::Transport { source, .. } if source.is_connect())
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

    /// The id of a job a claim took whose answer could not be decoded.
    pub fn claimed_job_id(&self) -> Option<uuid::Uuid> {
        match self {
            ApiError::UndecodableJob { job_id, .. } => *job_id,
            _ => None,
        }
    }

    /// The API call that failed (empty for client construction errors).
    pub fn call(&self) -> &'static str {
        match self {
            ApiError::Transport { call, .. }
            | ApiError::Status { call, .. }
            | ApiError::Decode { call, .. }
            | ApiError::AnswerTooLarge { call, .. }
            | ApiError::UndecodableJob { call, .. }
            | ApiError::Encode { call, .. }
            | ApiError::Stream { call, .. } => call,
            ApiError::InvalidUrl { .. } | ApiError::Client { .. } => "",
        }
    }
}

/// A raw answer body; `Debug` shows only its length (it may hold secrets).
#[derive(Clone, PartialEq, Eq)]
pub struct RawBody(pub bytes::Bytes);

impl std::fmt::Debug for RawBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawBody({} bytes)", self.0.len())
    }
}

/// The kind and position of a JSON error, without the value it quotes (which may be a secret).
pub(crate) fn json_position(e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "malformed JSON",
        serde_json::error::Category::Data => "unexpected shape or value",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!(
        "{kind} at line {} column {} of the answer",
        e.line(),
        e.column()
    )
}

/// Result of a Trellis API call.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;
