//! Dev-only test support: starts the **real** peers our tests talk to, in one line each.
//!
//! - [`peers`]: where `cargo xtask peers` installed them (`terraform`, `helm`, `kubectl`,
//!   `moto_server`); a missing peer fails the test with the command that installs it.
//! - [`moto`]: a moto server (AWS APIs) on a free 127.0.0.1 port, killed on drop.
//! - [`kube`]: a real Kubernetes API server (v1.20.2 + etcd, controller-manager, scheduler and a
//!   fake kubelet) on free ports, one per test binary, with a namespace per test.
//! - [`postgres`]: a fresh, uniquely named PostgreSQL database, dropped on drop.
//! - [`git`]: a bare git repository on disk with helpers to commit files to it.
//! - [`infracost`]: a stand-in `infracost` CLI that checks its call and prints documented JSON.
//! - [`net`]: `free_port`, `wait_for_http`.
//! - [`http_recorder`]: an HTTP server that records request headers (attack tests).
//!
//! This crate is a dev-dependency only; it may spawn processes with `std::process` (the
//! grape-process rule is for product code).

#![warn(missing_docs)]

mod argocd;
pub mod error;
pub mod fake_azure;
pub mod fake_gcp;
pub mod fake_server;
pub mod git;
pub mod http_recorder;
pub mod infracost;
pub mod kube;
mod kube_namespace;
mod kube_shared;
mod kube_webhook;
pub mod moto;
pub mod net;
pub mod peers;
pub mod postgres;
mod process;
pub mod static_files;
pub mod trellis;

pub use argocd::{AppState, ArgoCdPlayer, argocd_standin_chart};
pub use error::TestkitError;
pub use fake_azure::{FakeAzure, FakeAzureConfig};
pub use fake_gcp::{ExpectedSubject, FakeGcp, FakeGcpConfig};
pub use fake_server::FakeServer;
pub use git::GitRemote;
pub use http_recorder::{Answer, HttpRecorder, RecordedRequest};
pub use infracost::{
    BREAKDOWN_JSON, FakeInfracostOutput, fake_infracost_calls, write_fake_infracost,
};
pub use kube::{ARGOCD_MIN_CRDS, KubeApi, KubeApiBuilder, kube_bin_dir};
pub use kube_namespace::KubeNamespace;
pub use kube_webhook::EksWebhook;
pub use moto::{Moto, MotoBuilder};
pub use net::{free_port, http_get, wait_for_http};
pub use peers::{
    helm_bin, kubectl_bin, peers_dir, require_peer, terraform_bin, terraform_env,
    tf_provider_mirror, workspace_root,
};
pub use postgres::PgDatabase;
pub use static_files::StaticFiles;
