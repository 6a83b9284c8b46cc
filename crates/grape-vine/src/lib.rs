//! # grape-vine — the vine model and Vintner's own Terraform
//!
//! A **vine** is one environment of a project: project name and stage, region, cloud provider
//! and identity, network, Kubernetes cluster, DNS and repositories, kept by users in a
//! `vine.yaml`. This crate is IO-free (no network, no processes, no files): Trellis, Tendril and
//! Grape all read vines through it.
//!
//! - [`Vine`] and its parts ([`model`]): the typed, documented definition; [`parse_vine`] reads
//!   YAML or JSON with path-aware errors ([`VineError`] lists every [`Problem`] with its field
//!   path and what is allowed there); [`vine_from_value`] reads a job payload's `vine`.
//! - [`vine_schema`]: the JSON Schema generated from the types, plus the rules between fields.
//! - [`TemplateSet`]: the bundled Terraform per provider (AWS: VPC + EKS + IRSA, GCP: VPC +
//!   GKE, Azure: VNet + AKS) and a provider-free `terraform_data` stand-in, all with the same
//!   variables ([`tfvars()`]) and the same outputs ([`OUTPUT_CONTRACT`]).
//! - [`render`]: the files a PLAN runs, and [`state_key`]: the one name of a vine's state.

#![warn(missing_docs)]

mod contract;
mod error;
pub mod model;
mod parse;
mod render;
pub mod rules;
mod schema;
mod templates;
mod tfvars;

pub use contract::{ContractOutput, OUTPUT_CONTRACT};
pub use error::{Problem, VineError};
pub use model::{
    CloudProvider, ClusterSettings, DEFAULT_CIDR_BLOCK, DnsSettings, NetworkSettings, Repositories,
    Vine,
};
pub use parse::{Format, parse_document, parse_vine, vine_from_value};
pub use render::{
    BACKEND_CONFIG_FILE, BACKEND_FILE, RenderError, Rendered, RenderedFile, StateBackend,
    TFVARS_FILE, VERSION_FILE, render, render_with,
};
pub use schema::vine_schema;
pub use templates::{TemplateFile, TemplateSet};
pub use tfvars::{DEFAULT_TEAM, TfVars, state_key, tfvars, tfvars_json};
