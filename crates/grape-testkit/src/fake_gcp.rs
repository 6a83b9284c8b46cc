//! [`FakeGcp`]: a small, strict stand-in for the Google endpoints a GCP identity needs — STS
//! token exchange, IAM Credentials `generateAccessToken`, Compute `networks.list` and
//! `subnetworks.aggregatedList`, Cloud DNS `managedZones.list` — on a free 127.0.0.1 port,
//! following the documented wire formats (`shared/guides/gcp-azure.md`, section 5).
//!
//! Strict: STS checks `grant_type`, `audience`, `subject_token_type`, `requested_token_type`
//! and the subject token itself (an AWS one must be a signed `GetCallerIdentity` whose signed
//! headers include `x-goog-cloud-target-resource` = the audience); IAM and the lists check the
//! bearer token is one this fake issued. Errors come as Google sends them, always 4xx (no
//! retries slow a test down). Lists serve pages of `maxResults` items.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::fake_server::FakeServer;

/// The subject tokens the fake accepts.
#[derive(Debug, Clone)]
pub enum ExpectedSubject {
    /// A signed AWS `GetCallerIdentity` request (`…:aws4_request`).
    Aws,
    /// This OIDC token (`…:jwt`).
    Jwt(String),
}

/// What the fake project holds and accepts.
#[derive(Debug, Clone)]
pub struct FakeGcpConfig {
    /// The workload identity pool provider audience it accepts.
    pub audience: String,
    /// The subject token it accepts.
    pub subject: ExpectedSubject,
    /// Service accounts that may be impersonated.
    pub service_accounts: Vec<String>,
    /// Service accounts that exist but refuse impersonation (403).
    pub denied_service_accounts: Vec<String>,
    /// The project id the lists answer for.
    pub project: String,
    /// Networks besides `default`.
    pub networks: usize,
    /// Subnetworks per network, each region in turn.
    pub regions: Vec<String>,
    /// Cloud DNS managed zones.
    pub zones: usize,
    /// Lifetime of every token issued, in seconds.
    pub token_lifetime: i64,
}

impl Default for FakeGcpConfig {
    fn default() -> Self {
        Self {
            audience: "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/vintner/providers/aws".into(),
            subject: ExpectedSubject::Aws,
            service_accounts: vec!["vintner@acme-prod.iam.gserviceaccount.com".into()],
            denied_service_accounts: vec!["locked@acme-prod.iam.gserviceaccount.com".into()],
            project: "acme-prod".into(),
            networks: 6,
            regions: vec!["us-central1".into(), "europe-west1".into()],
            zones: 5,
            token_lifetime: 3600,
        }
    }
}

#[derive(Debug, Default)]
struct Issued {
    federated: Vec<String>,
    impersonated: Vec<String>,
    requests: Vec<String>,
}

#[derive(Clone)]
struct Shared {
    config: Arc<FakeGcpConfig>,
    issued: Arc<Mutex<Issued>>,
}

/// A running fake; stops when dropped.
pub struct FakeGcp {
    url: String,
    shared: Shared,
    _server: FakeServer,
}

