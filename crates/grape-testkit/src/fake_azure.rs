//! [`FakeAzure`]: a small, strict stand-in for Microsoft Entra ID's token endpoint, the Resource
//! Manager calls an Azure identity needs (subscription, virtual networks, DNS zones, private DNS
//! zones) and AWS STS `GetWebIdentityToken` (moto lacks it), on a free 127.0.0.1 port,
//! following the documented wire formats (`shared/guides/gcp-azure.md`, section 5).
//!
//! Strict: the token endpoint checks every form field of a `client_assertion` request and
//! answers AADSTS errors as Entra does; ARM checks the bearer token and `api-version`, serves
//! lists in pages linked by `nextLink`, and can end one with a `nextLink` to another host.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::fake_server::FakeServer;

/// What the fake tenant holds and accepts.
#[derive(Debug, Clone)]
pub struct FakeAzureConfig {
    /// The tenant id.
    pub tenant: String,
    /// The app (client) id.
    pub client: String,
    /// The subscription.
    pub subscription: String,
    /// The client assertion the app's federated credential accepts.
    pub assertion: String,
    /// The token STS `GetWebIdentityToken` hands out (the worker's AWS identity).
    pub aws_web_identity_token: String,
    /// Whether the app has a role on the subscription.
    pub reader: bool,
    /// Virtual networks (two subnets each), served two per page.
    pub vnets: usize,
    /// Public DNS zones.
    pub zones: usize,
    /// End the virtual network list with a `nextLink` to another host.
    pub foreign_next_link: bool,
    /// Lifetime of every ARM token, in seconds.
    pub token_lifetime: i64,
}

impl Default for FakeAzureConfig {
    fn default() -> Self {
        Self {
            tenant: "11111111-2222-3333-4444-555555555555".into(),
            client: "66666666-7777-8888-9999-000000000000".into(),
            subscription: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into(),
            assertion: "eyJ.federated-worker-token.sig".into(),
            aws_web_identity_token: "eyJ.aws-outbound-identity.sig".into(),
            reader: true,
            vnets: 5,
            zones: 3,
            foreign_next_link: false,
            token_lifetime: 3600,
        }
    }
}

#[derive(Debug, Default)]
struct Issued {
    tokens: Vec<String>,
    requests: Vec<String>,
}

#[derive(Clone)]
struct Shared {
    config: Arc<FakeAzureConfig>,
    issued: Arc<Mutex<Issued>>,
    base: Arc<Mutex<String>>,
}

/// A running fake; stops when dropped.
pub struct FakeAzure {
    url: String,
    shared: Shared,
    _server: FakeServer,
}

