//! [`discover`]: the resources of an account, normalised into one [`DiscoveredResources`]
//! document (cached by Trellis in the identity, used by the "Plant a Vine" form).
//!
//! EC2 (VPCs, subnets, security groups) is listed in every region, regions in parallel with a
//! bounded concurrency; Route 53 hosted zones and IAM users are global and listed once. Every
//! paginated call goes through the SDK's paginators. A failed call adds an entry to
//! [`DiscoveredResources::errors`] and the rest goes on.

mod fetch;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::credentials::AwsCredentials;
use crate::error::{AwsError, AwsErrorKind};

/// How many regions are listed at once by default.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// What to discover and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryOptions {
    /// The regions to list EC2 resources in.
    pub regions: Vec<String>,
    /// How many regions are listed at once (1 = one region after the other).
    pub concurrency: usize,
    /// Items per page asked of each paginated call (clamped to what each API accepts); `None`
    /// leaves each API's default.
    pub page_size: Option<i32>,
}

impl DiscoveryOptions {
    /// Discovery of `regions` with the default concurrency and page sizes.
    pub fn new(regions: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            regions: regions.into_iter().map(Into::into).collect(),
            concurrency: DEFAULT_CONCURRENCY,
            page_size: None,
        }
    }

    /// Sets how many regions are listed at once (at least 1).
    #[must_use]
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Sets the items per page of every paginated call.
    #[must_use]
    pub fn page_size(mut self, page_size: i32) -> Self {
        self.page_size = Some(page_size);
        self
    }
}

/// The format of [`DiscoveredResources`] written now: 2 added `map_public_ip_on_launch` to
/// subnets.
pub const DISCOVERY_FORMAT_VERSION: u32 = 2;

/// The resources of an account, as one serialisable document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredResources {
    /// The document's format, [`DISCOVERY_FORMAT_VERSION`]; `0` for a document cached before
    /// the field existed (its subnets lack `map_public_ip_on_launch`).
    #[serde(default)]
    pub format_version: u32,
    /// When the discovery ran.
    pub discovered_at: DateTime<Utc>,
    /// Always `aws`.
    pub provider: String,
    /// The account id (from `sts:GetCallerIdentity`).
    pub account: Option<String>,
    /// The regions listed.
    pub regions: Vec<String>,
    /// VPCs of every region, sorted by region and id.
    pub vpcs: Vec<Vpc>,
    /// Subnets of every region, sorted by region and id.
    pub subnets: Vec<Subnet>,
    /// Security groups of every region, sorted by region and id.
    pub security_groups: Vec<SecurityGroup>,
    /// Route 53 hosted zones, sorted by name.
    pub hosted_zones: Vec<HostedZone>,
    /// IAM users, sorted by name.
    pub iam_users: Vec<IamUser>,
    /// The calls that failed; what they would have listed is missing above.
    pub errors: Vec<DiscoveryError>,
}

/// A VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    /// `vpc-…`.
    pub id: String,
    /// Its `Name` tag.
    pub name: Option<String>,
    /// Its primary IPv4 CIDR block.
    pub cidr: Option<String>,
    /// Its region.
    pub region: String,
    /// Whether it is the region's default VPC.
    pub is_default: bool,
    /// `available` or `pending`.
    pub state: Option<String>,
}

/// A subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// `subnet-…`.
    pub id: String,
    /// Its `Name` tag.
    pub name: Option<String>,
    /// Its IPv4 CIDR block.
    pub cidr: Option<String>,
    /// The VPC it belongs to.
    pub vpc_id: Option<String>,
    /// Its region.
    pub region: String,
    /// Its availability zone, e.g. `eu-west-1a`.
    pub availability_zone: Option<String>,
    /// Whether it is the default subnet of its availability zone.
    pub is_default: bool,
    /// Free IPv4 addresses.
    pub available_ips: Option<i32>,
    /// Whether instances launched in it get a public IPv4 address: a public subnet (the vine
    /// templates split an existing VPC's subnets by it).
    #[serde(default)]
    pub map_public_ip_on_launch: bool,
}

/// A security group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    /// `sg-…`.
    pub id: String,
    /// Its group name.
    pub name: Option<String>,
    /// The VPC it belongs to.
    pub vpc_id: Option<String>,
    /// Its region.
    pub region: String,
    /// Its description.
    pub description: Option<String>,
}

/// A Route 53 hosted zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedZone {
    /// The zone id without the `/hostedzone/` prefix.
    pub id: String,
    /// The domain name, with its trailing dot.
    pub name: String,
    /// Whether it is a private zone.
    pub private: bool,
    /// How many record sets it holds.
    pub record_count: Option<i64>,
}

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A call of the discovery that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryError {
    /// The service: `ec2`, `route53`, `iam` or `sts`.
    pub service: String,
    /// The call, e.g. `ec2:DescribeSubnets`.
    pub operation: String,
    /// The region of a regional call.
    pub region: Option<String>,
    /// Why it failed.
    pub kind: AwsErrorKind,
    /// What failed and what to fix.
    pub message: String,
}

impl DiscoveryError {
    fn new(operation: &str, region: Option<&str>, err: &AwsError) -> Self {
        Self {
            service: operation.split(':').next().unwrap_or(operation).to_owned(),
            operation: operation.to_owned(),
            region: region.map(str::to_owned),
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}

/// Lists the account's resources with `creds`: EC2 in every region of `options` (in parallel,
/// at most `options.concurrency` regions at once), Route 53, IAM and the account id once.
/// Never fails as a whole: failed calls are listed in [`DiscoveredResources::errors`].
pub async fn discover(creds: &AwsCredentials, options: &DiscoveryOptions) -> DiscoveredResources {
    let discovered_at = Utc::now();
    // Owned region names: a closure over `&String` makes the future's `Send` bound
    // higher-ranked, which callers inside `async_trait` cannot prove.
    let page_size = options.page_size;
    let regional = futures::stream::iter(options.regions.clone())
        .map(move |region| async move { fetch::region(creds, &region, page_size).await })
        .buffer_unordered(options.concurrency.max(1))
        .collect::<Vec<_>>();
    let (regional, global) = tokio::join!(regional, fetch::global(creds, options.page_size));

    let mut doc = DiscoveredResources {
        format_version: DISCOVERY_FORMAT_VERSION,
        discovered_at,
        provider: "aws".to_owned(),
        account: global.account,
        regions: options.regions.clone(),
        vpcs: Vec::new(),
        subnets: Vec::new(),
        security_groups: Vec::new(),
        hosted_zones: global.hosted_zones,
        iam_users: global.iam_users,
        errors: global.errors,
    };
    for region in regional {
        doc.vpcs.extend(region.vpcs);
        doc.subnets.extend(region.subnets);
        doc.security_groups.extend(region.security_groups);
        doc.errors.extend(region.errors);
    }
    doc.vpcs
        .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
    doc.subnets
        .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
    doc.security_groups
        .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
    doc.hosted_zones
        .sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    doc.iam_users.sort_by(|a, b| a.name.cmp(&b.name));
    doc.errors
        .sort_by(|a, b| (&a.operation, &a.region).cmp(&(&b.operation, &b.region)));
    tracing::info!(
        regions = doc.regions.len(),
        vpcs = doc.vpcs.len(),
        subnets = doc.subnets.len(),
        security_groups = doc.security_groups.len(),
        hosted_zones = doc.hosted_zones.len(),
        iam_users = doc.iam_users.len(),
        errors = doc.errors.len(),
        "discovered AWS resources"
    );
    doc
}
