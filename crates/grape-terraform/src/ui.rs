//! Typed machine-readable UI messages of `terraform plan|apply|destroy -json`.
//!
//! Each line Terraform prints with `-json` is one JSON object with `@level`, `@message`,
//! `@timestamp` and a `type`; [`UiEvent::parse`] turns it into a typed event. Message types this
//! crate does not know become [`UiEvent::Unknown`], so newer Terraform versions never break a run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Diagnostic;

/// What Terraform does (or did) to a resource or an output.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Action {
    /// Nothing (`noop` in UI messages, `no-op` in plan JSON).
    Noop,
    /// Create a new object.
    Create,
    /// Read a data source.
    Read,
    /// Update in place.
    Update,
    /// Destroy and re-create (UI messages; plan JSON lists `delete` and `create`).
    Replace,
    /// Destroy.
    Delete,
    /// Move to a new address.
    Move,
    /// Import an existing object.
    Import,
    /// Remove from state without destroying (`forget` in plan JSON, `remove` in UI messages).
    Forget,
    /// An action this crate does not know.
    Other(String),
}

impl From<String> for Action {
    fn from(s: String) -> Self {
        match s.as_str() {
            "noop" | "no-op" => Self::Noop,
            "create" => Self::Create,
            "read" => Self::Read,
            "update" => Self::Update,
            "replace" => Self::Replace,
            "delete" => Self::Delete,
            "move" => Self::Move,
            "import" => Self::Import,
            "forget" | "remove" => Self::Forget,
            _ => Self::Other(s),
        }
    }
}

impl From<Action> for String {
    fn from(a: Action) -> Self {
        a.as_str().to_owned()
    }
}

impl Action {
    /// The name Terraform's plan JSON uses.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Noop => "no-op",
            Self::Create => "create",
            Self::Read => "read",
            Self::Update => "update",
            Self::Replace => "replace",
            Self::Delete => "delete",
            Self::Move => "move",
            Self::Import => "import",
            Self::Forget => "forget",
            Self::Other(s) => s,
        }
    }
}

/// The resource a UI message is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAddr {
    /// Full address, e.g. `module.net.aws_vpc.main[0]`.
    pub addr: String,
    /// Module address, empty for the root module.
    #[serde(default)]
    pub module: String,
    /// Address within its module.
    #[serde(default)]
    pub resource: String,
    /// Resource type, e.g. `terraform_data`.
    #[serde(default)]
    pub resource_type: String,
    /// Resource name, e.g. `a`.
    #[serde(default)]
    pub resource_name: String,
    /// `count`/`for_each` key, if any.
    #[serde(default)]
    pub resource_key: Option<Value>,
}

/// A planned change or a drift found during refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceChangeEvent {
    /// The resource.
    pub resource: ResourceAddr,
    /// Its previous address, for moves.
    #[serde(default)]
    pub previous_resource: Option<ResourceAddr>,
    /// What happens to it.
    pub action: Action,
    /// Why (e.g. `cannot_update` for a replace), if Terraform says.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Counts of a plan or an apply (`Plan: 1 to add, 0 to change, 0 to destroy.`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSummary {
    /// Resources to add (or added).
    pub add: u64,
    /// Resources to change in place.
    pub change: u64,
    /// Resources to import.
    #[serde(default)]
    pub import: u64,
    /// Resources to destroy.
    pub remove: u64,
    /// `plan`, `apply` or `destroy`.
    #[serde(default)]
    pub operation: String,
}

impl ChangeSummary {
    /// Whether anything would change.
    pub fn has_changes(&self) -> bool {
        self.add + self.change + self.import + self.remove > 0
    }
}

/// Progress of an operation on one resource (`apply_start|progress|complete|errored`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyHook {
    /// The resource.
    pub resource: ResourceAddr,
    /// What is being done to it.
    pub action: Action,
    /// Name of the id attribute (`id`), when known.
    #[serde(default)]
    pub id_key: Option<String>,
    /// Value of the id attribute, when known.
    #[serde(default)]
    pub id_value: Option<String>,
    /// Seconds since the operation started (progress, complete, errored).
    #[serde(default)]
    pub elapsed_seconds: Option<u64>,
}

