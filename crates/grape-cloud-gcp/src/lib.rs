//! GCP for Vintner jobs: a cloud identity's access token by workload identity federation, kept
//! fresh, its check, and the discovery of its project — behind grape-api's cloud-neutral
//! session contract ([`GcpConnector`] → [`GcpSession`]).
//!
//! # Minting
//! The worker makes a subject token ([`SubjectSource`]: a `GetCallerIdentity` request signed
//! with its own AWS credentials — the Fargate case, which google-cloud-auth's AWS source does
//! not cover — or the OIDC token in `TENDRIL_GCP_SUBJECT_TOKEN_FILE`), exchanges it at Google's
//! STS for a federated token, and — when the identity names a service account — calls
//! `generateAccessToken` itself. Every endpoint is [`GcpEndpoints`], worker configuration only.
//! These are three small HTTP calls written here on reqwest rather than google-cloud-auth: its
//! impersonation URL is hard-coded (tests could not reach a fake), its MSRV outruns ours past
//! 1.15, and it would add ~49 crates.
//!
//! # Tools
//! [`CloudSession::tool_env`](grape_api::CloudSession::tool_env) gives Terraform's google
//! provider `GOOGLE_OAUTH_ACCESS_TOKEN`, gcloud `CLOUDSDK_AUTH_ACCESS_TOKEN_FILE` (0600 in the
//! job's workspace, rewritten at each renewal) and `GOOGLE_PROJECT`/`CLOUDSDK_CORE_PROJECT`.
//!
//! # Discovery
//! `networks.list`, `subnetworks.aggregatedList` (partial success; unreachable regions become
//! errors) and Cloud DNS `managedZones.list`, every page, into the provider-neutral
//! [`Discovery`](grape_api::Discovery) document.
#![warn(missing_docs)]

mod discover;
mod google;
mod session;
mod subject;
mod token;

pub use session::{GcpConnector, GcpSession};
pub use subject::{
    AwsKeySource, AwsKeys, SubjectSource, TARGET_RESOURCE_HEADER, aws_subject_token,
};
pub use token::{AccessToken, CLOUD_PLATFORM_SCOPE};

/// Where the worker reaches Google (`TENDRIL_GCP_*_URL`; tests point them at local fakes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpEndpoints {
    /// The STS token endpoint (`TENDRIL_GCP_STS_URL`).
    pub sts: String,
    /// The IAM Credentials API base (`TENDRIL_GCP_IAM_CREDENTIALS_URL`).
    pub iam_credentials: String,
    /// The Compute Engine API base (`TENDRIL_GCP_COMPUTE_URL`).
    pub compute: String,
    /// The Cloud DNS API base (`TENDRIL_GCP_DNS_URL`).
    pub dns: String,
}

impl Default for GcpEndpoints {
    fn default() -> Self {
        Self {
            sts: grape_api::identity::GCP_DEFAULT_TOKEN_URL.to_owned(),
            iam_credentials: "https://iamcredentials.googleapis.com".to_owned(),
            compute: "https://compute.googleapis.com".to_owned(),
            dns: "https://dns.googleapis.com".to_owned(),
        }
    }
}
