//! The plain resources of a worker: its log group, its security group, the cluster and the
//! token secret.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag as Ec2Tag, TagSpecification};
use aws_sdk_ecs::types::Tag as EcsTag;
use serde::{Deserialize, Serialize};

use super::{MANAGED_BY, MANAGED_BY_TAG, WORKER_ID_TAG, WORKER_TAG, WorkerFleet, WorkerNames};
use grape_cloud_aws::AwsError;
use grape_cloud_aws::SecretString;

/// How long the worker's container logs are kept.
const LOG_RETENTION_DAYS: i32 = 30;

/// The Secrets Manager secret holding a worker's token. Only its ARN and the worker id tagged on
/// it are ever read back; the token itself is write-only for this crate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSecret {
    /// The secret's ARN (what the task definition's `valueFrom` names).
    pub arn: String,
    /// The Trellis id of the worker the token belongs to (the `vintner:worker-id` tag).
    pub worker_id: Option<String>,
}

impl WorkerFleet {
    /// Creates the worker's log group (30 days of retention), or reuses it; returns its ARN.
    pub async fn ensure_log_group(&self, names: &WorkerNames) -> Result<String, AwsError> {
        if let Err(e) = self
            .logs
            .create_log_group()
            .log_group_name(&names.log_group)
            .tags(WORKER_TAG, &names.name)
            .tags(MANAGED_BY_TAG, MANAGED_BY)
            .send()
            .await
        {
            self.check(
                e,
                "logs:CreateLogGroup",
                &["ResourceAlreadyExistsException"],
            )?;
        }
        self.logs
            .put_retention_policy()
            .log_group_name(&names.log_group)
            .retention_in_days(LOG_RETENTION_DAYS)
            .send()
            .await
            .map_err(|e| self.error(e, "logs:PutRetentionPolicy", &[]))?;
        self.log_group_arn(names)
            .await?
            .ok_or(AwsError::MissingField {
                operation: "logs:DescribeLogGroups",
                field: "logGroups",
            })
    }

