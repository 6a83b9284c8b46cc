//! The Fargate task definition of a worker.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, KeyValuePair, LogConfiguration, LogDriver, NetworkMode,
    Secret, Tag, TaskDefinition as SdkTaskDefinition, TaskDefinitionStatus,
};
use serde::{Deserialize, Serialize};

use super::{
    CONTAINER_NAME, MANAGED_BY, MANAGED_BY_TAG, WORKER_TAG, WorkerFleet, WorkerNames, WorkerRoles,
    build_error,
};
use grape_cloud_aws::AwsError;

/// How long ECS waits between SIGTERM and SIGKILL when it stops the worker's container (the
/// Fargate maximum): the worker drains meanwhile.
pub(crate) const STOP_TIMEOUT_SECONDS: i32 = 120;

/// What the worker's task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpec {
    /// The Tendril image, e.g. `ghcr.io/vintner/tendril:1.4.2`.
    pub image: String,
    /// Fargate CPU units, e.g. `512`.
    pub cpu: String,
    /// Fargate memory in MiB, e.g. `1024`.
    pub memory: String,
    /// Plain environment variables (never a secret).
    pub environment: BTreeMap<String, String>,
    /// Variables resolved by ECS from Secrets Manager when the task starts: name → secret ARN.
    pub secrets: BTreeMap<String, String>,
    /// The execution and task roles.
    pub roles: WorkerRoles,
}

/// A registered task definition, as much of it as matters here (no secret value: `secrets`
/// holds ARNs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDefinition {
    /// Its ARN, `…:task-definition/FAMILY:REVISION`.
    pub arn: String,
    /// The family.
    pub family: String,
    /// The revision.
    pub revision: i32,
    /// The Tendril container's image.
    pub image: String,
    /// Fargate CPU units.
    pub cpu: Option<String>,
    /// Fargate memory.
    pub memory: Option<String>,
    /// The Tendril container's plain environment.
    pub environment: BTreeMap<String, String>,
    /// The Tendril container's secrets: name → `valueFrom` ARN.
    pub secrets: BTreeMap<String, String>,
    /// The execution role.
    pub execution_role_arn: Option<String>,
    /// The task role.
    pub task_role_arn: Option<String>,
    /// `ACTIVE` or `INACTIVE`.
    pub status: Option<String>,
}

