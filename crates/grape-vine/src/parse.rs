//! Reading a vine from YAML or JSON text.
//!
//! The text is first read into a JSON value (YAML through serde-saphyr, a maintained YAML 1.2
//! parser; serde_yaml is archived), then deserialized through serde_path_to_error, so a wrong
//! type, an unknown field or a missing field names its path; then [`crate::rules::validate`]
//! checks the values. The JSON Schema ([`crate::vine_schema`]) is checked against the same
//! intermediate value in the tests.

use serde_json::Value;

use crate::error::{Problem, VineError};
use crate::model::Vine;
use crate::rules;

/// The notation of a vine file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML 1.2 (a superset of JSON).
    Yaml,
    /// JSON.
    Json,
}

impl Format {
    /// The format of a file by its name: `.json` is JSON, anything else YAML.
    pub fn from_file_name(name: &str) -> Self {
        if name.to_ascii_lowercase().ends_with(".json") {
            Self::Json
        } else {
            Self::Yaml
        }
    }
}

/// Reads `text` in `format` into the plain JSON value the model is deserialized from.
pub fn parse_document(text: &str, format: Format) -> Result<Value, VineError> {
    match format {
        Format::Json => serde_json::from_str(text).map_err(|e| VineError::Syntax {
            format: "JSON",
            message: e.to_string(),
        }),
        Format::Yaml => {
            let value: Option<Value> =
                serde_saphyr::from_str(text).map_err(|e| VineError::Syntax {
                    format: "YAML",
                    message: e.to_string(),
                })?;
            Ok(value.unwrap_or(Value::Null))
        }
    }
}

/// Reads and checks a vine.
pub fn parse_vine(text: &str, format: Format) -> Result<Vine, VineError> {
    vine_from_value(parse_document(text, format)?)
}

/// Deserializes and checks a vine from a JSON value (e.g. a job payload's `vine`).
pub fn vine_from_value(value: Value) -> Result<Vine, VineError> {
    if !value.is_object() {
        return Err(VineError::Invalid {
            problems: vec![Problem::new(
                "(root)",
                "a vine is a mapping with project_name, environment_stage, region, provider, cloud_identity_id and cluster",
            )],
        });
    }
    let vine: Vine = serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let path = if path == "." {
            "(root)".to_owned()
        } else {
            path
        };
        let mut message = err.into_inner().to_string();
        if path == "cluster.cluster_version" && !message.contains("string \"") {
            // `cluster_version: 1.30` is the number 1.3 in YAML.
            message.push_str(": quote the version, e.g. cluster_version: \"1.31\"");
        }
        VineError::Invalid {
            problems: vec![Problem::new(path, message)],
        }
    })?;
    let problems = rules::validate(&vine);
    if problems.is_empty() {
        Ok(vine)
    } else {
        Err(VineError::Invalid { problems })
    }
}
