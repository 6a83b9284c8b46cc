//! The discovery document: what a cloud identity can see, in one shape for every provider.
//!
//! A `CONNECTION_TEST` or `FETCH_RESOURCES` job returns it as `discovery`; Trellis caches it in
//! the identity; the CLI's tables, the vine's network check, `grape vine init` and the console
//! read it. IO-free, so Trellis reads it without linking a cloud SDK.
//!
//! Every provider fills the common lists — [`Discovery::networks`] (AWS VPCs, GCP VPC
//! networks, Azure virtual networks), [`Discovery::subnets`] (with [`Subnet::public`]),
//! [`Discovery::dns_zones`] and [`Discovery::errors`] — and may add its own extras (AWS: security
//! groups and IAM users, in [`Discovery::aws`]). A document cached before this format (AWS
//! documents of format 0–2, with `vpcs[]` and `hosted_zones[]`) does not parse as one: readers
//! ask for a refresh instead of guessing ([`Discovery::from_cached`]).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::CloudProvider;

/// The format written now. 3 is the first provider-neutral one (AWS wrote 0–2 before).
pub const DISCOVERY_FORMAT_VERSION: u32 = 3;

/// What a cloud identity can see, normalised across providers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Discovery {
    /// The document's format, [`DISCOVERY_FORMAT_VERSION`].
    pub format_version: u32,
    /// The provider of the identity.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub provider: CloudProvider,
    /// When the discovery ran.
    pub discovered_at: DateTime<Utc>,
    /// The AWS account, GCP project or Azure subscription listed.
    pub account: Option<String>,
    /// The regions listed (every region of a GCP aggregated list, the identity's AWS regions).
    pub regions: Vec<String>,
    /// Networks, sorted by region and id.
    pub networks: Vec<Network>,
    /// Subnets, sorted by region and id.
    pub subnets: Vec<Subnet>,
    /// DNS zones, sorted by name.
    pub dns_zones: Vec<DnsZone>,
    /// The calls that failed; what they would have listed is missing above.
    pub errors: Vec<DiscoveryError>,
    /// AWS only: security groups and IAM users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsExtras>,
}

/// A network: an AWS VPC, a GCP VPC network, an Azure virtual network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Network {
    /// `vpc-…`, a GCP network's self link name, an Azure resource id.
    pub id: String,
    /// Its name (AWS: the `Name` tag).
    pub name: Option<String>,
    /// Its region; `None` for a global GCP network.
    pub region: Option<String>,
    /// Its IPv4 address ranges (empty for a GCP custom-mode network).
    #[serde(default)]
    pub cidr_blocks: Vec<String>,
    /// Whether it is the provider's default network of its region or project.
    #[serde(default)]
    pub is_default: bool,
}

/// A subnet of a [`Network`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subnet {
    /// `subnet-…`, a GCP subnetwork name, an Azure resource id.
    pub id: String,
    /// Its name (AWS: the `Name` tag).
    pub name: Option<String>,
    /// The [`Network::id`] it belongs to.
    pub network_id: Option<String>,
    /// Its region.
    pub region: Option<String>,
    /// Its zone (AWS availability zone); `None` where subnets span zones (GCP, Azure).
    pub zone: Option<String>,
    /// Its IPv4 range.
    pub cidr: Option<String>,
    /// Whether what starts in it gets a public address (AWS `map_public_ip_on_launch`); a vine
    /// on an existing network puts its nodes into the subnets that are not public.
    #[serde(default)]
    pub public: bool,
    /// Free IPv4 addresses, when the provider says.
    pub available_ips: Option<i64>,
}

/// A DNS zone: Route 53 hosted zone, Cloud DNS managed zone, Azure DNS zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DnsZone {
    /// The provider's id of the zone (Route 53 without `/hostedzone/`).
    pub id: String,
    /// The domain, with its trailing dot.
    pub name: String,
    /// Whether it is a private zone.
    #[serde(default)]
    pub private: bool,
    /// How many record sets it holds, when the provider says.
    pub record_count: Option<i64>,
}

