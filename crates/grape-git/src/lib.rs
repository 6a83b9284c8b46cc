//! # grape-git — git sources for jobs
//!
//! Checks a git source (URL, optional branch/tag/commit, optional subdirectory) out into a job
//! workspace, and commits/pushes for GitOps jobs. It shells out to `git` through
//! `grape-process` (no libgit2: it would bring OpenSSL).
//!
//! ## Credentials
//! Tokens come from a host map held by the worker ([`GitCredentials`], a 0600 JSON file
//! `{"https://host[:port]": "token"}`), never from a job: [`GitCredentials::auth_for`] gives a
//! [`GitAuth`] only for a clone URL whose scheme, host and port match a key exactly. The header
//! reaches git by environment only (`GIT_CONFIG_COUNT` / `GIT_CONFIG_KEY_0=http.<origin>/.extraHeader`
//! / `GIT_CONFIG_VALUE_0=Authorization: …`), scoped to that origin, with `http.followRedirects=false`
//! so a redirect to another host never carries it; it never appears in argv, in `.git/config` or
//! in a URL, and it is registered with the job's redactor. `http(s)` URLs with a user name or
//! password are refused. git runs with `GIT_TERMINAL_PROMPT=0` and without the user's global or
//! system config.

#![warn(missing_docs)]

mod auth;
mod checkout;
mod credentials;
mod error;
mod git;
mod origin;
mod publish;
mod push;

pub use auth::GitAuth;
pub use checkout::{CheckedOut, GitSource, checkout};
pub use credentials::{CredentialsError, GitCredentials};
pub use error::GitError;
pub use git::Git;
pub use origin::Origin;
pub use publish::Publication;
pub use push::{GitAuthor, commit_all_and_push};
