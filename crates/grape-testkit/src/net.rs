//! Ports and HTTP readiness.

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use crate::TestkitError;

/// A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it). Another process
/// may take it before you bind it; peers started by this crate retry on a new port.
pub fn free_port() -> Result<u16, TestkitError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| TestkitError::io("cannot bind 127.0.0.1:0", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| TestkitError::io("cannot read the bound address", e))?;
    Ok(addr.port())
}

/// GET `url` from a local peer, with `bearer` as `Authorization: Bearer` when given: the status
/// and the body.
pub async fn http_get(
    url: &str,
    bearer: Option<&str>,
) -> Result<(reqwest::StatusCode, String), TestkitError> {
    let mut req = local_client().get(url);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let failed = |e| TestkitError::io("GET", std::io::Error::other(e));
    let resp = req.send().await.map_err(failed)?;
    let status = resp.status();
    Ok((status, resp.text().await.map_err(failed)?))
}

/// Whether `url` answers an HTTP GET at all (any status counts: the server is up).
pub(crate) async fn answers(client: &reqwest::Client, url: &str) -> bool {
    client.get(url).send().await.is_ok()
}

/// A client for local peers: short timeouts, no proxy.
pub(crate) fn local_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}

/// Polls `url` with GET until it gives any HTTP response (whatever the status), or fails
/// with [`TestkitError::HttpTimeout`] after `timeout`.
pub async fn wait_for_http(url: &str, timeout: Duration) -> Result<(), TestkitError> {
    let client = local_client();
    let deadline = Instant::now() + timeout;
    loop {
        if answers(&client, url).await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(TestkitError::HttpTimeout {
                url: url.to_owned(),
                timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
