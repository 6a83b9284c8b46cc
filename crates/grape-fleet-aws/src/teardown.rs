//! [`WorkerFleet::teardown`]: every AWS resource of a worker removed, in dependency order.

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::TaskDefinitionStatus;
use serde::{Deserialize, Serialize};

use super::{WorkerFleet, WorkerNames};
use grape_cloud_aws::AwsError;

/// How a teardown waits for AWS to let go of resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeardownOptions {
    /// How long to wait for the service's tasks to stop, and for a security group still held
    /// by their network interfaces to become deletable.
    pub wait: Duration,
    /// How often to look again meanwhile.
    pub poll: Duration,
    /// Remove the cluster too when no other service or task uses it.
    pub delete_empty_cluster: bool,
}

impl Default for TeardownOptions {
    fn default() -> Self {
        Self {
            wait: Duration::from_secs(600),
            poll: Duration::from_secs(10),
            delete_empty_cluster: true,
        }
    }
}

/// What a teardown did, resource by resource (e.g. `ecs service vintner-tendril-a`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeardownReport {
    /// Removed now.
    pub removed: Vec<String>,
    /// Already gone (an earlier, partial teardown; or never created).
    pub absent: Vec<String>,
    /// Left in place on purpose (a cluster other workers still use).
    pub kept: Vec<String>,
}

impl TeardownReport {
    fn record(&mut self, what: String, removed: bool) {
        if removed {
            self.removed.push(what);
        } else {
            self.absent.push(what);
        }
    }
}

/// ECS codes meaning the service is gone already.
const SERVICE_GONE: &[&str] = &[
    "ServiceNotFoundException",
    "ServiceNotActiveException",
    "ClusterNotFoundException",
];

