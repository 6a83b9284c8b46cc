//! The bundled Terraform template sets, embedded in the binary (no download at run time, no
//! registry modules: every resource is written out, so a plan is reproducible offline).
//!
//! Every set declares the same input variables (`common/variables.tf`, see
//! [`crate::tfvars()`]) and the same outputs ([`crate::OUTPUT_CONTRACT`]).

use crate::model::CloudProvider;

/// One file of a template set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateFile {
    /// The file name in the rendered directory, e.g. `eks.tf`.
    pub name: &'static str,
    /// Its text.
    pub contents: &'static str,
}

macro_rules! template {
    ($dir:literal, $name:literal) => {
        TemplateFile {
            name: $name,
            contents: include_str!(concat!("../templates/", $dir, "/", $name)),
        }
    };
}

const VARIABLES: TemplateFile = template!("common", "variables.tf");

const AWS: &[TemplateFile] = &[
    template!("aws", "versions.tf"),
    template!("aws", "network.tf"),
    template!("aws", "eks.tf"),
    template!("aws", "irsa.tf"),
    template!("aws", "dns.tf"),
    template!("aws", "karpenter.tf"),
    template!("aws", "outputs.tf"),
    template!("aws", ".terraform.lock.hcl"),
];

const GCP: &[TemplateFile] = &[
    template!("gcp", "versions.tf"),
    template!("gcp", "network.tf"),
    template!("gcp", "gke.tf"),
    template!("gcp", "dns.tf"),
    template!("gcp", "outputs.tf"),
];

const AZURE: &[TemplateFile] = &[
    template!("azure", "versions.tf"),
    template!("azure", "network.tf"),
    template!("azure", "aks.tf"),
    template!("azure", "dns.tf"),
    template!("azure", "outputs.tf"),
];

const STAND_IN: &[TemplateFile] = &[
    template!("standin", "versions.tf"),
    template!("standin", "main.tf"),
    template!("standin", "outputs.tf"),
];

/// Which templates a vine is rendered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateSet {
    /// The provider's own templates (what a PLAN runs).
    Provider(CloudProvider),
    /// `terraform_data` resources with the same variables and outputs and no provider at all,
    /// for end-to-end tests on machines without cloud providers.
    StandIn,
}

impl TemplateSet {
    /// Every set.
    pub const ALL: [Self; 4] = [
        Self::Provider(CloudProvider::Aws),
        Self::Provider(CloudProvider::Gcp),
        Self::Provider(CloudProvider::Azure),
        Self::StandIn,
    ];

    /// A short name: `aws`, `gcp`, `azure` or `stand-in`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Provider(p) => p.as_str(),
            Self::StandIn => "stand-in",
        }
    }

    /// The files of the set (the shared `variables.tf` first).
    pub fn files(self) -> Vec<TemplateFile> {
        let own = match self {
            Self::Provider(CloudProvider::Aws) => AWS,
            Self::Provider(CloudProvider::Gcp) => GCP,
            Self::Provider(CloudProvider::Azure) => AZURE,
            Self::StandIn => STAND_IN,
        };
        std::iter::once(VARIABLES)
            .chain(own.iter().copied())
            .collect()
    }
}
