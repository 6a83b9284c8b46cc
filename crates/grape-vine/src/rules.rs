//! What a valid vine is: the patterns (shared by the parser and the JSON Schema) and the checks
//! serde's types cannot express.
//!
//! Each pattern is used twice: [`validate`] matches it and the schema carries it, so the two
//! agree by construction. The one rule the schema cannot state is the order of the node sizes
//! (`node_min_size <= node_desired_size <= node_max_size`): JSON Schema cannot compare fields.

use std::sync::LazyLock;

use regex::Regex;

use crate::error::Problem;
use crate::model::{CloudProvider, Vine};

/// A DNS label of at most 20 characters (the schema adds `maxLength: 20`).
pub const DNS_LABEL_PATTERN: &str = "^[a-z]([a-z0-9-]*[a-z0-9])?$";
/// What a DNS label field allows, for messages.
const DNS_LABEL_ALLOWED: &str = "a DNS label of at most 20 characters: lowercase letters, digits or '-', starting with a letter and not ending with '-'";
/// The longest project name and environment stage.
pub const DNS_LABEL_MAX: usize = 20;
/// A Kubernetes minor version.
pub const CLUSTER_VERSION_PATTERN: &str = r"^1\.[0-9]{2}$";
/// A node instance type / machine type / VM size.
pub const INSTANCE_TYPE_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
/// An IPv4 network range from /16 to /24.
pub const CIDR_PATTERN: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/(1[6-9]|2[0-4])$";
/// A DNS domain name (at least two labels).
pub const DOMAIN_NAME_PATTERN: &str =
    r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$";
/// A git repository URL (https, ssh or scp-like `git@host:path`).
pub const REPOSITORY_PATTERN: &str = r"^(https://|ssh://|git@)[^\s]+$";
/// A Terraform version constraint: comma-separated `[op] X[.Y[.Z]][-pre]`.
pub const TERRAFORM_CONSTRAINT_PATTERN: &str = r"^\s*(=|!=|>=|<=|>|<|~>)?\s*[0-9]+(\.[0-9]+){0,2}(-[0-9A-Za-z.]+)?\s*(,\s*(=|!=|>=|<=|>|<|~>)?\s*[0-9]+(\.[0-9]+){0,2}(-[0-9A-Za-z.]+)?\s*)*$";
/// Every form of UUID the parser accepts (hyphenated, simple, braced, URN).
pub const UUID_PATTERN: &str = "^([0-9a-fA-F]{32}|\\{[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\\}|(urn:uuid:)?[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})$";
/// The largest node group size accepted.
pub const MAX_NODES: u32 = 1000;

/// The provider-specific shapes of a vine's values.
#[derive(Debug, Clone, Copy)]
pub struct ProviderRules {
    /// The provider.
    pub provider: CloudProvider,
    /// `region`, and what it allows.
    pub region: (&'static str, &'static str),
    /// Each of `cluster.cluster_admins`.
    pub admin: (&'static str, &'static str),
    /// `network.network_id`.
    pub network_id: (&'static str, &'static str),
    /// `dns.zone_id`.
    pub zone_id: (&'static str, &'static str),
    /// Whether `cluster.enable_karpenter` and `dns.acm_certificate` may be true.
    pub aws_extras: bool,
}

/// The rules of every provider.
pub const PROVIDER_RULES: [ProviderRules; 3] = [
    ProviderRules {
        provider: CloudProvider::Aws,
        region: (
            "^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$",
            "an AWS region such as eu-west-1",
        ),
        admin: (
            r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(user|role)/[A-Za-z0-9+=,.@_/-]+$",
            "an IAM user or role ARN such as arn:aws:iam::123456789012:role/admins",
        ),
        network_id: (
            "^vpc-[0-9a-f]{8,17}$",
            "a VPC id such as vpc-0123456789abcdef0",
        ),
        zone_id: (
            "^Z[A-Z0-9]{1,32}$",
            "a Route 53 hosted zone id such as Z0123456789ABC",
        ),
        aws_extras: true,
    },
    ProviderRules {
        provider: CloudProvider::Gcp,
        region: ("^[a-z]+-[a-z]+[0-9]+$", "a GCP region such as europe-west1"),
        admin: (
            r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
            "an e-mail address such as admin@example.com",
        ),
        network_id: (
            "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$",
            "a VPC network name such as shared-vpc",
        ),
        zone_id: (
            "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$",
            "a Cloud DNS managed zone name such as example-com",
        ),
        aws_extras: false,
    },
    ProviderRules {
        provider: CloudProvider::Azure,
        region: ("^[a-z][a-z0-9]+$", "an Azure region such as westeurope"),
        admin: (
            "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
            "an Entra ID object id (a UUID)",
        ),
        network_id: (
            "^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Network/virtualNetworks/[^/]+$",
            "a virtual network resource id (/subscriptions/…/resourceGroups/…/providers/Microsoft.Network/virtualNetworks/NAME)",
        ),
        zone_id: (
            "^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Network/dnszones/[^/]+$",
            "a DNS zone resource id (/subscriptions/…/providers/Microsoft.Network/dnszones/NAME)",
        ),
        aws_extras: false,
    },
];

