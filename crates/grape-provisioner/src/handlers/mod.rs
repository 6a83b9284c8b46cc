//! The built-in job handlers.

mod exec;
mod git;
pub mod terraform;

pub use exec::{ExecHandler, ExecPayload};
pub use terraform::{ApplyHandler, DestroyHandler, PlanHandler};
