//! How the worker reaches the clouds its jobs' identities live in. These are worker
//! configuration only: an identity's settings choose what to assume, never an endpoint or a
//! file on the worker (a user could otherwise read `/proc/self/environ` through a "token file",
//! or send signed requests to a host of their choosing).

use std::path::PathBuf;

use clap::Args;
use grape_provisioner::{AwsAccess, AzureAccess, GcpAccess};

use super::{ConfigError, http_url, invalid, non_empty, var};

/// The cloud access flags of `tendril start`.
#[derive(Debug, Clone, Default, Args)]
pub struct CloudArgs {
    /// Endpoint override of every AWS call made for a job (STS when assuming its identity,
    /// discovery), handed to its tools as AWS_ENDPOINT_URL: an AWS-compatible API, a VPC
    /// endpoint, moto in tests.
    #[arg(long, env = var::TENDRIL_AWS_ENDPOINT_URL, value_name = "URL")]
    pub aws_endpoint_url: Option<String>,
    /// Assume jobs' AWS identities with sts:AssumeRoleWithWebIdentity and the OIDC token in
    /// this file (EKS IRSA, a CI's OIDC token) instead of the worker's own credentials.
    #[arg(long, env = var::TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE, value_name = "PATH")]
    pub aws_web_identity_token_file: Option<PathBuf>,
    /// Google's STS token endpoint for GCP identities [default: https://sts.googleapis.com/v1/token].
    #[arg(long, env = var::TENDRIL_GCP_STS_URL, value_name = "URL")]
    pub gcp_sts_url: Option<String>,
    /// The IAM Credentials API (service account impersonation).
    #[arg(long, env = var::TENDRIL_GCP_IAM_CREDENTIALS_URL, value_name = "URL")]
    pub gcp_iam_credentials_url: Option<String>,
    /// The Compute Engine API (GCP discovery).
    #[arg(long, env = var::TENDRIL_GCP_COMPUTE_URL, value_name = "URL")]
    pub gcp_compute_url: Option<String>,
    /// The Cloud DNS API (GCP discovery).
    #[arg(long, env = var::TENDRIL_GCP_DNS_URL, value_name = "URL")]
    pub gcp_dns_url: Option<String>,
    /// Exchange this OIDC token file for the tokens of GCP identities whose subject token
    /// source is `file` (unset: a request signed with the worker's own AWS credentials).
    #[arg(long, env = var::TENDRIL_GCP_SUBJECT_TOKEN_FILE, value_name = "PATH")]
    pub gcp_subject_token_file: Option<PathBuf>,
    /// The Microsoft Entra ID authority host of Azure identities.
    #[arg(long, env = var::TENDRIL_AZURE_AUTHORITY_HOST, value_name = "URL")]
    pub azure_authority_host: Option<String>,
    /// The Azure Resource Manager base URL.
    #[arg(long, env = var::TENDRIL_AZURE_ARM_URL, value_name = "URL")]
    pub azure_arm_url: Option<String>,
    /// Present this federated token file for Azure identities whose assertion source is
    /// `file` (unset: a web identity token of the worker's own AWS identity).
    #[arg(long, env = var::TENDRIL_AZURE_FEDERATED_TOKEN_FILE, value_name = "PATH")]
    pub azure_federated_token_file: Option<PathBuf>,
}

/// An https URL, or http to a loopback address (local fakes; the cloud SDKs insist on https
/// otherwise, and so do we).
fn cloud_url(name: &'static str, text: Option<&String>) -> Result<Option<String>, ConfigError> {
    let Some(text) = non_empty(text) else {
        return Ok(None);
    };
    let url = http_url(name, text)?;
    let parsed = reqwest::Url::parse(&url).map_err(|e| invalid(name, "URL", e.to_string()))?;
    let host = parsed
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if parsed.scheme() == "http" && !loopback {
        return Err(invalid(
            name,
            "URL",
            "http:// is accepted for a loopback address only; use https://",
        ));
    }
    Ok(Some(url))
}

fn readable_file(
    name: &'static str,
    path: Option<&PathBuf>,
) -> Result<Option<PathBuf>, ConfigError> {
    let Some(path) = path.filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(None);
    };
    if !path.is_file() {
        return Err(invalid(
            name,
            "file",
            format!("{} is not a readable file", path.display()),
        ));
    }
    Ok(Some(path.clone()))
}

