//! `--enable-worker-jobs`: the platform settings of the worker jobs (DEPLOY_WORKER,
//! UPDATE_WORKER, DESTROY_WORKER), which run with the platform's own AWS credentials (the
//! SDK's default chain: `AWS_*` variables, profile, ECS task role, …) and the Trellis admin
//! token (`TRELLIS_ADMIN_TOKEN` / `--admin-token-file`), and what they may deploy (the image
//! allow-list, the `secret_refs` prefix, the roles deployed workers may assume).

use clap::Args;
use grape_api::Secret;
#[cfg(feature = "worker-jobs")]
use grape_provisioner::worker_policy::DEFAULT_ASSUMABLE_ROLES;
#[cfg(feature = "worker-jobs")]
use grape_provisioner::{AwsAccess, PlatformSettings, WorkerJobPolicy};

use super::{ConfigError, var};
#[cfg(feature = "worker-jobs")]
use super::{http_url, invalid, non_empty};

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
    /// The images DEPLOY/UPDATE_WORKER may deploy: comma-separated registry/repository
    /// prefixes matched on whole path segments (unset: none).
    #[arg(long, env = var::TENDRIL_WORKER_IMAGE_ALLOW, value_name = "PREFIXES")]
    pub worker_image_allow: Option<String>,
    /// The Secrets Manager ARN prefix every `secret_refs` ARN must be under (unset: none
    /// accepted).
    #[arg(long, env = var::TENDRIL_WORKER_SECRET_PREFIX, value_name = "ARN_PREFIX")]
    pub worker_secret_prefix: Option<String>,
    /// The role ARN patterns a deployed worker may assume (comma-separated), always with an
    /// external id.
    #[arg(long, env = var::TENDRIL_WORKER_ASSUMABLE_ROLES, value_name = "ARN_PATTERNS")]
    #[cfg_attr(feature = "worker-jobs", arg(default_value = DEFAULT_ASSUMABLE_ROLES))]
    pub worker_assumable_roles: Option<String>,
}

#[cfg(not(feature = "worker-jobs"))]
impl PlatformArgs {
    /// A build without the `worker-jobs` feature runs no worker job: asking for them is an
    /// error, not a silent no.
    pub(super) fn validate(
        &self,
        _trellis_url: &str,
        _admin_token: Option<Secret>,
    ) -> Result<Option<()>, ConfigError> {
        if self.enable_worker_jobs {
            return Err(ConfigError::Invalid {
                name: var::TENDRIL_ENABLE_WORKER_JOBS,
                what: "setting for this build",
                reason: "this tendril was built without the `worker-jobs` feature".into(),
            });
        }
        Ok(None)
    }
}

#[cfg(feature = "worker-jobs")]
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
        let mut aws = AwsAccess::default();
        if let Some(url) = non_empty(self.platform_aws_endpoint.as_ref()) {
            aws.endpoint_url = Some(http_url(var::TENDRIL_PLATFORM_AWS_ENDPOINT, url)?);
        }
        let mut settings = PlatformSettings::new(aws, trellis_url, admin_token);
        settings.worker_trellis_url = non_empty(self.deployed_trellis_url.as_ref())
            .map(|u| http_url(var::TENDRIL_DEPLOYED_TRELLIS_URL, u))
            .transpose()?;
        settings.policy = self.policy()?;
        Ok(Some(settings))
    }

    /// What the worker jobs may deploy; a malformed setting names its variable.
    fn policy(&self) -> Result<WorkerJobPolicy, ConfigError> {
        let mut policy = WorkerJobPolicy::default();
        if let Some(images) = non_empty(self.worker_image_allow.as_ref()) {
            policy = policy.allow_images(images).map_err(|e| {
                invalid(
                    var::TENDRIL_WORKER_IMAGE_ALLOW,
                    "image allow-list",
                    e.to_string(),
                )
            })?;
        }
        if let Some(prefix) = non_empty(self.worker_secret_prefix.as_ref()) {
            policy = policy.secret_prefix(prefix).map_err(|e| {
                invalid(
                    var::TENDRIL_WORKER_SECRET_PREFIX,
                    "Secrets Manager ARN prefix",
                    e.to_string(),
                )
            })?;
        }
        let roles =
            non_empty(self.worker_assumable_roles.as_ref()).unwrap_or(DEFAULT_ASSUMABLE_ROLES);
        policy.assumable_roles(roles).map_err(|e| {
            invalid(
                var::TENDRIL_WORKER_ASSUMABLE_ROLES,
                "list of role ARN patterns",
                e.to_string(),
            )
        })
    }
}

#[cfg(all(test, feature = "worker-jobs"))]
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
        assert_eq!(settings.aws.endpoint_url, None);
    }

    #[test]
    fn endpoint_and_deployed_url_are_urls() {
        let args = PlatformArgs {
            enable_worker_jobs: true,
            platform_aws_endpoint: Some("http://127.0.0.1:5000".into()),
            deployed_trellis_url: Some("https://trellis.example/".into()),
            ..PlatformArgs::default()
        };
        let settings = args
            .validate("http://t", Some(Secret::new("admin")))
            .unwrap()
            .unwrap();
        assert_eq!(
            settings.aws.endpoint_url.as_deref(),
            Some("http://127.0.0.1:5000")
        );
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

    #[test]
    fn the_policy_comes_from_the_worker_configuration() {
        let enabled = PlatformArgs {
            enable_worker_jobs: true,
            ..PlatformArgs::default()
        };
        let admin = || Some(Secret::new("admin"));
        let settings = enabled.validate("http://t", admin()).unwrap().unwrap();
        assert_eq!(settings.policy, WorkerJobPolicy::default());
        assert_eq!(settings.policy.roles(), [DEFAULT_ASSUMABLE_ROLES]);

        let args = PlatformArgs {
            worker_image_allow: Some("ghcr.io/vintner/".into()),
            worker_secret_prefix: Some(
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vintner/".into(),
            ),
            worker_assumable_roles: Some("arn:aws:iam::123456789012:role/vintner-*".into()),
            ..enabled.clone()
        };
        let policy = args.validate("http://t", admin()).unwrap().unwrap().policy;
        assert_eq!(policy.roles(), ["arn:aws:iam::123456789012:role/vintner-*"]);

        for (bad, var) in [
            (
                PlatformArgs {
                    worker_image_allow: Some("vintner/".into()),
                    ..enabled.clone()
                },
                var::TENDRIL_WORKER_IMAGE_ALLOW,
            ),
            (
                PlatformArgs {
                    worker_secret_prefix: Some(
                        "arn:aws:secretsmanager:eu-west-1:1:secret:x".into(),
                    ),
                    ..enabled.clone()
                },
                var::TENDRIL_WORKER_SECRET_PREFIX,
            ),
            (
                PlatformArgs {
                    worker_assumable_roles: Some("*".into()),
                    ..enabled.clone()
                },
                var::TENDRIL_WORKER_ASSUMABLE_ROLES,
            ),
        ] {
            let err = bad.validate("http://t", admin()).unwrap_err().to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }
}
