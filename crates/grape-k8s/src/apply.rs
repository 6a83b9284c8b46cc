//! Server-side apply (field manager `vintner`) of manifests, namespaces and secrets.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use grape_api::Secret;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::client::{FIELD_MANAGER, cancellable};
use crate::error::from_kube;
use crate::wait::{WaitOptions, WaitTarget, condition_true};
use crate::{K8s, K8sError, ObjectRef, parse_yaml};

/// How long applying a CRD waits for it to be `Established` before objects of it are applied.
const CRD_ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(60);

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did not exist.
    Created,
    /// It changed.
    Configured,
    /// It was already as applied (its `resourceVersion` did not move).
    Unchanged,
}

/// One applied object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The object.
    pub object: ObjectRef,
    /// What happened.
    pub outcome: Outcome,
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.outcome {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
        };
        write!(f, "{} {what}", self.object)
    }
}

/// A Secret to apply; its values are [`Secret`]s (hidden in `Debug`, never in errors).
#[derive(Debug, Clone, Default)]
pub struct SecretObject {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `type` (default `Opaque`).
    pub secret_type: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// The data, by key.
    pub data: BTreeMap<String, Secret>,
}

impl K8s {
    /// Server-side applies `manifests` (forcing ownership of conflicting fields, as the
    /// provisioner owns what it applies). Every manifest is checked before the first is sent;
    /// Namespaces and CRDs go first, and each CRD is waited for until `Established`.
    pub async fn apply(
        &self,
        manifests: &[Value],
        cancel: &CancellationToken,
    ) -> Result<Vec<Applied>, K8sError> {
        let refs = manifests
            .iter()
            .enumerate()
            .map(|(i, m)| ObjectRef::of(m, i))
            .collect::<Result<Vec<_>, _>>()?;
        let rank = |r: &ObjectRef| match r.kind.as_str() {
            "Namespace" => 0,
            "CustomResourceDefinition" => 1,
            _ => 2,
        };
        let mut order: Vec<usize> = (0..refs.len()).collect();
        order.sort_by_key(|i| rank(&refs[*i]));
        let mut applied = Vec::with_capacity(refs.len());
        for i in order {
            let done = self.apply_one(&refs[i], &manifests[i], cancel).await?;
            if refs[i].kind == "CustomResourceDefinition" {
                self.forget_kinds().await;
                let target = WaitTarget::new(refs[i].clone(), condition_true("Established"));
                let options = WaitOptions::new(CRD_ESTABLISHED_TIMEOUT);
                let quiet = |_: &str| {};
                self.wait_all("CRD established", &[target], &options, &quiet, cancel)
                    .await?;
                self.wait_served(&manifests[i], cancel).await?;
            }
            applied.push(done);
        }
        Ok(applied)
    }

