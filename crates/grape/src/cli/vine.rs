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
