//! Naming objects: [`ObjectRef`], and reading manifests (JSON values or multi-document YAML).

use serde_json::Value;

use crate::K8sError;

/// One object of the cluster: `apiVersion`, `kind`, namespace (for namespaced kinds), name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// `apiVersion`, e.g. `apps/v1`, `v1`, `argoproj.io/v1alpha1`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// The manifest's position where it came from one (for error messages).
    pub index: usize,
}

impl ObjectRef {
    /// A namespaced object.
    pub fn namespaced(api_version: &str, kind: &str, namespace: &str, name: &str) -> Self {
        Self {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
            index: 0,
        }
    }

    /// A cluster-scoped object.
    pub fn cluster(api_version: &str, kind: &str, name: &str) -> Self {
        Self {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: None,
            name: name.to_owned(),
            index: 0,
        }
    }

    /// The object a manifest describes; `index` is its position, for messages.
    pub fn of(manifest: &Value, index: usize) -> Result<Self, K8sError> {
        let text = |field: &str, value: &Value| -> Result<String, K8sError> {
            match value {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                Value::Null => Err(K8sError::Manifest {
                    index,
                    problem: format!("no {field}"),
                }),
                _ => Err(K8sError::Manifest {
                    index,
                    problem: format!("{field} is not a non-empty string"),
                }),
            }
        };
        if !manifest.is_object() {
            return Err(K8sError::Manifest {
                index,
                problem: "not a mapping".into(),
            });
        }
        Ok(Self {
            api_version: text("apiVersion", &manifest["apiVersion"])?,
            kind: text("kind", &manifest["kind"])?,
            namespace: manifest["metadata"]["namespace"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            name: text("metadata.name", &manifest["metadata"]["name"])?,
            index,
        })
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// The documents of a multi-document YAML text (empty documents skipped; a `List` kind is
/// flattened into its items).
pub fn parse_yaml(text: &str) -> Result<Vec<Value>, K8sError> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| K8sError::Manifest {
        index: 0,
        problem: format!("not YAML: {e}"),
    })?;
    let mut out = Vec::new();
    for doc in docs {
        match doc {
            Value::Null => {}
            Value::Object(ref map)
                if map
                    .get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.ends_with("List"))
                    && map.get("items").is_some_and(Value::is_array) =>
            {
                out.extend(map["items"].as_array().into_iter().flatten().cloned());
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn yaml_documents_lists_and_empty_ones() {
        let docs = parse_yaml(
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\n\
             apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: a}}\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        let r = ObjectRef::of(&docs[1], 1).unwrap();
        assert_eq!(r.to_string(), "ConfigMap a/c");
    }

    #[test]
    fn a_manifest_without_a_name_is_named_by_position() {
        let err = ObjectRef::of(&json!({"apiVersion": "v1", "kind": "Secret"}), 3).unwrap_err();
        assert_eq!(err.to_string(), "manifest 3: no metadata.name");
        let err = ObjectRef::of(&json!(["x"]), 0).unwrap_err();
        assert_eq!(err.to_string(), "manifest 0: not a mapping");
    }
}
