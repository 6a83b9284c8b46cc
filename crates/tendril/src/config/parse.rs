//! Reading the settings of `tendril start`: timings, the state backend, and the small parsers
//! every setting shares (each error names its variable).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use grape_api::Secret;
use grape_provisioner::RenewalPolicy;
use grape_provisioner::StateBackendSettings;

use super::{ConfigError, StartArgs, Timings, invalid, var};

impl StartArgs {
    pub(super) fn timings(&self) -> Result<Timings, ConfigError> {
        let poll_interval = duration(var::TENDRIL_POLL_INTERVAL, &self.poll_interval)?;
        let heartbeat_interval =
            duration(var::TENDRIL_HEARTBEAT_INTERVAL, &self.heartbeat_interval)?;
        let claim_wait = duration(var::TENDRIL_CLAIM_WAIT, &self.claim_wait)?;
        for (name, d) in [
            (var::TENDRIL_POLL_INTERVAL, poll_interval),
            (var::TENDRIL_HEARTBEAT_INTERVAL, heartbeat_interval),
        ] {
            if d < Duration::from_millis(10) {
                return Err(invalid(name, "duration", "it must be at least 10ms"));
            }
        }
        if claim_wait > Duration::from_secs(30) {
            return Err(invalid(
                var::TENDRIL_CLAIM_WAIT,
                "duration",
                "it must be at most 30s",
            ));
        }
        Ok(Timings {
            poll_interval,
            heartbeat_interval,
            grace_period: duration(var::TENDRIL_GRACE_PERIOD, &self.grace_period)?,
            log_finish_timeout: duration(
                var::TENDRIL_LOG_FINISH_TIMEOUT,
                &self.log_finish_timeout,
            )?,
            claim_wait,
            interrupt_grace: duration(var::TENDRIL_INTERRUPT_GRACE, &self.interrupt_grace)?,
            credentials_refresh: RenewalPolicy {
                margin: duration(
                    var::TENDRIL_CREDENTIALS_REFRESH_MARGIN,
                    &self.credentials_refresh_margin,
                )?,
                min_interval: duration(
                    var::TENDRIL_CREDENTIALS_REFRESH_MIN_INTERVAL,
                    &self.credentials_refresh_min_interval,
                )?,
                ..RenewalPolicy::default()
            },
        })
    }

    pub(super) fn state_backend(
        &self,
        key_id: Option<Secret>,
        secret_key: Option<Secret>,
    ) -> Result<Option<StateBackendSettings>, ConfigError> {
        const HINT: &str = "the Terraform state backend needs region, key id and secret key";
        let endpoint = non_empty(self.s3_endpoint.as_ref())
            .map(|e| http_url(var::SUPABASE_S3_ENDPOINT, e))
            .transpose()?;
        let region = non_empty(self.s3_region.as_ref()).map(str::to_owned);
        if endpoint.is_none() && region.is_none() && key_id.is_none() && secret_key.is_none() {
            return Ok(None);
        }
        let region = region.ok_or(ConfigError::Missing {
            name: var::SUPABASE_S3_REGION,
            hint: HINT,
        })?;
        let access_key_id = key_id.ok_or(ConfigError::Missing {
            name: var::SUPABASE_STORAGE_KEY_ID,
            hint: HINT,
        })?;
        let secret_access_key = secret_key.ok_or(ConfigError::Missing {
            name: var::SUPABASE_STORAGE_SECRET_KEY,
            hint: HINT,
        })?;
        let bucket = self.s3_bucket.trim();
        if bucket.is_empty() {
            return Err(invalid(
                var::SUPABASE_S3_BUCKET,
                "bucket name",
                "it is empty",
            ));
        }
        Ok(Some(StateBackendSettings {
            endpoint,
            region,
            bucket: bucket.to_owned(),
            access_key_id,
            secret_access_key,
        }))
    }
}

pub(super) fn non_empty(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}

pub(super) fn socket_addr(
    name: &'static str,
    text: Option<&String>,
) -> Result<Option<SocketAddr>, ConfigError> {
    non_empty(text)
        .map(|a| {
            a.parse::<SocketAddr>()
                .map_err(|e| invalid(name, "address (HOST:PORT)", e.to_string()))
        })
        .transpose()
}

pub(super) fn duration(name: &'static str, text: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(text.trim()).map_err(|e| invalid(name, "duration", e.to_string()))
}

pub(super) fn http_url(name: &'static str, text: &str) -> Result<String, ConfigError> {
    let url = reqwest::Url::parse(text).map_err(|e| invalid(name, "URL", e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            name,
            "URL",
            format!("scheme must be http or https, not `{}`", url.scheme()),
        ));
    }
    if url.host_str().is_none() {
        return Err(invalid(name, "URL", "it has no host"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// `$XDG_STATE_HOME/tendril`, else `~/.local/state/tendril`.
pub(super) fn default_state_dir() -> Result<PathBuf, ConfigError> {
    if let Some(xdg) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("tendril"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/state/tendril")),
        None => Err(ConfigError::Missing {
            name: var::TENDRIL_STATE_DIR,
            hint: "neither XDG_STATE_HOME nor HOME is set: pass --state-dir",
        }),
    }
}

/// `--label key=value` (or `key`, an empty value) flags as a map; a key is required.
pub(super) fn labels(
    flags: &[String],
) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
    let mut out = std::collections::BTreeMap::new();
    for flag in flags {
        let (key, value) = flag.split_once('=').unwrap_or((flag.as_str(), ""));
        if key.trim().is_empty() {
            return Err(invalid(
                "--label",
                "label",
                format!("`{flag}` has no key: write key=value"),
            ));
        }
        out.insert(key.trim().to_owned(), value.trim().to_owned());
    }
    Ok(out)
}