/// A call of the discovery that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscoveryError {
    /// The service, e.g. `ec2`, `compute`, `network`.
    pub service: String,
    /// The call, e.g. `ec2:DescribeSubnets`, `compute.subnetworks.aggregatedList`.
    pub operation: String,
    /// The region of a regional call.
    pub region: Option<String>,
    /// Why it failed, e.g. `ACCESS_DENIED`, `THROTTLED`, `NETWORK`.
    pub kind: String,
    /// What failed and what to fix.
    pub message: String,
}

/// What only AWS discovery lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AwsExtras {
    /// Security groups of every region, sorted by region and id.
    pub security_groups: Vec<SecurityGroup>,
    /// IAM users, sorted by name.
    pub iam_users: Vec<IamUser>,
}

/// An AWS security group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecurityGroup {
    /// `sg-…`.
    pub id: String,
    /// Its group name.
    pub name: Option<String>,
    /// The VPC it belongs to.
    pub network_id: Option<String>,
    /// Its region.
    pub region: String,
    /// Its description.
    pub description: Option<String>,
}

/// An AWS IAM user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IamUser {
    /// The user name.
    pub name: String,
    /// The user's ARN.
    pub arn: String,
    /// The unique id (`AIDA…`).
    pub id: String,
    /// When the user was created.
    pub created: Option<DateTime<Utc>>,
}

/// Why a cached document cannot be read as a [`Discovery`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CachedDiscoveryError {
    /// The identity holds no discovery yet.
    #[error("the identity has no cached discovery")]
    Missing,
    /// The document is of an older format (or of none).
    #[error(
        "the cached discovery is of format {found}, older than format {DISCOVERY_FORMAT_VERSION}"
    )]
    Outdated {
        /// The format found (0 when the document has none).
        found: u64,
    },
    /// The document does not parse (the message names the field).
    #[error("the cached discovery does not parse: {0}")]
    Malformed(String),
}

impl Discovery {
    /// An empty document of the current format for `provider`, discovered now.
    pub fn new(provider: CloudProvider, account: Option<String>, regions: Vec<String>) -> Self {
        Self {
            format_version: DISCOVERY_FORMAT_VERSION,
            provider,
            discovered_at: Utc::now(),
            account,
            regions,
            networks: Vec::new(),
            subnets: Vec::new(),
            dns_zones: Vec::new(),
            errors: Vec::new(),
            aws: None,
        }
    }

    /// Reads the document cached in an identity (`credentials.discovery`, or the document
    /// itself): `null`/absent → [`CachedDiscoveryError::Missing`], a format older than
    /// [`DISCOVERY_FORMAT_VERSION`] → [`CachedDiscoveryError::Outdated`].
    pub fn from_cached(value: Option<&Value>) -> Result<Self, CachedDiscoveryError> {
        let value = match value {
            None | Some(Value::Null) => return Err(CachedDiscoveryError::Missing),
            Some(v) => v.get("discovery").unwrap_or(v),
        };
        if value.is_null() {
            return Err(CachedDiscoveryError::Missing);
        }
        let found = value
            .get("format_version")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if found < u64::from(DISCOVERY_FORMAT_VERSION) {
            return Err(CachedDiscoveryError::Outdated { found });
        }
        serde_path_to_error(value)
    }

