//! Cloud-hosted Tendrils on ECS Fargate: the AWS side of the worker jobs (`DEPLOY_WORKER`,
//! `UPDATE_WORKER`, `DESTROY_WORKER`), signed with the platform's own credentials.
//!
//! A [`WorkerFleet`] is one region of the platform account. Every operation is small, async,
//! idempotent (it finds what exists before it creates anything, and treats "not found" as done
//! when removing) and so re-runnable after a partial failure:
//!
//! | operation | what it owns |
//! |---|---|
//! | [`WorkerFleet::ensure_log_group`] | the CloudWatch log group of the worker's containers |
//! | [`WorkerFleet::ensure_roles`], [`WorkerFleet::allow_secret_read`] | the execution role (pull, logs, read the token secret) and the task role (assume the configured customer roles, with an external id) |
//! | [`WorkerFleet::ensure_security_group`] | an egress-only security group in the chosen VPC |
//! | [`WorkerFleet::ensure_cluster`] | the ECS cluster (shared by the workers of a region) |
//! | [`WorkerFleet::find_token_secret`], [`WorkerFleet::store_token_secret`] | the worker token in Secrets Manager, tagged with the worker id |
//! | [`WorkerFleet::store_secret`], [`WorkerFleet::secret_arn`] | the other secrets of the worker (the Terraform state backend keys it is handed) |
//! | [`WorkerFleet::register_task_definition`] | the Fargate task definition (reused when unchanged) |
//! | [`WorkerFleet::ensure_service`] | the ECS service running one task |
//! | [`WorkerFleet::update_image`] | a new revision with a new image and a forced new deployment |
//! | [`WorkerFleet::describe`] | what is deployed, without any secret |
//! | [`WorkerFleet::teardown`] | everything above removed (the cluster only when no other service uses it) |
//!
//! The worker token (like the state backend keys) never sits in a task definition: the
//! container's `secrets` reference the secret's ARN (`valueFrom`), which ECS resolves when the task starts.
//!
//! Every AWS resource of a worker is named after the worker by [`WorkerNames`].

mod ecs;
mod iam;
mod names;
mod resources;
mod secrets;
mod service;
mod teardown;

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use grape_cloud_aws::BaseCredentials;
use grape_cloud_aws::sdk::{CallContext, sdk_error, service_code};
use grape_cloud_aws::{AwsError, AwsErrorKind};

pub use ecs::{TaskDefinition, TaskSpec};
pub use iam::WorkerRoles;
pub use names::{CONTAINER_NAME, DEFAULT_CLUSTER, WORKER_SECRETS_PREFIX, WorkerNames};
pub use resources::TokenSecret;
pub use service::{Deployment, ImageUpdate, ServiceNetwork, WorkerDeployment, WorkerService};
pub use teardown::{TeardownOptions, TeardownReport};

/// The tag every resource of a worker carries: its name.
pub const WORKER_TAG: &str = "vintner:worker";
/// The tag of the token secret (and the service) holding the worker's Trellis id.
pub const WORKER_ID_TAG: &str = "vintner:worker-id";
/// The tag naming what manages the resource.
pub const MANAGED_BY_TAG: &str = "vintner:managed-by";
/// The value of [`MANAGED_BY_TAG`].
pub const MANAGED_BY: &str = "vintner-grape";

/// Who signs the calls, as error messages name it.
const PRINCIPAL: &str = "the platform's AWS credentials";

/// The platform account in one region: clients of ECS, IAM, EC2, CloudWatch Logs and Secrets
/// Manager signed with the platform's own credentials.
#[derive(Debug, Clone)]
pub struct WorkerFleet {
    region: String,
    endpoint_url: Option<String>,
    secrets: Vec<String>,
    ecs: aws_sdk_ecs::Client,
    iam: aws_sdk_iam::Client,
    ec2: aws_sdk_ec2::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    secretsmanager: aws_sdk_secretsmanager::Client,
}

impl WorkerFleet {
    /// The fleet of `region`, signed with the platform's `credentials` (their endpoint override
    /// applies to every service).
    pub async fn new(credentials: &BaseCredentials, region: &str) -> Self {
        let config = credentials.sdk_config(Some(region)).await;
        Self {
            region: region.to_owned(),
            endpoint_url: credentials.endpoint_url().map(str::to_owned),
            secrets: credentials
                .secret_values()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            ecs: aws_sdk_ecs::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            secretsmanager: aws_sdk_secretsmanager::Client::new(&config),
        }
    }

    /// The region of this fleet.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Converts a failed call into an [`AwsError`], or into `Ok(code)` when AWS answered with one
    /// of the `tolerated` codes (e.g. "not found" while removing).
    pub(crate) fn check<E>(
        &self,
        err: SdkError<E, HttpResponse>,
        operation: &'static str,
        tolerated: &[&str],
    ) -> Result<String, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if let Some(code) = service_code(&err)
            && tolerated.contains(&code.as_str())
        {
            return Ok(code);
        }
        Err(self.error(err, operation, &[]))
    }

    /// A failed call as an [`AwsError`]; `extra_secrets` are masked from AWS's message too.
    pub(crate) fn error<E>(
        &self,
        err: SdkError<E, HttpResponse>,
        operation: &'static str,
        extra_secrets: &[&str],
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        secrets.extend_from_slice(extra_secrets);
        let ctx = CallContext {
            operation,
            role_arn: Some(PRINCIPAL),
            external_id: None,
            region: Some(&self.region),
            endpoint_url: self.endpoint_url.as_deref(),
            secrets: &secrets,
        };
        sdk_error(err, &ctx)
    }
}

/// A request that could not be built (a required field missing): a bug or a bad setting.
#[allow(clippy::needless_pass_by_value)] // used as `map_err(build_error)`
pub(crate) fn build_error(e: aws_smithy_types::error::operation::BuildError) -> AwsError {
    AwsError::invalid(AwsErrorKind::InvalidSettings, e.to_string())
}
