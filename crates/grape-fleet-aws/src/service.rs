//! The ECS service of a worker: create or update it, roll a new image out, describe it.

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentConfiguration, LaunchType, NetworkConfiguration,
    Service, ServiceField, Tag,
};
use serde::{Deserialize, Serialize};

use super::{
    MANAGED_BY, MANAGED_BY_TAG, TaskDefinition, TokenSecret, WORKER_ID_TAG, WORKER_TAG,
    WorkerFleet, WorkerNames, build_error,
};
use grape_cloud_aws::{AwsError, AwsErrorKind};

/// Where the worker's task runs: subnets and security groups of its VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceNetwork {
    /// The subnets (at least one).
    pub subnets: Vec<String>,
    /// The security groups (the worker's own egress-only group).
    pub security_groups: Vec<String>,
    /// Give the task a public IP (subnets without a NAT gateway need one to reach Trellis).
    pub assign_public_ip: bool,
}

/// One deployment of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// ECS's deployment id (`ecs-svc/…`).
    pub id: String,
    /// `PRIMARY`, `ACTIVE` (being replaced) or `INACTIVE`.
    pub status: Option<String>,
    /// The task definition it runs.
    pub task_definition: Option<String>,
    /// Desired tasks.
    pub desired_count: i32,
    /// Running tasks.
    pub running_count: i32,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub rollout_state: Option<String>,
}

/// A worker's ECS service as ECS describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerService {
    /// The service ARN.
    pub service_arn: String,
    /// The cluster ARN.
    pub cluster_arn: Option<String>,
    /// `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: Option<String>,
    /// The task definition of its primary deployment.
    pub task_definition: Option<String>,
    /// Desired tasks.
    pub desired_count: i32,
    /// Running tasks.
    pub running_count: i32,
    /// Its deployments, the primary one first.
    pub deployments: Vec<Deployment>,
    /// The worker id tagged on the service.
    pub worker_id: Option<String>,
    /// The subnets of its tasks.
    pub subnets: Vec<String>,
    /// The security groups of its tasks.
    pub security_groups: Vec<String>,
}

impl WorkerService {
    fn from_sdk(s: &Service) -> Self {
        let vpc = s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration());
        Self {
            service_arn: s.service_arn().unwrap_or_default().to_owned(),
            cluster_arn: s.cluster_arn().map(str::to_owned),
            status: s.status().map(str::to_owned),
            task_definition: s.task_definition().map(str::to_owned),
            desired_count: s.desired_count(),
            running_count: s.running_count(),
            deployments: s
                .deployments()
                .iter()
                .map(|d| Deployment {
                    id: d.id().unwrap_or_default().to_owned(),
                    status: d.status().map(str::to_owned),
                    task_definition: d.task_definition().map(str::to_owned),
                    desired_count: d.desired_count(),
                    running_count: d.running_count(),
                    rollout_state: d.rollout_state().map(|r| r.as_str().to_owned()),
                })
                .collect(),
            worker_id: s
                .tags()
                .iter()
                .find(|t| t.key() == Some(WORKER_ID_TAG))
                .and_then(|t| t.value().map(str::to_owned)),
            subnets: vpc.map(|v| v.subnets().to_vec()).unwrap_or_default(),
            security_groups: vpc
                .map(|v| v.security_groups().to_vec())
                .unwrap_or_default(),
        }
    }

    /// The primary deployment, if any.
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments
            .iter()
            .find(|d| d.status.as_deref() == Some("PRIMARY"))
    }

    fn is_active(&self) -> bool {
        self.status.as_deref() == Some("ACTIVE")
    }
}

/// Everything deployed for one worker, without any secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerDeployment {
    /// The cluster's ARN, when the cluster is active.
    pub cluster_arn: Option<String>,
    /// The service, when it exists (in any status).
    pub service: Option<WorkerService>,
    /// The task definition of the service (else the family's latest active revision).
    pub task_definition: Option<TaskDefinition>,
    /// The token secret (its ARN and the worker id tagged on it).
    pub token_secret: Option<TokenSecret>,
    /// The worker's Trellis id: from the token secret, else the service, else the task
    /// definition's `GRAPE_WORKER_ID`.
    pub worker_id: Option<String>,
}

/// The outcome of [`WorkerFleet::update_image`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageUpdate {
    /// The task definition the service ran before.
    pub previous_task_definition: String,
    /// The task definition it runs now.
    pub task_definition: TaskDefinition,
    /// The service after the update (its primary deployment is the forced new one).
    pub service: WorkerService,
}

