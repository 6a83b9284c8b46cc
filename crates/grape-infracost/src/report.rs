//! The JSON of `infracost breakdown --format json` (output version "0.2"), as far as we read it.
//!
//! The shape follows the public source of the CLI (`internal/output/output.go`: `Root`,
//! `Project`, `Breakdown`, `Resource`, `Summary`). Money values are decimal strings, or `null`
//! when a cost is usage-based and unknown; unknown fields are ignored (the CLI adds fields in
//! minor releases without changing the version).

use rust_decimal::Decimal;
use serde::Deserialize;

/// The output version this crate reads.
pub const OUTPUT_VERSION: &str = "0.2";

/// The top-level document.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Root {
    pub version: String,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub projects: Vec<Project>,
    #[serde(default)]
    pub total_hourly_cost: Option<Decimal>,
    #[serde(default)]
    pub total_monthly_cost: Option<Decimal>,
    #[serde(default)]
    pub past_total_hourly_cost: Option<Decimal>,
    #[serde(default)]
    pub past_total_monthly_cost: Option<Decimal>,
    #[serde(default)]
    pub diff_total_hourly_cost: Option<Decimal>,
    #[serde(default)]
    pub diff_total_monthly_cost: Option<Decimal>,
    #[serde(default)]
    pub time_generated: Option<String>,
    #[serde(default)]
    pub summary: Summary,
}

/// One project (for us: the one plan JSON file).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Project {
    #[serde(default)]
    pub breakdown: Option<Breakdown>,
}

/// The resources of a project and their totals.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Breakdown {
    #[serde(default)]
    pub resources: Vec<Resource>,
}

/// One priced resource (its cost includes its subresources').
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Resource {
    pub name: String,
    #[serde(default, rename = "resourceType")]
    pub kind: String,
    #[serde(default)]
    pub hourly_cost: Option<Decimal>,
    #[serde(default)]
    pub monthly_cost: Option<Decimal>,
}

/// The resource counts.
#[allow(clippy::struct_field_names)] // the names of the JSON fields
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    #[serde(default)]
    pub total_detected_resources: Option<u64>,
    #[serde(default)]
    pub total_supported_resources: Option<u64>,
    #[serde(default)]
    pub total_unsupported_resources: Option<u64>,
    #[serde(default)]
    pub total_usage_based_resources: Option<u64>,
    #[serde(default)]
    pub total_no_price_resources: Option<u64>,
}
