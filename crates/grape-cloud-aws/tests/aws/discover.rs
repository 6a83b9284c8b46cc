//! Discovery returns exactly what the test created (plus moto's per-region defaults, which are
//! checked for what they are), pages Route 53 for real, and is the same in parallel and in
//! sequence.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::Tag;
use aws_sdk_route53::types::{HostedZoneConfig, Vpc as ZoneVpc, VpcRegion};
use grape_api::{CloudProvider, Discovery};
use grape_cloud_aws::{DiscoveryOptions, assume, discover};

use crate::support::{ACCOUNT, admin_config, base, identity, moto};

/// (region, name, cidr) of a created VPC and its subnets (name, cidr, az suffix).
struct PlannedVpc {
    region: &'static str,
    name: &'static str,
    cidr: &'static str,
    subnets: &'static [(&'static str, &'static str, &'static str)],
    security_group: Option<(&'static str, &'static str)>,
}

const PLAN: &[PlannedVpc] = &[
    PlannedVpc {
        region: "us-east-1",
        name: "app-a",
        cidr: "10.1.0.0/16",
        subnets: &[("a-1", "10.1.1.0/24", "a"), ("a-2", "10.1.2.0/24", "b")],
        security_group: Some(("web", "web tier")),
    },
    PlannedVpc {
        region: "us-east-1",
        name: "app-b",
        cidr: "10.2.0.0/16",
        subnets: &[("b-1", "10.2.1.0/24", "a")],
        security_group: None,
    },
    PlannedVpc {
        region: "eu-west-1",
        name: "eu-app",
        cidr: "10.3.0.0/16",
        subnets: &[
            ("c-1", "10.3.1.0/24", "a"),
            ("c-2", "10.3.2.0/24", "b"),
            ("c-3", "10.3.3.0/24", "c"),
        ],
        security_group: Some(("db", "database")),
    },
];
const PUBLIC_ZONES: &[&str] = &[
    "z1.example.com.",
    "z2.example.com.",
    "z3.example.com.",
    "z4.example.com.",
    "z5.example.com.",
];
const PRIVATE_ZONE: &str = "internal.example.";
const USERS: &[&str] = &["alice", "bob", "carol"];
const REGIONS: &[&str] = &["us-east-1", "eu-west-1"];

/// What the test created, as discovery should report it: (region, id, name, cidr, vpc id, az).
#[derive(Default)]
struct Created {
    vpcs: BTreeSet<(String, String, String, String)>,
    subnets: BTreeSet<(String, String, String, String, String, String)>,
    security_groups: BTreeSet<(String, String, String, String, String)>,
    private_zone_vpc: Option<String>,
}

fn name(value: &str) -> Tag {
    Tag::builder().key("Name").value(value).build()
}

