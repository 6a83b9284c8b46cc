//! # grape-infracost — cost estimates of Terraform plans
//!
//! [`Infracost`] runs the `infracost` CLI (an explicit path, or `infracost` on `PATH`:
//! [`Infracost::locate`]) through grape-process: `infracost breakdown --path plan.json --format
//! json` in a job's workspace, with a clean environment in which the API key travels only as
//! [`API_KEY_VAR`] (never in arguments, always redacted), a timeout ([`DEFAULT_TIMEOUT`]) and
//! the job's cancellation.
//!
//! [`CostEstimate::parse`] reads the documented JSON (output version [`OUTPUT_VERSION`]) into
//! typed [`Totals`] — with the plan applied (`total`), now (`past`) and their difference
//! (`diff`), hourly and monthly, as exact decimals — and per-resource [`ResourceCost`]s;
//! [`CostEstimate::summary_table`] renders it for a job log.
//!
//! A cost estimate is advisory: callers (the PLAN handler) log an [`InfracostError`] and go on.

#![warn(missing_docs)]

mod cli;
mod error;
mod estimate;
mod report;

pub use cli::{API_KEY_VAR, DEFAULT_TIMEOUT, Infracost, PLAN_JSON_FILE};
pub use error::InfracostError;
pub use estimate::{CostEstimate, ResourceCost, ResourceCounts, Totals};
pub use report::OUTPUT_VERSION;
pub use rust_decimal::Decimal;
