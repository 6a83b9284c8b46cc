//! The error of every grape-k8s operation: it names the step and the object, never a secret.

use std::time::Duration;

/// What went wrong talking to a cluster.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    /// A Terraform output the connection needs is missing or malformed.
    #[error("terraform output `{output}`: {problem}")]
    Output {
        /// The output's name (`cluster_endpoint`, `cluster_ca_certificate`).
        output: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A kubeconfig could not be used.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// The token source could not give a token.
    #[error("cannot get a token for the cluster: {0}")]
    Token(#[source] TokenError),
    /// The client could not be built (TLS set-up, endpoint).
    #[error("cannot build a client for {endpoint}: {detail}")]
    Client {
        /// The API server URL.
        endpoint: String,
        /// Why.
        detail: String,
    },
    /// A manifest is not a Kubernetes object.
    #[error("manifest {index}: {problem}")]
    Manifest {
        /// Its position (0-based) in what was given.
        index: usize,
        /// What is wrong.
        problem: String,
    },
    /// The cluster does not serve this kind (a missing CRD, or an API version it lacks).
    #[error("{step} {object}: the cluster serves no {api_version} {kind}")]
    UnknownKind {
        /// The step (`apply`, `delete`, `wait`).
        step: &'static str,
        /// The object.
        object: String,
        /// Its `apiVersion`.
        api_version: String,
        /// Its `kind`.
        kind: String,
    },
    /// The API server refused or failed a request.
    #[error("{step} {object}: {message} (HTTP {code}{})", if reason.is_empty() { String::new() } else { format!(", {reason}") })]
    Api {
        /// The step.
        step: &'static str,
        /// The object (`Kind namespace/name`).
        object: String,
        /// The HTTP status (0 when there was no answer).
        code: u16,
        /// The server's reason (`NotFound`, `Forbidden`, `Invalid`, …).
        reason: String,
        /// The server's message (values of Secrets removed).
        message: String,
    },
    /// The API server could not be reached (connection, TLS, timeout).
    #[error("{step} {object}: the API server {endpoint} is unreachable: {detail}")]
    Unreachable {
        /// The step.
        step: &'static str,
        /// The object.
        object: String,
        /// The API server URL.
        endpoint: String,
        /// Why (the transport's message).
        detail: String,
    },
    /// A bounded wait ended before every object was ready.
    #[error("{step}: not ready after {}: {}", humantime(*waited), pending.join("; "))]
    Timeout {
        /// What was waited for.
        step: String,
        /// How long.
        waited: Duration,
        /// Each object not ready, with its last state.
        pending: Vec<String>,
    },
    /// An object reached a state it will not leave by itself.
    #[error("{step}: {object} failed: {reason}")]
    Failed {
        /// What was waited for.
        step: String,
        /// The object.
        object: String,
        /// Its state.
        reason: String,
    },
    /// Cancelled by the caller.
    #[error("{step}: cancelled")]
    Cancelled {
        /// What was being done.
        step: String,
    },
}

/// Why a [`crate::TokenSource`] gave no token (its message must not hold a secret).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TokenError(pub String);

fn humantime(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Maps a kube error of `step` on `object`; `hide` are values to remove from the message.
pub(crate) fn from_kube(
    step: &'static str,
    object: &str,
    endpoint: &str,
    err: kube::Error,
    hide: &[&str],
) -> K8sError {
    let scrub = |text: String| {
        hide.iter()
            .filter(|s| !s.is_empty())
            .fold(text, |t, s| t.replace(s, "[REDACTED]"))
    };
    match err {
        kube::Error::Api(status) => K8sError::Api {
            step,
            object: object.to_owned(),
            code: status.code,
            reason: status.reason.clone(),
            message: scrub(status.message.clone()),
        },
        other @ (kube::Error::HyperError(_)
        | kube::Error::Service(_)
        | kube::Error::RustlsTls(_)) => K8sError::Unreachable {
            step,
            object: object.to_owned(),
            endpoint: endpoint.to_owned(),
            detail: scrub(chain(&other)),
        },
        other => K8sError::Api {
            step,
            object: object.to_owned(),
            code: 0,
            reason: String::new(),
            message: scrub(chain(&other)),
        },
    }
}

/// An error and its sources, `: `-joined.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

impl K8sError {
    /// The HTTP status of an API error (e.g. 404), if it was one.
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Api { code, .. } if *code != 0 => Some(*code),
            _ => None,
        }
    }
}