impl std::fmt::Debug for FakeAzure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAzure")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl FakeAzure {
    /// Starts the fake on its own thread and runtime.
    pub fn start(config: FakeAzureConfig) -> Self {
        let shared = Shared {
            config: Arc::new(config),
            issued: Arc::default(),
            base: Arc::default(),
        };
        let state = shared.clone();
        let server = FakeServer::start(
            Router::new().fallback(route).with_state(state),
            "fake Azure",
        );
        let url = server.url().to_owned();
        shared.base.lock().expect("lock").clone_from(&url);
        Self {
            url,
            shared,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT`: the authority host, the ARM base and the STS endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every ARM token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.issued.lock().expect("lock").tokens.clone()
    }

    /// `METHOD /path?query` of every request, in order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.issued.lock().expect("lock").requests.clone()
    }
}

fn entra_error(status: StatusCode, error: &str, code: u64, text: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2026-12-01 12:00:00Z"),
            "error_codes": [code],
            "timestamp": "2026-12-01 12:00:00Z",
            "trace_id": "0000", "correlation_id": "1111",
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        })),
    )
        .into_response()
}

fn arm_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
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
    let config = shared.config.clone();
    if method == Method::POST && path == "/" {
        return sts_web_identity_token(&config, &headers, &body);
    }
    if method == Method::POST
        && let Some(tenant) = path.strip_suffix("/oauth2/v2.0/token")
    {
        return token(&shared, tenant.trim_start_matches('/'), &body);
    }
    if method != Method::GET {
        return arm_error(StatusCode::NOT_FOUND, "NotFound", "no such route");
    }
    let authorized = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|t| {
            shared
                .issued
                .lock()
                .expect("lock")
                .tokens
                .iter()
                .any(|i| i == t)
        });
    if !authorized {
        return arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        );
    }
    if !query.contains_key("api-version") {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    let sub = &config.subscription;
    let Some(rest) = path.strip_prefix("/subscriptions/") else {
        return arm_error(StatusCode::NOT_FOUND, "NotFound", "no such route");
    };
    let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if id != sub {
        return arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{id}' could not be found."),
        );
    }
    if !config.reader {
        return arm_error(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            &format!(
                "The client '{}' does not have authorization to perform action over scope '/subscriptions/{sub}'.",
                config.client
            ),
        );
    }
    let base = shared.base.lock().expect("lock").clone();
    let skip: usize = query
        .get("$skipToken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let page = |all: Vec<Value>, list_path: &str, api: &str, foreign: bool| {
        let size = 2;
        let items: Vec<Value> = all.iter().skip(skip).take(size).cloned().collect();
        let next = if skip + size < all.len() {
            Some(format!(
                "{base}{list_path}?api-version={api}&$skipToken={}",
                skip + size
            ))
        } else if foreign {
            Some(format!(
                "https://attacker.example{list_path}?api-version={api}&$skipToken=0"
            ))
        } else {
            None
        };
        axum::Json(json!({"value": items, "nextLink": next})).into_response()
    };
    let rg = format!("/subscriptions/{sub}/resourceGroups/platform");
    match tail {
        "" => axum::Json(
            json!({"id": format!("/subscriptions/{sub}"), "subscriptionId": sub,
            "tenantId": config.tenant, "displayName": "Acme Production", "state": "Enabled"}),
        )
        .into_response(),
        "providers/Microsoft.Network/virtualNetworks" => {
            let vnets = (0..config.vnets)
                .map(|i| {
                    let id = format!("{rg}/providers/Microsoft.Network/virtualNetworks/vnet-{i}");
                    json!({"id": id, "name": format!("vnet-{i}"), "location": if i % 2 == 0 { "westeurope" } else { "northeurope" },
                        "type": "Microsoft.Network/virtualNetworks",
                        "properties": {"addressSpace": {"addressPrefixes": [format!("10.{i}.0.0/16")]},
                            "subnets": [
                                {"id": format!("{id}/subnets/nodes"), "name": "nodes", "properties": {"addressPrefix": format!("10.{i}.1.0/24")}},
                                {"id": format!("{id}/subnets/pods"), "name": "pods", "properties": {"addressPrefixes": [format!("10.{i}.2.0/24")]}}
                            ]}})
                })
                .collect();
            page(vnets, &path, "2024-05-01", config.foreign_next_link)
        }
        "providers/Microsoft.Network/dnszones" => {
            let zones = (0..config.zones)
                .map(|i| json!({"id": format!("{rg}/providers/Microsoft.Network/dnszones/z{i}.example.com"),
                    "name": format!("z{i}.example.com"), "location": "global",
                    "properties": {"numberOfRecordSets": 2 + i, "zoneType": "Public"}}))
                .collect();
            page(zones, &path, "2018-05-01", false)
        }
        "providers/Microsoft.Network/privateDnsZones" => page(
            vec![
                json!({"id": format!("{rg}/providers/Microsoft.Network/privateDnsZones/internal.example"),
                "name": "internal.example", "location": "global", "properties": {"numberOfRecordSets": 1}}),
            ],
            &path,
            "2024-06-01",
            false,
        ),
        _ => arm_error(StatusCode::NOT_FOUND, "NotFound", "no such route"),
    }
}

fn token(shared: &Shared, tenant: &str, body: &[u8]) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let config = &shared.config;
    if tenant != config.tenant {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90_002,
            &format!("Tenant '{tenant}' not found."),
        );
    }
    if field("grant_type") != "client_credentials"
        || field("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        || !matches!(
            field("scope"),
            "https://management.azure.com/.default"
                | "6dae42f8-4368-4678-94ff-3960e28e3630/.default"
        )
    {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
            "The request body must contain the following parameter: 'grant_type', 'client_assertion_type' and 'scope'.",
        );
    }
    if field("client_id") != config.client {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
            &format!(
                "Application with identifier '{}' was not found in the directory.",
                field("client_id")
            ),
        );
    }
    let assertion = field("client_assertion");
    if assertion != config.assertion && assertion != config.aws_web_identity_token {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            70_021,
            "No matching federated identity record found for presented assertion. Assertion Issuer: 'https://issuer.example'. Assertion Subject: 'system:serviceaccount:x:y'. Assertion Audience: 'api://AzureADTokenExchange'.",
        );
    }
    let mut issued = shared.issued.lock().expect("lock");
    // ARM tokens, or (for the AKS server application's scope) tokens of AKS clusters.
    let audience = if field("scope").starts_with("https://management") {
        "arm"
    } else {
        "aks"
    };
    let token = format!(
        "eyJ.{audience}-{}-{}",
        issued.tokens.len(),
        uuid::Uuid::new_v4().simple()
    );
    issued.tokens.push(token.clone());
    axum::Json(
        json!({"token_type": "Bearer", "expires_in": config.token_lifetime,
        "ext_expires_in": config.token_lifetime, "access_token": token}),
    )
    .into_response()
}

/// STS `GetWebIdentityToken` (query protocol, XML), which moto does not offer.
fn sts_web_identity_token(config: &FakeAzureConfig, headers: &HeaderMap, body: &[u8]) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let signed = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.starts_with("AWS4-HMAC-SHA256 ") && h.contains("/sts/aws4_request"));
    if field("Action") != "GetWebIdentityToken" || !signed {
        return (StatusCode::BAD_REQUEST, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>unsupported</Message></Error></ErrorResponse>").into_response();
    }
    if field("Audience.member.1") != "api://AzureADTokenExchange"
        || field("SigningAlgorithm").is_empty()
    {
        return (StatusCode::BAD_REQUEST, "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Audience and SigningAlgorithm are required</Message></Error></ErrorResponse>").into_response();
    }
    let xml = format!(
        "<GetWebIdentityTokenResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetWebIdentityTokenResult><WebIdentityToken>{}</WebIdentityToken><Expiration>2099-01-01T00:00:00Z</Expiration></GetWebIdentityTokenResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetWebIdentityTokenResponse>",
        config.aws_web_identity_token
    );
    ([("content-type", "text/xml")], xml).into_response()
}
