//! # grape-helm — the Helm CLI for Vintner jobs
//!
//! [`Helm`] runs the `helm` binary (Helm 4) through grape-process: every line redacted and
//! streamed, cancellation as interrupt → grace → kill. Helm's cache, configuration and data live
//! in a directory of the job's workspace (`HELM_CACHE_HOME`, `HELM_CONFIG_HOME`,
//! `HELM_DATA_HOME`), never in the worker's home. The cluster's kubeconfig — it holds a bearer
//! token — is written to a 0600 file for one command and removed afterwards ([`Kubeconfig`]);
//! it never appears in arguments, and its token is registered with the redactor.
//!
//! - [`Helm::upgrade_install`]: `helm upgrade --install` of a [`Chart`] (repository URL, OCI
//!   reference or local path) with values files, `--wait --timeout`, `--rollback-on-failure` (Helm 4's `--atomic`).
//! - [`Helm::uninstall`], [`Helm::status`] (`-o json`, typed into [`ReleaseStatus`]),
//!   [`Helm::template`] (offline rendering, e.g. for review).

#![warn(missing_docs)]

mod chart;
mod error;
mod helm;
mod kubeconfig;

pub use chart::{Chart, Release, UpgradeOptions};
pub use error::HelmError;
pub use helm::{Helm, ReleaseStatus};
pub use kubeconfig::Kubeconfig;
