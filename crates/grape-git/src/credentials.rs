//! [`GitCredentials`]: the worker-side map from an origin (`https://host[:port]`) to the git
//! token sent to it. Job payloads never name a token: a job only gets the token of the exact
//! origin of its clone URL.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use grape_api::Secret;
use grape_process::Redactor;
use serde_json::Value;

use crate::{GitAuth, GitError, Origin};

/// Why a credentials file was refused. `Display` is one line naming the file; it never
/// contains a token (nor a key that carries a password).
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a regular file.
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The file.
        path: PathBuf,
    },
    /// Group or others have access to the file.
    #[error("{} is accessible by group or others (mode {mode:04o}): it holds tokens, chmod 600 it", path.display())]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The content is not a JSON object of `"scheme://host[:port]": "token"` entries.
    #[error("{}{}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default(), reason)]
    Format {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// What is wrong (never a token).
        reason: String,
    },
}

/// The host → token map of a worker (`TENDRIL_GIT_CREDENTIALS`) or of `grape --local`
/// (`GRAPE_GIT_CREDENTIALS`): a JSON object `{"https://host[:port]": "token", …}` in a file only
/// its owner may access (mode 0600).
///
/// Keys are normalised [`Origin`]s; a token is handed out only for a URL with exactly that
/// scheme, host and port. `Debug` lists the origins, never a token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct GitCredentials {
    tokens: BTreeMap<Origin, Secret>,
}

