//! Resource Manager: the subscription check and the discovery lists (virtual networks with
//! their subnets, public DNS zones, private DNS zones), following `nextLink` — only to the
//! configured ARM host: the bearer token never goes anywhere else.

use std::collections::{BTreeSet, HashSet};

use grape_api::discovery::{DiscoveryError, DnsZone, Network, Subnet};
use grape_api::{CloudFailure, CloudFailureKind, CloudProvider, Discovery};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const SUBSCRIPTION_API: &str = "2022-12-01";
const NETWORK_API: &str = "2024-05-01";
const DNS_API: &str = "2018-05-01";
const PRIVATE_DNS_API: &str = "2024-06-01";
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// An ARM error: status, `error.code` and `error.message`.
#[derive(Debug, Clone)]
pub(crate) struct ArmError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ArmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl ArmError {
    fn local(code: &str, message: String) -> Self {
        Self {
            status: 0,
            code: code.to_owned(),
            message,
        }
    }
}

/// Resource Manager with one bearer token.
pub(crate) struct Arm<'a> {
    pub http: &'a reqwest::Client,
    pub base: &'a str,
    pub token: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListPage<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    next_link: Option<String>,
}

impl Arm<'_> {
    async fn get<T: DeserializeOwned>(&self, url: &str) -> Result<T, ArmError> {
        let answer = self
            .http
            .get(url)
            .bearer_auth(self.token)
            .send()
            .await
            .map_err(|e| ArmError::local("NETWORK", format!("{url} could not be reached: {e}")))?;
        let status = answer.status().as_u16();
        let body = answer
            .bytes()
            .await
            .map_err(|e| ArmError::local("NETWORK", format!("reading {url} failed: {e}")))?;
        if body.len() > MAX_ANSWER_BYTES {
            return Err(ArmError::local(
                "TOO_LARGE",
                format!("{url} answered more than {MAX_ANSWER_BYTES} bytes"),
            ));
        }
        if !(200..300).contains(&status) {
            let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let text = |p: &str| doc.pointer(p).and_then(Value::as_str).map(str::to_owned);
            return Err(ArmError {
                status,
                code: text("/error/code").unwrap_or_else(|| format!("HTTP_{status}")),
                message: text("/error/message").unwrap_or_default(),
            });
        }
        serde_json::from_slice(&body).map_err(|e| {
            ArmError::local(
                "INVALID_ANSWER",
                format!("{url} answered unexpectedly: {e}"),
            )
        })
    }

    /// Refuses a `nextLink` to another scheme, host or port than the ARM base.
    fn same_origin(&self, link: &str) -> Result<(), ArmError> {
        let origin = |u: &str| {
            reqwest::Url::parse(u).ok().map(|u| {
                (
                    u.scheme().to_owned(),
                    u.host_str().map(str::to_owned),
                    u.port_or_known_default(),
                )
            })
        };
        if origin(link).is_some() && origin(link) == origin(self.base) {
            return Ok(());
        }
        Err(ArmError::local(
            "FOREIGN_NEXT_LINK",
            format!(
                "Resource Manager sent a nextLink to another host ({}); it was not followed, so \
                 the token never left {}",
                reqwest::Url::parse(link)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_else(|| "an unparsable URL".into()),
                self.base
            ),
        ))
    }

    /// Every item of the list at `path` (relative to the base), page after page.
    async fn all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ArmError> {
        let mut url = format!("{}{path}", self.base);
        let mut seen = HashSet::new();
        let mut items = Vec::new();
        loop {
            let page: ListPage<T> = self.get(&url).await?;
            items.extend(page.value);
            match page.next_link.filter(|l| !l.is_empty()) {
                Some(link) => {
                    self.same_origin(&link)?;
                    if !seen.insert(link.clone()) {
                        return Err(ArmError::local(
                            "REPEATED_NEXT_LINK",
                            format!("Resource Manager sent the same nextLink twice: {link}"),
                        ));
                    }
                    url = link;
                }
                None => return Ok(items),
            }
        }
    }

    /// `GET /subscriptions/{id}`: the token works for the subscription.
    pub(crate) async fn subscription(&self, id: &str) -> Result<Value, CloudFailure> {
        let url = format!(
            "{}/subscriptions/{id}?api-version={SUBSCRIPTION_API}",
            self.base
        );
        self.get(&url).await.map_err(|e| match (e.status, e.code.as_str()) {
            (403, _) | (_, "AuthorizationFailed") => CloudFailure::new(
                CloudFailureKind::Denied,
                e.code.clone(),
                format!(
                    "the app has no role on subscription {id}: assign it Reader (or more) there \
                     ({e})"
                ),
            ),
            (404, _) | (_, "SubscriptionNotFound") => CloudFailure::new(
                CloudFailureKind::Settings,
                e.code.clone(),
                format!("subscription {id} does not exist or is not in the tenant ({e})"),
            ),
            (0, "NETWORK") => CloudFailure::new(CloudFailureKind::Network, "NETWORK", e.to_string()),
            _ => CloudFailure::new(CloudFailureKind::Other, e.code.clone(), e.to_string()),
        })
    }
}

