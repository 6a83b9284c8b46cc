//! `PLAN`, `APPLY` and `DESTROY`: Terraform jobs.
//!
//! A PLAN runs init + plan on a source (inline files or a git repository), uploads the plan as
//! the job's plan artifact — together with the request, so an APPLY can re-plan from the same
//! source — and reports a change summary. An APPLY downloads that artifact, plans again, refuses
//! when the resource changes differ from what was approved, and otherwise applies. A DESTROY
//! plans with `-destroy` and applies.

mod apply;
mod plan;
mod request;
mod workdir;

pub use apply::ApplyHandler;
pub use plan::{DestroyHandler, PlanHandler};
pub use request::{ApplyRequest, GitSourceSpec, Source, TerraformRequest};

use grape_terraform::TerraformError;

use crate::JobError;

/// A Terraform failure as a job error: cancellation stays cancellation; everything else keeps
/// Terraform's diagnostics in the reason.
fn tf_error(e: TerraformError) -> JobError {
    match e {
        TerraformError::Cancelled { .. } => JobError::Cancelled,
        other => JobError::Failed(other.to_string()),
    }
}
