//! # grape-k8s — talking to a vine's cluster
//!
//! After a vine's Terraform apply the provisioner makes the cluster usable: it connects, applies
//! manifests and waits for them. This crate is that client, over kube-rs (rustls, no OpenSSL).
//!
//! - [`ClusterAccess`]: the API server URL and its CA, from the vine's Terraform outputs
//!   (`cluster_endpoint`, `cluster_ca_certificate` as base64 PEM).
//! - [`TokenSource`]: where bearer tokens come from — passed in by the caller (an EKS token made
//!   by grape-cloud-aws, a provider's access token, a fixed token). grape-k8s signs nothing and
//!   depends on no cloud crate; [`K8s`] asks for a new token when the current one is within
//!   [`ClientOptions::refresh_margin`] of its expiry, so long waits outlive a 15-minute token.
//! - [`K8s::apply`] / [`K8s::apply_yaml`]: server-side apply with field manager `vintner` of
//!   JSON values or multi-document YAML, any kind through discovery (dynamic objects);
//!   Namespaces and CRDs first, CRDs waited for until `Established`; each result says created,
//!   configured or unchanged. [`K8s::ensure_namespace`], [`K8s::apply_secret`] (values are
//!   [`grape_api::Secret`]s and are kept out of errors).
//! - [`K8s::wait_all`]: bounded waits for conditions ([`condition_true`],
//!   [`application_synced_healthy`], [`gone`], or your own) that report progress lines through a
//!   callback — at once on a change and at least every 30 s — and fail naming each object not
//!   ready; [`K8s::delete`] deletes (foreground) and waits until the objects are gone.
//! - [`read_kubeconfig`]: a user's kubeconfig context as a cluster and a bearer token (for a
//!   local bootstrap; exec plugins and client certificates are refused with what to do).
//! - [`ClusterAccess::kubeconfig`] / [`K8s::kubeconfig`]: a kubeconfig for a tool (Helm) with
//!   a fresh token, a secret to write 0600 and remove.
//! - Every call takes a `CancellationToken` and returns [`K8sError::Cancelled`] promptly.
//!
//! API versions: the test cluster is Kubernetes 1.20. k8s-openapi's last release with a `v1_20`
//! feature is 0.19 (kube 0.85, on hyper 0.14 / rustls 0.21); this crate uses kube 3 with
//! k8s-openapi 0.27 at its oldest level and touches only resources a 1.20 server also serves:
//! everything goes through discovery as dynamic objects, so nothing is sent in a newer shape.

#![warn(missing_docs)]

mod access;
mod apply;
mod client;
mod error;
mod kubeconfig;
mod object;
mod token;
mod wait;

pub use access::ClusterAccess;
pub use apply::{Applied, Outcome, SecretObject};
pub use client::{ClientOptions, FIELD_MANAGER, K8s};
pub use error::{K8sError, TokenError};
pub use kubeconfig::{KubeconfigCluster, read_kubeconfig};
pub use object::{ObjectRef, parse_yaml};
pub use token::{BearerToken, StaticToken, TokenSource};
pub use wait::{
    Check, Condition, WaitOptions, WaitTarget, application_synced_healthy, condition_true, gone,
};
