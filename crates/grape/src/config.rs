//! Where grape finds its Trellis URL and API token.
//!
//! The file is `$XDG_CONFIG_HOME/grape/config.json` (else `$HOME/.config/grape/config.json`),
//! written by `grape login` with mode 0600 (created so, never chmod-ed after) in a 0700
//! directory. The environment overrides it: `TRELLIS_URL` (also `--url`) and `GRAPE_TOKEN`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use grape_api::Secret;
use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};

/// Environment variable: the Trellis base URL (overrides the config file).
pub const ENV_URL: &str = "TRELLIS_URL";
/// Environment variable: the user API token (overrides the config file).
pub const ENV_TOKEN: &str = "GRAPE_TOKEN";
/// Environment variable: the admin token (worker registration and removal).
pub const ENV_ADMIN_TOKEN: &str = "TRELLIS_ADMIN_TOKEN";

/// The stored configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredConfig {
    /// Trellis base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The user API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
}

/// Where a setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The command line or the environment.
    Environment,
    /// The config file.
    ConfigFile,
}

impl Source {
    /// Lower-case name for humans.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Environment => "environment",
            Source::ConfigFile => "config file",
        }
    }
}

/// The path of the config file.
pub fn config_path() -> CliResult<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
                Some(home) => PathBuf::from(home).join(".config"),
                None => {
                    return Err(CliError::usage("cannot find the config directory: neither XDG_CONFIG_HOME nor HOME is set.")
                    .hint("set XDG_CONFIG_HOME, or use TRELLIS_URL and GRAPE_TOKEN"));
                }
            }
        }
    };
    Ok(base.join("grape").join("config.json"))
}

/// Reads the config file; a missing file is an empty config.
pub fn load(path: &Path) -> CliResult<StoredConfig> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            CliError::usage(format!(
                "the config file {} is not valid JSON ({e}).",
                path.display()
            ))
            .hint("run `grape logout` and `grape login --url URL` to write it again")
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoredConfig::default()),
        Err(e) => Err(CliError::usage(format!(
            "cannot read the config file {}: {e}.",
            path.display()
        ))
        .hint("check the file's permissions")),
    }
}

/// Writes the config file atomically: a temporary file created with mode 0600 next to it, then
/// renamed over it. The directory is created with mode 0700 when missing.
pub fn save(path: &Path, config: &StoredConfig) -> CliResult<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io_err = |what: &str, e: std::io::Error| {
        CliError::failed(format!("cannot {what} {}: {e}.", dir.display()))
            .hint("check the permissions of your config directory, or set XDG_CONFIG_HOME")
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_err("create", e))?;
    let tmp = dir.join(format!(".config.json.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io_err("write into", e))?;
    let mut bytes =
        serde_json::to_vec_pretty(config).map_err(|e| io_err("encode the config for", e.into()))?;
    bytes.push(b'\n');
    let written = file.write_all(&bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("write into", e));
    }
    Ok(())
}

/// Removes the config file; true when there was one.
pub fn remove(path: &Path) -> CliResult<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(
            CliError::failed(format!("cannot remove {}: {e}.", path.display()))
                .hint("check the file's permissions"),
        ),
    }
}

/// The settings in force: flags and environment over the config file.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The config file path.
    pub path: PathBuf,
    /// Trellis base URL and where it came from.
    pub url: Option<(String, Source)>,
    /// API token and where it came from.
    pub token: Option<(Secret, Source)>,
}

impl Resolved {
    /// Resolves from `url_flag` (the `--url` flag or `TRELLIS_URL`, as clap read it), the
    /// `GRAPE_TOKEN` variable and the config file.
    pub fn load(url_flag: Option<&str>) -> CliResult<Self> {
        let path = config_path()?;
        let stored = load(&path)?;
        let url = match url_flag.filter(|u| !u.trim().is_empty()) {
            Some(u) => Some((u.trim().to_owned(), Source::Environment)),
            None => stored.url.map(|u| (u, Source::ConfigFile)),
        };
        let token = match std::env::var(ENV_TOKEN)
            .ok()
            .filter(|t| !t.trim().is_empty())
        {
            Some(t) => Some((Secret::new(t.trim()), Source::Environment)),
            None => stored
                .token
                .filter(|t| !t.is_empty())
                .map(|t| (t, Source::ConfigFile)),
        };
        Ok(Self { path, url, token })
    }

    /// The URL, or the error telling how to set one.
    pub fn require_url(&self) -> CliResult<&str> {
        self.url.as_ref().map(|(u, _)| u.as_str()).ok_or_else(|| {
            CliError::unreachable("no Trellis URL is configured.")
                .hint("run `grape login --url URL`, or set TRELLIS_URL")
        })
    }

    /// The token, or the error telling how to set one.
    pub fn require_token(&self) -> CliResult<&Secret> {
        self.token.as_ref().map(|(t, _)| t).ok_or_else(|| {
            CliError::unreachable("you are not logged in to Trellis.")
                .hint("run `grape login --url URL`, or set GRAPE_TOKEN")
        })
    }
}
