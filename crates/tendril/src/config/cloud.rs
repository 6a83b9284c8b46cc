//! How the worker reaches the clouds its jobs' identities live in. These are worker
//! configuration only: an identity's settings choose what to assume, never an endpoint or a
//! file on the worker (a user could otherwise read `/proc/self/environ` through a "token file",
//! or send signed requests to a host of their choosing).

use std::path::PathBuf;

use clap::Args;
use grape_cloud_aws::BaseCredentials;

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
}

impl CloudArgs {
    /// The worker's own AWS credentials from which job identities are assumed: the SDK's
    /// default chain, with the endpoint and web identity token file configured here.
    pub(super) fn aws_base(&self) -> Result<BaseCredentials, ConfigError> {
        let mut base = BaseCredentials::default_chain();
        if let Some(url) = non_empty(self.aws_endpoint_url.as_ref()) {
            base = base.with_endpoint_url(http_url(var::TENDRIL_AWS_ENDPOINT_URL, url)?);
        }
        if let Some(path) = self
            .aws_web_identity_token_file
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty())
        {
            if !path.is_file() {
                return Err(invalid(
                    var::TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE,
                    "file",
                    format!("{} is not a readable file", path.display()),
                ));
            }
            base = base.with_web_identity_token_file(path);
        }
        Ok(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_and_token_file_are_checked() {
        let base = CloudArgs::default().aws_base().expect("defaults");
        assert_eq!(base.endpoint_url(), None);
        assert_eq!(base.web_identity_token_file(), None);

        let token = tempfile::NamedTempFile::new().expect("token file");
        let args = CloudArgs {
            aws_endpoint_url: Some("http://127.0.0.1:5000/".into()),
            aws_web_identity_token_file: Some(token.path().to_owned()),
        };
        let base = args.aws_base().expect("valid");
        assert_eq!(base.endpoint_url(), Some("http://127.0.0.1:5000"));
        assert_eq!(base.web_identity_token_file(), Some(token.path()));

        let bad = CloudArgs {
            aws_endpoint_url: Some("127.0.0.1:5000".into()),
            ..CloudArgs::default()
        };
        let err = bad.aws_base().expect_err("no scheme");
        assert!(
            err.to_string().contains("TENDRIL_AWS_ENDPOINT_URL"),
            "{err}"
        );
        let missing = CloudArgs {
            aws_web_identity_token_file: Some("/nonexistent/token".into()),
            ..CloudArgs::default()
        };
        let err = missing.aws_base().expect_err("missing");
        assert!(
            err.to_string()
                .contains("TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE"),
            "{err}"
        );
    }
}
