//! The vine definition: the typed form of a `vine.yaml`.
//!
//! Every struct rejects unknown fields. Field documentation is the user documentation: it ends
//! up in the JSON Schema (`grape vine schema`) and editors show it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::rules::{
    CIDR_PATTERN, CLUSTER_VERSION_PATTERN, DNS_LABEL_PATTERN, DOMAIN_NAME_PATTERN,
    INSTANCE_TYPE_PATTERN, MAX_NODES, REPOSITORY_PATTERN, TERRAFORM_CONSTRAINT_PATTERN,
};

/// The default `network.cidr_block`.
pub const DEFAULT_CIDR_BLOCK: &str = "10.0.0.0/16";

/// One environment of a project: its cloud, network, Kubernetes cluster, DNS and repositories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Vintner vine", transform = crate::schema::add_cross_field_rules)]
pub struct Vine {
    /// The project's name: a DNS label (lowercase letters, digits and `-`, starting with a
    /// letter, at most 20 characters). It becomes part of every resource name.
    #[schemars(regex(pattern = DNS_LABEL_PATTERN), length(max = 20))]
    pub project_name: String,
    /// The environment stage (`dev`, `staging`, `prod`, …): a DNS label of at most 20
    /// characters, part of every resource name.
    #[schemars(regex(pattern = DNS_LABEL_PATTERN), length(max = 20))]
    pub environment_stage: String,
    /// The cloud region, in the provider's notation (`eu-west-1`, `europe-west1`, `westeurope`).
    pub region: String,
    /// The cloud provider.
    pub provider: CloudProvider,
    /// The id of the Trellis cloud identity whose credentials provision this vine (a UUID, see
    /// `grape identities list`). Its provider must be `provider`.
    pub cloud_identity_id: Uuid,
    /// The Kubernetes cluster.
    pub cluster: ClusterSettings,
    /// The network the cluster runs in (default: a new one, `10.0.0.0/16`).
    #[serde(default)]
    pub network: NetworkSettings,
    /// A DNS zone (and, on AWS, a certificate) for the platform's hostnames (default: none).
    #[serde(default)]
    pub dns: DnsSettings,
    /// Git repositories the platform uses after the cluster is up (default: none).
    #[serde(default)]
    pub repositories: Repositories,
    /// A Terraform `required_version` constraint the Terraform in use must meet, e.g.
    /// `">= 1.10, < 2.0"` (default: none beyond the templates' own `>= 1.10`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TERRAFORM_CONSTRAINT_PATTERN))]
    pub terraform_version: Option<String>,
}

/// The cloud provider of a vine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CloudProvider {
    /// Amazon Web Services: VPC + EKS.
    Aws,
    /// Google Cloud: VPC + GKE.
    Gcp,
    /// Microsoft Azure: VNet + AKS.
    Azure,
}

impl CloudProvider {
    /// Every provider, in documentation order.
    pub const ALL: [Self; 3] = [Self::Aws, Self::Gcp, Self::Azure];

    /// The wire name: `aws`, `gcp` or `azure`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Gcp => "gcp",
            Self::Azure => "azure",
        }
    }
}

impl std::fmt::Display for CloudProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Kubernetes cluster and its worker nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// The Kubernetes minor version, e.g. `"1.31"` (quote it in YAML).
    #[schemars(regex(pattern = CLUSTER_VERSION_PATTERN))]
    pub cluster_version: String,
    /// Node instance (machine, VM size) types, e.g. `[m5.large]`, `[e2-standard-4]`,
    /// `[Standard_D4s_v5]`. At least one; the first is used where a provider takes one.
    #[schemars(length(min = 1), inner(regex(pattern = INSTANCE_TYPE_PATTERN)))]
    pub instance_types: Vec<String>,
    /// The node group's minimum size (0 or more).
    #[schemars(range(max = MAX_NODES))]
    pub node_min_size: u32,
    /// The node group's maximum size (at least 1 and at least `node_min_size`).
    #[schemars(range(min = 1, max = MAX_NODES))]
    pub node_max_size: u32,
    /// The node group's desired size (between `node_min_size` and `node_max_size`).
    #[schemars(range(max = MAX_NODES))]
    pub node_desired_size: u32,
    /// Who administers the cluster: IAM user or role ARNs on AWS, e-mail addresses on GCP,
    /// Entra ID object ids on Azure (default: none besides the provisioning identity).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_admins: Vec<String>,
    /// Install Karpenter's IAM roles and interruption queue (AWS only; default false).
    #[serde(default)]
    pub enable_karpenter: bool,
}

/// The network the cluster runs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSettings {
    /// Create a new network (default: true, or false when `network_id` is set). `true`
    /// together with `network_id` is an error; `false` needs `network_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provision_network: Option<bool>,
    /// The new network's IPv4 range, a /16 to /24 (default `10.0.0.0/16`).
    #[serde(default = "default_cidr_block")]
    #[schemars(regex(pattern = CIDR_PATTERN))]
    pub cidr_block: String,
    /// An existing network to use instead: a VPC id on AWS (`vpc-…`), a network name on GCP,
    /// a virtual network resource id on Azure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_id: Option<String>,
    /// One NAT gateway for the whole network instead of one per availability zone (cheaper,
    /// not zone-redundant; default false). AWS only; ignored elsewhere.
    #[serde(default)]
    pub single_nat_gateway: bool,
}

impl NetworkSettings {
    /// Whether the templates create the network (the effective `provision_network`).
    pub fn provisions_network(&self) -> bool {
        self.provision_network.unwrap_or(self.network_id.is_none())
    }
}

impl Default for NetworkSettings {
    fn default() -> Self {
        Self {
            provision_network: None,
            cidr_block: default_cidr_block(),
            network_id: None,
            single_nat_gateway: false,
        }
    }
}

fn default_cidr_block() -> String {
    DEFAULT_CIDR_BLOCK.to_owned()
}

/// A DNS zone for the platform's hostnames.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsSettings {
    /// Manage DNS for this vine (default false). Needs `domain_name`.
    #[serde(default)]
    pub enabled: bool,
    /// An existing zone to use (Route 53 hosted zone id, Cloud DNS managed zone name, Azure
    /// DNS zone resource id); default: a new zone for `domain_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    /// The domain, e.g. `dev.example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DOMAIN_NAME_PATTERN))]
    pub domain_name: Option<String>,
    /// Issue an ACM certificate for `domain_name` and `*.domain_name`, validated through the
    /// zone (AWS only; needs `enabled`; default false).
    #[serde(default)]
    pub acm_certificate: bool,
}

/// Git repositories the platform uses once the cluster is up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Repositories {
    /// The repository ArgoCD deploys the user's applications from (https or ssh URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = REPOSITORY_PATTERN))]
    pub apps_destination_repo: Option<String>,
    /// A repository the rendered platform manifests are committed to (https or ssh URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = REPOSITORY_PATTERN))]
    pub gitops_repo: Option<String>,
}