/// Progress of a provisioner (`provision_start|progress|complete|errored`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionHook {
    /// The resource the provisioner belongs to.
    pub resource: ResourceAddr,
    /// Provisioner type, e.g. `local-exec`.
    pub provisioner: String,
    /// One line of its output (progress only).
    #[serde(default)]
    pub output: Option<String>,
}

/// A refresh of one resource (`refresh_start|complete`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshHook {
    /// The resource.
    pub resource: ResourceAddr,
    /// Name of the id attribute.
    #[serde(default)]
    pub id_key: Option<String>,
    /// Value of the id attribute.
    #[serde(default)]
    pub id_value: Option<String>,
}

/// One output in an `outputs` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UiOutput {
    /// Whether it is marked sensitive (then `value` is absent).
    #[serde(default)]
    pub sensitive: bool,
    /// Its type, after apply.
    #[serde(default, rename = "type")]
    pub type_: Option<Value>,
    /// Its value, after apply, when not sensitive.
    #[serde(default)]
    pub value: Option<Value>,
    /// Planned action, during plan.
    #[serde(default)]
    pub action: Option<Action>,
}

/// One machine-readable UI message of Terraform.
#[derive(Debug, Clone, PartialEq)]
pub enum UiEvent {
    /// First line: the Terraform and UI protocol versions.
    Version {
        /// Terraform version, e.g. `1.15.5`.
        terraform: String,
        /// UI protocol version, e.g. `1.3`.
        ui: String,
    },
    /// A free-form log message.
    Log {
        /// `@level`: `info`, `warn`, `error`, …
        level: String,
        /// The message.
        message: String,
    },
    /// An error or warning.
    Diagnostic(Diagnostic),
    /// A change the plan will make.
    PlannedChange(ResourceChangeEvent),
    /// A change made outside Terraform, found during refresh.
    ResourceDrift(ResourceChangeEvent),
    /// The counts at the end of a plan or apply.
    ChangeSummary(ChangeSummary),
    /// An operation on a resource started.
    ApplyStart(ApplyHook),
    /// An operation is still running.
    ApplyProgress(ApplyHook),
    /// An operation finished.
    ApplyComplete(ApplyHook),
    /// An operation failed.
    ApplyErrored(ApplyHook),
    /// A provisioner started.
    ProvisionStart(ProvisionHook),
    /// A provisioner printed a line.
    ProvisionProgress(ProvisionHook),
    /// A provisioner finished.
    ProvisionComplete(ProvisionHook),
    /// A provisioner failed.
    ProvisionErrored(ProvisionHook),
    /// Refreshing a resource started.
    RefreshStart(RefreshHook),
    /// Refreshing a resource finished.
    RefreshComplete(RefreshHook),
    /// The root module outputs (planned actions, or values after apply).
    Outputs(BTreeMap<String, UiOutput>),
    /// A message type this crate does not know (or could not read); kept whole.
    Unknown {
        /// Its `type`.
        kind: String,
        /// Its `@message`.
        message: String,
        /// The whole message.
        raw: Value,
    },
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(rename = "@level", default)]
    level: String,
    #[serde(rename = "@message", default)]
    message: String,
}

#[derive(Deserialize)]
struct VersionMsg {
    #[serde(default)]
    terraform: String,
    #[serde(default)]
    ui: String,
}

#[derive(Deserialize)]
struct WithChange {
    change: ResourceChangeEvent,
}

#[derive(Deserialize)]
struct WithChanges {
    changes: ChangeSummary,
}

#[derive(Deserialize)]
struct WithHook<T> {
    hook: T,
}

#[derive(Deserialize)]
struct WithDiagnostic {
    diagnostic: Diagnostic,
}

#[derive(Deserialize)]
struct WithOutputs {
    outputs: BTreeMap<String, UiOutput>,
}

