//! # grape-argocd — ArgoCD for a vine, as data
//!
//! After a vine's Terraform apply, the provisioner installs ArgoCD with Helm, registers the
//! application repository and applies the platform's Applications. This crate decides *what*
//! is installed and applied; it does no IO (tool crates do not depend on each other: the
//! provisioner installs with grape-helm and applies with grape-k8s).
//!
//! - [`PlatformFacts`]: what the vine's Terraform outputs say about the cluster and its cloud.
//! - [`ArgoCdChart`]: the ArgoCD chart (pinned by default, configurable) and its values.
//! - [`RepositoryCredential`]: the repository Secret ArgoCD reads
//!   (`argocd.argoproj.io/secret-type: repository`); its token is a [`grape_api::Secret`] and
//!   the rendered manifest is a [`SecretManifest`] whose `Debug` hides it.
//! - [`platform_applications`]: the AppProject `infrastructure` and one Application per
//!   platform app (load balancer controller, external-dns, external-secrets, metrics-server,
//!   karpenter when enabled, the user's apps), plus the default [`storage_class`].

#![warn(missing_docs)]

mod apps;
mod chart;
mod facts;
mod manifest;
mod repository;

pub use apps::{AppChart, AppsOptions, INFRA_PROJECT, platform_applications, storage_class};
pub use chart::{ARGOCD_NAMESPACE, ARGOCD_RELEASE, ArgoCdChart, INITIAL_ADMIN_SECRET};
pub use facts::{FactsError, PlatformFacts, Provider};
pub use manifest::Manifest;
pub use repository::{RepositoryCredential, SecretManifest};
