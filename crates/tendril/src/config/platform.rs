//! `--enable-worker-jobs`: the platform settings of the worker jobs (DEPLOY_WORKER,
//! UPDATE_WORKER, DESTROY_WORKER), which run with the platform's own AWS credentials (the
//! SDK's default chain: `AWS_*` variables, profile, ECS task role, …) and the Trellis admin
//! token (`TRELLIS_ADMIN_TOKEN` / `--admin-token-file`).

use clap::Args;
use grape_api::Secret;
use grape_cloud_aws::BaseCredentials;
use grape_provisioner::PlatformSettings;

use super::{ConfigError, http_url, non_empty, var};

/// The flags of the worker jobs.
#[derive(Debug, Clone, Default, Args)]
pub struct PlatformArgs {
    /// Offer the worker jobs (DEPLOY_WORKER, UPDATE_WORKER, DESTROY_WORKER), run with the
    /// platform's AWS credentials (default chain) and the admin token (TRELLIS_ADMIN_TOKEN).
    #[arg(long, env = var::TENDRIL_ENABLE_WORKER_JOBS)]
    pub enable_worker_jobs: bool,
    /// Endpoint override of the platform's AWS calls (an AWS-compatible API, VPC endpoints).
    #[arg(long, env = var::TENDRIL_PLATFORM_AWS_ENDPOINT, value_name = "URL")]
    pub platform_aws_endpoint: Option<String>,
    /// The Trellis URL deployed workers connect to [default: TRELLIS_URL].
    #[arg(long, env = var::TENDRIL_DEPLOYED_TRELLIS_URL, value_name = "URL")]
    pub deployed_trellis_url: Option<String>,
}

impl PlatformArgs {
    /// The platform settings, `None` without `--enable-worker-jobs`.
    pub(super) fn validate(
        &self,
        trellis_url: &str,
        admin_token: Option<Secret>,
    ) -> Result<Option<PlatformSettings>, ConfigError> {
        if !self.enable_worker_jobs {
            return Ok(None);
        }
        let admin_token = admin_token.ok_or(ConfigError::Missing {
            name: var::TRELLIS_ADMIN_TOKEN,
            hint: "--enable-worker-jobs needs the admin token of Trellis (workers are registered \
                   and removed with it)",
        })?;
        let mut aws = BaseCredentials::default_chain();
        if let Some(url) = non_empty(self.platform_aws_endpoint.as_ref()) {
            aws = aws.with_endpoint_url(http_url(var::TENDRIL_PLATFORM_AWS_ENDPOINT, url)?);
        }
        let mut settings = PlatformSettings::new(aws, trellis_url, admin_token);
        settings.worker_trellis_url = non_empty(self.deployed_trellis_url.as_ref())
            .map(|u| http_url(var::TENDRIL_DEPLOYED_TRELLIS_URL, u))
            .transpose()?;
        Ok(Some(settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_needs_the_admin_token() {
        let args = PlatformArgs::default();
        assert!(args.validate("http://t", None).unwrap().is_none());
        let args = PlatformArgs {
            enable_worker_jobs: true,
            ..PlatformArgs::default()
        };
        let err = args.validate("http://t", None).unwrap_err();
        assert!(err.to_string().contains("TRELLIS_ADMIN_TOKEN"), "{err}");
        let settings = args
            .validate("http://t", Some(Secret::new("admin")))
            .unwrap()
            .unwrap();
        assert_eq!(settings.worker_trellis_url(), "http://t");
        assert_eq!(settings.aws.endpoint_url(), None);
    }

    #[test]
    fn endpoint_and_deployed_url_are_urls() {
        let args = PlatformArgs {
            enable_worker_jobs: true,
            platform_aws_endpoint: Some("http://127.0.0.1:5000".into()),
            deployed_trellis_url: Some("https://trellis.example/".into()),
        };
        let settings = args
            .validate("http://t", Some(Secret::new("admin")))
            .unwrap()
            .unwrap();
        assert_eq!(settings.aws.endpoint_url(), Some("http://127.0.0.1:5000"));
        assert_eq!(settings.worker_trellis_url(), "https://trellis.example");
        let bad = PlatformArgs {
            platform_aws_endpoint: Some("ftp://x".into()),
            ..args
        };
        let err = bad
            .validate("http://t", Some(Secret::new("a")))
            .unwrap_err();
        assert!(
            err.to_string().contains("TENDRIL_PLATFORM_AWS_ENDPOINT"),
            "{err}"
        );
    }
}