impl UiEvent {
    /// Parses one line of `-json` output. Returns `None` when the line is not a JSON object
    /// (Terraform prints a few plain lines, e.g. from crashing providers): show it as text.
    pub fn parse(line: &str) -> Option<(Self, String)> {
        let trimmed = line.trim();
        if !trimmed.starts_with('{') {
            return None;
        }
        let raw: Value = serde_json::from_str(trimmed).ok()?;
        let env = Envelope::deserialize(&raw).ok()?;
        let typed = Self::typed(&env, &raw);
        let event = typed.unwrap_or_else(|| Self::Unknown {
            kind: env.kind.clone(),
            message: env.message.clone(),
            raw: raw.clone(),
        });
        Some((event, env.message))
    }

    fn typed(env: &Envelope, raw: &Value) -> Option<Self> {
        fn de<T: for<'de> Deserialize<'de>>(raw: &Value) -> Option<T> {
            T::deserialize(raw).ok()
        }
        Some(match env.kind.as_str() {
            "version" => {
                let v: VersionMsg = de(raw)?;
                Self::Version {
                    terraform: v.terraform,
                    ui: v.ui,
                }
            }
            "log" => Self::Log {
                level: env.level.clone(),
                message: env.message.clone(),
            },
            "diagnostic" => Self::Diagnostic(de::<WithDiagnostic>(raw)?.diagnostic),
            "planned_change" => Self::PlannedChange(de::<WithChange>(raw)?.change),
            "resource_drift" => Self::ResourceDrift(de::<WithChange>(raw)?.change),
            "change_summary" => Self::ChangeSummary(de::<WithChanges>(raw)?.changes),
            "apply_start" => Self::ApplyStart(de::<WithHook<_>>(raw)?.hook),
            "apply_progress" => Self::ApplyProgress(de::<WithHook<_>>(raw)?.hook),
            "apply_complete" => Self::ApplyComplete(de::<WithHook<_>>(raw)?.hook),
            "apply_errored" => Self::ApplyErrored(de::<WithHook<_>>(raw)?.hook),
            "provision_start" => Self::ProvisionStart(de::<WithHook<_>>(raw)?.hook),
            "provision_progress" => Self::ProvisionProgress(de::<WithHook<_>>(raw)?.hook),
            "provision_complete" => Self::ProvisionComplete(de::<WithHook<_>>(raw)?.hook),
            "provision_errored" => Self::ProvisionErrored(de::<WithHook<_>>(raw)?.hook),
            "refresh_start" => Self::RefreshStart(de::<WithHook<_>>(raw)?.hook),
            "refresh_complete" => Self::RefreshComplete(de::<WithHook<_>>(raw)?.hook),
            "outputs" => Self::Outputs(de::<WithOutputs>(raw)?.outputs),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_and_unknown_messages() {
        let (ev, _) = UiEvent::parse(r#"{"@level":"info","@message":"Terraform 1.15.5","type":"version","terraform":"1.15.5","ui":"1.3"}"#).unwrap();
        assert_eq!(
            ev,
            UiEvent::Version {
                terraform: "1.15.5".into(),
                ui: "1.3".into()
            }
        );
        let (ev, msg) = UiEvent::parse(r#"{"@message":"x","type":"brand_new","foo":1}"#).unwrap();
        assert!(matches!(ev, UiEvent::Unknown { ref kind, .. } if kind == "brand_new"));
        assert_eq!(msg, "x");
        assert!(UiEvent::parse("plain text").is_none());
        let (ev, _) = UiEvent::parse(r#"{"type":"planned_change","change":{"resource":{"addr":"a.b","resource_type":"a","resource_name":"b"},"action":"replace","reason":"cannot_update"}}"#).unwrap();
        let UiEvent::PlannedChange(c) = ev else {
            panic!("{ev:?}")
        };
        assert_eq!(c.action, Action::Replace);
        assert_eq!(c.reason.as_deref(), Some("cannot_update"));
    }
}
