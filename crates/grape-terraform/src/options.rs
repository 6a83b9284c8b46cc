//! Options and outcomes of the working-directory commands.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use grape_process::ExitReport;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Diagnostic;
use crate::ui::{ChangeSummary, ResourceChangeEvent, UiEvent, UiOutput};

/// Options of `terraform init`. The state backend is a property of the
/// [`WorkingDir`](crate::WorkingDir) (every later command needs its credentials too).
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// `-upgrade`: pick the newest allowed provider and module versions.
    pub upgrade: bool,
    /// `-reconfigure`: ignore a previously initialised backend (no state migration).
    pub reconfigure: bool,
    /// `-lock-timeout`: how long to wait for a held state lock.
    pub lock_timeout: Option<Duration>,
}

/// Options of `terraform plan`.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Where the saved plan goes (`-out`), relative to the working directory or absolute.
    pub out: PathBuf,
    /// Input variables. They are written to a private var file in the working directory for the
    /// duration of the run (values may be secret: never `-var k=v`), then removed.
    pub variables: BTreeMap<String, Value>,
    /// Extra `-var-file`s.
    pub var_files: Vec<PathBuf>,
    /// `-destroy`: plan to destroy everything.
    pub destroy: bool,
    /// `-detailed-exitcode`: exit code 2 means changes (default true; never an error).
    pub detailed_exitcode: bool,
    /// `-refresh=false` when false (default true).
    pub refresh: bool,
    /// `-target`s.
    pub targets: Vec<String>,
    /// `-lock-timeout`: how long to wait for a held state lock.
    pub lock_timeout: Option<Duration>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            out: PathBuf::from("tfplan"),
            variables: BTreeMap::new(),
            var_files: Vec::new(),
            destroy: false,
            detailed_exitcode: true,
            refresh: true,
            targets: Vec::new(),
            lock_timeout: None,
        }
    }
}

/// Options of `terraform destroy` (a plan -destroy and apply in one step).
#[derive(Debug, Clone, Default)]
pub struct DestroyOptions {
    /// Input variables (same handling as [`PlanOptions::variables`]).
    pub variables: BTreeMap<String, Value>,
    /// Extra `-var-file`s.
    pub var_files: Vec<PathBuf>,
    /// `-lock-timeout`.
    pub lock_timeout: Option<Duration>,
}

/// What a successful `plan` found.
#[derive(Debug, Clone)]
pub struct PlanOutcome {
    /// The saved plan (absolute).
    pub plan_file: PathBuf,
    /// Whether applying would change anything (exit code 2 with `-detailed-exitcode`).
    pub has_changes: bool,
    /// The `Plan: …` counts (zero when Terraform printed none, i.e. no changes).
    pub summary: ChangeSummary,
    /// Planned resource changes.
    pub changes: Vec<ResourceChangeEvent>,
    /// Changes found outside Terraform.
    pub drift: Vec<ResourceChangeEvent>,
    /// Warnings (and any errors) Terraform reported.
    pub diagnostics: Vec<Diagnostic>,
    /// Every UI event, in order.
    pub events: Vec<UiEvent>,
    /// How the process ended.
    pub exit: ExitReport,
}

/// What a successful `apply` or `destroy` did.
#[derive(Debug, Clone)]
pub struct ApplyOutcome {
    /// The `Apply complete! …` counts.
    pub summary: ChangeSummary,
    /// The outputs after apply (sensitive values absent).
    pub outputs: BTreeMap<String, UiOutput>,
    /// Warnings Terraform reported.
    pub diagnostics: Vec<Diagnostic>,
    /// Every UI event, in order.
    pub events: Vec<UiEvent>,
    /// How the process ended.
    pub exit: ExitReport,
}

/// Result of `terraform validate -json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateResult {
    /// Whether the configuration is valid.
    pub valid: bool,
    /// Number of errors.
    #[serde(default)]
    pub error_count: u64,
    /// Number of warnings.
    #[serde(default)]
    pub warning_count: u64,
    /// The errors and warnings.
    #[serde(default)]
    pub diagnostics: Vec<Diagnostic>,
}

/// One root module output, from `terraform output -json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputValue {
    /// Whether it is marked sensitive (the value is still given: handle it as a secret).
    pub sensitive: bool,
    /// Its type, in Terraform's JSON type notation (e.g. `"string"`, `["list","number"]`).
    #[serde(rename = "type", default)]
    pub type_: Value,
    /// Its value.
    #[serde(default)]
    pub value: Value,
}
