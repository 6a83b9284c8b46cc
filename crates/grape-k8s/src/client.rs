//! [`K8s`]: a client for one cluster whose bearer token is renewed before it expires.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::error::from_kube;
use crate::{ClusterAccess, K8sError, ObjectRef, TokenSource};

/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "vintner";

/// Client settings; the defaults suit a real cluster.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Ask the token source for a new token when the current one expires within this
    /// (default 2 minutes; an EKS token lives about 14).
    pub refresh_margin: Duration,
    /// Connection timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Timeout of one request (default 60 s).
    pub request_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            refresh_margin: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// A client of one cluster.
pub struct K8s {
    access: ClusterAccess,
    tokens: Arc<dyn TokenSource>,
    options: ClientOptions,
    current: Mutex<Option<(kube::Client, Option<DateTime<Utc>>)>>,
    kinds: Mutex<HashMap<(String, String), (ApiResource, bool)>>,
    token_renewals: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for K8s {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("K8s")
            .field("access", &self.access)
            .field("tokens", &self.tokens)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl K8s {
    /// A client of the cluster at `access`, authenticating with tokens from `tokens`. Nothing
    /// is contacted until the first call.
    pub fn new(access: ClusterAccess, tokens: Arc<dyn TokenSource>) -> Self {
        Self::with_options(access, tokens, ClientOptions::default())
    }

    /// [`K8s::new`] with settings.
    pub fn with_options(
        access: ClusterAccess,
        tokens: Arc<dyn TokenSource>,
        options: ClientOptions,
    ) -> Self {
        Self {
            access,
            tokens,
            options,
            current: Mutex::new(None),
            kinds: Mutex::new(HashMap::new()),
            token_renewals: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The API server URL.
    pub fn endpoint(&self) -> &str {
        self.access.endpoint()
    }

    /// How many tokens were fetched from the token source so far.
    pub fn tokens_fetched(&self) -> u64 {
        self.token_renewals
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The API server's version (`/version` `gitVersion`), e.g. `v1.20.2`: a cheap reachability
    /// and authentication check.
    pub async fn server_version(&self, cancel: &CancellationToken) -> Result<String, K8sError> {
        let client = self.client().await?;
        let info = cancellable(cancel, "server version", client.apiserver_version())
            .await?
            .map_err(|e| from_kube("read version", "/version", self.endpoint(), e, &[]))?;
        Ok(info.git_version)
    }

    /// A kube client with a token valid for a while yet (renewed within the refresh margin).
    pub async fn client(&self) -> Result<kube::Client, K8sError> {
        let mut current = self.current.lock().await;
        if let Some((client, expires)) = current.as_ref() {
            let margin = chrono::Duration::from_std(self.options.refresh_margin)
                .unwrap_or(chrono::Duration::MAX);
            if expires.is_none_or(|at| at - Utc::now() > margin) {
                return Ok(client.clone());
            }
        }
        let token = self.tokens.token().await.map_err(K8sError::Token)?;
        self.token_renewals
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let client = self.build(token.token.expose())?;
        *current = Some((client.clone(), token.expires_at));
        Ok(client)
    }

    /// A kubeconfig for a tool (Helm) with a token fresh from the token source, and that token
    /// (to redact from the tool's output). Both are secrets.
    pub async fn kubeconfig(&self) -> Result<(grape_api::Secret, grape_api::Secret), K8sError> {
        let token = self.tokens.token().await.map_err(K8sError::Token)?;
        self.token_renewals
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok((self.access.kubeconfig(&token.token), token.token))
    }

    fn build(&self, token: &str) -> Result<kube::Client, K8sError> {
        let failed = |detail: String| K8sError::Client {
            endpoint: self.endpoint().to_owned(),
            detail,
        };
        let uri: http::Uri = self
            .endpoint()
            .parse()
            .map_err(|e| failed(format!("not a URL: {e}")))?;
        let mut config = kube::Config::new(uri);
        config.root_cert = Some(self.access.ca_der().to_vec());
        config.connect_timeout = Some(self.options.connect_timeout);
        config.read_timeout = Some(self.options.request_timeout);
        config.write_timeout = Some(self.options.request_timeout);
        let mut value = http::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| failed("the token is not a valid header value".into()))?;
        value.set_sensitive(true);
        config.headers = vec![(http::header::AUTHORIZATION, value)];
        kube::Client::try_from(config).map_err(|e| failed(e.to_string()))
    }

    /// The served resource of `object`'s kind (discovery, cached) and whether it is namespaced.
    pub(crate) async fn resource(
        &self,
        step: &'static str,
        object: &ObjectRef,
        cancel: &CancellationToken,
    ) -> Result<(ApiResource, bool), K8sError> {
        let key = (object.api_version.clone(), object.kind.clone());
        if let Some(found) = self.kinds.lock().await.get(&key) {
            return Ok(found.clone());
        }
        let client = self.client().await?;
        let (group, version) = match object.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", object.api_version.as_str()),
        };
        let gvk = kube::api::GroupVersionKind::gvk(group, version, &object.kind);
        let unknown = || K8sError::UnknownKind {
            step,
            object: object.to_string(),
            api_version: object.api_version.clone(),
            kind: object.kind.clone(),
        };
        let found: Result<(ApiResource, ApiCapabilities), kube::Error> =
            cancellable(cancel, step, kube::discovery::pinned_kind(&client, &gvk)).await?;
        let (resource, caps) = match found {
            Ok(found) => found,
            Err(kube::Error::Discovery(_)) => return Err(unknown()),
            Err(kube::Error::Api(status)) if status.code == 404 => return Err(unknown()),
            Err(e) => {
                return Err(from_kube(
                    step,
                    &object.to_string(),
                    self.endpoint(),
                    e,
                    &[],
                ));
            }
        };
        let namespaced = caps.scope == Scope::Namespaced;
        self.kinds
            .lock()
            .await
            .insert(key, (resource.clone(), namespaced));
        Ok((resource, namespaced))
    }

    /// Forgets discovered kinds (after CRDs were applied or deleted).
    pub(crate) async fn forget_kinds(&self) {
        self.kinds.lock().await.clear();
    }

    /// The dynamic API of `object` (its namespace checked against the kind's scope).
    pub(crate) async fn api(
        &self,
        step: &'static str,
        object: &ObjectRef,
        cancel: &CancellationToken,
    ) -> Result<kube::Api<kube::api::DynamicObject>, K8sError> {
        let (resource, namespaced) = self.resource(step, object, cancel).await?;
        let client = self.client().await?;
        match (&object.namespace, namespaced) {
            (Some(ns), true) => Ok(kube::Api::namespaced_with(client, ns, &resource)),
            // A cluster-scoped kind: a namespace given anyway is ignored, as the server does.
            (_, false) => Ok(kube::Api::all_with(client, &resource)),
            (None, true) => Err(K8sError::Manifest {
                index: object.index,
                problem: format!(
                    "{object}: {} is namespaced but has no metadata.namespace",
                    object.kind
                ),
            }),
        }
    }
}

/// Runs `fut` unless `cancel` fires first.
pub(crate) async fn cancellable<T>(
    cancel: &CancellationToken,
    step: &str,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, K8sError> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(K8sError::Cancelled { step: step.to_owned() }),
        out = fut => Ok(out),
    }
}
