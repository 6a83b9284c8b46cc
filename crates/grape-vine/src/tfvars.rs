//! The vine → `terraform.tfvars.json` mapping, and the vine's state key.
//!
//! Every key is a variable declared in the bundled `variables.tf` (shared by every template
//! set); a vine carries no free-form variables.

use serde::Serialize;

use crate::model::Vine;

/// The team a vine belongs to until Trellis has teams.
pub const DEFAULT_TEAM: &str = "default";

/// The input variables of the bundled templates, as `terraform.tfvars.json` holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TfVars<'a> {
    /// `project_name`.
    pub project_name: &'a str,
    /// `environment_stage`.
    pub environment_stage: &'a str,
    /// `region`.
    pub region: &'a str,
    /// `cluster.cluster_version`.
    pub cluster_version: &'a str,
    /// `cluster.instance_types`.
    pub instance_types: &'a [String],
    /// `cluster.node_min_size`.
    pub node_min_size: u32,
    /// `cluster.node_max_size`.
    pub node_max_size: u32,
    /// `cluster.node_desired_size`.
    pub node_desired_size: u32,
    /// `cluster.cluster_admins`.
    pub cluster_admins: &'a [String],
    /// `cluster.enable_karpenter`.
    pub enable_karpenter: bool,
    /// The effective `network.provision_network`.
    pub provision_network: bool,
    /// `network.cidr_block`.
    pub cidr_block: &'a str,
    /// `network.network_id` (null: none).
    pub network_id: Option<&'a str>,
    /// `network.single_nat_gateway`.
    pub single_nat_gateway: bool,
    /// `dns.enabled`.
    pub dns_enabled: bool,
    /// `dns.zone_id` (null: create a zone when DNS is enabled).
    pub dns_zone_id: Option<&'a str>,
    /// `dns.domain_name`.
    pub domain_name: Option<&'a str>,
    /// `dns.acm_certificate`.
    pub acm_certificate: bool,
}

/// The input variables of the bundled templates for `vine`.
pub fn tfvars(vine: &Vine) -> TfVars<'_> {
    let c = &vine.cluster;
    let n = &vine.network;
    let d = &vine.dns;
    TfVars {
        project_name: &vine.project_name,
        environment_stage: &vine.environment_stage,
        region: &vine.region,
        cluster_version: &c.cluster_version,
        instance_types: &c.instance_types,
        node_min_size: c.node_min_size,
        node_max_size: c.node_max_size,
        node_desired_size: c.node_desired_size,
        cluster_admins: &c.cluster_admins,
        enable_karpenter: c.enable_karpenter,
        provision_network: n.provisions_network(),
        cidr_block: &n.cidr_block,
        network_id: n.network_id.as_deref(),
        single_nat_gateway: n.single_nat_gateway,
        dns_enabled: d.enabled,
        dns_zone_id: d.zone_id.as_deref(),
        domain_name: d.domain_name.as_deref(),
        acm_certificate: d.acm_certificate,
    }
}

/// The `terraform.tfvars.json` text for `vine` (pretty, with a final newline).
pub fn tfvars_json(vine: &Vine) -> String {
    let mut text = serde_json::to_string_pretty(&tfvars(vine))
        .expect("strings, numbers and booleans always serialize");
    text.push('\n');
    text
}

/// The one place that names a vine's Terraform state object:
/// `vines/<team>/<project>/<environment>/<region>/terraform.tfstate`.
///
/// `team` is the job's team ([`DEFAULT_TEAM`] for a single-team set-up); the vine's names are DNS
/// labels and its region has no `/`, so the key is always a safe relative object key.
pub fn state_key(team: &str, vine: &Vine) -> String {
    format!(
        "vines/{team}/{}/{}/{}/terraform.tfstate",
        vine.project_name, vine.environment_stage, vine.region
    )
}