/// The rules of `provider`.
pub fn provider_rules(provider: CloudProvider) -> &'static ProviderRules {
    PROVIDER_RULES
        .iter()
        .find(|r| r.provider == provider)
        .unwrap_or(&PROVIDER_RULES[0])
}

/// Whether `value` matches `pattern` (compiled once per pattern).
fn matches(pattern: &'static str, value: &str) -> bool {
    static CACHE: LazyLock<std::sync::Mutex<Vec<(&'static str, Regex)>>> =
        LazyLock::new(|| std::sync::Mutex::new(Vec::new()));
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, re)) = cache.iter().find(|(p, _)| *p == pattern) {
        return re.is_match(value);
    }
    // The patterns are constants of this module, checked by the tests.
    let re = Regex::new(pattern).unwrap_or_else(|e| panic!("bad pattern {pattern}: {e}"));
    let hit = re.is_match(value);
    cache.push((pattern, re));
    hit
}

/// Every problem of a deserialized vine, in field order (empty: valid).
pub fn validate(vine: &Vine) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut check = |ok: bool, path: &str, message: String| {
        if !ok {
            out.push(Problem::new(path, message));
        }
    };
    let rules = provider_rules(vine.provider);
    for (path, value) in [
        ("project_name", &vine.project_name),
        ("environment_stage", &vine.environment_stage),
    ] {
        check(
            value.len() <= DNS_LABEL_MAX && matches(DNS_LABEL_PATTERN, value),
            path,
            format!("{value:?} is not {DNS_LABEL_ALLOWED}"),
        );
    }
    let (pattern, allowed) = rules.region;
    check(
        matches(pattern, &vine.region),
        "region",
        format!("{:?} is not {allowed}", vine.region),
    );

    let cluster = &vine.cluster;
    check(
        matches(CLUSTER_VERSION_PATTERN, &cluster.cluster_version),
        "cluster.cluster_version",
        format!(
            "{:?} is not a Kubernetes minor version such as \"1.31\"",
            cluster.cluster_version
        ),
    );
    check(
        !cluster.instance_types.is_empty(),
        "cluster.instance_types",
        "must name at least one instance type".into(),
    );
    for (i, t) in cluster.instance_types.iter().enumerate() {
        check(
            matches(INSTANCE_TYPE_PATTERN, t),
            &format!("cluster.instance_types[{i}]"),
            format!(
                "{t:?} is not an instance type (letters, digits, '.', '_' or '-', such as m5.large)"
            ),
        );
    }
    for (path, value, min) in [
        ("cluster.node_min_size", cluster.node_min_size, 0),
        ("cluster.node_max_size", cluster.node_max_size, 1),
        ("cluster.node_desired_size", cluster.node_desired_size, 0),
    ] {
        check(
            (min..=MAX_NODES).contains(&value),
            path,
            format!("{value} is out of range: allowed {min} to {MAX_NODES}"),
        );
    }
    check(
        cluster.node_min_size <= cluster.node_max_size,
        "cluster.node_max_size",
        format!(
            "{} is less than node_min_size {}",
            cluster.node_max_size, cluster.node_min_size
        ),
    );
    check(
        (cluster.node_min_size..=cluster.node_max_size).contains(&cluster.node_desired_size),
        "cluster.node_desired_size",
        format!(
            "{} is not between node_min_size {} and node_max_size {}",
            cluster.node_desired_size, cluster.node_min_size, cluster.node_max_size
        ),
    );
    let (pattern, allowed) = rules.admin;
    for (i, admin) in cluster.cluster_admins.iter().enumerate() {
        check(
            matches(pattern, admin),
            &format!("cluster.cluster_admins[{i}]"),
            format!("{admin:?} is not {allowed} (provider {})", vine.provider),
        );
    }
    check(
        rules.aws_extras || !cluster.enable_karpenter,
        "cluster.enable_karpenter",
        format!(
            "Karpenter is only available on aws, not on {}: remove it or set it to false",
            vine.provider
        ),
    );

    let network = &vine.network;
    check(
        matches(CIDR_PATTERN, &network.cidr_block),
        "network.cidr_block",
        format!(
            "{:?} is not an IPv4 range from /16 to /24 such as 10.0.0.0/16",
            network.cidr_block
        ),
    );
    match (network.provision_network, &network.network_id) {
        (Some(true), Some(_)) => check(
            false,
            "network.network_id",
            "an existing network cannot be used with provision_network: true: remove one of them"
                .into(),
        ),
        (Some(false), None) => check(
            false,
            "network.provision_network",
            "false needs network.network_id (the existing network to use)".into(),
        ),
        _ => {}
    }
    if let Some(id) = &network.network_id {
        let (pattern, allowed) = rules.network_id;
        check(
            matches(pattern, id),
            "network.network_id",
            format!("{id:?} is not {allowed}"),
        );
    }

    let dns = &vine.dns;
    check(
        !dns.enabled || dns.domain_name.is_some(),
        "dns.domain_name",
        "is required when dns.enabled is true".into(),
    );
    if let Some(domain) = &dns.domain_name {
        check(
            matches(DOMAIN_NAME_PATTERN, domain),
            "dns.domain_name",
            format!("{domain:?} is not a lowercase domain name such as dev.example.com"),
        );
    }
    if let Some(zone) = &dns.zone_id {
        let (pattern, allowed) = rules.zone_id;
        check(
            matches(pattern, zone),
            "dns.zone_id",
            format!("{zone:?} is not {allowed}"),
        );
    }
    check(
        rules.aws_extras || !dns.acm_certificate,
        "dns.acm_certificate",
        format!(
            "ACM certificates are only available on aws, not on {}",
            vine.provider
        ),
    );
    check(
        !dns.acm_certificate || dns.enabled,
        "dns.acm_certificate",
        "needs dns.enabled: true (the certificate is validated through the zone)".into(),
    );

    for (path, value) in [
        (
            "repositories.apps_destination_repo",
            &vine.repositories.apps_destination_repo,
        ),
        ("repositories.gitops_repo", &vine.repositories.gitops_repo),
    ] {
        if let Some(url) = value {
            check(
                matches(REPOSITORY_PATTERN, url),
                path,
                format!("{url:?} is not a git URL (https://…, ssh://… or git@host:path)"),
            );
        }
    }
    if let Some(constraint) = &vine.terraform_version {
        check(
            matches(TERRAFORM_CONSTRAINT_PATTERN, constraint),
            "terraform_version",
            format!(
                "{constraint:?} is not a Terraform version constraint such as \">= 1.10, < 2.0\" (operators = != > >= < <= ~>)"
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        let mut all = vec![
            DNS_LABEL_PATTERN,
            CLUSTER_VERSION_PATTERN,
            INSTANCE_TYPE_PATTERN,
            CIDR_PATTERN,
            DOMAIN_NAME_PATTERN,
            REPOSITORY_PATTERN,
            TERRAFORM_CONSTRAINT_PATTERN,
            UUID_PATTERN,
        ];
        for r in &PROVIDER_RULES {
            all.extend([r.region.0, r.admin.0, r.network_id.0, r.zone_id.0]);
        }
        for p in all {
            assert!(Regex::new(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn patterns_accept_and_refuse_what_they_say() {
        assert!(matches(DNS_LABEL_PATTERN, "web-2"));
        assert!(!matches(DNS_LABEL_PATTERN, "2web"));
        assert!(!matches(DNS_LABEL_PATTERN, "web-"));
        assert!(!matches(DNS_LABEL_PATTERN, "Web"));
        assert!(matches(CIDR_PATTERN, "10.0.0.0/16"));
        assert!(matches(CIDR_PATTERN, "192.168.4.0/24"));
        assert!(!matches(CIDR_PATTERN, "10.0.0.0/8"));
        assert!(!matches(CIDR_PATTERN, "10.0.0.256/16"));
        assert!(matches(TERRAFORM_CONSTRAINT_PATTERN, ">= 1.10, < 2.0"));
        assert!(matches(TERRAFORM_CONSTRAINT_PATTERN, "~> 1.15.0"));
        assert!(!matches(TERRAFORM_CONSTRAINT_PATTERN, "latest"));
        assert!(matches(
            provider_rules(CloudProvider::Aws).region.0,
            "us-gov-west-1"
        ));
        assert!(!matches(
            provider_rules(CloudProvider::Aws).region.0,
            "westeurope"
        ));
    }
}
