//! `BOOTSTRAP`: a vine's cluster steps on a cluster that exists already (made by other means).
//!
//! The payload names the cluster — `{"vine": {...}, "cluster": {"name", "endpoint",
//! "ca_certificate", "account_id"?, "network_id"?}}` — with nothing secret in it: the token is
//! minted on the worker from the job's cloud identity (EKS: the presigned STS call), never a
//! kubeconfig in a payload. A local run (`grape cluster bootstrap --local --kubeconfig`) gives
//! the cluster in [`ClusterSettings::local_cluster`](crate::ClusterSettings::local_cluster).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::apply_platform;
use crate::handlers::terraform::vine_of_payload;
use crate::{JobContext, JobError, JobHandler};

/// The payload of a BOOTSTRAP job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapRequest {
    vine: Value,
    cluster: ExistingCluster,
}

/// The cluster a BOOTSTRAP names (all of it public).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExistingCluster {
    /// The provider's name of the cluster (EKS/GKE/AKS): the token is minted for it.
    name: String,
    /// The API server URL (`https://…`).
    endpoint: String,
    /// The CA certificate of the API server (PEM, or base64 of the PEM as the clouds give it).
    ca_certificate: String,
    /// The AWS account, GCP project or Azure subscription (default: none known).
    #[serde(default)]
    account_id: Option<String>,
    /// The cluster's network (default: the vine's `network.network_id`).
    #[serde(default)]
    network_id: Option<String>,
}

/// Installs ArgoCD, the repository credential and the platform's Applications into an
/// existing cluster and waits until they are Synced and Healthy — the cluster steps of a vine
/// APPLY without its Terraform.
#[derive(Debug, Default, Clone, Copy)]
pub struct BootstrapHandler;

#[async_trait]
impl JobHandler for BootstrapHandler {
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError> {
        let request: BootstrapRequest =
            JobError::parse_payload(&ctx.job.job_type, &ctx.job.payload)?;
        let vine = vine_of_payload(ctx, request.vine)?;
        let cluster = request.cluster;
        if cluster.name.trim().is_empty() {
            return Err(JobError::InvalidPayload {
                job_type: ctx.job.job_type.to_string(),
                reason: "cluster.name is empty: name the cluster the token is minted for".into(),
            });
        }
        let network_id = cluster
            .network_id
            .or_else(|| vine.network.network_id.clone())
            .unwrap_or_default();
        // The cluster in the shape of the vine's Terraform outputs, so both paths share one
        // reader (facts, access).
        let outputs = json!({
            "cluster_name": cluster.name,
            "cluster_endpoint": cluster.endpoint,
            "cluster_ca_certificate": cluster.ca_certificate,
            "account_id": cluster.account_id.unwrap_or_default(),
            "region": vine.region,
            "network_id": network_id,
            "dns_zone_id": vine.dns.zone_id,
        });
        ctx.log.system(format!(
            "bootstrapping cluster {} of vine {}/{} ({}): ArgoCD, repository, Applications",
            cluster.name,
            vine.project_name,
            vine.environment_stage,
            vine.provider.as_str()
        ));
        let report = apply_platform(ctx, &vine, &outputs).await?;
        let mut result = json!({ "steps": report.steps });
        for (k, v) in report.fields {
            result[k] = v;
        }
        Ok(Some(result))
    }
}
