//! The shared provisioning core of Tendril (the worker) and Grape (the CLI).
//!
//! # Overview
//! A job is run by a [`JobHandler`] chosen from a [`HandlerRegistry`] by its job type. The
//! handler gets a [`JobContext`]: the job, a [`JobLog`] for its output, a cancellation token, a
//! private workspace directory, the job's [`Redactor`](grape_process::Redactor), the
//! [`JobServices`] of whoever runs it (Trellis through the worker API, or the local CLI) and the
//! [`ProvisionerSettings`].
//!
//! The runtime around the handler (claiming, status transitions, log delivery, cancellation
//! signals) belongs to the caller: `tendril` for workers, `grape` for local runs.
#![warn(missing_docs)]

pub mod cloud;
mod context;
mod error;
pub mod handlers;
pub mod local;
mod log;
mod registry;
mod settings;
#[cfg(feature = "worker-jobs")]
pub mod worker_policy;

pub use cloud::{AwsAccess, AzureAccess, BuiltConnectors, CloudSettings, GcpAccess, StaticKeys};
pub use context::{JobContext, JobServices, ServiceError};
pub use error::JobError;
/// The cloud-neutral session contract (grape-api), for the binaries and other services.
pub use grape_api::{CloudConnector, CloudSession, RenewalPolicy, SessionEvents};
/// The ArgoCD chart and the platform apps' charts of [`ClusterSettings`], for the binaries.
pub use grape_argocd::{AppChart, AppsOptions, ArgoCdChart};
/// The git credentials map of [`ProvisionerSettings::git_credentials`], for the binaries.
pub use grape_git::{CredentialsError as GitCredentialsError, GitCredentials};
/// A user's kubeconfig as a cluster and a token (`grape cluster bootstrap --local`).
pub use grape_k8s::{KubeconfigCluster, read_kubeconfig};
/// The vine model and templates (`grape-vine`), for the binaries.
pub use grape_vine as vine;
pub use handlers::{VINE_FIELD, VineTemplates};
pub use log::{JobLog, LogSink};
pub use registry::{HandlerRegistry, JobHandler};
pub use settings::{
    ClusterSettings, DirectCluster, InfracostSettings, ProvisionerSettings, StateBackendSettings,
};
#[cfg(feature = "worker-jobs")]
pub use settings::{PlatformSettings, TeardownWaits};
#[cfg(feature = "worker-jobs")]
pub use worker_policy::WorkerJobPolicy;