    /// Waits (bounded) until discovery serves the kind an established CRD defines: the API
    /// server marks a CRD `Established` a moment before its discovery document lists it.
    async fn wait_served(&self, crd: &Value, cancel: &CancellationToken) -> Result<(), K8sError> {
        let spec = &crd["spec"];
        let (Some(group), Some(kind)) = (spec["group"].as_str(), spec["names"]["kind"].as_str())
        else {
            return Ok(());
        };
        let Some(version) = spec["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["served"] == true)
            .and_then(|v| v["name"].as_str())
        else {
            return Ok(());
        };
        let probe = ObjectRef::cluster(&format!("{group}/{version}"), kind, "probe");
        let start = std::time::Instant::now();
        loop {
            match self.resource("apply", &probe, cancel).await {
                Err(K8sError::UnknownKind { .. }) if start.elapsed() < CRD_ESTABLISHED_TIMEOUT => {
                    cancellable(
                        cancel,
                        "apply",
                        tokio::time::sleep(Duration::from_millis(200)),
                    )
                    .await?;
                }
                Ok(_) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// [`K8s::apply`] of a multi-document YAML text.
    pub async fn apply_yaml(
        &self,
        text: &str,
        cancel: &CancellationToken,
    ) -> Result<Vec<Applied>, K8sError> {
        self.apply(&parse_yaml(text)?, cancel).await
    }

    /// Creates the namespace `name` if it is not there (server-side apply).
    pub async fn ensure_namespace(
        &self,
        name: &str,
        cancel: &CancellationToken,
    ) -> Result<Applied, K8sError> {
        let manifest = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        self.apply_one(
            &ObjectRef::cluster("v1", "Namespace", name),
            &manifest,
            cancel,
        )
        .await
    }

    /// Applies a Secret. Its values never reach a log line or an error.
    pub async fn apply_secret(
        &self,
        secret: &SecretObject,
        cancel: &CancellationToken,
    ) -> Result<Applied, K8sError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let data: serde_json::Map<String, Value> = secret
            .data
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(b64.encode(v.expose()))))
            .collect();
        let manifest = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": secret.name,
                "namespace": secret.namespace,
                "labels": secret.labels,
                "annotations": secret.annotations,
            },
            "type": secret.secret_type.as_deref().unwrap_or("Opaque"),
            "data": data,
        });
        let object = ObjectRef::namespaced("v1", "Secret", &secret.namespace, &secret.name);
        self.apply_one(&object, &manifest, cancel).await
    }

    /// The object as the server has it; `None` when it does not exist.
    pub async fn get(
        &self,
        object: &ObjectRef,
        cancel: &CancellationToken,
    ) -> Result<Option<Value>, K8sError> {
        let api = self.api("get", object, cancel).await?;
        let found = cancellable(cancel, "get", api.get_opt(&object.name))
            .await?
            .map_err(|e| from_kube("get", &object.to_string(), self.endpoint(), e, &[]))?;
        Ok(found.map(|o| serde_json::to_value(o).unwrap_or_default()))
    }

    /// A JSON merge patch of `object` (e.g. an Application's `status` where no controller runs).
    pub async fn merge_patch(
        &self,
        object: &ObjectRef,
        patch: &Value,
        cancel: &CancellationToken,
    ) -> Result<Value, K8sError> {
        let api = self.api("patch", object, cancel).await?;
        let done = cancellable(
            cancel,
            "patch",
            api.patch(&object.name, &PatchParams::default(), &Patch::Merge(patch)),
        )
        .await?
        .map_err(|e| from_kube("patch", &object.to_string(), self.endpoint(), e, &[]))?;
        Ok(serde_json::to_value(done).unwrap_or_default())
    }

    async fn apply_one(
        &self,
        object: &ObjectRef,
        manifest: &Value,
        cancel: &CancellationToken,
    ) -> Result<Applied, K8sError> {
        let hide = secret_values(manifest);
        let hide: Vec<&str> = hide.iter().map(String::as_str).collect();
        let name = object.to_string();
        let api = self.api("apply", object, cancel).await?;
        let before = cancellable(cancel, "apply", api.get_opt(&object.name))
            .await?
            .map_err(|e| from_kube("apply", &name, self.endpoint(), e, &hide))?;
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let after = cancellable(
            cancel,
            "apply",
            api.patch(&object.name, &params, &Patch::Apply(manifest)),
        )
        .await?
        .map_err(|e| from_kube("apply", &name, self.endpoint(), e, &hide))?;
        let outcome = match before {
            None => Outcome::Created,
            Some(b) if unchanged(&b, &after, manifest) => Outcome::Unchanged,
            Some(_) => Outcome::Configured,
        };
        Ok(Applied {
            object: object.clone(),
            outcome,
        })
    }
}

/// Whether an apply left the object as it was. A kind with a `generation` (Deployments, CRDs …)
/// changed when its generation, its labels or the annotations the manifest sets did: its
/// controller updates the status and its own annotations between our read and our apply,
/// which moves the resource version without us. A kind without one (ConfigMap, Secret)
/// changed when its content, labels or annotations did — not its resource version: a 1.20 API
/// server rewrites an object for a no-op apply whose managedFields time crossed a second.
fn unchanged(
    before: &kube::api::DynamicObject,
    after: &kube::api::DynamicObject,
    manifest: &Value,
) -> bool {
    let (b, a) = (&before.metadata, &after.metadata);
    match (b.generation, a.generation) {
        (Some(bg), Some(ag)) => {
            let ours = manifest["metadata"]["annotations"].as_object();
            let same_annotations = ours.into_iter().flatten().all(|(key, _)| {
                let get = |m: &kube::api::ObjectMeta| {
                    m.annotations.as_ref().and_then(|a| a.get(key)).cloned()
                };
                get(b) == get(a)
            });
            bg == ag && b.labels == a.labels && same_annotations
        }
        _ => before.data == after.data && b.labels == a.labels && b.annotations == a.annotations,
    }
}

/// The values of a Secret manifest (`data` decoded and as given, `stringData`), to keep out of
/// error messages.
fn secret_values(manifest: &Value) -> Vec<String> {
    if manifest["kind"] != "Secret" {
        return Vec::new();
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut values = Vec::new();
    for field in ["data", "stringData"] {
        for v in manifest[field]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            if let Some(s) = v.as_str() {
                values.push(s.to_owned());
                if let Ok(decoded) = b64.decode(s)
                    && let Ok(text) = String::from_utf8(decoded)
                {
                    values.push(text);
                }
            }
        }
    }
    values
}
