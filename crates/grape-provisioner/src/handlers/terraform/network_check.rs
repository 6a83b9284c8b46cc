//! A vine on an existing network (`network.network_id`) is checked at PLAN against its cloud
//! identity's cached discovery (what the last CONNECTION_TEST / FETCH_RESOURCES found), before
//! Terraform runs: the network must exist in the vine's region and have private subnets in at
//! least two availability zones (EKS needs two). A missing cache, or one written before subnets
//! said whether they are public, fails with "run `grape identities refresh`".

use std::collections::BTreeSet;

use grape_cloud_aws::{DISCOVERY_FORMAT_VERSION, DiscoveredResources};
use grape_vine::{CloudProvider, Vine};
use serde::Deserialize as _;
use serde_json::Value;

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
    if vine.provider != CloudProvider::Aws {
        ctx.log.system(format!(
            "network {network_id} not checked: the {} discovery does not list networks yet",
            vine.provider.as_str()
        ));
        return Ok(());
    }
    let refresh = format!("run `grape identities refresh {}`", identity.id);
    let discovery = identity
        .credentials
        .as_ref()
        .and_then(|c| c.get("discovery"))
        .ok_or_else(|| {
            JobError::Failed(format!(
                "the vine uses the existing network {network_id}, but cloud identity {} has no \
                 cached discovery to check it against: {refresh}",
                identity.id
            ))
        })?;
    let found = aws_network(discovery, network_id, &vine.region).map_err(|why| {
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

/// The VPC `network_id` of `region` in an AWS discovery document, with enough private subnets.
fn aws_network(discovery: &Value, network_id: &str, region: &str) -> Result<FoundNetwork, String> {
    let doc = DiscoveredResources::deserialize(discovery)
        .map_err(|e| format!("the cached discovery cannot be read ({e})"))?;
    if doc.format_version < DISCOVERY_FORMAT_VERSION {
        return Err(format!(
            "the cached discovery of {} is older than this worker (format {}, needs {}: subnets \
             must say whether they are public)",
            doc.discovered_at.format("%Y-%m-%d %H:%M UTC"),
            doc.format_version,
            DISCOVERY_FORMAT_VERSION
        ));
    }
    if !doc
        .vpcs
        .iter()
        .any(|v| v.id == network_id && v.region == region)
    {
        let elsewhere: Vec<&str> = doc
            .vpcs
            .iter()
            .filter(|v| v.id == network_id)
            .map(|v| v.region.as_str())
            .collect();
        return Err(if elsewhere.is_empty() {
            format!(
                "no such VPC in {region} (discovered {} VPC(s) at {})",
                doc.vpcs.iter().filter(|v| v.region == region).count(),
                doc.discovered_at.format("%Y-%m-%d %H:%M UTC")
            )
        } else {
            format!(
                "the VPC is in {}, not in the vine's region {region}",
                elsewhere.join(", ")
            )
        });
    }
    let subnets = doc
        .subnets
        .iter()
        .filter(|s| s.vpc_id.as_deref() == Some(network_id) && s.region == region);
    let mut found = FoundNetwork {
        private_subnets: 0,
        public_subnets: 0,
        private_zones: BTreeSet::new(),
    };
    for subnet in subnets {
        if subnet.map_public_ip_on_launch {
            found.public_subnets += 1;
        } else {
            found.private_subnets += 1;
            found
                .private_zones
                .insert(subnet.availability_zone.clone().unwrap_or_default());
        }
    }
    if found.private_zones.len() < 2 {
        return Err(format!(
            "the cluster needs private subnets (map_public_ip_on_launch false) in at least two \
             availability zones; the VPC has {} private subnet(s) in {} zone(s)",
            found.private_subnets,
            found.private_zones.len()
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::aws_network;

    fn doc(version: u32, subnets: &Value) -> Value {
        json!({
            "format_version": version,
            "discovered_at": "2026-12-01T10:00:00Z",
            "provider": "aws",
            "account": "123456789012",
            "regions": ["eu-west-1"],
            "vpcs": [{"id": "vpc-1", "name": null, "cidr": "10.1.0.0/16", "region": "eu-west-1",
                      "is_default": false, "state": "available"}],
            "subnets": subnets,
            "security_groups": [], "hosted_zones": [], "iam_users": [], "errors": []
        })
    }

    fn subnet(id: &str, az: &str, public: bool) -> Value {
        json!({"id": id, "name": null, "cidr": null, "vpc_id": "vpc-1", "region": "eu-west-1",
               "availability_zone": az, "is_default": false, "available_ips": 250,
               "map_public_ip_on_launch": public})
    }

    #[test]
    fn a_vpc_with_private_subnets_in_two_zones_passes() {
        let d = doc(
            2,
            &json!([
                subnet("s1", "eu-west-1a", false),
                subnet("s2", "eu-west-1b", false),
                subnet("s3", "eu-west-1a", true)
            ]),
        );
        let found = aws_network(&d, "vpc-1", "eu-west-1").unwrap();
        assert_eq!((found.private_subnets, found.public_subnets), (2, 1));
    }

    #[test]
    fn what_is_refused_says_why() {
        let two = json!([
            subnet("s1", "eu-west-1a", false),
            subnet("s2", "eu-west-1b", false)
        ]);
        let old = aws_network(&doc(0, &two), "vpc-1", "eu-west-1").unwrap_err();
        assert!(old.contains("older than this worker"), "{old}");
        let missing = aws_network(&doc(2, &two), "vpc-2", "eu-west-1").unwrap_err();
        assert!(missing.contains("no such VPC in eu-west-1"), "{missing}");
        let region = aws_network(&doc(2, &two), "vpc-1", "us-east-1").unwrap_err();
        assert!(region.contains("is in eu-west-1"), "{region}");
        let one_zone = json!([
            subnet("s1", "eu-west-1a", false),
            subnet("s2", "eu-west-1a", false),
            subnet("s3", "eu-west-1b", true)
        ]);
        let zones = aws_network(&doc(2, &one_zone), "vpc-1", "eu-west-1").unwrap_err();
        assert!(zones.contains("at least two availability zones"), "{zones}");
    }
}