impl GitCredentials {
    /// An empty map: no git source gets a token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads and checks a credentials file: a regular file without any group or other
    /// permission bits, holding a JSON object of origin → non-empty token strings.
    pub fn load(path: &Path) -> Result<Self, CredentialsError> {
        use std::os::unix::fs::PermissionsExt as _;
        let io = |source| CredentialsError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() {
            return Err(CredentialsError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(CredentialsError::Permissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        Self::from_json(&text).map_err(|e| match e {
            CredentialsError::Format { reason, .. } => CredentialsError::Format {
                path: Some(path.to_path_buf()),
                reason,
            },
            other => other,
        })
    }

    /// Parses the JSON text of a credentials file (see [`GitCredentials::load`]).
    pub fn from_json(text: &str) -> Result<Self, CredentialsError> {
        let format = |reason: String| CredentialsError::Format { path: None, reason };
        // A syntax error of serde_json names a line and column, never the content.
        let value: Value =
            serde_json::from_str(text).map_err(|e| format(format!("not valid JSON ({e})")))?;
        let Value::Object(entries) = value else {
            return Err(format(
                "expected a JSON object {\"https://host[:port]\": \"token\", ...}".to_owned(),
            ));
        };
        let mut out = Self::new();
        for (key, token) in entries {
            // A key with `@` may hold a password: it is not repeated.
            let name = if key.contains('@') {
                "a key with `@`".to_owned()
            } else {
                format!("key {key:?}")
            };
            let origin =
                Origin::parse(&key).map_err(|why| format(format!("{name} is refused: {why}")))?;
            let token = match token {
                Value::String(t) if !t.trim().is_empty() => Secret::new(t.trim()),
                _ => {
                    return Err(format(format!(
                        "the token of {name} must be a non-empty string"
                    )));
                }
            };
            if out.tokens.contains_key(&origin) {
                return Err(format(format!(
                    "{name} names the origin {origin} a second time"
                )));
            }
            out.tokens.insert(origin, token);
        }
        Ok(out)
    }

    /// Adds (or replaces) the token of `origin`.
    pub fn insert(&mut self, origin: Origin, token: Secret) {
        self.tokens.insert(origin, token);
    }

    /// The token of exactly this origin.
    pub fn token(&self, origin: &Origin) -> Option<&Secret> {
        self.tokens.get(origin)
    }

    /// The credentials for a clone URL: `Some` only when the URL is `http(s)` and its scheme,
    /// host and port match a key exactly. A URL with a user name or password is an error.
    pub fn auth_for(&self, url: &str) -> Result<Option<GitAuth>, GitError> {
        Ok(Origin::of_url(url)?.and_then(|origin| {
            let token = self.tokens.get(&origin)?.clone();
            Some(GitAuth::token(origin, token))
        }))
    }

    /// The origins that have a token.
    pub fn origins(&self) -> impl Iterator<Item = &Origin> {
        self.tokens.keys()
    }

    /// Every token (to seed a job's redactor).
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.tokens.values()
    }

    /// Registers every token with `redactor`.
    pub fn register(&self, redactor: &Redactor) {
        for token in self.tokens.values() {
            redactor.add(token.expose());
        }
    }

    /// Number of origins.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// No origin has a token.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

impl fmt::Debug for GitCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.tokens.keys().map(ToString::to_string))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str =
        r#"{"https://git.example.com": "tok-aaaaaaaa", "http://127.0.0.1:8080": "tok-bbbbbbbb"}"#;

    fn auth(creds: &GitCredentials, url: &str) -> Option<String> {
        creds
            .auth_for(url)
            .unwrap()
            .map(|a| a.secret().expose().to_owned())
    }

    #[test]
    fn a_token_only_for_the_exact_scheme_host_and_port() {
        let c = GitCredentials::from_json(MAP).unwrap();
        assert_eq!(
            auth(&c, "https://git.example.com/o/r.git").as_deref(),
            Some("tok-aaaaaaaa")
        );
        assert_eq!(
            auth(&c, "https://GIT.example.com:443/r").as_deref(),
            Some("tok-aaaaaaaa")
        );
        assert_eq!(
            auth(&c, "http://127.0.0.1:8080/r.git").as_deref(),
            Some("tok-bbbbbbbb")
        );
        for other in [
            "http://git.example.com/o/r.git",       // scheme
            "https://git.example.com:8443/o/r.git", // port
            "https://evil.example.com/o/r.git",     // host
            "https://git.example.com.evil.com/r",   // suffix
            "https://example.com/r",                // parent domain
            "http://127.0.0.1/r.git",               // port 80
            "http://127.0.0.1:8081/r.git",          // port
            "https://127.0.0.1:8080/r.git",         // scheme
            "http://localhost:8080/r.git",          // another name of the host
            "ssh://git@git.example.com/o/r.git",    // ssh: never a token
            "git@git.example.com:o/r.git",
            "file:///srv/r.git",
        ] {
            assert_eq!(auth(&c, other), None, "{other}");
        }
        assert!(
            c.auth_for("https://x:tok-aaaaaaaa@git.example.com/r")
                .is_err()
        );
        assert_eq!(
            auth(&GitCredentials::new(), "https://git.example.com/r"),
            None
        );
    }

    #[test]
    fn malformed_maps_are_refused_without_their_tokens() {
        for (text, expect) in [
            ("{", "not valid JSON"),
            ("[]", "expected a JSON object"),
            (r#"{"https://h": 5}"#, "non-empty string"),
            (r#"{"https://h": " "}"#, "non-empty string"),
            (r#"{"https://h/org": "tok-c"}"#, "path"),
            (r#"{"h": "tok-c"}"#, "scheme://host"),
            (
                r#"{"https://u:hunter2@h": "tok-c"}"#,
                "user name or password",
            ),
            (
                r#"{"https://h": "tok-c", "https://H:443/": "tok-d"}"#,
                "second time",
            ),
        ] {
            let err = GitCredentials::from_json(text).expect_err(text).to_string();
            assert!(err.contains(expect), "{text}: {err}");
            for secret in ["tok-c", "tok-d", "hunter2"] {
                assert!(!err.contains(secret), "{err}");
            }
        }
    }

    #[test]
    fn debug_lists_origins_only() {
        let c = GitCredentials::from_json(MAP).unwrap();
        let debug = format!("{c:?}");
        assert!(debug.contains("https://git.example.com"), "{debug}");
        assert!(!debug.contains("tok-"), "{debug}");
        assert_eq!(c.len(), 2);
        let redactor = Redactor::new();
        c.register(&redactor);
        assert_eq!(
            redactor.redact("tok-aaaaaaaa tok-bbbbbbbb"),
            "[REDACTED] [REDACTED]"
        );
    }
}