    /// The ARN of the worker's log group, `None` when it does not exist.
    pub(crate) async fn log_group_arn(
        &self,
        names: &WorkerNames,
    ) -> Result<Option<String>, AwsError> {
        let out = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&names.log_group)
            .send()
            .await
            .map_err(|e| self.error(e, "logs:DescribeLogGroups", &[]))?;
        Ok(out
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(names.log_group.as_str()))
            .and_then(|g| g.arn().map(str::to_owned)))
    }

    /// Removes the worker's log group; `false` when it did not exist.
    pub(crate) async fn delete_log_group(&self, names: &WorkerNames) -> Result<bool, AwsError> {
        match self
            .logs
            .delete_log_group()
            .log_group_name(&names.log_group)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                self.check(e, "logs:DeleteLogGroup", &["ResourceNotFoundException"])?;
                Ok(false)
            }
        }
    }

    /// Creates the worker's security group in `vpc_id`, or reuses it, and makes sure it allows
    /// no inbound traffic (a worker only calls out: Trellis, AWS, registries). Returns its id.
    pub async fn ensure_security_group(
        &self,
        names: &WorkerNames,
        vpc_id: &str,
    ) -> Result<String, AwsError> {
        let existing = self
            .ec2
            .describe_security_groups()
            .filters(filter("group-name", &names.security_group))
            .filters(filter("vpc-id", vpc_id))
            .send()
            .await
            .map_err(|e| self.error(e, "ec2:DescribeSecurityGroups", &[]))?;
        if let Some(group) = existing.security_groups().first() {
            let id = group.group_id().unwrap_or_default().to_owned();
            if !group.ip_permissions().is_empty() {
                self.ec2
                    .revoke_security_group_ingress()
                    .group_id(&id)
                    .set_ip_permissions(Some(group.ip_permissions().to_vec()))
                    .send()
                    .await
                    .map_err(|e| self.error(e, "ec2:RevokeSecurityGroupIngress", &[]))?;
            }
            return Ok(id);
        }
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::SecurityGroup)
            .tags(ec2_tag(WORKER_TAG, &names.name))
            .tags(ec2_tag(MANAGED_BY_TAG, MANAGED_BY))
            .tags(ec2_tag("Name", &names.security_group))
            .build();
        let created = self
            .ec2
            .create_security_group()
            .group_name(&names.security_group)
            .description("Vintner Tendril: egress only")
            .vpc_id(vpc_id)
            .tag_specifications(tags)
            .send()
            .await
            .map_err(|e| self.error(e, "ec2:CreateSecurityGroup", &[]))?;
        created
            .group_id()
            .map(str::to_owned)
            .ok_or(AwsError::MissingField {
                operation: "ec2:CreateSecurityGroup",
                field: "GroupId",
            })
    }

    /// The ids of the worker's security groups (one per VPC it was ever deployed in).
    pub(crate) async fn security_group_ids(
        &self,
        names: &WorkerNames,
    ) -> Result<Vec<String>, AwsError> {
        let out = self
            .ec2
            .describe_security_groups()
            .filters(filter("group-name", &names.security_group))
            .send()
            .await
            .map_err(|e| self.error(e, "ec2:DescribeSecurityGroups", &[]))?;
        Ok(out
            .security_groups()
            .iter()
            .filter(|g| g.group_name() == Some(names.security_group.as_str()))
            .filter_map(|g| g.group_id().map(str::to_owned))
            .collect())
    }

    /// Creates the ECS cluster `cluster`, or reuses it when it is active; returns its ARN.
    pub async fn ensure_cluster(&self, cluster: &str) -> Result<String, AwsError> {
        if let Some(arn) = self.active_cluster(cluster).await? {
            return Ok(arn);
        }
        let created = self
            .ecs
            .create_cluster()
            .cluster_name(cluster)
            .tags(
                EcsTag::builder()
                    .key(MANAGED_BY_TAG)
                    .value(MANAGED_BY)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.error(e, "ecs:CreateCluster", &[]))?;
        created
            .cluster()
            .and_then(|c| c.cluster_arn().map(str::to_owned))
            .ok_or(AwsError::MissingField {
                operation: "ecs:CreateCluster",
                field: "cluster",
            })
    }

    /// The ARN of `cluster` when it exists and is active.
    pub(crate) async fn active_cluster(&self, cluster: &str) -> Result<Option<String>, AwsError> {
        Ok(self
            .describe_active_cluster(cluster)
            .await?
            .and_then(|c| c.cluster_arn().map(str::to_owned)))
    }

    /// `cluster` as ECS describes it, when it exists and is active.
    pub(crate) async fn describe_active_cluster(
        &self,
        cluster: &str,
    ) -> Result<Option<aws_sdk_ecs::types::Cluster>, AwsError> {
        let out = self
            .ecs
            .describe_clusters()
            .clusters(cluster)
            .send()
            .await
            .map_err(|e| self.error(e, "ecs:DescribeClusters", &[]))?;
        Ok(out
            .clusters()
            .iter()
            .find(|c| c.status() == Some("ACTIVE"))
            .cloned())
    }

    /// The worker's token secret, `None` when there is none. A secret scheduled for deletion
    /// (by someone else: teardowns delete at once) is restored first, so that a re-deploy keeps
    /// its registration instead of orphaning it.
    pub async fn find_token_secret(
        &self,
        names: &WorkerNames,
    ) -> Result<Option<TokenSecret>, AwsError> {
        let out = match self
            .secretsmanager
            .describe_secret()
            .secret_id(&names.secret)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                self.check(
                    e,
                    "secretsmanager:DescribeSecret",
                    &["ResourceNotFoundException"],
                )?;
                return Ok(None);
            }
        };
        if out.deleted_date().is_some() {
            self.secretsmanager
                .restore_secret()
                .secret_id(&names.secret)
                .send()
                .await
                .map_err(|e| self.error(e, "secretsmanager:RestoreSecret", &[]))?;
        }
        Ok(out.arn().map(|arn| TokenSecret {
            arn: arn.to_owned(),
            worker_id: out
                .tags()
                .iter()
                .find(|t| t.key() == Some(WORKER_ID_TAG))
                .and_then(|t| t.value().map(str::to_owned)),
        }))
    }

    /// Stores `token` as the worker's token secret, tagged with `worker_id`: creates the secret,
    /// or writes a new version of an existing one (restoring it first when it was scheduled for
    /// deletion) and retags it. The token appears in no error.
    pub async fn store_token_secret(
        &self,
        names: &WorkerNames,
        worker_id: &str,
        token: &SecretString,
    ) -> Result<TokenSecret, AwsError> {
        let arn = self
            .store_secret(
                names,
                &names.secret,
                &format!("Trellis token of the Vintner Tendril {}", names.name),
                token,
                &[(WORKER_ID_TAG, worker_id)],
            )
            .await?;
        Ok(TokenSecret {
            arn,
            worker_id: Some(worker_id.to_owned()),
        })
    }
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn ec2_tag(key: &str, value: &str) -> Ec2Tag {
    Ec2Tag::builder().key(key).value(value).build()
}
