//! Typed `terraform show -json PLANFILE` output (format 1.x).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ui::{Action, ChangeSummary};

/// A change to one object: the actions and the values before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The actions: `["no-op"]`, `["create"]`, `["read"]`, `["update"]`, `["delete"]`,
    /// `["delete","create"]` or `["create","delete"]` (replace), `["forget"]`.
    pub actions: Vec<Action>,
    /// Value before (null for create).
    #[serde(default)]
    pub before: Value,
    /// Value after, as far as known (null for delete).
    #[serde(default)]
    pub after: Value,
    /// Which parts of `after` are known only after apply.
    #[serde(default)]
    pub after_unknown: Value,
    /// Which parts of `before` are sensitive.
    #[serde(default)]
    pub before_sensitive: Value,
    /// Which parts of `after` are sensitive.
    #[serde(default)]
    pub after_sensitive: Value,
    /// Paths that force a replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_paths: Option<Value>,
    /// Import details, when the change imports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importing: Option<Value>,
}

impl Change {
    /// Whether the actions amount to a replacement.
    pub fn is_replace(&self) -> bool {
        self.actions.contains(&Action::Create) && self.actions.contains(&Action::Delete)
    }

    /// Whether nothing happens (no-op or read).
    pub fn is_noop(&self) -> bool {
        self.actions
            .iter()
            .all(|a| matches!(a, Action::Noop | Action::Read))
    }
}

/// A planned change to one resource instance (or a drift found during refresh).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    /// Full address, e.g. `module.net.terraform_data.a[0]`.
    pub address: String,
    /// Module address, absent for the root module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_address: Option<String>,
    /// `managed` or `data`.
    #[serde(default)]
    pub mode: String,
    /// Resource type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Resource name.
    pub name: String,
    /// `count`/`for_each` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<Value>,
    /// Provider, e.g. `terraform.io/builtin/terraform`.
    #[serde(default)]
    pub provider_name: String,
    /// Previous address, for moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<String>,
    /// Deposed object key, for deposed objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
    /// Why (e.g. `replace_because_cannot_update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_reason: Option<String>,
    /// The change.
    pub change: Change,
}

/// The plan as `terraform show -json` gives it. Fields this crate does not model
/// (`planned_values`, `prior_state`, `configuration`, …) stay in `other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanJson {
    /// JSON format version, e.g. `1.2`.
    pub format_version: String,
    /// Terraform version that made the plan.
    #[serde(default)]
    pub terraform_version: String,
    /// Changes to resources.
    #[serde(default)]
    pub resource_changes: Vec<ResourceChange>,
    /// Changes made outside Terraform, found during refresh.
    #[serde(default)]
    pub resource_drift: Vec<ResourceChange>,
    /// Changes to root module outputs.
    #[serde(default)]
    pub output_changes: BTreeMap<String, Change>,
    /// Whether the plan can be applied.
    #[serde(default)]
    pub applyable: Option<bool>,
    /// Whether applying it converges (no further plan needed).
    #[serde(default)]
    pub complete: Option<bool>,
    /// Whether planning errored (the plan is partial).
    #[serde(default)]
    pub errored: bool,
    /// Everything else, as Terraform wrote it.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl PlanJson {
    /// The resource changes that do something (neither no-op nor read).
    pub fn changes(&self) -> impl Iterator<Item = &ResourceChange> {
        self.resource_changes.iter().filter(|r| !r.change.is_noop())
    }

    /// Counts like Terraform's `Plan: …` line (a replacement counts as add and remove).
    pub fn summary(&self) -> ChangeSummary {
        let mut s = ChangeSummary {
            operation: "plan".into(),
            ..ChangeSummary::default()
        };
        for rc in &self.resource_changes {
            let c = &rc.change;
            if c.importing.is_some() {
                s.import += 1;
            }
            if c.is_replace() {
                s.add += 1;
                s.remove += 1;
            } else if c.actions.contains(&Action::Create) {
                s.add += 1;
            } else if c.actions.contains(&Action::Update) {
                s.change += 1;
            } else if c.actions.contains(&Action::Delete) {
                s.remove += 1;
            }
        }
        s
    }

    /// Whether any resource or output would change.
    pub fn has_changes(&self) -> bool {
        self.changes().next().is_some() || self.output_changes.values().any(|c| !c.is_noop())
    }
}

/// A shown plan: typed, and the raw JSON (e.g. to upload as an artifact after
/// [`redact_sensitive_plan`](crate::redact_sensitive_plan)).
#[derive(Debug, Clone, PartialEq)]
pub struct ShownPlan {
    /// The typed plan.
    pub plan: PlanJson,
    /// The whole JSON document as Terraform printed it (sensitive values included).
    pub raw: Value,
}
