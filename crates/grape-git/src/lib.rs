//! # grape-git — git sources for jobs
//!
//! Checks a git source (URL, optional branch/tag/commit, optional subdirectory) out into a job
//! workspace, and commits/pushes for GitOps jobs. It shells out to `git` through
//! `grape-process` (no libgit2: it would bring OpenSSL).
//!
//! ## Credentials
//! A token is passed by environment only (`GIT_CONFIG_COUNT` / `GIT_CONFIG_KEY_0=http.extraHeader`
//! / `GIT_CONFIG_VALUE_0=Authorization: …`): it never appears in argv, in `.git/config` or in a
//! URL, and it is registered with the job's redactor. URLs embedding a password are rejected.
//! git runs with `GIT_TERMINAL_PROMPT=0` and without the user's global or system config.

#![warn(missing_docs)]

mod checkout;
mod error;
mod git;
mod push;

use std::fmt;

pub use checkout::{CheckedOut, GitSource, checkout};
pub use error::GitError;
pub use git::Git;
pub use push::{GitAuthor, commit_all_and_push};

/// Credentials for an HTTPS remote, sent as an `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub enum GitAuth {
    /// `Authorization: Basic base64(username:token)`; GitHub and GitLab accept
    /// `x-access-token` / `oauth2` as username with a token.
    Basic {
        /// The user name (not secret).
        username: String,
        /// The token or password.
        token: String,
    },
    /// `Authorization: Bearer token`.
    Bearer {
        /// The token.
        token: String,
    },
}

impl GitAuth {
    /// Basic auth with the `x-access-token` user name (GitHub App / PAT tokens).
    pub fn token(token: impl Into<String>) -> Self {
        Self::Basic {
            username: "x-access-token".to_owned(),
            token: token.into(),
        }
    }

    /// The value of the `Authorization` header.
    pub(crate) fn header_value(&self) -> String {
        use base64::Engine as _;
        match self {
            Self::Basic { username, token } => {
                let creds =
                    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{token}"));
                format!("Authorization: Basic {creds}")
            }
            Self::Bearer { token } => format!("Authorization: Bearer {token}"),
        }
    }

    /// Registers the token and every derived form with `redactor`.
    pub(crate) fn register(&self, redactor: &grape_process::Redactor) {
        match self {
            Self::Basic { username, token } => {
                redactor.add(token);
                redactor.add(&format!("{username}:{token}"));
            }
            Self::Bearer { token } => redactor.add(token),
        }
        redactor.add(&self.header_value());
    }
}

impl fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("token", &grape_process::REDACTED)
                .finish(),
            Self::Bearer { .. } => f
                .debug_struct("Bearer")
                .field("token", &grape_process::REDACTED)
                .finish(),
        }
    }
}