impl CloudArgs {
    /// How the worker reaches AWS to assume job identities: the SDK's default chain, with the
    /// endpoint and web identity token file configured here.
    pub(super) fn aws_access(&self) -> Result<AwsAccess, ConfigError> {
        let mut base = AwsAccess::default();
        if let Some(url) = non_empty(self.aws_endpoint_url.as_ref()) {
            base.endpoint_url = Some(http_url(var::TENDRIL_AWS_ENDPOINT_URL, url)?);
        }
        base.web_identity_token_file = readable_file(
            var::TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE,
            self.aws_web_identity_token_file.as_ref(),
        )?;
        Ok(base)
    }

    /// How the worker reaches Azure for jobs' Azure identities.
    pub(super) fn azure_access(&self) -> Result<AzureAccess, ConfigError> {
        Ok(AzureAccess {
            authority_host: cloud_url(
                var::TENDRIL_AZURE_AUTHORITY_HOST,
                self.azure_authority_host.as_ref(),
            )?,
            arm_url: cloud_url(var::TENDRIL_AZURE_ARM_URL, self.azure_arm_url.as_ref())?,
            federated_token_file: readable_file(
                var::TENDRIL_AZURE_FEDERATED_TOKEN_FILE,
                self.azure_federated_token_file.as_ref(),
            )?,
        })
    }

    /// How the worker reaches GCP for jobs' GCP identities.
    pub(super) fn gcp_access(&self) -> Result<GcpAccess, ConfigError> {
        Ok(GcpAccess {
            sts_url: cloud_url(var::TENDRIL_GCP_STS_URL, self.gcp_sts_url.as_ref())?,
            iam_credentials_url: cloud_url(
                var::TENDRIL_GCP_IAM_CREDENTIALS_URL,
                self.gcp_iam_credentials_url.as_ref(),
            )?,
            compute_url: cloud_url(var::TENDRIL_GCP_COMPUTE_URL, self.gcp_compute_url.as_ref())?,
            dns_url: cloud_url(var::TENDRIL_GCP_DNS_URL, self.gcp_dns_url.as_ref())?,
            subject_token_file: readable_file(
                var::TENDRIL_GCP_SUBJECT_TOKEN_FILE,
                self.gcp_subject_token_file.as_ref(),
            )?,
            aws_signing_region: ["AWS_REGION", "AWS_DEFAULT_REGION"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|r| !r.is_empty())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_and_token_file_are_checked() {
        let base = CloudArgs::default().aws_access().expect("defaults");
        assert_eq!(base.endpoint_url, None);
        assert_eq!(base.web_identity_token_file, None);

        let token = tempfile::NamedTempFile::new().expect("token file");
        let args = CloudArgs {
            aws_endpoint_url: Some("http://127.0.0.1:5000/".into()),
            aws_web_identity_token_file: Some(token.path().to_owned()),
            ..CloudArgs::default()
        };
        let base = args.aws_access().expect("valid");
        assert_eq!(base.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(base.web_identity_token_file.as_deref(), Some(token.path()));

        let bad = CloudArgs {
            aws_endpoint_url: Some("127.0.0.1:5000".into()),
            ..CloudArgs::default()
        };
        let err = bad.aws_access().expect_err("no scheme");
        assert!(
            err.to_string().contains("TENDRIL_AWS_ENDPOINT_URL"),
            "{err}"
        );
        let missing = CloudArgs {
            aws_web_identity_token_file: Some("/nonexistent/token".into()),
            ..CloudArgs::default()
        };
        let gcp = CloudArgs {
            gcp_sts_url: Some("http://127.0.0.1:9/v1/token".into()),
            gcp_compute_url: Some("https://compute.example/".into()),
            ..CloudArgs::default()
        }
        .gcp_access()
        .expect("loopback http and https");
        assert_eq!(gcp.sts_url.as_deref(), Some("http://127.0.0.1:9/v1/token"));
        assert_eq!(gcp.compute_url.as_deref(), Some("https://compute.example"));
        let remote_http = CloudArgs {
            gcp_dns_url: Some("http://dns.example".into()),
            ..CloudArgs::default()
        };
        let err = remote_http.gcp_access().expect_err("http to a remote host");
        assert!(err.to_string().contains("TENDRIL_GCP_DNS_URL"), "{err}");
        let err = missing.aws_access().expect_err("missing");
        assert!(
            err.to_string()
                .contains("TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE"),
            "{err}"
        );
    }
}
