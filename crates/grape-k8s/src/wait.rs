//! Bounded waits that say how they are doing, and deletion that waits until objects are gone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::DeleteParams;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::client::cancellable;
use crate::error::from_kube;
use crate::{K8s, K8sError, ObjectRef};

/// Where an object stands against a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The condition holds.
    Ready,
    /// Not yet; the text says what the object's state is.
    Pending(String),
    /// It will not hold without someone acting; the text says why.
    Failed(String),
}

/// A condition over the object as the server has it (`None`: it does not exist).
pub type Condition = Arc<dyn Fn(Option<&Value>) -> Check + Send + Sync>;

/// One object to wait for and its condition.
#[derive(Clone)]
pub struct WaitTarget {
    /// The object.
    pub object: ObjectRef,
    /// When it is ready.
    pub condition: Condition,
}

impl std::fmt::Debug for WaitTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitTarget")
            .field("object", &self.object)
            .finish_non_exhaustive()
    }
}

impl WaitTarget {
    /// `object` until `condition` holds.
    pub fn new(object: ObjectRef, condition: Condition) -> Self {
        Self { object, condition }
    }
}

/// How long and how often.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// The bound: past it the wait fails naming each object not ready.
    pub timeout: Duration,
    /// Time between two looks (default 2 s).
    pub poll: Duration,
    /// A progress line at least this often while nothing changes (default 30 s), so a healthy
    /// long wait is never silent; a change of state is reported at once.
    pub progress_every: Duration,
}

impl WaitOptions {
    /// A wait of at most `timeout`, with the default poll and progress intervals.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            poll: Duration::from_secs(2),
            progress_every: Duration::from_secs(30),
        }
    }
}

/// `status.conditions[type=TYPE].status == "True"` (CRD `Established`, Deployment `Available`…).
pub fn condition_true(condition: &str) -> Condition {
    let wanted = condition.to_owned();
    Arc::new(move |object| {
        let Some(object) = object else {
            return Check::Pending("not found".into());
        };
        let found = object["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == wanted.as_str());
        match found {
            Some(c) if c["status"] == "True" => Check::Ready,
            Some(c) => Check::Pending(format!(
                "{wanted}={}{}",
                c["status"].as_str().unwrap_or("?"),
                c["reason"]
                    .as_str()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )),
            None => Check::Pending(format!("no {wanted} condition yet")),
        }
    })
}

/// An ArgoCD Application that is `Synced` and `Healthy`. ArgoCD may recover a `Degraded` app,
/// so it is pending until the wait's bound.
pub fn application_synced_healthy() -> Condition {
    Arc::new(|object| {
        let Some(object) = object else {
            return Check::Pending("not found".into());
        };
        let sync = object["status"]["sync"]["status"]
            .as_str()
            .unwrap_or("Unknown");
        let health = object["status"]["health"]["status"]
            .as_str()
            .unwrap_or("Unknown");
        if sync == "Synced" && health == "Healthy" {
            Check::Ready
        } else {
            Check::Pending(format!("sync {sync}, health {health}"))
        }
    })
}

/// The object no longer exists.
pub fn gone() -> Condition {
    Arc::new(|object| match object {
        None => Check::Ready,
        Some(o) if o["metadata"]["deletionTimestamp"].is_string() => {
            Check::Pending("being deleted".into())
        }
        Some(_) => Check::Pending("still there".into()),
    })
}

impl K8s {
    /// Waits until every target's condition holds, at most `options.timeout`. `progress` gets a
    /// line when the wait starts, whenever an object's state changes, and at least every
    /// `options.progress_every`. Fails with [`K8sError::Timeout`] naming each object not ready
    /// and its last state, [`K8sError::Failed`] for a failed check, [`K8sError::Cancelled`]
    /// promptly when `cancel` fires.
    pub async fn wait_all(
        &self,
        step: &str,
        targets: &[WaitTarget],
        options: &WaitOptions,
        progress: &(dyn Fn(&str) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<(), K8sError> {
        let start = Instant::now();
        let mut last_summary = String::new();
        let mut last_line = start;
        loop {
            let mut pending = Vec::new();
            for target in targets {
                let object = match self.get(&target.object, cancel).await {
                    Ok(found) => found,
                    Err(K8sError::UnknownKind { .. }) => None,
                    Err(K8sError::Cancelled { .. }) => {
                        return Err(K8sError::Cancelled {
                            step: step.to_owned(),
                        });
                    }
                    Err(e) => return Err(e),
                };
                match (target.condition)(object.as_ref()) {
                    Check::Ready => {}
                    Check::Pending(state) => pending.push(format!("{}: {state}", target.object)),
                    Check::Failed(reason) => {
                        return Err(K8sError::Failed {
                            step: step.to_owned(),
                            object: target.object.to_string(),
                            reason,
                        });
                    }
                }
            }
            let waited = start.elapsed();
            if pending.is_empty() {
                progress(&format!(
                    "{step}: {} ready after {:.1}s",
                    plural(targets.len()),
                    waited.as_secs_f64()
                ));
                return Ok(());
            }
            let summary = pending.join("; ");
            if summary != last_summary || last_line.elapsed() >= options.progress_every {
                progress(&format!(
                    "{step}: waiting for {} of {} ({}s of {}s): {summary}",
                    pending.len(),
                    plural(targets.len()),
                    waited.as_secs(),
                    options.timeout.as_secs()
                ));
                last_summary = summary;
                last_line = Instant::now();
            }
            if waited >= options.timeout {
                return Err(K8sError::Timeout {
                    step: step.to_owned(),
                    waited,
                    pending,
                });
            }
            let nap = options
                .poll
                .max(Duration::from_millis(100))
                .min(options.timeout.saturating_sub(waited));
            cancellable(cancel, step, tokio::time::sleep(nap)).await?;
        }
    }

    /// Deletes `objects` (foreground propagation: dependents first) and waits, at most
    /// `options.timeout`, until they are gone. Absent objects are fine (re-runnable); returns
    /// the ones that existed.
    pub async fn delete(
        &self,
        step: &str,
        objects: &[ObjectRef],
        options: &WaitOptions,
        progress: &(dyn Fn(&str) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<Vec<ObjectRef>, K8sError> {
        let mut existed = Vec::new();
        for object in objects {
            let api = match self.api("delete", object, cancel).await {
                Ok(api) => api,
                // No such kind (its CRD is gone): no such object either.
                Err(K8sError::UnknownKind { .. }) => continue,
                Err(e) => return Err(e),
            };
            let params = DeleteParams::foreground();
            match cancellable(cancel, "delete", api.delete(&object.name, &params)).await? {
                Ok(_) => existed.push(object.clone()),
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(e) => {
                    return Err(from_kube(
                        "delete",
                        &object.to_string(),
                        self.endpoint(),
                        e,
                        &[],
                    ));
                }
            }
        }
        let targets: Vec<WaitTarget> = objects
            .iter()
            .map(|o| WaitTarget::new(o.clone(), gone()))
            .collect();
        self.wait_all(step, &targets, options, progress, cancel)
            .await?;
        Ok(existed)
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 object".into()
    } else {
        format!("{n} objects")
    }
}