async fn create_fixtures(moto: &grape_testkit::Moto) -> Created {
    let mut created = Created::default();
    for planned in PLAN {
        let ec2 = aws_sdk_ec2::Client::new(&admin_config(moto, planned.region).await);
        let vpc = ec2
            .create_vpc()
            .cidr_block(planned.cidr)
            .send()
            .await
            .expect("create vpc");
        let vpc_id = vpc
            .vpc()
            .and_then(|v| v.vpc_id())
            .expect("vpc id")
            .to_owned();
        ec2.create_tags()
            .resources(&vpc_id)
            .tags(name(planned.name))
            .send()
            .await
            .expect("tag vpc");
        created.vpcs.insert((
            planned.region.into(),
            vpc_id.clone(),
            planned.name.into(),
            planned.cidr.into(),
        ));
        if planned.name == "app-a" {
            created.private_zone_vpc = Some(vpc_id.clone());
        }
        for (subnet_name, cidr, az) in planned.subnets {
            let az = format!("{}{az}", planned.region);
            let subnet = ec2
                .create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(*cidr)
                .availability_zone(&az)
                .send()
                .await
                .expect("create subnet");
            let subnet_id = subnet
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("subnet id")
                .to_owned();
            ec2.create_tags()
                .resources(&subnet_id)
                .tags(name(subnet_name))
                .send()
                .await
                .expect("tag subnet");
            created.subnets.insert((
                planned.region.into(),
                subnet_id,
                (*subnet_name).into(),
                (*cidr).into(),
                vpc_id.clone(),
                az,
            ));
        }
        if let Some((group, description)) = planned.security_group {
            let sg = ec2
                .create_security_group()
                .group_name(group)
                .description(description)
                .vpc_id(&vpc_id)
                .send()
                .await
                .expect("create security group");
            let group_id = sg.group_id().expect("group id").to_owned();
            created.security_groups.insert((
                planned.region.into(),
                group_id,
                group.into(),
                vpc_id.clone(),
                description.into(),
            ));
        }
    }

    let admin = admin_config(moto, "us-east-1").await;
    let route53 = aws_sdk_route53::Client::new(&admin);
    for (i, zone) in PUBLIC_ZONES.iter().enumerate() {
        route53
            .create_hosted_zone()
            .name(*zone)
            .caller_reference(format!("ref-{i}"))
            .send()
            .await
            .expect("zone");
    }
    let vpc = ZoneVpc::builder()
        .vpc_region(VpcRegion::UsEast1)
        .vpc_id(created.private_zone_vpc.clone().expect("app-a"))
        .build();
    route53
        .create_hosted_zone()
        .name(PRIVATE_ZONE)
        .caller_reference("ref-private")
        .vpc(vpc)
        .hosted_zone_config(HostedZoneConfig::builder().private_zone(true).build())
        .send()
        .await
        .expect("private zone");
    let iam = aws_sdk_iam::Client::new(&admin);
    for user in USERS {
        iam.create_user()
            .user_name(*user)
            .send()
            .await
            .expect("user");
    }
    created
}

/// How many availability zones moto gives a region (each gets a default subnet).
async fn zone_count(moto: &grape_testkit::Moto, region: &str) -> usize {
    let ec2 = aws_sdk_ec2::Client::new(&admin_config(moto, region).await);
    ec2.describe_availability_zones()
        .send()
        .await
        .expect("zones")
        .availability_zones()
        .len()
}

