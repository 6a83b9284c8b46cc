//! The repository credential ArgoCD reads: a Secret labelled
//! `argocd.argoproj.io/secret-type: repository` in ArgoCD's namespace.

use grape_api::Secret;
use serde_json::json;

use crate::chart::ARGOCD_NAMESPACE;
use crate::manifest::Manifest;

/// A git repository and the token ArgoCD clones it with (from the worker's git credentials
/// map, never from a payload).
#[derive(Debug, Clone)]
pub struct RepositoryCredential {
    /// The clone URL (`https://…`).
    pub url: String,
    /// The user name sent with the token (`x-access-token` works for GitHub and GitLab).
    pub username: String,
    /// The token.
    pub token: Secret,
}

/// A Secret's manifest: holds a credential, so its `Debug` shows only its name.
#[derive(Clone)]
pub struct SecretManifest(Manifest);

impl SecretManifest {
    /// The manifest to apply (contains the credential: never log it).
    pub fn expose(&self) -> &Manifest {
        &self.0
    }

    /// The Secret's name.
    pub fn name(&self) -> &str {
        self.0.name()
    }
}

impl std::fmt::Debug for SecretManifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretManifest({}: [REDACTED])", self.0.name())
    }
}

impl RepositoryCredential {
    /// The Secret's name: `repo-` and a short, stable digest-free form of the URL's host and path.
    pub fn secret_name(&self) -> String {
        let tail: String = self
            .url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches(".git")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let mut name = format!("repo-{}", tail.trim_matches('-'));
        name.truncate(63);
        name.trim_end_matches('-').to_owned()
    }

    /// The Secret manifest ArgoCD picks up.
    pub fn manifest(&self) -> SecretManifest {
        SecretManifest(Manifest(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": self.secret_name(),
                "namespace": ARGOCD_NAMESPACE,
                "labels": {
                    "argocd.argoproj.io/secret-type": "repository",
                    "app.kubernetes.io/managed-by": "vintner",
                },
            },
            "type": "Opaque",
            "stringData": {
                "type": "git",
                "url": self.url,
                "username": self.username,
                "password": self.token.expose(),
            },
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_labelled_for_argocd_and_hides_its_token() {
        let cred = RepositoryCredential {
            url: "https://github.com/Acme/Apps.git".into(),
            username: "x-access-token".into(),
            token: Secret::new("ghp_very_secret"),
        };
        let m = cred.manifest();
        assert_eq!(m.name(), "repo-github-com-acme-apps");
        let doc = &m.expose().0;
        assert_eq!(
            doc["metadata"]["labels"]["argocd.argoproj.io/secret-type"],
            "repository"
        );
        assert_eq!(doc["metadata"]["namespace"], "argocd");
        assert_eq!(doc["stringData"]["password"], "ghp_very_secret");
        let shown = format!("{m:?} {cred:?}");
        assert!(!shown.contains("ghp_very_secret"), "{shown}");
    }
}
