//! [`AzureIdentitySettings`]: an Azure app registration (or user-assigned managed identity)
//! with a federated credential. The client assertion always comes from the worker.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{SettingsError, WorkerOnly, from_settings, is_guid};

const WORKER_ONLY: &[WorkerOnly] = &[
    ("authority_host", "TENDRIL_AZURE_AUTHORITY_HOST"),
    ("arm_url", "TENDRIL_AZURE_ARM_URL"),
    ("resource_manager_url", "TENDRIL_AZURE_ARM_URL"),
    ("federated_token_file", "TENDRIL_AZURE_FEDERATED_TOKEN_FILE"),
    (
        "client_secret",
        "TENDRIL_AZURE_FEDERATED_TOKEN_FILE (a federated credential, no secret)",
    ),
];

/// Where the worker takes the client assertion it presents to Microsoft Entra ID.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AzureAssertionSource {
    /// The token in the file the worker is configured with (`TENDRIL_AZURE_FEDERATED_TOKEN_FILE`).
    #[default]
    File,
    /// A web identity token of the worker's own AWS identity (`sts:GetWebIdentityToken`).
    Aws,
}

/// An Azure cloud identity.
///
/// ```json
/// {"tenant_id": "…guid…", "client_id": "…guid…", "subscription_id": "…guid…",
///  "assertion_source": "file"}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureIdentitySettings {
    /// The Entra ID tenant (directory) id.
    pub tenant_id: String,
    /// The application (client) id with the federated credential.
    pub client_id: String,
    /// The subscription to work in.
    pub subscription_id: String,
    /// Where the client assertion comes from (default `file`).
    #[serde(default)]
    pub assertion_source: AzureAssertionSource,
}

impl AzureIdentitySettings {
    /// Parses and validates the settings.
    pub fn parse(settings: &Value) -> Result<Self, SettingsError> {
        let identity: Self = from_settings("Azure", settings, WORKER_ONLY)?;
        identity.validate()?;
        Ok(identity)
    }

    /// Checks every setting: the three ids are GUIDs.
    pub fn validate(&self) -> Result<(), SettingsError> {
        for (name, value) in [
            ("tenant_id", &self.tenant_id),
            ("client_id", &self.client_id),
            ("subscription_id", &self.subscription_id),
        ] {
            if !is_guid(value) {
                return Err(SettingsError::field(
                    name,
                    format!(
                        "{name} \"{value}\" is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
                    ),
                ));
            }
        }
        Ok(())
    }
}
