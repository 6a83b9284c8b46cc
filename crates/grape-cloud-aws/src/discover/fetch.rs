//! The calls of a discovery: EC2 per region, Route 53, IAM and STS once. Every list goes through
//! the SDK's paginators (`into_paginator().items().send()`).

use aws_sdk_ec2::types::Tag;
use chrono::{DateTime, Utc};

use grape_api::discovery::{DiscoveryError, DnsZone, IamUser, Network, SecurityGroup, Subnet};

use super::discovery_error;
use crate::classify::{CallContext, sdk_error};
use crate::credentials::AwsCredentials;
use crate::error::AwsError;
use crate::sts::verify;

/// What one region yielded.
pub(super) struct RegionResult {
    pub networks: Vec<Network>,
    pub subnets: Vec<Subnet>,
    pub security_groups: Vec<SecurityGroup>,
    pub errors: Vec<DiscoveryError>,
}

/// What the global services yielded.
pub(super) struct GlobalResult {
    pub account: Option<String>,
    pub dns_zones: Vec<DnsZone>,
    pub iam_users: Vec<IamUser>,
    pub errors: Vec<DiscoveryError>,
}

fn context<'a>(
    creds: &'a AwsCredentials,
    operation: &'static str,
    region: &'a str,
    secrets: &'a [&'a str],
) -> CallContext<'a> {
    CallContext {
        operation,
        role_arn: creds.assumed_role_arn.as_deref(),
        external_id: None,
        region: Some(region),
        endpoint_url: creds.endpoint_url.as_deref(),
        secrets,
    }
}

fn name_tag(tags: &[Tag]) -> Option<String> {
    tags.iter()
        .find(|t| t.key() == Some("Name"))
        .and_then(Tag::value)
        .map(str::to_owned)
}

fn keep<T>(
    result: Result<Vec<T>, AwsError>,
    operation: &str,
    region: Option<&str>,
    errors: &mut Vec<DiscoveryError>,
) -> Vec<T> {
    result.unwrap_or_else(|err| {
        tracing::warn!(operation, region, error = %err, "discovery call failed");
        errors.push(discovery_error(operation, region, &err));
        Vec::new()
    })
}

/// Lists the VPCs, subnets and security groups of one region (the three lists concurrently).
pub(super) async fn region(
    creds: &AwsCredentials,
    region: &str,
    page_size: Option<i32>,
) -> RegionResult {
    let config = creds.sdk_config(Some(region)).await;
    let client = aws_sdk_ec2::Client::new(&config);
    let secrets = creds.secrets();
    // EC2's Describe* calls accept 5 to 1000 items per page.
    let page = page_size.map(|n| n.clamp(5, 1000));

    let vpcs = async {
        let ctx = context(creds, "ec2:DescribeVpcs", region, &secrets);
        let mut pages = client.describe_vpcs().into_paginator();
        if let Some(n) = page {
            pages = pages.page_size(n);
        }
        let items = pages
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(e, &ctx))?;
        Ok::<_, AwsError>(
            items
                .into_iter()
                .map(|v| Network {
                    id: v.vpc_id().unwrap_or_default().to_owned(),
                    name: name_tag(v.tags()),
                    region: Some(region.to_owned()),
                    cidr_blocks: v.cidr_block().map(str::to_owned).into_iter().collect(),
                    is_default: v.is_default().unwrap_or(false),
                })
                .collect(),
        )
    };
    let subnets = async {
        let ctx = context(creds, "ec2:DescribeSubnets", region, &secrets);
        let mut pages = client.describe_subnets().into_paginator();
        if let Some(n) = page {
            pages = pages.page_size(n);
        }
        let items = pages
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(e, &ctx))?;
        Ok::<_, AwsError>(
            items
                .into_iter()
                .map(|s| Subnet {
                    id: s.subnet_id().unwrap_or_default().to_owned(),
                    name: name_tag(s.tags()),
                    network_id: s.vpc_id().map(str::to_owned),
                    region: Some(region.to_owned()),
                    zone: s.availability_zone().map(str::to_owned),
                    cidr: s.cidr_block().map(str::to_owned),
                    public: s.map_public_ip_on_launch().unwrap_or(false),
                    available_ips: s.available_ip_address_count().map(i64::from),
                })
                .collect(),
        )
    };
    let security_groups = async {
        let ctx = context(creds, "ec2:DescribeSecurityGroups", region, &secrets);
        let mut pages = client.describe_security_groups().into_paginator();
        if let Some(n) = page {
            pages = pages.page_size(n);
        }
        let items = pages
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(e, &ctx))?;
        Ok::<_, AwsError>(
            items
                .into_iter()
                .map(|g| SecurityGroup {
                    id: g.group_id().unwrap_or_default().to_owned(),
                    name: g.group_name().map(str::to_owned),
                    network_id: g.vpc_id().map(str::to_owned),
                    region: region.to_owned(),
                    description: g.description().map(str::to_owned),
                })
                .collect(),
        )
    };
    let (vpcs, subnets, security_groups) = tokio::join!(vpcs, subnets, security_groups);
    let mut errors = Vec::new();
    RegionResult {
        networks: keep(vpcs, "ec2:DescribeVpcs", Some(region), &mut errors),
        subnets: keep(subnets, "ec2:DescribeSubnets", Some(region), &mut errors),
        security_groups: keep(
            security_groups,
            "ec2:DescribeSecurityGroups",
            Some(region),
            &mut errors,
        ),
        errors,
    }
}

fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Lists the hosted zones and IAM users, and reads the account id (the three concurrently).
pub(super) async fn global(creds: &AwsCredentials, page_size: Option<i32>) -> GlobalResult {
    let config = creds.sdk_config(None).await;
    let secrets = creds.secrets();
    let region = creds.region.as_str();

    let zones = async {
        let ctx = context(creds, "route53:ListHostedZones", region, &secrets);
        let mut pages = aws_sdk_route53::Client::new(&config)
            .list_hosted_zones()
            .into_paginator();
        if let Some(n) = page_size {
            pages = pages.page_size(n.clamp(1, 100));
        }
        let items = pages
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(e, &ctx))?;
        Ok::<_, AwsError>(
            items
                .into_iter()
                .map(|z| DnsZone {
                    id: z
                        .id()
                        .strip_prefix("/hostedzone/")
                        .unwrap_or(z.id())
                        .to_owned(),
                    name: z.name().to_owned(),
                    private: z
                        .config()
                        .is_some_and(aws_sdk_route53::types::HostedZoneConfig::private_zone),
                    record_count: z.resource_record_set_count(),
                })
                .collect(),
        )
    };
    let users = async {
        let ctx = context(creds, "iam:ListUsers", region, &secrets);
        let mut pages = aws_sdk_iam::Client::new(&config)
            .list_users()
            .into_paginator();
        if let Some(n) = page_size {
            pages = pages.page_size(n.clamp(1, 1000));
        }
        let items = pages
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error(e, &ctx))?;
        Ok::<_, AwsError>(
            items
                .into_iter()
                .map(|u| IamUser {
                    name: u.user_name().to_owned(),
                    arn: u.arn().to_owned(),
                    id: u.user_id().to_owned(),
                    created: to_chrono(u.create_date()),
                })
                .collect(),
        )
    };
    let (caller, hosted_zones, iam_users) = tokio::join!(verify(creds), zones, users);
    let mut errors = Vec::new();
    let account = match caller {
        Ok(caller) => Some(caller.account),
        Err(err) => {
            errors.push(discovery_error("sts:GetCallerIdentity", None, &err));
            None
        }
    };
    GlobalResult {
        account,
        dns_zones: keep(hosted_zones, "route53:ListHostedZones", None, &mut errors),
        iam_users: keep(iam_users, "iam:ListUsers", None, &mut errors),
        errors,
    }
}