impl WorkerFleet {
    /// Removes the worker's service (scaled to 0, then deleted), its task definitions
    /// (deregistered, then deleted), its secrets (token, state backend keys), its roles, its security groups, its log
    /// group and, when `options.delete_empty_cluster` and nothing else runs there, `cluster`.
    /// Re-runnable: what is already gone is reported as absent. `progress` hears each step.
    pub async fn teardown(
        &self,
        names: &WorkerNames,
        cluster: &str,
        options: TeardownOptions,
        progress: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<TeardownReport, AwsError> {
        let mut report = TeardownReport::default();

        progress(&format!("removing the ECS service {}", names.service));
        let removed = self.delete_service(names, cluster).await?;
        report.record(format!("ecs service {}", names.service), removed);
        if removed {
            progress("waiting for the service's tasks to stop");
            self.wait_for_tasks(names, cluster, options).await?;
        }

        progress(&format!("removing the task definitions {}", names.family));
        let deregistered = self.delete_task_definitions(names, &mut report).await?;
        report.record(
            format!("ecs task definitions {} ({deregistered})", names.family),
            deregistered > 0,
        );

        for secret in names.secrets() {
            progress(&format!("removing the secret {secret}"));
            let removed = self.delete_secret(secret).await?;
            report.record(format!("secret {secret}"), removed);
        }

        for role in [&names.execution_role, &names.task_role] {
            progress(&format!("removing the IAM role {role}"));
            let removed = self.delete_role(role).await?;
            report.record(format!("iam role {role}"), removed);
        }

        progress(&format!(
            "removing the security group {}",
            names.security_group
        ));
        let groups = self.security_group_ids(names).await?;
        if groups.is_empty() {
            report.record(format!("security group {}", names.security_group), false);
        }
        for id in groups {
            self.delete_security_group(&id, options).await?;
            report.record(format!("security group {id}"), true);
        }

        progress(&format!("removing the log group {}", names.log_group));
        let removed = self.delete_log_group(names).await?;
        report.record(format!("log group {}", names.log_group), removed);

        if options.delete_empty_cluster {
            self.delete_cluster_if_empty(cluster, &mut report, progress)
                .await?;
        }
        Ok(report)
    }

    /// Scales the service to 0 and deletes it; `false` when there was no active service.
    async fn delete_service(&self, names: &WorkerNames, cluster: &str) -> Result<bool, AwsError> {
        let active = self
            .service(names, cluster)
            .await?
            .is_some_and(|s| s.status.as_deref() != Some("INACTIVE"));
        if !active {
            return Ok(false);
        }
        if let Err(e) = self
            .ecs
            .update_service()
            .cluster(cluster)
            .service(&names.service)
            .desired_count(0)
            .send()
            .await
        {
            self.check(e, "ecs:UpdateService", SERVICE_GONE)?;
        }
        match self
            .ecs
            .delete_service()
            .cluster(cluster)
            .service(&names.service)
            .force(true)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                self.check(e, "ecs:DeleteService", SERVICE_GONE)?;
                Ok(false)
            }
        }
    }

    /// Waits (up to `options.wait`) until no task of the worker's family runs in `cluster`.
    async fn wait_for_tasks(
        &self,
        names: &WorkerNames,
        cluster: &str,
        options: TeardownOptions,
    ) -> Result<(), AwsError> {
        let deadline = Instant::now() + options.wait;
        loop {
            let running = match self
                .ecs
                .list_tasks()
                .cluster(cluster)
                .family(&names.family)
                .send()
                .await
            {
                Ok(out) => out.task_arns().len(),
                Err(e) => {
                    self.check(e, "ecs:ListTasks", &["ClusterNotFoundException"])?;
                    0
                }
            };
            if running == 0 || Instant::now() >= deadline {
                // Past the deadline the security group step reports what still holds it.
                return Ok(());
            }
            tokio::time::sleep(options.poll).await;
        }
    }

    /// Deregisters the family's active revisions and deletes every inactive one; returns how
    /// many revisions were deregistered or deleted. Revisions AWS refused to delete are reported
    /// as kept, with AWS's reason.
    async fn delete_task_definitions(
        &self,
        names: &WorkerNames,
        report: &mut TeardownReport,
    ) -> Result<usize, AwsError> {
        let mut count = 0;
        for arn in self
            .task_definition_arns(names, TaskDefinitionStatus::Active)
            .await?
        {
            if let Err(e) = self
                .ecs
                .deregister_task_definition()
                .task_definition(&arn)
                .send()
                .await
            {
                self.check(e, "ecs:DeregisterTaskDefinition", &["ClientException"])?;
            }
            count += 1;
        }
        let inactive = self
            .task_definition_arns(names, TaskDefinitionStatus::Inactive)
            .await?;
        for batch in inactive.chunks(10) {
            let out = self
                .ecs
                .delete_task_definitions()
                .set_task_definitions(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| self.error(e, "ecs:DeleteTaskDefinitions", &[]))?;
            for failure in out.failures() {
                report.kept.push(format!(
                    "ecs task definition {} ({})",
                    failure.arn().unwrap_or_default(),
                    failure.reason().unwrap_or("not deleted")
                ));
            }
        }
        Ok(count.max(inactive.len()))
    }

    /// Deletes security group `id`, retrying while network interfaces of stopping tasks still
    /// hold it (`DependencyViolation`), up to `options.wait`.
    async fn delete_security_group(
        &self,
        id: &str,
        options: TeardownOptions,
    ) -> Result<(), AwsError> {
        let deadline = Instant::now() + options.wait;
        loop {
            match self.ec2.delete_security_group().group_id(id).send().await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let tolerated: &[&str] = if Instant::now() < deadline {
                        &["InvalidGroup.NotFound", "DependencyViolation"]
                    } else {
                        &["InvalidGroup.NotFound"]
                    };
                    if self.check(e, "ec2:DeleteSecurityGroup", tolerated)? != "DependencyViolation"
                    {
                        return Ok(());
                    }
                }
            }
            tokio::time::sleep(options.poll).await;
        }
    }

    /// Whether any service of `cluster` is not `INACTIVE` (its counters can lag, and
    /// AWS-compatible endpoints may not keep them).
    async fn cluster_has_services(&self, cluster: &str) -> Result<bool, AwsError> {
        let mut arns = Vec::new();
        let mut pages = self
            .ecs
            .list_services()
            .cluster(cluster)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error(e, "ecs:ListServices", &[]))?;
            arns.extend(page.service_arns().iter().cloned());
        }
        for batch in arns.chunks(10) {
            let out = self
                .ecs
                .describe_services()
                .cluster(cluster)
                .set_services(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| self.error(e, "ecs:DescribeServices", &[]))?;
            if out
                .services()
                .iter()
                .any(|s| s.status() != Some("INACTIVE"))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn delete_cluster_if_empty(
        &self,
        cluster: &str,
        report: &mut TeardownReport,
        progress: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<(), AwsError> {
        let Some(found) = self.describe_active_cluster(cluster).await? else {
            report.record(format!("ecs cluster {cluster}"), false);
            return Ok(());
        };
        if found.active_services_count() > 0
            || found.running_tasks_count() > 0
            || found.pending_tasks_count() > 0
            || self.cluster_has_services(cluster).await?
        {
            report.kept.push(format!("ecs cluster {cluster} (in use)"));
            return Ok(());
        }
        progress(&format!("removing the empty ECS cluster {cluster}"));
        match self.ecs.delete_cluster().cluster(cluster).send().await {
            Ok(_) => report.record(format!("ecs cluster {cluster}"), true),
            Err(e) => {
                let code = self.check(
                    e,
                    "ecs:DeleteCluster",
                    &[
                        "ClusterNotFoundException",
                        "ClusterContainsServicesException",
                        "ClusterContainsTasksException",
                    ],
                )?;
                if code == "ClusterNotFoundException" {
                    report.record(format!("ecs cluster {cluster}"), false);
                } else {
                    report.kept.push(format!("ecs cluster {cluster} (in use)"));
                }
            }
        }
        Ok(())
    }
}
