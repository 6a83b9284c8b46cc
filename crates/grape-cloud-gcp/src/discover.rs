//! Discovery of a GCP project: VPC networks (`networks.list`), subnetworks of every region
//! (`subnetworks.aggregatedList`, partial success) and Cloud DNS managed zones, each followed
//! through every page (`nextPageToken`, a repeated token is an error). A failed call is an entry
//! of [`Discovery::errors`]; the rest goes on.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use grape_api::discovery::{DiscoveryError, DnsZone, Network, Subnet};
use grape_api::{CloudProvider, Discovery};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::GcpEndpoints;
use crate::google::{GoogleError, read_json};

/// Items per page asked of Compute (it accepts up to 500).
const DEFAULT_PAGE_SIZE: u32 = 500;

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NetworkList {
    items: Vec<GcpNetwork>,
    next_page_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GcpNetwork {
    name: String,
    #[serde(rename = "IPv4Range")]
    ipv4_range: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SubnetworkList {
    items: BTreeMap<String, ScopedSubnetworks>,
    next_page_token: Option<String>,
    unreachables: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ScopedSubnetworks {
    subnetworks: Vec<GcpSubnetwork>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GcpSubnetwork {
    name: String,
    network: String,
    region: String,
    ip_cidr_range: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ManagedZoneList {
    managed_zones: Vec<ManagedZone>,
    next_page_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ManagedZone {
    name: String,
    dns_name: String,
    visibility: Option<String>,
}

/// A page of a list: its items and the token of the next page.
trait Page: DeserializeOwned {
    type Item;
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>, Vec<String>);
}

impl Page for NetworkList {
    type Item = GcpNetwork;
    fn into_parts(self) -> (Vec<GcpNetwork>, Option<String>, Vec<String>) {
        (self.items, self.next_page_token, Vec::new())
    }
}

impl Page for SubnetworkList {
    type Item = GcpSubnetwork;
    fn into_parts(self) -> (Vec<GcpSubnetwork>, Option<String>, Vec<String>) {
        let items = self
            .items
            .into_values()
            .flat_map(|s| s.subnetworks)
            .collect();
        (items, self.next_page_token, self.unreachables)
    }
}

impl Page for ManagedZoneList {
    type Item = ManagedZone;
    fn into_parts(self) -> (Vec<ManagedZone>, Option<String>, Vec<String>) {
        (self.managed_zones, self.next_page_token, Vec::new())
    }
}

/// What one discovery lists with.
pub(crate) struct Lister<'a> {
    pub http: &'a reqwest::Client,
    pub endpoints: &'a GcpEndpoints,
    pub token: &'a str,
    pub page_size: Option<u32>,
}

impl Lister<'_> {
    /// Every item of the list at `url`, page after page, and the scopes it could not reach.
    async fn all<P: Page>(
        &self,
        url: &str,
        extra: &[(&str, &str)],
    ) -> Result<(Vec<P::Item>, Vec<String>), GoogleError> {
        let size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE).to_string();
        let mut items = Vec::new();
        let mut unreachable = Vec::new();
        let mut seen = HashSet::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = self
                .http
                .get(url)
                .bearer_auth(self.token)
                .query(&[("maxResults", size.as_str())])
                .query(extra);
            if let Some(t) = &token {
                request = request.query(&[("pageToken", t.as_str())]);
            }
            let answer = request.send().await.map_err(|e| GoogleError {
                status: 0,
                code: "NETWORK".into(),
                message: format!("{url} could not be reached: {e}"),
            })?;
            let (page, next, missed) = read_json::<P>(answer).await?.into_parts();
            items.extend(page);
            unreachable.extend(missed);
            match next.filter(|t| !t.is_empty()) {
                Some(t) if seen.insert(t.clone()) => token = Some(t),
                Some(t) => {
                    return Err(GoogleError {
                        status: 0,
                        code: "REPEATED_PAGE_TOKEN".into(),
                        message: format!("{url} sent the page token {t} twice"),
                    });
                }
                None => return Ok((items, unreachable)),
            }
        }
    }
}

fn last_segment(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_owned()
}

fn error(service: &str, operation: &str, e: &GoogleError) -> DiscoveryError {
    DiscoveryError {
        service: service.to_owned(),
        operation: operation.to_owned(),
        region: None,
        kind: e.code.clone(),
        message: match e.status {
            403 => format!(
                "{e}: grant the identity's principal a role that allows {operation} (e.g. \
                 roles/compute.networkViewer, roles/dns.reader)"
            ),
            _ => e.to_string(),
        },
    }
}

/// Lists `project`'s networks, subnetworks (of `regions`, or all when empty) and DNS zones.
pub(crate) async fn discover(lister: &Lister<'_>, project: &str, regions: &[String]) -> Discovery {
    let compute = &lister.endpoints.compute;
    let networks_url = format!("{compute}/compute/v1/projects/{project}/global/networks");
    let subnets_url = format!("{compute}/compute/v1/projects/{project}/aggregated/subnetworks");
    let zones_url = format!(
        "{}/dns/v1/projects/{project}/managedZones",
        lister.endpoints.dns
    );
    let partial = [("returnPartialSuccess", "true")];
    let (networks, subnets, zones) = tokio::join!(
        lister.all::<NetworkList>(&networks_url, &[]),
        lister.all::<SubnetworkList>(&subnets_url, &partial),
        lister.all::<ManagedZoneList>(&zones_url, &[]),
    );
    let mut doc = Discovery::new(CloudProvider::Gcp, Some(project.to_owned()), Vec::new());
    match networks {
        Ok((items, _)) => {
            doc.networks = items
                .into_iter()
                .map(|n| Network {
                    is_default: n.name == "default",
                    id: n.name.clone(),
                    name: Some(n.name),
                    region: None,
                    cidr_blocks: n.ipv4_range.into_iter().collect(),
                })
                .collect();
        }
        Err(e) => doc
            .errors
            .push(error("compute", "compute.networks.list", &e)),
    }
    let mut seen_regions = BTreeSet::new();
    match subnets {
        Ok((items, unreachable)) => {
            for s in items {
                let region = last_segment(&s.region);
                if !regions.is_empty() && !regions.contains(&region) {
                    continue;
                }
                seen_regions.insert(region.clone());
                doc.subnets.push(Subnet {
                    id: s.name.clone(),
                    name: Some(s.name),
                    network_id: Some(last_segment(&s.network)),
                    region: Some(region),
                    zone: None,
                    cidr: s.ip_cidr_range,
                    public: false,
                    available_ips: None,
                });
            }
            for scope in unreachable {
                doc.errors.push(DiscoveryError {
                    service: "compute".into(),
                    operation: "compute.subnetworks.aggregatedList".into(),
                    region: Some(last_segment(&scope)),
                    kind: "UNREACHABLE".into(),
                    message: format!("Compute could not list the subnetworks of {scope}"),
                });
            }
        }
        Err(e) => doc
            .errors
            .push(error("compute", "compute.subnetworks.aggregatedList", &e)),
    }
    match zones {
        Ok((items, _)) => {
            doc.dns_zones = items
                .into_iter()
                .map(|z| DnsZone {
                    id: z.name,
                    name: z.dns_name,
                    private: z.visibility.as_deref() == Some("private"),
                    record_count: None,
                })
                .collect();
        }
        Err(e) => doc.errors.push(error("dns", "dns.managedZones.list", &e)),
    }
    doc.regions = if regions.is_empty() {
        seen_regions.into_iter().collect()
    } else {
        regions.to_vec()
    };
    doc.sort();
    doc
}
