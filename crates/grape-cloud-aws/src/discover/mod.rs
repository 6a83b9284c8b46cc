//! [`discover`]: the resources of an account, normalised into the provider-neutral
//! [`Discovery`] document (cached by Trellis in the identity; VPCs are its networks, Route 53
//! hosted zones its DNS zones, security groups and IAM users its AWS extras).
//!
//! EC2 (VPCs, subnets, security groups) is listed in every region, regions in parallel with a
//! bounded concurrency; Route 53 hosted zones and IAM users are global and listed once. Every
//! paginated call goes through the SDK's paginators. A failed call adds an entry to
//! [`Discovery::errors`] and the rest goes on.

mod fetch;

use chrono::Utc;
use futures::StreamExt;
use grape_api::discovery::{AwsExtras, DiscoveryError};
use grape_api::{CloudProvider, Discovery};

use crate::credentials::AwsCredentials;
use crate::error::AwsError;

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

fn discovery_error(operation: &str, region: Option<&str>, err: &AwsError) -> DiscoveryError {
    DiscoveryError {
        service: operation.split(':').next().unwrap_or(operation).to_owned(),
        operation: operation.to_owned(),
        region: region.map(str::to_owned),
        kind: err.kind().as_str().to_owned(),
        message: err.to_string(),
    }
}

/// Lists the account's resources with `creds`: EC2 in every region of `options` (in parallel,
/// at most `options.concurrency` regions at once), Route 53, IAM and the account id once.
/// Never fails as a whole: failed calls are listed in [`Discovery::errors`].
pub async fn discover(creds: &AwsCredentials, options: &DiscoveryOptions) -> Discovery {
    let discovered_at = Utc::now();
    // Owned region names: a closure over `&String` makes the future's `Send` bound
    // higher-ranked, which callers inside `async_trait` cannot prove.
    let page_size = options.page_size;
    let regional = futures::stream::iter(options.regions.clone())
        .map(move |region| async move { fetch::region(creds, &region, page_size).await })
        .buffer_unordered(options.concurrency.max(1))
        .collect::<Vec<_>>();
    let (regional, global) = tokio::join!(regional, fetch::global(creds, options.page_size));

    let mut doc = Discovery::new(CloudProvider::Aws, global.account, options.regions.clone());
    doc.discovered_at = discovered_at;
    doc.dns_zones = global.dns_zones;
    doc.errors = global.errors;
    let mut extras = AwsExtras {
        security_groups: Vec::new(),
        iam_users: global.iam_users,
    };
    for region in regional {
        doc.networks.extend(region.networks);
        doc.subnets.extend(region.subnets);
        extras.security_groups.extend(region.security_groups);
        doc.errors.extend(region.errors);
    }
    doc.aws = Some(extras);
    doc.sort();
    doc.errors
        .sort_by(|a, b| (&a.operation, &a.region).cmp(&(&b.operation, &b.region)));
    tracing::info!(
        regions = doc.regions.len(),
        networks = doc.networks.len(),
        subnets = doc.subnets.len(),
        dns_zones = doc.dns_zones.len(),
        errors = doc.errors.len(),
        "discovered AWS resources"
    );
    doc
}
