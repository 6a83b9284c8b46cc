//! ArgoCD where none can run: a small local chart standing in for the real `argo-cd` chart
//! (same release name, namespace and values shape; it installs the minimal CRDs, an
//! `argocd-server` Deployment and Service and the `argocd-cm` ConfigMap from the values) and
//! [`ArgoCdPlayer`], a background task that plays ArgoCD's controller on the test API server:
//! it marks each Application Synced and Healthy (or what the test asks for) and finishes the
//! deletion of Applications by removing their resources finalizer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::TestkitError;
use crate::kube::{ARGOCD_MIN_CRDS, KubeApi};
use crate::kube_namespace::client;

const CHART_YAML: &str = "apiVersion: v2\nname: argo-cd\ndescription: A stand-in for argo-helm's argo-cd chart (tests only)\nversion: 0.0.1-standin\nappVersion: standin\n";

const VALUES_YAML: &str = "fullnameOverride: argocd\nglobal:\n  domain: argocd.local\nconfigs:\n  cm: {}\n  params: {}\nserver:\n  service:\n    type: ClusterIP\n";

const SERVER_YAML: &str = r"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.fullnameOverride }}-server
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: {{ .Values.fullnameOverride }}-server}
  template:
    metadata:
      labels: {app.kubernetes.io/name: {{ .Values.fullnameOverride }}-server}
    spec:
      containers:
      - name: server
        image: quay.io/argoproj/argocd:standin
        ports: [{containerPort: 8080, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Values.fullnameOverride }}-server
spec:
  type: {{ .Values.server.service.type }}
  selector: {app.kubernetes.io/name: {{ .Values.fullnameOverride }}-server}
  ports:
  - {name: https, port: 443, targetPort: 8080, protocol: TCP}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
data:
  global.domain: {{ .Values.global.domain | quote }}
{{- range $k, $v := .Values.configs.cm }}
  {{ $k }}: {{ $v | toString | quote }}
{{- end }}
";

/// Writes the stand-in ArgoCD chart under `dir` and returns its directory.
pub fn argocd_standin_chart(dir: &Path) -> Result<PathBuf, TestkitError> {
    let chart = dir.join("argo-cd-standin");
    for (path, text) in [
        ("Chart.yaml", CHART_YAML),
        ("values.yaml", VALUES_YAML),
        ("templates/server.yaml", SERVER_YAML),
        ("crds/argocd-min-crds.yaml", ARGOCD_MIN_CRDS),
    ] {
        let path = chart.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| TestkitError::io(format!("cannot create {}", parent.display()), e))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| TestkitError::io(format!("cannot write {}", path.display()), e))?;
    }
    Ok(chart)
}

/// What the player reports for an Application: `(sync, health)`.
pub type AppState = (&'static str, &'static str);

/// Plays ArgoCD's Application controller in namespace `argocd` until dropped.
#[derive(Debug)]
pub struct ArgoCdPlayer {
    states: Arc<Mutex<BTreeMap<String, AppState>>>,
    seen: Arc<Mutex<Vec<String>>>,
    finalize: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

const APPS: &str = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications";

impl ArgoCdPlayer {
    /// Starts playing: every Application becomes `Synced`/`Healthy` unless
    /// [`ArgoCdPlayer::set`] says otherwise; deleted ones lose their finalizers.
    pub fn start(api: &KubeApi) -> Result<Self, TestkitError> {
        let http = client(api.ca_pem())?;
        let (url, token) = (api.url(), api.token().to_owned());
        let states: Arc<Mutex<BTreeMap<String, AppState>>> = Arc::default();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let finalize = Arc::new(AtomicBool::new(true));
        let (task_states, task_seen, task_finalize) =
            (states.clone(), seen.clone(), finalize.clone());
        let task = tokio::spawn(async move {
            loop {
                let listed = http
                    .get(format!("{url}{APPS}"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                if let Ok(answer) = listed
                    && answer.status().is_success()
                    && let Ok(list) = answer.json::<Value>().await
                {
                    for app in list["items"].as_array().into_iter().flatten() {
                        let name = app["metadata"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        {
                            let mut seen = task_seen.lock().unwrap();
                            if !seen.contains(&name) {
                                seen.push(name.clone());
                            }
                        }
                        let patch = if app["metadata"]["deletionTimestamp"].is_string() {
                            if !task_finalize.load(Ordering::Relaxed) {
                                continue;
                            }
                            json!({"metadata": {"finalizers": null}})
                        } else {
                            let (sync, health) = task_states
                                .lock()
                                .unwrap()
                                .get(&name)
                                .copied()
                                .unwrap_or(("Synced", "Healthy"));
                            if app["status"]["sync"]["status"] == sync
                                && app["status"]["health"]["status"] == health
                            {
                                continue;
                            }
                            json!({"status": {"sync": {"status": sync}, "health": {"status": health}}})
                        };
                        let _ = http
                            .patch(format!("{url}{APPS}/{name}"))
                            .bearer_auth(&token)
                            .header("content-type", "application/merge-patch+json")
                            .body(patch.to_string())
                            .send()
                            .await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Ok(Self {
            states,
            seen,
            finalize,
            task,
        })
    }

    /// From now on, Application `name` is reported as `state`.
    pub fn set(&self, name: &str, state: AppState) {
        self.states.lock().unwrap().insert(name.to_owned(), state);
    }

    /// Whether deleted Applications lose their finalizer (default); `false` leaves them
    /// stuck being deleted, as an ArgoCD that cannot prune would.
    pub fn set_finalizing(&self, on: bool) {
        self.finalize.store(on, Ordering::Relaxed);
    }

    /// The Applications seen so far, in the order they appeared.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for ArgoCdPlayer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
