//! `PLAN`, `APPLY` and `DESTROY`: Terraform jobs.
//!
//! A PLAN runs init + plan on a source (inline files or a git repository), estimates the cost
//! (`cost`, advisory), uploads the saved plan as the job's plan artifact (`artifact`: format
//! `grape.plan.v2`, with the request pinned to the git commit it saw) and reports a change
//! summary and the cost. An APPLY downloads that artifact, rebuilds the same working directory
//! (same files or commit, same dependency lock file), runs `terraform init` and `terraform apply
//! PLANFILE` — never a new plan; a plan made stale by a later change of the state is refused by
//! Terraform, and the job says to plan again. A DESTROY plans with `-destroy` and applies.
//!
//! PLAN and DESTROY take either the user's Terraform (`{source, variables, state_key}`) or a
//! vine (`{"vine": {...}}`, `vine`): a vine is checked, its identity and existing network too,
//! and rendered with Vintner's bundled templates into inline files, planned like any source.

mod apply;
mod artifact;
mod cost;
mod network_check;
mod plan;
mod request;
mod vine;
mod workdir;

pub use apply::ApplyHandler;
pub use plan::{DestroyHandler, PlanHandler};
pub use request::{ApplyRequest, GitSourceSpec, Source, TerraformRequest};
pub(crate) use vine::vine_of_payload;
pub use vine::{VINE_FIELD, VineTemplates};

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

/// A Terraform failure of a vine's step as a job error naming the step.
fn tf_step_error(step: &str, e: TerraformError) -> JobError {
    match tf_error(e) {
        JobError::Failed(reason) => JobError::Failed(format!("step `{step}`: {reason}")),
        other => other,
    }
}
