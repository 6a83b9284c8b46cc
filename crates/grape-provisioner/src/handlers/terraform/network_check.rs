//! A vine on an existing network (`network.network_id`) is checked at PLAN against its cloud
//! identity's cached discovery (what the last CONNECTION_TEST / FETCH_RESOURCES found, in the
//! provider-neutral format of grape-api), before Terraform runs: the network must exist in the
//! vine's region and hold subnets the cluster can use — on AWS private subnets (not public) in
//! at least two availability zones (EKS needs two), elsewhere a subnet in the vine's region. A
//! missing cache, or one of an older format, fails with "run `grape identities refresh`".

use std::collections::BTreeSet;

use grape_api::{CachedDiscoveryError, Discovery};
use grape_vine::{CloudProvider, Vine};

use crate::{JobContext, JobError};

/// Checks the vine's existing network, if it names one.
pub(super) fn check(ctx: &JobContext, vine: &Vine) -> Result<(), JobError> {
    let Some(network_id) = &vine.network.network_id else {
        return Ok(());
    };
    let Some(identity) = &ctx.job.identity else {
        ctx.log.system(format!(
            "network {network_id} not checked against a discovery: this run has no cloud identity"
        ));
        return Ok(());
    };
    let refresh = format!("run `grape identities refresh {}`", identity.id);
    let discovery = match Discovery::from_cached(identity.credentials.as_ref()) {
        Ok(d) => d,
        Err(CachedDiscoveryError::Missing) => {
            return Err(JobError::Failed(format!(
                "the vine uses the existing network {network_id}, but cloud identity {} has no \
                 cached discovery to check it against: {refresh}",
                identity.id
            )));
        }
        Err(e) => {
            return Err(JobError::Failed(format!(
                "network.network_id {network_id}: {e}, which this worker cannot check against \
                 (cloud identity {}); {refresh}",
                identity.id
            )));
        }
    };
    let found = usable_network(&discovery, vine.provider, network_id, &vine.region).map_err(|why| {
        JobError::Failed(format!(
            "network.network_id {network_id}: {why} (cached discovery of identity {}); {refresh}",
            identity.id
        ))
    })?;
    ctx.log.system(format!(
        "network {network_id} found in the identity's discovery: {} private subnet(s) in {}, {} public",
        found.private_subnets,
        found.private_zones.iter().cloned().collect::<Vec<_>>().join(", "),
        found.public_subnets
    ));
    Ok(())
}

/// What the discovery says about a VPC.
#[derive(Debug, PartialEq, Eq)]
struct FoundNetwork {
    private_subnets: usize,
    public_subnets: usize,
    private_zones: BTreeSet<String>,
}

/// The network `network_id` of `region` in `doc`, with subnets the cluster can use.
fn usable_network(
    doc: &Discovery,
    provider: CloudProvider,
    network_id: &str,
    region: &str,
) -> Result<FoundNetwork, String> {
    let at = doc.discovered_at.format("%Y-%m-%d %H:%M UTC");
    // A GCP network is global (no region); AWS and Azure networks have one.
    let in_region = |r: &Option<String>| r.as_deref().is_none_or(|r| r == region);
    if !doc
        .networks
        .iter()
        .any(|n| n.id == network_id && in_region(&n.region))
    {
        let elsewhere: Vec<&str> = doc
            .networks
            .iter()
            .filter(|n| n.id == network_id)
            .filter_map(|n| n.region.as_deref())
            .collect();
        return Err(if elsewhere.is_empty() {
            format!(
                "no such network in {region} (discovered {} network(s) there at {at})",
                doc.networks.iter().filter(|n| in_region(&n.region)).count(),
            )
        } else {
            format!(
                "the network is in {}, not in the vine's region {region}",
                elsewhere.join(", ")
            )
        });
    }
    let mut found = FoundNetwork {
        private_subnets: 0,
        public_subnets: 0,
        private_zones: BTreeSet::new(),
    };
    for subnet in doc.subnets_of(network_id).filter(|s| in_region(&s.region)) {
        if subnet.public {
            found.public_subnets += 1;
        } else {
            found.private_subnets += 1;
            found.private_zones.insert(
                subnet
                    .zone
                    .clone()
                    .unwrap_or_else(|| format!("{region} (regional)")),
            );
        }
    }
    match provider {
        CloudProvider::Aws if found.private_zones.len() < 2 => Err(format!(
            "the cluster needs private subnets (map_public_ip_on_launch false) in at least two \
             availability zones; the VPC has {} private subnet(s) in {} zone(s)",
            found.private_subnets,
            found.private_zones.len()
        )),
        _ if found.private_subnets == 0 => Err(format!(
            "the cluster needs a subnet of the network in {region}; the discovery of {at} lists \
             none"
        )),
        _ => Ok(found),
    }
}

