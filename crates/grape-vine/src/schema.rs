//! The JSON Schema of a vine, generated from the model's types (schemars) plus the rules
//! between fields that the types cannot carry (written once, from [`crate::rules`]).

use schemars::Schema;
use serde_json::{Value, json};

use crate::model::Vine;
use crate::rules::{PROVIDER_RULES, UUID_PATTERN};

/// The JSON Schema (draft 2020-12) of `vine.yaml`, as printed by `grape vine schema`.
pub fn vine_schema() -> Value {
    schemars::schema_for!(Vine).to_value()
}

/// The schema rules between fields: per-provider value shapes, AWS-only features, and the
/// network and DNS combinations. Applied to the root `Vine` schema by schemars.
pub(crate) fn add_cross_field_rules(schema: &mut Schema) {
    let per_provider: Vec<Value> = PROVIDER_RULES
        .iter()
        .map(|r| {
            let mut cluster = json!({"cluster_admins": {"items": {"pattern": r.admin.0}}});
            let mut dns = json!({"zone_id": {"pattern": r.zone_id.0}});
            if !r.aws_extras {
                cluster["enable_karpenter"] = json!({"const": false});
                dns["acm_certificate"] = json!({"const": false});
            }
            json!({
                "if": {"properties": {"provider": {"const": r.provider.as_str()}}, "required": ["provider"]},
                "then": {"properties": {
                    "region": {"pattern": r.region.0},
                    "cluster": {"properties": cluster},
                    "network": {"properties": {"network_id": {"pattern": r.network_id.0}}},
                    "dns": {"properties": dns},
                }},
            })
        })
        .collect();
    let network = json!({"properties": {"network": {"allOf": [
        {"not": {
            "required": ["provision_network", "network_id"],
            "properties": {"provision_network": {"const": true}, "network_id": {"type": "string"}},
        }},
        {
            "if": {"required": ["provision_network"], "properties": {"provision_network": {"const": false}}},
            "then": {"required": ["network_id"], "properties": {"network_id": {"type": "string"}}},
        },
    ]}}});
    let dns = json!({"properties": {"dns": {"allOf": [
        {
            "if": {"required": ["enabled"], "properties": {"enabled": {"const": true}}},
            "then": {"required": ["domain_name"], "properties": {"domain_name": {"type": "string"}}},
        },
        {
            "if": {"required": ["acm_certificate"], "properties": {"acm_certificate": {"const": true}}},
            "then": {"required": ["enabled"], "properties": {"enabled": {"const": true}}},
        },
    ]}}});
    let id =
        json!({"properties": {"cloud_identity_id": {"type": "string", "pattern": UUID_PATTERN}}});
    let mut all = per_provider;
    all.extend([network, dns, id]);
    schema.insert("allOf".into(), Value::Array(all));
    schema.insert(
        "$comment".into(),
        json!("node_min_size <= node_desired_size <= node_max_size is checked by the parser only: JSON Schema cannot compare fields"),
    );
}
