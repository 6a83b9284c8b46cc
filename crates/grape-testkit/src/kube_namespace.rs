//! A namespace of the test API server for one test, deleted when dropped.

use std::time::Duration;

use crate::TestkitError;
use crate::kube::KubeApi;

/// A namespace created for one test (`PREFIX-<8 hex>`); deleted on drop without waiting for
/// the namespace controller to finish.
#[derive(Debug)]
pub struct KubeNamespace {
    name: String,
    url: String,
    token: String,
    ca_pem: String,
}

impl KubeNamespace {
    pub(crate) async fn create(api: &KubeApi, prefix: &str) -> Result<Self, TestkitError> {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{prefix}-{}", &suffix[..8]);
        let ns = Self {
            url: format!("{}/api/v1/namespaces", api.url()),
            token: api.token().to_owned(),
            ca_pem: api.ca_pem().to_owned(),
            name,
        };
        let body = format!(
            r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{}"}}}}"#,
            ns.name
        );
        let url = ns.url.clone();
        let failed = |source| TestkitError::Http {
            url: url.clone(),
            source,
        };
        client(&ns.ca_pem)?
            .post(&ns.url)
            .bearer_auth(&ns.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(failed)?;
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for KubeNamespace {
    fn drop(&mut self) {
        let url = format!("{}/{}", self.url, self.name);
        let (token, ca) = (self.token.clone(), self.ca_pem.clone());
        // Drop may run inside a runtime: delete from a thread of its own, bounded.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(client) = client(&ca) {
                    let _ = client.delete(&url).bearer_auth(&token).send().await;
                }
            });
        });
        let _ = handle.join();
    }
}

/// A client trusting the server's CA bundle (rustls), short timeouts, no proxy.
pub(crate) fn client(ca_pem: &str) -> Result<reqwest::Client, TestkitError> {
    let certs = reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes()).map_err(|source| {
        TestkitError::Http {
            url: "the API server's CA".into(),
            source,
        }
    })?;
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .tls_certs_only(certs)
        .build()
        .map_err(|source| TestkitError::Http {
            url: "the API server's CA".into(),
            source,
        })
}
