//! The Secrets Manager secrets of a worker (its token, the Terraform state backend keys it is
//! handed): written idempotently, deleted at once. Their values are write-only for this crate
//! and appear in no error.

use aws_sdk_secretsmanager::types::Tag;

use super::{MANAGED_BY, MANAGED_BY_TAG, WORKER_TAG, WorkerFleet, WorkerNames};
use grape_cloud_aws::AwsError;
use grape_cloud_aws::SecretString;

impl WorkerFleet {
    /// Stores `value` in the secret `secret_name` of worker `names` and returns the secret's
    /// ARN: creates it (tagged with the worker's name, [`MANAGED_BY_TAG`] and `tags`), or
    /// writes a new version of an existing one (restoring it first when it was scheduled for
    /// deletion) and sets `tags` on it. The ARN stays the same across versions, so a task
    /// definition referencing it does not change.
    pub async fn store_secret(
        &self,
        names: &WorkerNames,
        secret_name: &str,
        description: &str,
        value: &SecretString,
        tags: &[(&str, &str)],
    ) -> Result<String, AwsError> {
        let masked = [value.expose()];
        let mut create = self
            .secretsmanager
            .create_secret()
            .name(secret_name)
            .description(description)
            .secret_string(value.expose())
            .tags(tag(WORKER_TAG, &names.name))
            .tags(tag(MANAGED_BY_TAG, MANAGED_BY));
        for (key, tag_value) in tags {
            create = create.tags(tag(key, tag_value));
        }
        let arn = match create.send().await {
            Ok(out) => out.arn().map(str::to_owned),
            Err(e) => {
                let code = self.check(
                    e,
                    "secretsmanager:CreateSecret",
                    &["ResourceExistsException", "InvalidRequestException"],
                )?;
                if code == "InvalidRequestException" {
                    // Scheduled for deletion (by a run that had no force): take it back.
                    self.secretsmanager
                        .restore_secret()
                        .secret_id(secret_name)
                        .send()
                        .await
                        .map_err(|e| self.error(e, "secretsmanager:RestoreSecret", &masked))?;
                }
                let put = self
                    .secretsmanager
                    .put_secret_value()
                    .secret_id(secret_name)
                    .secret_string(value.expose())
                    .send()
                    .await
                    .map_err(|e| self.error(e, "secretsmanager:PutSecretValue", &masked))?;
                if !tags.is_empty() {
                    let mut retag = self.secretsmanager.tag_resource().secret_id(secret_name);
                    for (key, tag_value) in tags {
                        retag = retag.tags(tag(key, tag_value));
                    }
                    retag
                        .send()
                        .await
                        .map_err(|e| self.error(e, "secretsmanager:TagResource", &masked))?;
                }
                put.arn().map(str::to_owned)
            }
        };
        arn.ok_or(AwsError::MissingField {
            operation: "secretsmanager:CreateSecret",
            field: "ARN",
        })
    }

    /// The ARN of the secret `secret_name`, `None` when it does not exist (or is scheduled for
    /// deletion).
    pub async fn secret_arn(&self, secret_name: &str) -> Result<Option<String>, AwsError> {
        match self
            .secretsmanager
            .describe_secret()
            .secret_id(secret_name)
            .send()
            .await
        {
            Ok(out) if out.deleted_date().is_none() => Ok(out.arn().map(str::to_owned)),
            Ok(_) => Ok(None),
            Err(e) => {
                self.check(
                    e,
                    "secretsmanager:DescribeSecret",
                    &["ResourceNotFoundException"],
                )?;
                Ok(None)
            }
        }
    }

    /// Deletes the secret `secret_name` at once (no recovery window); `false` when it did not
    /// exist.
    pub(crate) async fn delete_secret(&self, secret_name: &str) -> Result<bool, AwsError> {
        // Looked up first: some endpoints answer a forced delete of a missing secret with success.
        if let Err(e) = self
            .secretsmanager
            .describe_secret()
            .secret_id(secret_name)
            .send()
            .await
        {
            self.check(
                e,
                "secretsmanager:DescribeSecret",
                &["ResourceNotFoundException"],
            )?;
            return Ok(false);
        }
        match self
            .secretsmanager
            .delete_secret()
            .secret_id(secret_name)
            .force_delete_without_recovery(true)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                self.check(
                    e,
                    "secretsmanager:DeleteSecret",
                    &["ResourceNotFoundException"],
                )?;
                Ok(false)
            }
        }
    }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}