#[derive(Deserialize)]
struct Resource {
    id: String,
    name: String,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    properties: Value,
}

fn error(operation: &str, e: &ArmError) -> DiscoveryError {
    let hint = if e.status == 403 {
        ": assign the app Reader on the subscription"
    } else {
        ""
    };
    DiscoveryError {
        service: "network".into(),
        operation: operation.into(),
        region: None,
        kind: e.code.clone(),
        message: format!("{e}{hint}"),
    }
}

/// Lists the subscription's virtual networks (with their subnets) and DNS zones.
pub(crate) async fn discover(arm: &Arm<'_>, subscription: &str) -> Discovery {
    let base = format!("/subscriptions/{subscription}/providers");
    let vnets = format!("{base}/Microsoft.Network/virtualNetworks?api-version={NETWORK_API}");
    let zones = format!("{base}/Microsoft.Network/dnszones?api-version={DNS_API}");
    let private = format!("{base}/Microsoft.Network/privateDnsZones?api-version={PRIVATE_DNS_API}");
    let (vnets, zones, private) = tokio::join!(
        arm.all::<Resource>(&vnets),
        arm.all::<Resource>(&zones),
        arm.all::<Resource>(&private),
    );
    let mut doc = Discovery::new(
        CloudProvider::Azure,
        Some(subscription.to_owned()),
        Vec::new(),
    );
    let mut regions = BTreeSet::new();
    match vnets {
        Ok(items) => {
            for vnet in items {
                let region = vnet.location.clone();
                regions.extend(region.clone());
                let cidrs = vnet
                    .properties
                    .pointer("/addressSpace/addressPrefixes")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|p| p.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let subnets = vnet
                    .properties
                    .get("subnets")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for subnet in subnets {
                    let text =
                        |p: &str| subnet.pointer(p).and_then(Value::as_str).map(str::to_owned);
                    doc.subnets.push(Subnet {
                        id: text("/id").unwrap_or_default(),
                        name: text("/name"),
                        network_id: Some(vnet.id.clone()),
                        region: region.clone(),
                        zone: None,
                        cidr: text("/properties/addressPrefix")
                            .or_else(|| text("/properties/addressPrefixes/0")),
                        // Outbound access is not "public": Azure has no such subnet flag.
                        public: false,
                        available_ips: None,
                    });
                }
                doc.networks.push(Network {
                    id: vnet.id,
                    name: Some(vnet.name),
                    region,
                    cidr_blocks: cidrs,
                    is_default: false,
                });
            }
        }
        Err(e) => doc
            .errors
            .push(error("Microsoft.Network/virtualNetworks/read", &e)),
    }
    for (result, private, operation) in [
        (zones, false, "Microsoft.Network/dnszones/read"),
        (private, true, "Microsoft.Network/privateDnsZones/read"),
    ] {
        match result {
            Ok(items) => doc.dns_zones.extend(items.into_iter().map(|z| {
                DnsZone {
                    record_count: z
                        .properties
                        .get("numberOfRecordSets")
                        .and_then(Value::as_i64),
                    id: z.id,
                    name: format!("{}.", z.name.trim_end_matches('.')),
                    private,
                }
            })),
            Err(e) => doc.errors.push(error(operation, &e)),
        }
    }
    doc.regions = regions.into_iter().collect();
    doc.sort();
    doc
}
