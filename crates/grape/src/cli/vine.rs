//! `grape vine …`: the arguments of the vine commands.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::ApplyArgs;

/// `grape vine …`.
#[derive(Debug, Subcommand)]
pub enum VineCommand {
    /// Write a commented vine.yaml (asks for what is missing on a terminal).
    Init(VineInitArgs),
    /// Plan a vine (a PLAN job of Vintner's own Terraform) and show the changes and the cost.
    Plan(VinePlanArgs),
    /// Apply a vine's reviewed plan (the same as `grape apply PLAN_JOB_ID`).
    Apply(ApplyArgs),
    /// Destroy everything a vine provisioned (a DESTROY job).
    Destroy(VinePlanArgs),
    /// Write exactly the files a PLAN of the vine runs into a directory (offline, no secrets).
    Render(VineRenderArgs),
    /// Print the JSON Schema of vine.yaml.
    Schema,
}

/// `grape vine plan FILE` / `grape vine destroy FILE`.
#[derive(Debug, Args)]
pub struct VinePlanArgs {
    /// The vine file (YAML, or JSON when it ends in `.json`).
    #[arg(value_name = "FILE", default_value = "vine.yaml")]
    pub file: PathBuf,
    /// Follow the job's log live until it ends (the default).
    #[arg(long, conflicts_with = "detach")]
    pub follow: bool,
    /// Submit the job, print its id and return without waiting.
    #[arg(long)]
    pub detach: bool,
    /// Run on this machine instead of a worker (with this machine's cloud credentials).
    #[arg(long, conflicts_with = "detach")]
    pub local: bool,
}

/// `grape vine render FILE --out DIR`.
#[derive(Debug, Args)]
pub struct VineRenderArgs {
    /// The vine file.
    #[arg(value_name = "FILE", default_value = "vine.yaml")]
    pub file: PathBuf,
    /// The directory to write (created; must be empty or absent).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The team whose state the vine lives in.
    #[arg(long, default_value = "default")]
    pub team: String,
}

/// `grape vine init`.
#[derive(Debug, Args)]
pub struct VineInitArgs {
    /// The file to write.
    #[arg(long, value_name = "FILE", default_value = "vine.yaml")]
    pub out: PathBuf,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Never ask; fail naming the flags that are missing.
    #[arg(long)]
    pub no_input: bool,
    /// The project's name (a DNS label of at most 20 characters).
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// The environment stage, e.g. `dev`, `prod` (a DNS label of at most 20 characters).
    #[arg(long, value_name = "STAGE")]
    pub environment: Option<String>,
    /// The cloud: aws, gcp or azure.
    #[arg(long)]
    pub provider: Option<String>,
    /// The region, e.g. `eu-west-1`.
    #[arg(long)]
    pub region: Option<String>,
    /// The cloud identity the vine is provisioned as (see `grape identities list`).
    #[arg(long, value_name = "ID")]
    pub identity: Option<String>,
    /// Use this existing network instead of creating one (a VPC id on AWS).
    #[arg(long, value_name = "ID")]
    pub network_id: Option<String>,
    /// The Kubernetes version.
    #[arg(long, value_name = "VERSION")]
    pub cluster_version: Option<String>,
    /// A node instance type (repeatable).
    #[arg(long = "instance-type", value_name = "TYPE")]
    pub instance_types: Vec<String>,
}

/// `grape cluster …`: a vine's platform on a cluster that exists already.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Install ArgoCD, the apps repository credential and the platform's Applications into an
    /// existing cluster, and wait until they are Synced and Healthy (a BOOTSTRAP job). Through
    /// a worker the cluster is named and its token minted there from the vine's identity; with
    /// --local, the cluster and token of your kubeconfig.
    Bootstrap(ClusterBootstrapArgs),
}

/// `grape cluster bootstrap --vine FILE …`.
#[derive(Debug, Args)]
pub struct ClusterBootstrapArgs {
    /// The vine file (YAML, or JSON when it ends in `.json`).
    #[arg(long, value_name = "FILE", default_value = "vine.yaml")]
    pub vine: PathBuf,
    /// The cluster's name at its provider (EKS/GKE/AKS); with --local, default: the context's
    /// cluster.
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// The API server URL (https://…); not with --local (the kubeconfig's).
    #[arg(long, value_name = "URL", conflicts_with = "local")]
    pub endpoint: Option<String>,
    /// A PEM file of the API server's CA; not with --local (the kubeconfig's).
    #[arg(long, value_name = "PATH", conflicts_with = "local")]
    pub ca_file: Option<PathBuf>,
    /// The cloud account (AWS account, GCP project, Azure subscription) of the cluster.
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// The cluster's network (default: the vine's network.network_id).
    #[arg(long, value_name = "ID")]
    pub network_id: Option<String>,
    /// Submit the job, print its id and return without waiting.
    #[arg(long, conflicts_with = "local")]
    pub detach: bool,
    /// Run on this machine against the cluster of a kubeconfig (a user with a token).
    #[arg(long, requires = "kubeconfig")]
    pub local: bool,
    /// The kubeconfig file of --local.
    #[arg(long, value_name = "PATH", requires = "local")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context [default: its current-context].
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    pub context: Option<String>,
}
