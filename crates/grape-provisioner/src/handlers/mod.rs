//! The built-in job handlers.

mod cloud;
pub(crate) mod cluster;
mod exec;
mod git;
pub mod terraform;
#[cfg(feature = "worker-jobs")]
pub mod worker;

pub use cloud::DiscoveryHandler;
pub use cluster::BootstrapHandler;
pub use exec::{ExecHandler, ExecPayload};
pub use terraform::{ApplyHandler, DestroyHandler, PlanHandler, VINE_FIELD, VineTemplates};
#[cfg(feature = "worker-jobs")]
pub use worker::{DeployWorkerHandler, DestroyWorkerHandler, UpdateWorkerHandler};
