//! [`GitAuth`]: a token bound to the one [`Origin`] it may be sent to.

use std::fmt;

use grape_api::Secret;
use grape_process::Redactor;

use crate::Origin;

/// Credentials for one HTTPS (or HTTP) origin, sent as an `Authorization` header to that
/// origin only (scheme, host and port must match), never after a redirect.
///
/// Usually made by [`GitCredentials::auth_for`](crate::GitCredentials::auth_for) from the
/// worker's host map.
#[derive(Clone, PartialEq, Eq)]
pub struct GitAuth {
    origin: Origin,
    /// `Some`: `Authorization: Basic base64(user:token)`; `None`: `Bearer token`.
    username: Option<String>,
    token: Secret,
}

impl GitAuth {
    /// Basic auth with the `x-access-token` user name, which GitHub (App and personal tokens)
    /// and GitLab accept with a token.
    pub fn token(origin: Origin, token: Secret) -> Self {
        Self::basic(origin, "x-access-token", token)
    }

    /// `Authorization: Basic base64(username:token)`.
    pub fn basic(origin: Origin, username: impl Into<String>, token: Secret) -> Self {
        Self {
            origin,
            username: Some(username.into()),
            token,
        }
    }

    /// `Authorization: Bearer token`.
    pub fn bearer(origin: Origin, token: Secret) -> Self {
        Self {
            origin,
            username: None,
            token,
        }
    }

    /// The origin this token may be sent to.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The user name of Basic auth (`None` for Bearer).
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The token.
    pub fn secret(&self) -> &Secret {
        &self.token
    }

    /// The value of the `Authorization` header.
    fn header_value(&self) -> String {
        use base64::Engine as _;
        let token = self.token.expose();
        match &self.username {
            Some(user) => {
                let creds =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
                format!("Authorization: Basic {creds}")
            }
            None => format!("Authorization: Bearer {token}"),
        }
    }

    /// Registers the token and every derived form with `redactor`.
    pub(crate) fn register(&self, redactor: &Redactor) {
        let token = self.token.expose();
        redactor.add(token);
        if let Some(user) = &self.username {
            redactor.add(&format!("{user}:{token}"));
        }
        redactor.add(&self.header_value());
    }

    /// git configuration (for `GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n`): the header scoped to this
    /// origin (`http.<origin>/.extraHeader`, which git matches on scheme, host and port), and
    /// no redirects while a token is in play.
    pub(crate) fn git_config(&self) -> [(String, String); 2] {
        [
            (
                format!("http.{}/.extraHeader", self.origin),
                self.header_value(),
            ),
            ("http.followRedirects".to_owned(), "false".to_owned()),
        ]
    }
}

impl fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitAuth")
            .field("origin", &self.origin.to_string())
            .field("username", &self.username)
            .field("token", &self.token)
            .finish()
    }
}
