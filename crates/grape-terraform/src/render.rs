//! Renders typed UI events as the human log lines Terraform users know.

use std::fmt::Write as _;

use crate::ui::{Action, ApplyHook, UiEvent};

fn verbs(action: &Action) -> (&'static str, &'static str, &'static str) {
    // (ongoing, still-, noun)
    match action {
        Action::Create => ("Creating", "creating", "Creation"),
        Action::Update => ("Modifying", "modifying", "Modifications"),
        Action::Delete => ("Destroying", "destroying", "Destruction"),
        Action::Read => ("Reading", "reading", "Read"),
        Action::Import => ("Importing", "importing", "Import"),
        Action::Replace => ("Replacing", "replacing", "Replacement"),
        Action::Forget => ("Removing", "removing", "Removal"),
        Action::Move | Action::Noop | Action::Other(_) => ("Applying", "applying", "Apply"),
    }
}

fn id_suffix(hook: &ApplyHook) -> String {
    match (&hook.id_key, &hook.id_value) {
        (Some(k), Some(v)) => format!(" [{k}={v}]"),
        _ => String::new(),
    }
}

/// Renders one event as zero or more log lines. `message` is Terraform's own `@message`, used
/// for events that carry no better structure.
pub fn render(event: &UiEvent, message: &str) -> Vec<String> {
    let one = |s: String| vec![s];
    match event {
        UiEvent::Version { terraform, .. } => one(format!("Terraform {terraform}")),
        UiEvent::Log { message, .. } => one(message.clone()),
        UiEvent::Diagnostic(d) => d.render_lines(),
        UiEvent::PlannedChange(c) => {
            let mut s = format!("{}: Plan to {}", c.resource.addr, c.action.as_str());
            if let Some(prev) = &c.previous_resource {
                let _ = write!(s, " (moved from {})", prev.addr);
            }
            if let Some(reason) = &c.reason {
                let _ = write!(s, " (reason: {reason})");
            }
            one(s)
        }
        UiEvent::ResourceDrift(c) => one(format!(
            "{}: Drift detected ({})",
            c.resource.addr,
            c.action.as_str()
        )),
        UiEvent::ChangeSummary(s) => one(match s.operation.as_str() {
            "apply" => format!(
                "Apply complete! Resources: {}{} added, {} changed, {} destroyed.",
                if s.import > 0 {
                    format!("{} imported, ", s.import)
                } else {
                    String::new()
                },
                s.add,
                s.change,
                s.remove
            ),
            "destroy" => format!("Destroy complete! Resources: {} destroyed.", s.remove),
            _ => format!(
                "Plan: {}{} to add, {} to change, {} to destroy.",
                if s.import > 0 {
                    format!("{} to import, ", s.import)
                } else {
                    String::new()
                },
                s.add,
                s.change,
                s.remove
            ),
        }),
        UiEvent::ApplyStart(h) => {
            let (ing, _, _) = verbs(&h.action);
            let id = if h.action == Action::Create {
                String::new()
            } else {
                id_suffix(h)
            };
            one(format!("{}: {ing}...{id}", h.resource.addr))
        }
        UiEvent::ApplyProgress(h) => {
            let (_, still, _) = verbs(&h.action);
            one(format!(
                "{}: Still {still}... [{}s elapsed]",
                h.resource.addr,
                h.elapsed_seconds.unwrap_or(0)
            ))
        }
        UiEvent::ApplyComplete(h) => {
            let (_, _, noun) = verbs(&h.action);
            one(format!(
                "{}: {noun} complete after {}s{}",
                h.resource.addr,
                h.elapsed_seconds.unwrap_or(0),
                id_suffix(h)
            ))
        }
        UiEvent::ApplyErrored(h) => {
            let (_, _, noun) = verbs(&h.action);
            one(format!(
                "{}: {noun} errored after {}s",
                h.resource.addr,
                h.elapsed_seconds.unwrap_or(0)
            ))
        }
        UiEvent::ProvisionStart(p) => one(format!(
            "{}: Provisioning with '{}'...",
            p.resource.addr, p.provisioner
        )),
        UiEvent::ProvisionProgress(p) => one(format!(
            "{} ({}): {}",
            p.resource.addr,
            p.provisioner,
            p.output.as_deref().unwrap_or_default()
        )),
        UiEvent::ProvisionComplete(p) => one(format!(
            "{}: ({}) Provisioning complete",
            p.resource.addr, p.provisioner
        )),
        UiEvent::ProvisionErrored(p) => one(format!(
            "{}: ({}) Provisioning errored",
            p.resource.addr, p.provisioner
        )),
        UiEvent::RefreshStart(r) => one(format!(
            "{}: Refreshing state...{}",
            r.resource.addr,
            match (&r.id_key, &r.id_value) {
                (Some(k), Some(v)) => format!(" [{k}={v}]"),
                _ => String::new(),
            }
        )),
        UiEvent::RefreshComplete(r) => one(format!("{}: Refresh complete", r.resource.addr)),
        UiEvent::Outputs(outputs) => {
            if outputs.is_empty() {
                return Vec::new();
            }
            let applied = outputs.values().any(|o| o.action.is_none());
            let mut lines = vec![
                if applied {
                    "Outputs:"
                } else {
                    "Changes to Outputs:"
                }
                .to_owned(),
            ];
            for (name, o) in outputs {
                let line = match (&o.action, o.sensitive, &o.value) {
                    (Some(a), sensitive, _) => format!(
                        "  {name}: {}{}",
                        a.as_str(),
                        if sensitive { " (sensitive)" } else { "" }
                    ),
                    (None, true, _) => format!("  {name} = <sensitive>"),
                    (None, false, Some(v)) => format!("  {name} = {v}"),
                    (None, false, None) => format!("  {name} = (known after apply)"),
                };
                lines.push(line);
            }
            lines
        }
        UiEvent::Unknown { raw, .. } => {
            if message.is_empty() {
                one(raw.to_string())
            } else {
                one(message.to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(line: &str) -> Vec<String> {
        let (ev, msg) = UiEvent::parse(line).unwrap();
        render(&ev, &msg)
    }

    #[test]
    fn renders_familiar_lines() {
        let res = r#""resource":{"addr":"aws_instance.x","resource_type":"aws_instance","resource_name":"x"}"#;
        assert_eq!(
            r(&format!(
                r#"{{"type":"apply_start","hook":{{{res},"action":"create"}}}}"#
            )),
            ["aws_instance.x: Creating..."]
        );
        assert_eq!(
            r(&format!(
                r#"{{"type":"apply_complete","hook":{{{res},"action":"create","id_key":"id","id_value":"i-1","elapsed_seconds":2}}}}"#
            )),
            ["aws_instance.x: Creation complete after 2s [id=i-1]"]
        );
        assert_eq!(
            r(&format!(
                r#"{{"type":"apply_progress","hook":{{{res},"action":"delete","elapsed_seconds":10}}}}"#
            )),
            ["aws_instance.x: Still destroying... [10s elapsed]"]
        );
        assert_eq!(
            r(
                r#"{"type":"change_summary","changes":{"add":1,"change":0,"import":0,"remove":0,"operation":"plan"}}"#
            ),
            ["Plan: 1 to add, 0 to change, 0 to destroy."]
        );
        assert_eq!(
            r(
                r#"{"type":"diagnostic","diagnostic":{"severity":"error","summary":"Bad","detail":"Very bad"}}"#
            ),
            ["Error: Bad", "  Very bad"]
        );
        assert_eq!(
            r(
                r#"{"type":"outputs","outputs":{"a":{"sensitive":false,"type":"string","value":"v"},"p":{"sensitive":true,"type":"string"}}}"#
            ),
            ["Outputs:", "  a = \"v\"", "  p = <sensitive>"]
        );
    }
}
