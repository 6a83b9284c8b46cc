//! Reading a user's kubeconfig (for `grape cluster bootstrap --local --kubeconfig`): the
//! context's cluster and a bearer token. Exec plugins and client certificates are not taken:
//! through a worker, Vintner mints the cluster's token itself.

use std::path::Path;

use base64::Engine as _;
use grape_api::Secret;
use serde_json::Value;

use crate::{ClusterAccess, K8sError, parse_yaml};

/// The cluster a kubeconfig context points at, and its user's token.
#[derive(Debug, Clone)]
pub struct KubeconfigCluster {
    /// The cluster's name in the kubeconfig.
    pub name: String,
    /// The API server URL.
    pub endpoint: String,
    /// The PEM of the API server's CA.
    pub ca_pem: String,
    /// The user's bearer token (hidden in `Debug`).
    pub token: Secret,
}

impl KubeconfigCluster {
    /// The cluster's access (endpoint and CA checked).
    pub fn access(&self) -> Result<ClusterAccess, K8sError> {
        ClusterAccess::new(&self.endpoint, &self.ca_pem)
    }
}

fn problem(what: impl Into<String>) -> K8sError {
    K8sError::Kubeconfig(what.into())
}

/// Reads the kubeconfig text `text` (of the file at `path`: relative file names in it are
/// relative to that file), context `context` or the current one.
pub fn read_kubeconfig(
    text: &str,
    path: &Path,
    context: Option<&str>,
) -> Result<KubeconfigCluster, K8sError> {
    let doc = parse_yaml(text)
        .map_err(|e| problem(format!("{} is not YAML: {e}", path.display())))?
        .into_iter()
        .next()
        .ok_or_else(|| problem(format!("{} is empty", path.display())))?;
    let context_name = match context {
        Some(c) => c.to_owned(),
        None => doc["current-context"]
            .as_str()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| problem("no current-context: name one with --context"))?
            .to_owned(),
    };
    let named = |list: &str, name: &str, field: &str| -> Result<Value, K8sError> {
        doc[list]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == name)
            .map(|e| e[field].clone())
            .ok_or_else(|| problem(format!("no {field} `{name}` in {list}")))
    };
    let ctx = named("contexts", &context_name, "context")?;
    let cluster_name = ctx["cluster"]
        .as_str()
        .ok_or_else(|| problem(format!("context `{context_name}` names no cluster")))?;
    let user_name = ctx["user"]
        .as_str()
        .ok_or_else(|| problem(format!("context `{context_name}` names no user")))?;
    let cluster = named("clusters", cluster_name, "cluster")?;
    let user = named("users", user_name, "user")?;
    let base = path.parent().unwrap_or(Path::new("."));
    let read = |file: &str| -> Result<String, K8sError> {
        std::fs::read_to_string(base.join(file))
            .map_err(|e| problem(format!("cannot read {file}: {e}")))
    };
    let endpoint = cluster["server"]
        .as_str()
        .ok_or_else(|| problem(format!("cluster `{cluster_name}` has no server")))?
        .to_owned();
    let ca_pem = match (
        cluster["certificate-authority-data"].as_str(),
        cluster["certificate-authority"].as_str(),
    ) {
        (Some(data), _) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data.split_whitespace().collect::<String>())
                .map_err(|e| problem(format!("certificate-authority-data is not base64: {e}")))?;
            String::from_utf8(bytes)
                .map_err(|_| problem("certificate-authority-data is not a PEM"))?
        }
        (None, Some(file)) => read(file)?,
        (None, None) => {
            return Err(problem(format!(
                "cluster `{cluster_name}` has no certificate-authority(-data): its server cannot be verified"
            )));
        }
    };
    let token = match (user["token"].as_str(), user["tokenFile"].as_str()) {
        (Some(token), _) => token.to_owned(),
        (None, Some(file)) => read(file)?.trim().to_owned(),
        (None, None) if user.get("exec").is_some() => {
            return Err(problem(format!(
                "user `{user_name}` gets its token from an exec plugin, which a local bootstrap \
                 does not run: give a user with a token, or bootstrap through a worker (it mints \
                 the cluster's token from the vine's identity)"
            )));
        }
        (None, None) => {
            return Err(problem(format!(
                "user `{user_name}` has no token or tokenFile (client certificates are not supported)"
            )));
        }
    };
    if token.is_empty() {
        return Err(problem(format!("user `{user_name}` has an empty token")));
    }
    Ok(KubeconfigCluster {
        name: cluster_name.to_owned(),
        endpoint,
        ca_pem,
        token: Secret::new(token),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";

    #[test]
    fn the_current_context_or_a_named_one() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(PEM);
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: dev\nclusters:\n- name: c1\n  cluster: {{server: 'https://one:6443', certificate-authority-data: {b64}}}\n- name: c2\n  cluster: {{server: 'https://two', certificate-authority: ca.pem}}\nusers:\n- name: u1\n  user: {{token: s3cret}}\n- name: u2\n  user: {{exec: {{command: aws}}}}\ncontexts:\n- name: dev\n  context: {{cluster: c1, user: u1}}\n- name: prod\n  context: {{cluster: c2, user: u2}}\n"
        );
        let dir = std::env::temp_dir();
        let found = read_kubeconfig(&text, &dir.join("config"), None).unwrap();
        assert_eq!(found.name, "c1");
        assert_eq!(found.endpoint, "https://one:6443");
        assert_eq!(found.token.expose(), "s3cret");
        assert!(found.access().is_ok());
        assert!(!format!("{found:?}").contains("s3cret"));
        let err = read_kubeconfig(&text, &dir.join("config"), Some("prod")).unwrap_err();
        assert!(err.to_string().contains("cannot read ca.pem"), "{err}");
        let err = read_kubeconfig(&text, &dir.join("config"), Some("nope")).unwrap_err();
        assert!(err.to_string().contains("no context `nope`"), "{err}");
    }
}
