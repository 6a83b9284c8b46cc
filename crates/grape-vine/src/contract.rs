//! The output contract: the outputs every template set declares, which part 2 (cluster
//! bootstrap) and the job result read.

/// One output of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractOutput {
    /// The output name.
    pub name: &'static str,
    /// Its Terraform type.
    pub type_: &'static str,
    /// What it holds.
    pub description: &'static str,
    /// Where it is `null`.
    pub null_when: &'static str,
}

const fn out(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
    null_when: &'static str,
) -> ContractOutput {
    ContractOutput {
        name,
        type_,
        description,
        null_when,
    }
}

/// Every contract output, in documentation order.
pub const OUTPUT_CONTRACT: &[ContractOutput] = &[
    out(
        "cluster_name",
        "string",
        "the Kubernetes cluster's name",
        "never",
    ),
    out(
        "cluster_endpoint",
        "string",
        "the API server URL (https://…)",
        "never",
    ),
    out(
        "cluster_ca_certificate",
        "string",
        "the API server's CA, base64 PEM",
        "never",
    ),
    out(
        "account_id",
        "string",
        "AWS account id, GCP project id, Azure subscription id",
        "never",
    ),
    out("region", "string", "the vine's region", "never"),
    out(
        "network_id",
        "string",
        "VPC id, VPC network id, VNet id (new or existing)",
        "never",
    ),
    out(
        "private_subnet_ids",
        "list(string)",
        "the cluster's node subnets",
        "never",
    ),
    out(
        "public_subnet_ids",
        "list(string)",
        "AWS public subnets (load balancers)",
        "GCP, Azure",
    ),
    out(
        "oidc_issuer_url",
        "string",
        "the cluster's service account token issuer",
        "never",
    ),
    out(
        "oidc_provider_arn",
        "string",
        "the IAM OIDC provider of IRSA",
        "GCP, Azure",
    ),
    out(
        "irsa_role_arns",
        "map(string)",
        "IAM role per app: load_balancer_controller, external_dns, external_secrets, karpenter (when enabled)",
        "GCP, Azure",
    ),
    out(
        "dns_zone_id",
        "string",
        "the DNS zone (created or given)",
        "dns.enabled false",
    ),
    out(
        "certificate_arn",
        "string",
        "the validated ACM certificate",
        "no acm_certificate; GCP, Azure",
    ),
    out(
        "karpenter_queue_name",
        "string",
        "Karpenter's interruption queue",
        "enable_karpenter false; GCP, Azure",
    ),
];
