//! A Kubernetes object as JSON, with the few accessors the provisioner needs.

use serde::Serialize;
use serde_json::Value;

/// One Kubernetes object (`apiVersion`, `kind`, `metadata`, …) ready for server-side apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Manifest(pub Value);

impl Manifest {
    /// `kind`.
    pub fn kind(&self) -> &str {
        self.0["kind"].as_str().unwrap_or_default()
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.0["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// `metadata.namespace`, for namespaced objects.
    pub fn namespace(&self) -> Option<&str> {
        self.0["metadata"]["namespace"].as_str()
    }

    /// `apiVersion`.
    pub fn api_version(&self) -> &str {
        self.0["apiVersion"].as_str().unwrap_or_default()
    }
}
