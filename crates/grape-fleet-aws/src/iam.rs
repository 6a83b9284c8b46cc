//! The two IAM roles of a worker's task: the execution role (ECS pulls the image, writes the
//! logs and reads the token secret with it) and the task role (the worker's own identity, from
//! which it assumes its customers' roles).

use aws_sdk_iam::types::Tag;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{MANAGED_BY, MANAGED_BY_TAG, WORKER_TAG, WorkerFleet, WorkerNames, build_error};
use grape_cloud_aws::{AwsError, AwsErrorKind};

/// The inline policy of the execution role: image pull and log writing.
const EXECUTION_POLICY: &str = "vintner-tendril-execution";
/// The inline policy of the execution role that lets ECS read the token secret.
const TOKEN_POLICY: &str = "vintner-tendril-token";
/// The inline policy of the task role.
const TASK_POLICY: &str = "vintner-tendril-assume";

/// The ARNs of a worker's roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerRoles {
    /// The execution role.
    pub execution_role_arn: String,
    /// The task role.
    pub task_role_arn: String,
}

fn ecs_tasks_trust() -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "ecs-tasks.amazonaws.com" },
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

/// The task role's policy: `sts:AssumeRole` on the roles matching `assumable_roles`, only when
/// the request carries an external id (`Null: sts:ExternalId = false`, i.e. the key is present).
/// A customer role whose trust policy checks its external id then cannot be assumed for another
/// customer (the confused deputy), and no role outside the patterns at all. No session tags are
/// passed, so no `sts:TagSession`.
fn task_policy(assumable_roles: &[String]) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AssumeCustomerRolesWithAnExternalId",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": assumable_roles,
            "Condition": { "Null": { "sts:ExternalId": "false" } }
        }]
    })
}

impl WorkerFleet {
    /// Creates the execution and task roles of a worker, or reuses them, and (re)writes their
    /// inline policies: the execution role may pull images and write to `log_group_arn`; the
    /// task role may call `sts:AssumeRole` on the roles matching `assumable_roles` (ARN patterns,
    /// at least one), and only with an external id.
    pub async fn ensure_roles(
        &self,
        names: &WorkerNames,
        log_group_arn: &str,
        assumable_roles: &[String],
    ) -> Result<WorkerRoles, AwsError> {
        if assumable_roles.is_empty() {
            return Err(AwsError::invalid(
                AwsErrorKind::InvalidSettings,
                "a worker's task role needs at least one assumable role pattern",
            ));
        }
        let execution_role_arn = self
            .ensure_role(
                &names.execution_role,
                names,
                "Vintner Tendril: ECS task execution (image pull, logs, token secret)",
            )
            .await?;
        let log_resource = if log_group_arn.ends_with(":*") {
            log_group_arn.to_owned()
        } else {
            format!("{log_group_arn}:*")
        };
        let execution_policy = json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "ecr:GetAuthorizationToken",
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchGetImage"
                    ],
                    "Resource": "*"
                },
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": log_resource
                }
            ]
        });
        self.put_policy(&names.execution_role, EXECUTION_POLICY, &execution_policy)
            .await?;

        let task_role_arn = self
            .ensure_role(
                &names.task_role,
                names,
                "Vintner Tendril: the worker's own identity (assumes customer roles)",
            )
            .await?;
        self.put_policy(&names.task_role, TASK_POLICY, &task_policy(assumable_roles))
            .await?;
        Ok(WorkerRoles {
            execution_role_arn,
            task_role_arn,
        })
    }

    /// Lets the execution role read exactly the Secrets Manager secrets `secret_arns` (the token
    /// secret, and any secret the worker's environment references), and nothing else.
    pub async fn allow_secret_read(
        &self,
        names: &WorkerNames,
        secret_arns: &[String],
    ) -> Result<(), AwsError> {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": secret_arns
            }]
        });
        self.put_policy(&names.execution_role, TOKEN_POLICY, &policy)
            .await
    }

    /// The ARN of role `role`, created (trusting ECS tasks) when it does not exist.
    async fn ensure_role(
        &self,
        role: &str,
        names: &WorkerNames,
        description: &str,
    ) -> Result<String, AwsError> {
        if let Some(arn) = self.role_arn(role).await? {
            return Ok(arn);
        }
        let tags = [
            Tag::builder()
                .key(WORKER_TAG)
                .value(&names.name)
                .build()
                .map_err(build_error)?,
            Tag::builder()
                .key(MANAGED_BY_TAG)
                .value(MANAGED_BY)
                .build()
                .map_err(build_error)?,
        ];
        match self
            .iam
            .create_role()
            .role_name(role)
            .description(description)
            .assume_role_policy_document(ecs_tasks_trust())
            .set_tags(Some(tags.to_vec()))
            .send()
            .await
        {
            Ok(out) => {
                let arn = out.role().map(|r| r.arn().to_owned());
                arn.ok_or(AwsError::MissingField {
                    operation: "iam:CreateRole",
                    field: "Role",
                })
            }
            Err(e) => {
                // Created meanwhile by a concurrent run: use it.
                self.check(e, "iam:CreateRole", &["EntityAlreadyExists"])?;
                self.role_arn(role).await?.ok_or(AwsError::MissingField {
                    operation: "iam:GetRole",
                    field: "Role",
                })
            }
        }
    }

    /// The ARN of role `role`, `None` when it does not exist.
    pub(crate) async fn role_arn(&self, role: &str) -> Result<Option<String>, AwsError> {
        match self.iam.get_role().role_name(role).send().await {
            Ok(out) => Ok(out.role().map(|r| r.arn().to_owned())),
            Err(e) => {
                self.check(e, "iam:GetRole", &["NoSuchEntity"])?;
                Ok(None)
            }
        }
    }

    async fn put_policy(
        &self,
        role: &str,
        policy_name: &str,
        document: &serde_json::Value,
    ) -> Result<(), AwsError> {
        self.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(policy_name)
            .policy_document(document.to_string())
            .send()
            .await
            .map_err(|e| self.error(e, "iam:PutRolePolicy", &[]))?;
        Ok(())
    }

    /// Removes role `role` with its inline and attached policies; `false` when it did not exist.
    pub(crate) async fn delete_role(&self, role: &str) -> Result<bool, AwsError> {
        const GONE: &[&str] = &["NoSuchEntity"];
        let inline = match self.iam.list_role_policies().role_name(role).send().await {
            Ok(out) => out.policy_names().to_vec(),
            Err(e) => {
                self.check(e, "iam:ListRolePolicies", GONE)?;
                return Ok(false);
            }
        };
        for policy in inline {
            if let Err(e) = self
                .iam
                .delete_role_policy()
                .role_name(role)
                .policy_name(&policy)
                .send()
                .await
            {
                self.check(e, "iam:DeleteRolePolicy", GONE)?;
            }
        }
        let attached = match self
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await
        {
            Ok(out) => out
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned))
                .collect(),
            Err(e) => {
                self.check(e, "iam:ListAttachedRolePolicies", GONE)?;
                Vec::new()
            }
        };
        for arn in attached {
            if let Err(e) = self
                .iam
                .detach_role_policy()
                .role_name(role)
                .policy_arn(&arn)
                .send()
                .await
            {
                self.check(e, "iam:DetachRolePolicy", GONE)?;
            }
        }
        match self.iam.delete_role().role_name(role).send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                self.check(e, "iam:DeleteRole", GONE)?;
                Ok(false)
            }
        }
    }
}
