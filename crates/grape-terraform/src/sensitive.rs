//! Masking of the values Terraform marks sensitive in plan JSON, so a plan can leave the worker
//! (e.g. as a job artifact) without carrying secrets.

use serde_json::{Map, Value};

/// What a masked value is replaced with.
pub const MASK: &str = "(sensitive value)";

/// Replaces the parts of `value` that `mask` marks sensitive (`true` at a path) with [`MASK`].
fn apply_mask(value: &mut Value, mask: &Value) {
    match mask {
        Value::Bool(true) if !value.is_null() => {
            *value = Value::String(MASK.into());
        }
        Value::Object(m) => {
            if let Value::Object(v) = value {
                for (k, sub) in m {
                    if let Some(inner) = v.get_mut(k) {
                        apply_mask(inner, sub);
                    }
                }
            }
        }
        Value::Array(m) => {
            if let Value::Array(v) = value {
                for (inner, sub) in v.iter_mut().zip(m) {
                    apply_mask(inner, sub);
                }
            }
        }
        _ => {}
    }
}

fn mask_change(change: &mut Value) {
    let Some(obj) = change.as_object_mut() else {
        return;
    };
    for (val, sens) in [("before", "before_sensitive"), ("after", "after_sensitive")] {
        let mask = obj.get(sens).cloned().unwrap_or(Value::Null);
        if let Some(v) = obj.get_mut(val) {
            apply_mask(v, &mask);
        }
    }
}

/// Masks resource values of a `values` module tree (`planned_values`, `prior_state.values`).
fn mask_module(module: &mut Value) {
    if let Some(resources) = module.get_mut("resources").and_then(Value::as_array_mut) {
        for r in resources {
            let mask = r.get("sensitive_values").cloned().unwrap_or(Value::Null);
            if let Some(values) = r.get_mut("values") {
                apply_mask(values, &mask);
            }
        }
    }
    if let Some(children) = module
        .get_mut("child_modules")
        .and_then(Value::as_array_mut)
    {
        for c in children {
            mask_module(c);
        }
    }
}

fn mask_outputs(outputs: Option<&mut Value>) {
    let Some(Value::Object(outputs)) = outputs.map(|o| &mut *o) else {
        return;
    };
    for o in outputs.values_mut() {
        if o.get("sensitive").and_then(Value::as_bool) == Some(true)
            && let Some(v) = o.get_mut("value")
        {
            *v = Value::String(MASK.into());
        }
    }
}

fn mask_values(values: Option<&mut Value>) {
    let Some(values) = values else { return };
    mask_outputs(values.get_mut("outputs"));
    if let Some(root) = values.get_mut("root_module") {
        mask_module(root);
    }
}

/// Returns a copy of a `show -json` plan document with every value Terraform marks sensitive
/// replaced by [`MASK`]: resource and output changes (by `before_sensitive`/`after_sensitive`),
/// planned and prior values (by `sensitive_values` and output `sensitive`), and the values of
/// variables declared `sensitive`.
pub fn redact_sensitive_plan(plan: &Value) -> Value {
    let mut plan = plan.clone();
    for list in ["resource_changes", "resource_drift"] {
        if let Some(items) = plan.get_mut(list).and_then(Value::as_array_mut) {
            for rc in items {
                if let Some(c) = rc.get_mut("change") {
                    mask_change(c);
                }
            }
        }
    }
    if let Some(Value::Object(outputs)) = plan.get_mut("output_changes") {
        for c in outputs.values_mut() {
            mask_change(c);
        }
    }
    mask_values(plan.get_mut("planned_values"));
    mask_values(
        plan.get_mut("prior_state")
            .and_then(|p| p.get_mut("values")),
    );
    let sensitive_vars: Vec<String> = plan
        .pointer("/configuration/root_module/variables")
        .and_then(Value::as_object)
        .map(|vars: &Map<String, Value>| {
            vars.iter()
                .filter(|(_, v)| v.get("sensitive").and_then(Value::as_bool) == Some(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(vars)) = plan.get_mut("variables") {
        for name in sensitive_vars {
            if let Some(v) = vars.get_mut(&name).and_then(|v| v.get_mut("value")) {
                *v = Value::String(MASK.into());
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sensitive_values_are_masked() {
        let plan = json!({
            "variables": {"pw": {"value": "hunter2"}, "name": {"value": "n"}},
            "configuration": {"root_module": {"variables": {"pw": {"sensitive": true}, "name": {}}}},
            "planned_values": {"outputs": {"pw": {"sensitive": true, "value": "hunter2"}},
                "root_module": {"resources": [{"values": {"input": "hunter2", "x": 1}, "sensitive_values": {"input": true}}]}},
            "resource_changes": [{"change": {"actions": ["create"], "before": null,
                "after": {"input": "hunter2", "list": ["a", "hunter2"]},
                "after_sensitive": {"input": true, "list": [false, true]}}}],
            "output_changes": {"pw": {"actions": ["create"], "after": "hunter2", "after_sensitive": true}},
            "prior_state": {"values": {"outputs": {"pw": {"sensitive": true, "value": "hunter2"}}}}
        });
        let masked = redact_sensitive_plan(&plan);
        assert!(!masked.to_string().contains("hunter2"), "{masked}");
        assert_eq!(masked["variables"]["name"]["value"], "n");
        assert_eq!(
            masked["resource_changes"][0]["change"]["after"]["list"][0],
            "a"
        );
        assert_eq!(
            masked["planned_values"]["root_module"]["resources"][0]["values"]["x"],
            1
        );
    }
}