#[tokio::test]
async fn discovery_returns_exactly_what_exists_in_two_regions_and_pages_route53() {
    let moto = moto().await;
    let created = create_fixtures(&moto).await;
    let creds = assume(&identity(&moto, "discoverer", REGIONS), &base(&moto))
        .await
        .expect("assume");

    let options = DiscoveryOptions::new(REGIONS.iter().copied())
        .concurrency(2)
        .page_size(2);
    let doc = discover(&creds, &options).await;
    assert_eq!(doc.errors, [], "no call failed");
    assert_eq!(doc.provider, CloudProvider::Aws);
    assert_eq!(doc.format_version, grape_api::DISCOVERY_FORMAT_VERSION);
    assert_eq!(doc.account.as_deref(), Some(ACCOUNT));
    assert_eq!(doc.regions, REGIONS);
    let aws = doc.aws.as_ref().expect("AWS extras");

    // Networks (VPCs): what we created, plus exactly one default VPC per region.
    let vpcs: BTreeSet<_> = doc
        .networks
        .iter()
        .filter(|v| !v.is_default)
        .map(|v| {
            (
                v.region.clone().unwrap_or_default(),
                v.id.clone(),
                v.name.clone().unwrap_or_default(),
                v.cidr_blocks.join(","),
            )
        })
        .collect();
    assert_eq!(vpcs, created.vpcs);
    let mut default_vpcs = BTreeSet::new();
    for region in REGIONS {
        let defaults: Vec<_> = doc
            .networks
            .iter()
            .filter(|v| v.is_default && v.region.as_deref() == Some(*region))
            .collect();
        assert_eq!(defaults.len(), 1, "one default VPC in {region}");
        assert_eq!(defaults[0].cidr_blocks, ["172.31.0.0/16"]);
        default_vpcs.insert(defaults[0].id.clone());
        // Default subnets: one per availability zone, all public (they map public addresses).
        let default_subnets: Vec<_> = doc.subnets_of(&defaults[0].id).collect();
        assert_eq!(
            default_subnets.len(),
            zone_count(&moto, region).await,
            "default subnets of {region}"
        );
        assert!(
            default_subnets
                .iter()
                .all(|s| s.public && s.region.as_deref() == Some(*region))
        );
    }
    assert_eq!(doc.networks.len(), created.vpcs.len() + REGIONS.len());

    // Subnets: exactly what we created, with their VPC, AZ, name and free addresses; private.
    let ours = |s: &&grape_api::discovery::Subnet| {
        !default_vpcs.contains(s.network_id.as_deref().unwrap_or_default())
    };
    let subnets: BTreeSet<_> = doc
        .subnets
        .iter()
        .filter(ours)
        .map(|s| {
            (
                s.region.clone().unwrap_or_default(),
                s.id.clone(),
                s.name.clone().unwrap_or_default(),
                s.cidr.clone().unwrap_or_default(),
                s.network_id.clone().unwrap_or_default(),
                s.zone.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(subnets, created.subnets);
    assert!(
        doc.subnets
            .iter()
            .filter(ours)
            .all(|s| s.available_ips == Some(251) && !s.public)
    );

    // Security groups: ours, plus each VPC's own "default" group.
    let groups: BTreeSet<_> = aws
        .security_groups
        .iter()
        .filter(|g| g.name.as_deref() != Some("default"))
        .map(|g| {
            (
                g.region.clone(),
                g.id.clone(),
                g.name.clone().unwrap_or_default(),
                g.network_id.clone().unwrap_or_default(),
                g.description.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(groups, created.security_groups);
    for vpc in &doc.networks {
        let defaults = aws
            .security_groups
            .iter()
            .filter(|g| {
                g.name.as_deref() == Some("default")
                    && g.network_id.as_deref() == Some(vpc.id.as_str())
            })
            .count();
        assert_eq!(defaults, 1, "default security group of {}", vpc.id);
    }
    assert_eq!(
        aws.security_groups.len(),
        created.security_groups.len() + doc.networks.len()
    );

    // Route 53: all six zones although a page holds two, the private one marked.
    let zones: Vec<_> = doc.dns_zones.iter().map(|z| z.name.as_str()).collect();
    let mut expected: Vec<&str> = PUBLIC_ZONES.to_vec();
    expected.push(PRIVATE_ZONE);
    expected.sort_unstable();
    assert_eq!(zones, expected);
    for zone in &doc.dns_zones {
        assert_eq!(zone.private, zone.name == PRIVATE_ZONE, "{}", zone.name);
        assert!(!zone.id.starts_with('/'), "normalised id {}", zone.id);
        assert!(zone.record_count.is_some());
    }
    let page_requests = moto
        .log_tail()
        .lines()
        .filter(|l| l.contains("GET /2013-04-01/hostedzone?") && l.contains("maxitems=2"))
        .count();
    assert_eq!(
        page_requests,
        3,
        "six zones, two per page: three requests\n{}",
        moto.log_tail()
    );

    // IAM users.
    let users: Vec<_> = aws
        .iam_users
        .iter()
        .map(|u| (u.name.as_str(), u.arn.clone()))
        .collect();
    let expected: Vec<_> = USERS
        .iter()
        .map(|u| (*u, format!("arn:aws:iam::{ACCOUNT}:user/{u}")))
        .collect();
    assert_eq!(users, expected);
    assert!(
        aws.iam_users
            .iter()
            .all(|u| u.created.is_some() && !u.id.is_empty())
    );

    // One serialisable document that reads back the same.
    let json = serde_json::to_value(&doc).expect("serialise");
    for key in [
        "discovered_at",
        "provider",
        "account",
        "regions",
        "format_version",
        "networks",
        "subnets",
        "dns_zones",
        "errors",
        "aws",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    let back: Discovery = serde_json::from_value(json).expect("deserialise");
    assert_eq!(back, doc);

    // One region after the other gives the same document.
    let sequential = discover(
        &creds,
        &DiscoveryOptions::new(REGIONS.iter().copied()).concurrency(1),
    )
    .await;
    assert_eq!(
        Discovery {
            discovered_at: doc.discovered_at,
            ..sequential
        },
        doc
    );
}