impl std::fmt::Debug for FakeGcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGcp")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl FakeGcp {
    /// Starts the fake on its own thread and runtime.
    pub fn start(config: FakeGcpConfig) -> Self {
        let shared = Shared {
            config: Arc::new(config),
            issued: Arc::default(),
        };
        let state = shared.clone();
        let server = FakeServer::start(Router::new().fallback(route).with_state(state), "fake GCP");
        let url = server.url().to_owned();
        Self {
            url,
            shared,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT`: the base of IAM Credentials, Compute and DNS.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The STS token endpoint.
    pub fn sts_url(&self) -> String {
        format!("{}/v1/token", self.url)
    }

    /// Every token issued so far (federated and impersonated), to check none leaked.
    pub fn issued_tokens(&self) -> Vec<String> {
        let issued = self.shared.issued.lock().expect("lock");
        issued
            .federated
            .iter()
            .chain(&issued.impersonated)
            .cloned()
            .collect()
    }

    /// How many STS exchanges succeeded.
    pub fn exchanges(&self) -> usize {
        self.shared.issued.lock().expect("lock").federated.len()
    }

    /// `METHOD /path?query` of every request, in order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.issued.lock().expect("lock").requests.clone()
    }
}

fn oauth_error(code: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

fn google_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": status.as_u16(), "message": message, "status": code}})),
    )
        .into_response()
}

async fn route(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    shared.issued.lock().expect("lock").requests.push(format!(
        "{method} {path}?{}",
        uri.query().unwrap_or_default()
    ));
    let config = &shared.config;
    let project = &config.project;
    if method == Method::POST && path == "/v1/token" {
        return sts(&shared, &body);
    }
    if method == Method::POST
        && let Some(account) = path
            .strip_prefix("/v1/projects/-/serviceAccounts/")
            .and_then(|p| p.strip_suffix(":generateAccessToken"))
    {
        return impersonate(&shared, account, &headers, &body);
    }
    if method != Method::GET {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such method");
    }
    if let Err(e) = check_final_token(&shared, &headers) {
        return e;
    }
    let size: usize = query
        .get("maxResults")
        .and_then(|n| n.parse().ok())
        .unwrap_or(500)
        .clamp(1, 500);
    let offset: usize = query
        .get("pageToken")
        .and_then(|t| t.strip_prefix("page-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let page = |all: Vec<Value>| {
        let next = (offset + size < all.len()).then(|| format!("page-{}", offset + size));
        let items: Vec<Value> = all.into_iter().skip(offset).take(size).collect();
        (items, next)
    };
    let base = "https://www.googleapis.com/compute/v1";
    if path == format!("/compute/v1/projects/{project}/global/networks") {
        let (items, next) = page(
            network_names(config)
                .iter()
                .map(|n| {
                    json!({"kind": "compute#network", "id": "1", "name": n,
                    "selfLink": format!("{base}/projects/{project}/global/networks/{n}"),
                    "autoCreateSubnetworks": n == "default"})
                })
                .collect(),
        );
        return axum::Json(
            json!({"kind": "compute#networkList", "items": items, "nextPageToken": next}),
        )
        .into_response();
    }
    if path == format!("/compute/v1/projects/{project}/aggregated/subnetworks") {
        if query.get("returnPartialSuccess").map(String::as_str) != Some("true") {
            return google_error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "returnPartialSuccess expected",
            );
        }
        let all: Vec<Value> = network_names(config)
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let region = &config.regions[i % config.regions.len()];
                json!({"kind": "compute#subnetwork", "name": format!("{n}-{region}"),
                    "region": format!("{base}/projects/{project}/regions/{region}"),
                    "network": format!("{base}/projects/{project}/global/networks/{n}"),
                    "ipCidrRange": format!("10.{i}.0.0/20")})
            })
            .collect();
        let (items, next) = page(all);
        let mut scoped = serde_json::Map::new();
        for item in items {
            let region = item["region"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            scoped
                .entry(format!("regions/{region}"))
                .or_insert_with(|| json!({"subnetworks": []}))["subnetworks"]
                .as_array_mut()
                .expect("array")
                .push(item);
        }
        scoped.insert(
            "regions/asia-east2".into(),
            json!({"warning": {"code": "NO_RESULTS_ON_PAGE",
            "message": "There are no results for scope 'regions/asia-east2' on this page.",
            "data": [{"key": "scope", "value": "regions/asia-east2"}]}}),
        );
        return axum::Json(json!({"kind": "compute#subnetworkAggregatedList", "items": scoped, "nextPageToken": next}))
            .into_response();
    }
    if path == format!("/dns/v1/projects/{project}/managedZones") {
        let (zones, next) = page(
            (0..config.zones)
                .map(|i| {
                    json!({"kind": "dns#managedZone", "name": format!("zone-{i}"),
                    "dnsName": format!("z{i}.example.com."), "id": format!("{}", 1000 + i),
                    "visibility": if i == 0 { "private" } else { "public" }})
                })
                .collect(),
        );
        return axum::Json(json!({"kind": "dns#managedZonesListResponse", "managedZones": zones, "nextPageToken": next}))
            .into_response();
    }
    google_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        &format!("no such resource {path}"),
    )
}

fn network_names(config: &FakeGcpConfig) -> Vec<String> {
    std::iter::once("default".to_owned())
        .chain((1..=config.networks).map(|i| format!("net-{i}")))
        .collect()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_owned)
}

#[allow(clippy::result_large_err)] // the error is the answer itself
fn check_final_token(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let issued = shared.issued.lock().expect("lock");
    let ok = bearer(headers)
        .is_some_and(|t| issued.impersonated.contains(&t) || issued.federated.contains(&t));
    if ok {
        Ok(())
    } else {
        Err(google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        ))
    }
}

fn sts(shared: &Shared, body: &[u8]) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let config = &shared.config;
    if field("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" {
        return oauth_error(
            "unsupported_grant_type",
            "Invalid value for \"grant_type\".",
        );
    }
    if field("requested_token_type") != "urn:ietf:params:oauth:token-type:access_token" {
        return oauth_error(
            "invalid_request",
            "Invalid value for \"requested_token_type\".",
        );
    }
    if field("scope").is_empty() {
        return oauth_error("invalid_scope", "A scope is required.");
    }
    let audience = field("audience");
    if !audience.starts_with("//iam.googleapis.com/") {
        return oauth_error(
            "invalid_request",
            "Invalid value for \"audience\". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.",
        );
    }
    if audience != config.audience {
        return oauth_error(
            "invalid_target",
            "The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.",
        );
    }
    let subject = field("subject_token");
    let accepted = match &config.subject {
        ExpectedSubject::Aws => {
            field("subject_token_type") == "urn:ietf:params:aws:token-type:aws4_request"
                && aws_subject_ok(subject, audience)
        }
        ExpectedSubject::Jwt(token) => {
            field("subject_token_type") == "urn:ietf:params:oauth:token-type:jwt"
                && subject == token
        }
    };
    if !accepted {
        return oauth_error(
            "invalid_grant",
            "The audience in ID Token [] does not match the expected audience, or the subject token is invalid.",
        );
    }
    let mut issued = shared.issued.lock().expect("lock");
    let token = format!(
        "ya29.fed-{}-{}",
        issued.federated.len(),
        uuid::Uuid::new_v4().simple()
    );
    issued.federated.push(token.clone());
    axum::Json(json!({"access_token": token,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "token_type": "Bearer", "expires_in": config.token_lifetime}))
    .into_response()
}

/// A URL-encoded, SigV4-signed `GetCallerIdentity` bound to `audience`.
fn aws_subject_ok(token: &str, audience: &str) -> bool {
    let Ok(text) = percent_encoding::percent_decode_str(token).decode_utf8() else {
        return false;
    };
    let Ok(doc) = serde_json::from_str::<Value>(&text) else {
        return false;
    };
    let header = |name: &str| {
        doc["headers"].as_array().and_then(|hs| {
            hs.iter()
                .find(|h| {
                    h["key"]
                        .as_str()
                        .is_some_and(|k| k.eq_ignore_ascii_case(name))
                })
                .and_then(|h| h["value"].as_str())
                .map(str::to_owned)
        })
    };
    let auth = header("authorization").unwrap_or_default();
    doc["method"] == "POST"
        && doc["url"].as_str().is_some_and(|u| {
            u.starts_with("https://sts.") && u.contains("Action=GetCallerIdentity")
        })
        && header("x-goog-cloud-target-resource").as_deref() == Some(audience)
        && header("x-amz-date").is_some()
        && auth.starts_with("AWS4-HMAC-SHA256 Credential=")
        && auth.contains("/sts/aws4_request")
        && auth.contains("x-goog-cloud-target-resource")
        && auth.contains("Signature=")
}

fn impersonate(shared: &Shared, account: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let config = &shared.config;
    let mut issued = shared.issued.lock().expect("lock");
    if !bearer(headers).is_some_and(|t| issued.federated.contains(&t)) {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    }
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if request["scope"].as_array().is_none_or(Vec::is_empty) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "scope is required",
        );
    }
    if config.denied_service_accounts.iter().any(|a| a == account) {
        return google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
        );
    }
    if !config.service_accounts.iter().any(|a| a == account) {
        return google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("Not found; Gaia id not found for email {account}"),
        );
    }
    let token = format!(
        "ya29.sa-{}-{}",
        issued.impersonated.len(),
        uuid::Uuid::new_v4().simple()
    );
    issued.impersonated.push(token.clone());
    let expire = (chrono::Utc::now() + chrono::Duration::seconds(config.token_lifetime))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    axum::Json(json!({"accessToken": token, "expireTime": expire})).into_response()
}