impl TaskDefinition {
    fn from_sdk(td: &SdkTaskDefinition) -> Self {
        let container = tendril_container(td);
        Self {
            arn: td.task_definition_arn().unwrap_or_default().to_owned(),
            family: td.family().unwrap_or_default().to_owned(),
            revision: td.revision(),
            image: container
                .and_then(ContainerDefinition::image)
                .unwrap_or_default()
                .to_owned(),
            cpu: td.cpu().map(str::to_owned),
            memory: td.memory().map(str::to_owned),
            environment: container
                .map(|c| {
                    c.environment()
                        .iter()
                        .filter_map(|kv| Some((kv.name()?.to_owned(), kv.value()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default(),
            secrets: container
                .map(|c| {
                    c.secrets()
                        .iter()
                        .map(|s| (s.name().to_owned(), s.value_from().to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            execution_role_arn: td.execution_role_arn().map(str::to_owned),
            task_role_arn: td.task_role_arn().map(str::to_owned),
            status: td.status().map(|s| s.as_str().to_owned()),
        }
    }

    /// Whether registering `spec` would give this same definition.
    fn matches(&self, spec: &TaskSpec) -> bool {
        self.image == spec.image
            && self.cpu.as_deref() == Some(spec.cpu.as_str())
            && self.memory.as_deref() == Some(spec.memory.as_str())
            && self.environment == spec.environment
            && self.secrets == spec.secrets
            && self.execution_role_arn.as_deref() == Some(spec.roles.execution_role_arn.as_str())
            && self.task_role_arn.as_deref() == Some(spec.roles.task_role_arn.as_str())
    }
}

fn tendril_container(td: &SdkTaskDefinition) -> Option<&ContainerDefinition> {
    td.container_definitions()
        .iter()
        .find(|c| c.name() == Some(CONTAINER_NAME))
}

impl WorkerFleet {
    /// Registers the worker's task definition for `spec`, unless the latest active revision of
    /// its family is already exactly that (then it is returned as it is).
    pub async fn register_task_definition(
        &self,
        names: &WorkerNames,
        spec: &TaskSpec,
    ) -> Result<TaskDefinition, AwsError> {
        if let Some(latest) = self.latest_task_definition(names).await?
            && latest.matches(spec)
        {
            return Ok(latest);
        }
        let mut log_options = std::collections::HashMap::new();
        log_options.insert("awslogs-group".to_owned(), names.log_group.clone());
        log_options.insert("awslogs-region".to_owned(), self.region.clone());
        log_options.insert(
            "awslogs-stream-prefix".to_owned(),
            CONTAINER_NAME.to_owned(),
        );
        let log = LogConfiguration::builder()
            .log_driver(LogDriver::Awslogs)
            .set_options(Some(log_options))
            .build()
            .map_err(build_error)?;
        let mut container = ContainerDefinition::builder()
            .name(CONTAINER_NAME)
            .image(&spec.image)
            .essential(true)
            .stop_timeout(STOP_TIMEOUT_SECONDS)
            .log_configuration(log);
        for (name, value) in &spec.environment {
            container =
                container.environment(KeyValuePair::builder().name(name).value(value).build());
        }
        for (name, arn) in &spec.secrets {
            container = container.secrets(
                Secret::builder()
                    .name(name)
                    .value_from(arn)
                    .build()
                    .map_err(build_error)?,
            );
        }
        let out = self
            .ecs
            .register_task_definition()
            .family(&names.family)
            .requires_compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu(&spec.cpu)
            .memory(&spec.memory)
            .execution_role_arn(&spec.roles.execution_role_arn)
            .task_role_arn(&spec.roles.task_role_arn)
            .container_definitions(container.build())
            .tags(Tag::builder().key(WORKER_TAG).value(&names.name).build())
            .tags(Tag::builder().key(MANAGED_BY_TAG).value(MANAGED_BY).build())
            .send()
            .await
            .map_err(|e| self.error(e, "ecs:RegisterTaskDefinition", &[]))?;
        registered(&out)
    }

    /// Registers a new revision of the task definition `arn` that differs only by the Tendril
    /// container's image.
    pub(crate) async fn register_with_image(
        &self,
        arn: &str,
        image: &str,
    ) -> Result<TaskDefinition, AwsError> {
        let current = self.sdk_task_definition(arn).await?.ok_or_else(|| {
            AwsError::invalid(
                grape_cloud_aws::AwsErrorKind::InvalidSettings,
                format!("the task definition {arn} does not exist"),
            )
        })?;
        let containers = current
            .container_definitions()
            .iter()
            .map(|c| {
                if c.name() == Some(CONTAINER_NAME) {
                    let mut c = c.clone();
                    c.image = Some(image.to_owned());
                    c
                } else {
                    c.clone()
                }
            })
            .collect();
        let out = self
            .ecs
            .register_task_definition()
            .set_family(current.family().map(str::to_owned))
            .set_requires_compatibilities(Some(current.requires_compatibilities().to_vec()))
            .set_network_mode(current.network_mode().cloned())
            .set_cpu(current.cpu().map(str::to_owned))
            .set_memory(current.memory().map(str::to_owned))
            .set_execution_role_arn(current.execution_role_arn().map(str::to_owned))
            .set_task_role_arn(current.task_role_arn().map(str::to_owned))
            .set_runtime_platform(current.runtime_platform().cloned())
            .set_container_definitions(Some(containers))
            .send()
            .await
            .map_err(|e| self.error(e, "ecs:RegisterTaskDefinition", &[]))?;
        registered(&out)
    }

    /// The latest active revision of the worker's family, `None` when it has none.
    pub async fn latest_task_definition(
        &self,
        names: &WorkerNames,
    ) -> Result<Option<TaskDefinition>, AwsError> {
        Ok(self
            .sdk_task_definition(&names.family)
            .await?
            .filter(|td| td.status() == Some(&TaskDefinitionStatus::Active))
            .as_ref()
            .map(TaskDefinition::from_sdk))
    }

    /// The task definition `arn` (a full ARN, `FAMILY:REVISION`, or a family for its latest
    /// active revision), `None` when it does not exist.
    pub async fn task_definition(&self, arn: &str) -> Result<Option<TaskDefinition>, AwsError> {
        Ok(self
            .sdk_task_definition(arn)
            .await?
            .as_ref()
            .map(TaskDefinition::from_sdk))
    }

    async fn sdk_task_definition(&self, arn: &str) -> Result<Option<SdkTaskDefinition>, AwsError> {
        match self
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
        {
            Ok(out) => Ok(out.task_definition().cloned()),
            // ECS answers a ClientException ("Unable to describe task definition") for an
            // unknown family or revision.
            Err(e) => {
                self.check(e, "ecs:DescribeTaskDefinition", &["ClientException"])?;
                Ok(None)
            }
        }
    }

    /// The ARNs of every revision of the worker's family with `status` (`ACTIVE` or
    /// `INACTIVE`); exactly this family, not every family sharing its prefix.
    pub(crate) async fn task_definition_arns(
        &self,
        names: &WorkerNames,
        status: TaskDefinitionStatus,
    ) -> Result<Vec<String>, AwsError> {
        let mut arns = Vec::new();
        let mut pages = self
            .ecs
            .list_task_definitions()
            .family_prefix(&names.family)
            .status(status)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error(e, "ecs:ListTaskDefinitions", &[]))?;
            arns.extend(
                page.task_definition_arns()
                    .iter()
                    .filter(|arn| family_of(arn) == Some(names.family.as_str()))
                    .cloned(),
            );
        }
        Ok(arns)
    }
}

/// The family of a task definition ARN (`…:task-definition/FAMILY:REVISION`).
fn family_of(arn: &str) -> Option<&str> {
    let rest = arn.rsplit_once(":task-definition/")?.1;
    Some(rest.rsplit_once(':').map_or(rest, |(family, _)| family))
}

/// The task definition a `RegisterTaskDefinition` call answered with.
fn registered(
    out: &aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput,
) -> Result<TaskDefinition, AwsError> {
    out.task_definition()
        .map(TaskDefinition::from_sdk)
        .ok_or(AwsError::MissingField {
            operation: "ecs:RegisterTaskDefinition",
            field: "taskDefinition",
        })
}

#[cfg(test)]
mod tests {
    use super::family_of;

    #[test]
    fn family_of_an_arn() {
        assert_eq!(
            family_of("arn:aws:ecs:eu-west-1:123456789012:task-definition/vintner-tendril-a:3"),
            Some("vintner-tendril-a")
        );
        assert_eq!(family_of("vintner-tendril-a:3"), None);
    }
}
