//! Azure for Vintner jobs: an identity's Resource Manager token from a federated client
//! assertion, kept fresh, its check, and the discovery of its subscription — behind grape-api's
//! cloud-neutral session contract ([`AzureConnector`] → [`AzureSession`]).
//!
//! # Tokens
//! The worker's client assertion ([`AssertionSource`]: the token file it is configured with,
//! `TENDRIL_AZURE_FEDERATED_TOKEN_FILE`, or a web identity token of its own AWS identity made by
//! the caller) is presented to Microsoft Entra ID (`client_credentials` with
//! `client_assertion`) for an ARM token. That is one form POST, written here on reqwest rather
//! than azure_identity: azure_identity refuses a non-https authority host (local fakes), takes
//! overrides from the process-global `AZURE_AUTHORITY_HOST`, wraps the AADSTS code we classify
//! into a generic error, and adds ~37 crates. AADSTS codes become what to fix (tenant or client
//! wrong, federated subject mismatch, an expired assertion).
//!
//! # Tools
//! `AZURE_TENANT_ID`/`AZURE_CLIENT_ID`/`AZURE_SUBSCRIPTION_ID` (and `ARM_*` for azurerm), the
//! assertion in `AZURE_FEDERATED_TOKEN_FILE` = `ARM_OIDC_TOKEN_FILE_PATH` with `ARM_USE_OIDC`
//! (0600 in the job's workspace, rewritten at each renewal).
//!
//! # Verify and discover
//! Verify = a fresh token, then `GET /subscriptions/{id}` (no role there: "assign Reader").
//! Discovery: virtual networks with their subnets, public and private DNS zones, following
//! `nextLink` — refused when it points at another host than the configured ARM base.
#![warn(missing_docs)]

mod arm;
mod session;
mod token;

pub use session::{AzureConnector, AzureSession};
pub use token::{ARM_SCOPE, AssertionSource, AzureCredentials, ClientAssertion};

/// Where the worker reaches Azure (`TENDRIL_AZURE_AUTHORITY_HOST`, `TENDRIL_AZURE_ARM_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureEndpoints {
    /// The Entra ID authority host.
    pub authority_host: String,
    /// The Resource Manager base.
    pub arm: String,
}

impl Default for AzureEndpoints {
    fn default() -> Self {
        Self {
            authority_host: "https://login.microsoftonline.com".to_owned(),
            arm: "https://management.azure.com".to_owned(),
        }
    }
}