impl WorkerFleet {
    /// Creates the worker's service in `cluster` running one task of `task_definition_arn`, or
    /// updates the existing one to it (and to `network`, and retags it with `worker_id` when the
    /// worker was registered afresh). Deployments replace the task without
    /// overlap (0 % minimum healthy, 100 % maximum): the same worker identity never runs twice,
    /// the old task drains before the new one starts.
    pub async fn ensure_service(
        &self,
        names: &WorkerNames,
        cluster: &str,
        task_definition_arn: &str,
        network: &ServiceNetwork,
        worker_id: &str,
    ) -> Result<WorkerService, AwsError> {
        let network_configuration = network_configuration(network)?;
        let deployment = DeploymentConfiguration::builder()
            .minimum_healthy_percent(0)
            .maximum_percent(100)
            .build();
        if let Some(existing) = self.service(names, cluster).await?
            && existing.is_active()
        {
            let same = |a: &[String], b: &[String]| {
                let mut a = a.to_vec();
                let mut b = b.to_vec();
                a.sort();
                b.sort();
                a == b
            };
            if existing.task_definition.as_deref() == Some(task_definition_arn)
                && existing.desired_count == 1
                && same(&existing.subnets, &network.subnets)
                && same(&existing.security_groups, &network.security_groups)
            {
                return Ok(existing);
            }
            if existing.worker_id.as_deref() != Some(worker_id) {
                // Registered afresh: the service names the new worker.
                self.ecs
                    .tag_resource()
                    .resource_arn(&existing.service_arn)
                    .tags(Tag::builder().key(WORKER_ID_TAG).value(worker_id).build())
                    .send()
                    .await
                    .map_err(|e| self.error(e, "ecs:TagResource", &[]))?;
            }
            let out = self
                .ecs
                .update_service()
                .cluster(cluster)
                .service(&names.service)
                .task_definition(task_definition_arn)
                .desired_count(1)
                .network_configuration(network_configuration)
                .deployment_configuration(deployment)
                .send()
                .await
                .map_err(|e| self.error(e, "ecs:UpdateService", &[]))?;
            return service_of(out.service(), "ecs:UpdateService");
        }
        let out = self
            .ecs
            .create_service()
            .cluster(cluster)
            .service_name(&names.service)
            .task_definition(task_definition_arn)
            .desired_count(1)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network_configuration)
            .deployment_configuration(deployment)
            .tags(Tag::builder().key(WORKER_TAG).value(&names.name).build())
            .tags(Tag::builder().key(WORKER_ID_TAG).value(worker_id).build())
            .tags(Tag::builder().key(MANAGED_BY_TAG).value(MANAGED_BY).build())
            .send()
            .await
            .map_err(|e| self.error(e, "ecs:CreateService", &[]))?;
        service_of(out.service(), "ecs:CreateService")
    }

    /// Moves the worker to `image`: a new revision of its task definition with that image (the
    /// current one when the image is unchanged), then a forced new deployment of its service.
    pub async fn update_image(
        &self,
        names: &WorkerNames,
        cluster: &str,
        image: &str,
    ) -> Result<ImageUpdate, AwsError> {
        let service = self
            .service(names, cluster)
            .await?
            .filter(WorkerService::is_active)
            .ok_or_else(|| not_deployed(names, cluster))?;
        let previous = service
            .task_definition
            .clone()
            .ok_or(AwsError::MissingField {
                operation: "ecs:DescribeServices",
                field: "taskDefinition",
            })?;
        let current = self
            .task_definition(&previous)
            .await?
            .ok_or_else(|| not_deployed(names, cluster))?;
        let task_definition = if current.image == image {
            current
        } else {
            self.register_with_image(&previous, image).await?
        };
        let out = self
            .ecs
            .update_service()
            .cluster(cluster)
            .service(&names.service)
            .task_definition(&task_definition.arn)
            .force_new_deployment(true)
            .send()
            .await
            .map_err(|e| self.error(e, "ecs:UpdateService", &[]))?;
        Ok(ImageUpdate {
            previous_task_definition: previous,
            task_definition,
            service: service_of(out.service(), "ecs:UpdateService")?,
        })
    }

    /// The worker's service in `cluster` (in any status), `None` when ECS does not know it or
    /// the cluster does not exist.
    pub async fn service(
        &self,
        names: &WorkerNames,
        cluster: &str,
    ) -> Result<Option<WorkerService>, AwsError> {
        match self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(&names.service)
            .include(ServiceField::Tags)
            .send()
            .await
        {
            Ok(out) => Ok(out.services().first().map(WorkerService::from_sdk)),
            Err(e) => {
                self.check(e, "ecs:DescribeServices", &["ClusterNotFoundException"])?;
                Ok(None)
            }
        }
    }

    /// What is deployed for the worker in `cluster`.
    pub async fn describe(
        &self,
        names: &WorkerNames,
        cluster: &str,
    ) -> Result<WorkerDeployment, AwsError> {
        let cluster_arn = self.active_cluster(cluster).await?;
        let service = self.service(names, cluster).await?;
        let task_definition = match service.as_ref().and_then(|s| s.task_definition.as_deref()) {
            Some(arn) if service.as_ref().is_some_and(WorkerService::is_active) => {
                self.task_definition(arn).await?
            }
            _ => self.latest_task_definition(names).await?,
        };
        let token_secret = self.find_token_secret(names).await?;
        let worker_id = token_secret
            .as_ref()
            .and_then(|s| s.worker_id.clone())
            .or_else(|| service.as_ref().and_then(|s| s.worker_id.clone()))
            .or_else(|| {
                task_definition
                    .as_ref()
                    .and_then(|td| td.environment.get("GRAPE_WORKER_ID").cloned())
            });
        Ok(WorkerDeployment {
            cluster_arn,
            service,
            task_definition,
            token_secret,
            worker_id,
        })
    }
}

fn network_configuration(network: &ServiceNetwork) -> Result<NetworkConfiguration, AwsError> {
    if network.subnets.is_empty() {
        return Err(AwsError::invalid(
            AwsErrorKind::InvalidSettings,
            "the worker's service needs at least one subnet",
        ));
    }
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(network.subnets.clone()))
        .set_security_groups(Some(network.security_groups.clone()))
        .assign_public_ip(if network.assign_public_ip {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(build_error)?;
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(vpc)
        .build())
}

fn service_of(
    service: Option<&Service>,
    operation: &'static str,
) -> Result<WorkerService, AwsError> {
    service
        .map(WorkerService::from_sdk)
        .ok_or(AwsError::MissingField {
            operation,
            field: "service",
        })
}

fn not_deployed(names: &WorkerNames, cluster: &str) -> AwsError {
    AwsError::invalid(
        AwsErrorKind::InvalidSettings,
        format!(
            "the worker {} has no active service {} in the ECS cluster {cluster}: deploy it first \
             (DEPLOY_WORKER)",
            names.name, names.service
        ),
    )
}
