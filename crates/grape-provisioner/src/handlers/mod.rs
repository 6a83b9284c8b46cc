//! The built-in job handlers.

mod cloud;
mod exec;
mod git;
pub mod terraform;
pub mod worker;

pub use cloud::DiscoveryHandler;
pub use exec::{ExecHandler, ExecPayload};
pub use terraform::{ApplyHandler, DestroyHandler, PlanHandler, VINE_FIELD, VineTemplates};
pub use worker::{DeployWorkerHandler, DestroyWorkerHandler, UpdateWorkerHandler};