#[cfg(test)]
mod tests {
    use grape_api::Discovery;
    use grape_vine::CloudProvider;
    use serde_json::{Value, json};

    use super::usable_network;

    fn doc(provider: &str, network_region: &Value, subnets: &Value) -> Discovery {
        serde_json::from_value(json!({
            "format_version": 3,
            "discovered_at": "2026-12-01T10:00:00Z",
            "provider": provider,
            "account": "123456789012",
            "regions": ["eu-west-1"],
            "networks": [{"id": "vpc-1", "name": null, "region": network_region,
                          "cidr_blocks": ["10.1.0.0/16"], "is_default": false}],
            "subnets": subnets,
            "dns_zones": [], "errors": []
        }))
        .expect("a format 3 document")
    }

    fn subnet(id: &str, region: &str, zone: Option<&str>, public: bool) -> Value {
        json!({"id": id, "name": null, "network_id": "vpc-1", "region": region, "zone": zone,
               "cidr": null, "public": public, "available_ips": 250})
    }

    fn aws(subnets: &Value) -> Discovery {
        doc("aws", &json!("eu-west-1"), subnets)
    }

    #[test]
    fn a_vpc_with_private_subnets_in_two_zones_passes() {
        let d = aws(&json!([
            subnet("s1", "eu-west-1", Some("eu-west-1a"), false),
            subnet("s2", "eu-west-1", Some("eu-west-1b"), false),
            subnet("s3", "eu-west-1", Some("eu-west-1a"), true)
        ]));
        let found = usable_network(&d, CloudProvider::Aws, "vpc-1", "eu-west-1").unwrap();
        assert_eq!((found.private_subnets, found.public_subnets), (2, 1));
    }

    #[test]
    fn what_is_refused_says_why() {
        let two = json!([
            subnet("s1", "eu-west-1", Some("eu-west-1a"), false),
            subnet("s2", "eu-west-1", Some("eu-west-1b"), false)
        ]);
        let check = |d: &Discovery, id, region| {
            usable_network(d, CloudProvider::Aws, id, region).unwrap_err()
        };
        let missing = check(&aws(&two), "vpc-2", "eu-west-1");
        assert!(
            missing.contains("no such network in eu-west-1"),
            "{missing}"
        );
        let region = check(&aws(&two), "vpc-1", "us-east-1");
        assert!(region.contains("is in eu-west-1"), "{region}");
        let one_zone = aws(&json!([
            subnet("s1", "eu-west-1", Some("eu-west-1a"), false),
            subnet("s2", "eu-west-1", Some("eu-west-1a"), false),
            subnet("s3", "eu-west-1", Some("eu-west-1b"), true)
        ]));
        let zones = check(&one_zone, "vpc-1", "eu-west-1");
        assert!(zones.contains("at least two availability zones"), "{zones}");
    }

    #[test]
    fn a_global_gcp_network_needs_a_subnetwork_in_the_region() {
        let d = doc(
            "gcp",
            &Value::Null,
            &json!([subnet("s1", "europe-west1", None, false)]),
        );
        let found = usable_network(&d, CloudProvider::Gcp, "vpc-1", "europe-west1").unwrap();
        assert_eq!(found.private_subnets, 1);
        let err = usable_network(&d, CloudProvider::Gcp, "vpc-1", "us-central1").unwrap_err();
        assert!(
            err.contains("needs a subnet of the network in us-central1"),
            "{err}"
        );
    }
}
