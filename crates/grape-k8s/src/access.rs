//! Where a cluster is: its endpoint and CA, from a vine's Terraform outputs.

use base64::Engine as _;
use grape_api::Secret;
use serde_json::Value;

use crate::K8sError;

/// A cluster's API server URL and the CA certificates that verify it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterAccess {
    endpoint: String,
    ca_der: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ClusterAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterAccess")
            .field("endpoint", &self.endpoint)
            .field("ca_certificates", &self.ca_der.len())
            .finish()
    }
}

impl ClusterAccess {
    /// `endpoint` (an `https://` URL) verified by the PEM certificates in `ca_pem`.
    pub fn new(endpoint: &str, ca_pem: &str) -> Result<Self, K8sError> {
        let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
        if !endpoint.starts_with("https://") || endpoint.len() <= "https://".len() {
            return Err(K8sError::Output {
                output: "cluster_endpoint",
                problem: format!("{endpoint:?} is not an https:// URL"),
            });
        }
        let ca_der = pem_certificates(ca_pem).map_err(|problem| K8sError::Output {
            output: "cluster_ca_certificate",
            problem,
        })?;
        Ok(Self { endpoint, ca_der })
    }

    /// Reads `cluster_endpoint` and `cluster_ca_certificate` (base64 of the PEM, as EKS, GKE
    /// and AKS give it; a plain PEM is accepted too) from `terraform output -json`-style
    /// values (`{name: value}` or `{name: {value, …}}`).
    pub fn from_outputs(outputs: &Value) -> Result<Self, K8sError> {
        let get = |name: &'static str| -> Result<String, K8sError> {
            let v = outputs.get(name).map(|v| v.get("value").unwrap_or(v));
            match v {
                None | Some(Value::Null) => Err(K8sError::Output {
                    output: name,
                    problem: "missing".into(),
                }),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
                Some(_) => Err(K8sError::Output {
                    output: name,
                    problem: "not a non-empty string".into(),
                }),
            }
        };
        let endpoint = get("cluster_endpoint")?;
        let ca = get("cluster_ca_certificate")?;
        let pem = if ca.contains("-----BEGIN") {
            ca
        } else {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(ca.split_whitespace().collect::<String>())
                .map_err(|e| K8sError::Output {
                    output: "cluster_ca_certificate",
                    problem: format!("neither a PEM nor base64 of one ({e})"),
                })?;
            String::from_utf8(bytes).map_err(|_| K8sError::Output {
                output: "cluster_ca_certificate",
                problem: "base64 of something that is not a PEM".into(),
            })?
        };
        Self::new(&endpoint, &pem)
    }

    /// The API server URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(crate) fn ca_der(&self) -> &[Vec<u8>] {
        &self.ca_der
    }

    /// A kubeconfig for this cluster authenticating with `token`, for tools that read one
    /// (Helm): one cluster, one user, one context named `vintner`. It holds the token: a
    /// secret, to be written only to a private file that is removed afterwards.
    pub fn kubeconfig(&self, token: &Secret) -> Secret {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut pem = String::new();
        for der in &self.ca_der {
            let body = b64.encode(der);
            pem.push_str("-----BEGIN CERTIFICATE-----\n");
            for line in body.as_bytes().chunks(64) {
                pem.push_str(std::str::from_utf8(line).unwrap_or_default());
                pem.push('\n');
            }
            pem.push_str("-----END CERTIFICATE-----\n");
        }
        let config = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "vintner", "cluster": {
                "server": self.endpoint,
                "certificate-authority-data": b64.encode(pem),
            }}],
            "users": [{"name": "vintner", "user": {"token": token.expose()}}],
            "contexts": [{"name": "vintner", "context": {"cluster": "vintner", "user": "vintner"}}],
            "current-context": "vintner",
        });
        // JSON is YAML: every kubeconfig reader takes it.
        Secret::new(config.to_string())
    }
}

/// The DER bytes of every `CERTIFICATE` block of a PEM text.
fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut certs = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        match (&mut body, line) {
            (None, "-----BEGIN CERTIFICATE-----") => body = Some(String::new()),
            (Some(b), "-----END CERTIFICATE-----") => {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b.as_bytes())
                    .map_err(|e| format!("certificate {} is not base64 ({e})", certs.len() + 1))?;
                certs.push(der);
                body = None;
            }
            (Some(b), text) => b.push_str(text),
            (None, _) => {}
        }
    }
    if body.is_some() {
        return Err("a certificate has no END line".into());
    }
    if certs.is_empty() {
        return Err("holds no PEM certificate".into());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n";

    #[test]
    fn outputs_with_base64_pem_and_wrapped_values() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(PEM);
        let access = ClusterAccess::from_outputs(&json!({
            "cluster_endpoint": {"value": "https://abc.eks.amazonaws.com/"},
            "cluster_ca_certificate": b64,
        }))
        .unwrap();
        assert_eq!(access.endpoint(), "https://abc.eks.amazonaws.com");
        assert_eq!(access.ca_der(), &[vec![0, 1, 2, 3]]);
        let plain = ClusterAccess::from_outputs(&json!({
            "cluster_endpoint": "https://10.0.0.1",
            "cluster_ca_certificate": PEM,
        }))
        .unwrap();
        assert_eq!(plain.ca_der().len(), 1);
    }

    #[test]
    fn a_kubeconfig_holds_the_endpoint_the_ca_and_the_token() {
        let access = ClusterAccess::new("https://10.0.0.1:6443", PEM).unwrap();
        let text = access.kubeconfig(&Secret::new("t0ken".to_owned()));
        let config: Value = serde_json::from_str(text.expose()).unwrap();
        assert_eq!(config["current-context"], "vintner");
        assert_eq!(
            config["clusters"][0]["cluster"]["server"],
            "https://10.0.0.1:6443"
        );
        assert_eq!(config["users"][0]["user"]["token"], "t0ken");
        let ca = config["clusters"][0]["cluster"]["certificate-authority-data"]
            .as_str()
            .unwrap();
        let pem = base64::engine::general_purpose::STANDARD
            .decode(ca)
            .unwrap();
        let again = ClusterAccess::new("https://x", std::str::from_utf8(&pem).unwrap()).unwrap();
        assert_eq!(again.ca_der(), access.ca_der());
    }

    #[test]
    fn bad_outputs_are_named() {
        let err = ClusterAccess::from_outputs(&json!({"cluster_ca_certificate": PEM})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "terraform output `cluster_endpoint`: missing"
        );
        let err = ClusterAccess::from_outputs(&json!({
            "cluster_endpoint": "http://plain", "cluster_ca_certificate": PEM,
        }))
        .unwrap_err();
        assert!(err.to_string().contains("not an https:// URL"), "{err}");
        let err = ClusterAccess::from_outputs(&json!({
            "cluster_endpoint": "https://x", "cluster_ca_certificate": "%%%",
        }))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("terraform output `cluster_ca_certificate`"),
            "{err}"
        );
    }
}