    /// Sorts every list the documented way (networks and subnets by region and id, zones by
    /// name, AWS extras by region and id / name), so documents compare and diff stably.
    pub fn sort(&mut self) {
        self.networks
            .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
        self.subnets
            .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
        self.dns_zones
            .sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        if let Some(aws) = &mut self.aws {
            aws.security_groups
                .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
            aws.iam_users.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }

    /// One line of counts for logs: "found 2 network(s), 6 subnet(s), 1 DNS zone(s)…".
    pub fn summary(&self) -> String {
        let mut line = format!(
            "found {} network(s), {} subnet(s), {} DNS zone(s)",
            self.networks.len(),
            self.subnets.len(),
            self.dns_zones.len()
        );
        if let Some(aws) = &self.aws {
            let _ = write!(
                line,
                ", {} security group(s), {} IAM user(s)",
                aws.security_groups.len(),
                aws.iam_users.len()
            );
        }
        if !self.errors.is_empty() {
            let _ = write!(line, "; {} call(s) failed", self.errors.len());
        }
        line
    }

    /// The subnets of network `network_id`.
    pub fn subnets_of<'a>(&'a self, network_id: &'a str) -> impl Iterator<Item = &'a Subnet> {
        self.subnets
            .iter()
            .filter(move |s| s.network_id.as_deref() == Some(network_id))
    }
}

fn serde_path_to_error(value: &Value) -> Result<Discovery, CachedDiscoveryError> {
    Discovery::deserialize(value).map_err(|e| CachedDiscoveryError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc() -> Value {
        json!({
            "format_version": 3, "provider": "aws", "discovered_at": "2026-12-01T10:00:00Z",
            "account": "123456789012", "regions": ["eu-west-1"],
            "networks": [{"id": "vpc-1", "name": "main", "region": "eu-west-1",
                          "cidr_blocks": ["10.0.0.0/16"], "is_default": false}],
            "subnets": [{"id": "subnet-1", "name": null, "network_id": "vpc-1",
                         "region": "eu-west-1", "zone": "eu-west-1a", "cidr": "10.0.1.0/24",
                         "public": false, "available_ips": 250}],
            "dns_zones": [{"id": "Z1", "name": "example.com.", "private": false, "record_count": 2}],
            "errors": [],
            "aws": {"security_groups": [], "iam_users": []}
        })
    }

    #[test]
    fn a_current_document_round_trips() {
        let parsed = Discovery::from_cached(Some(&doc())).expect("current format");
        assert_eq!(parsed.provider, CloudProvider::Aws);
        assert_eq!(parsed.subnets_of("vpc-1").count(), 1);
        assert_eq!(serde_json::to_value(&parsed).expect("serialises"), doc());
        let wrapped = json!({"discovery": doc()});
        assert_eq!(Discovery::from_cached(Some(&wrapped)), Ok(parsed));
    }

    #[test]
    fn old_missing_and_malformed_documents_are_told_apart() {
        assert_eq!(
            Discovery::from_cached(None),
            Err(CachedDiscoveryError::Missing)
        );
        assert_eq!(
            Discovery::from_cached(Some(&json!({"discovery": null}))),
            Err(CachedDiscoveryError::Missing)
        );
        let old = json!({"format_version": 2, "provider": "aws", "vpcs": []});
        assert_eq!(
            Discovery::from_cached(Some(&old)),
            Err(CachedDiscoveryError::Outdated { found: 2 })
        );
        let mut bad = doc();
        bad["networks"] = json!([{"name": "no id"}]);
        let err = Discovery::from_cached(Some(&bad)).expect_err("no id");
        assert!(err.to_string().contains("id"), "{err}");
    }

    #[test]
    fn other_providers_carry_no_aws_extras() {
        let mut d = Discovery::new(CloudProvider::Gcp, Some("proj".into()), vec![]);
        d.dns_zones.push(DnsZone {
            id: "z".into(),
            name: "b.example.".into(),
            private: true,
            record_count: None,
        });
        d.dns_zones.push(DnsZone {
            id: "y".into(),
            name: "a.example.".into(),
            private: false,
            record_count: Some(3),
        });
        d.sort();
        assert_eq!(d.dns_zones[0].name, "a.example.");
        let value = serde_json::to_value(&d).expect("serialises");
        assert!(value.get("aws").is_none(), "{value}");
        assert_eq!(value["provider"], "gcp");
        assert!(
            d.summary().starts_with("found 0 network(s)"),
            "{}",
            d.summary()
        );
    }
}
