//! Remote state in S3 (Supabase Storage, AWS, or moto in tests).
//!
//! Non-secret settings go to `terraform init` as `-backend-config=KEY=VALUE`; the access keys go
//! only into the environment of the Terraform process, never into arguments or files.
//!
//! The state keys must not take the standard `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` names:
//! those belong to the job's cloud identity, which Terraform's providers and `local-exec`
//! children must see. So the backend reads its keys through a named profile, [`STATE_PROFILE`],
//! defined in a small shared-config file written beside the configuration
//! ([`AWS_CONFIG_FILE_NAME`], no secret in it) whose `credential_process` prints the keys from
//! the non-standard variables [`STATE_KEY_ID_VAR`] and [`STATE_SECRET_KEY_VAR`]. A profile set in
//! the backend's configuration wins over the environment's credentials, and the relative file
//! name keeps a saved plan applicable in another directory.

use std::collections::HashMap;
use std::path::Path;

use url::Url;

/// Default bucket when `SUPABASE_S3_BUCKET` is not set.
pub const DEFAULT_BUCKET: &str = "terraform-state";
/// Default region when `SUPABASE_S3_REGION` is not set.
pub const DEFAULT_REGION: &str = "us-east-1";
/// File the wrapper writes when the configuration declares no backend.
pub const BACKEND_FILE: &str = "_grape_backend.tf";
/// The AWS shared-config file (relative to the configuration) that defines [`STATE_PROFILE`].
pub const AWS_CONFIG_FILE_NAME: &str = "_grape_aws_config";
/// The profile the backend reads its credentials from.
pub const STATE_PROFILE: &str = "grape-state";
/// The variable holding the state access key id in Terraform's environment.
pub const STATE_KEY_ID_VAR: &str = "GRAPE_STATE_ACCESS_KEY_ID";
/// The variable holding the state secret access key in Terraform's environment.
pub const STATE_SECRET_KEY_VAR: &str = "GRAPE_STATE_SECRET_ACCESS_KEY";

/// The secret string type of the whole core (`Debug`/`Display` print `[REDACTED]`).
pub use grape_api::Secret;

/// Wrong state backend settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The state key is not a safe relative object key.
    #[error("invalid state key {key:?}: {reason}")]
    InvalidStateKey {
        /// The key given.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A required setting is missing from the environment map.
    #[error("state backend setting {name} is not set")]
    Missing {
        /// The variable name, e.g. `SUPABASE_STORAGE_KEY_ID`.
        name: &'static str,
    },
    /// The endpoint is not an http(s) URL.
    #[error("state backend endpoint {value:?} is not an http(s) URL")]
    InvalidEndpoint {
        /// The value given.
        value: String,
    },
    /// An access key holds a character that cannot travel through the credential process
    /// (a quote, a backslash or a control character).
    #[error("state backend {which} contains a quote, a backslash or a control character")]
    InvalidCredential {
        /// Which key: `access key id` or `secret access key`.
        which: &'static str,
    },
    /// The configuration declares a backend of another type than the one the wrapper manages.
    #[error(
        "the configuration declares backend {found:?}; the worker manages state in an \"s3\" backend: remove the backend block"
    )]
    Conflict {
        /// The backend type found in the configuration.
        found: String,
    },
}

/// Checks a state key: non-empty, relative, no `..` or empty segments, no whitespace or
/// control characters, at most 1024 bytes.
pub fn validate_state_key(key: &str) -> Result<(), BackendError> {
    let bad = |reason| {
        Err(BackendError::InvalidStateKey {
            key: key.to_owned(),
            reason,
        })
    };
    if key.is_empty() {
        return bad("it is empty");
    }
    if key.len() > 1024 {
        return bad("it is longer than 1024 bytes");
    }
    if key.starts_with('/') {
        return bad("it starts with '/'");
    }
    if key.ends_with('/') {
        return bad("it ends with '/'");
    }
    if key
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return bad("it contains whitespace, a backslash or a control character");
    }
    for segment in key.split('/') {
        if segment.is_empty() {
            return bad("it has an empty path segment");
        }
        if segment == ".." || segment == "." {
            return bad("it has a '.' or '..' path segment");
        }
    }
    Ok(())
}

/// Settings of Terraform's `s3` backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Backend {
    /// Bucket (default `terraform-state`).
    pub bucket: String,
    /// State object key, one per vine/workspace, e.g. `vines/web/terraform.tfstate`.
    pub key: String,
    /// Region (default `us-east-1`).
    pub region: String,
    /// S3 endpoint for S3-compatible stores (Supabase, moto); `None` for AWS itself. When set,
    /// path-style addressing is used and the AWS-only checks are skipped.
    pub endpoint: Option<Url>,
    /// Access key ID (environment only).
    pub access_key: Secret,
    /// Secret access key (environment only).
    pub secret_key: Secret,
    /// Lock with a `<key>.tflock` object (`use_lockfile`, Terraform ≥ 1.10). Default true.
    pub use_lockfile: bool,
    /// Skip the S3 checksum headers some S3-compatible stores reject. Default: true when an
    /// endpoint is set.
    pub skip_s3_checksum: bool,
}

impl S3Backend {
    /// A backend with the defaults for `bucket`/`region` and the given key and credentials.
    pub fn new(
        key: impl Into<String>,
        access_key: Secret,
        secret_key: Secret,
    ) -> Result<Self, BackendError> {
        let key = key.into();
        validate_state_key(&key)?;
        for (which, value) in [
            ("access key id", &access_key),
            ("secret access key", &secret_key),
        ] {
            if value
                .expose()
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control())
            {
                return Err(BackendError::InvalidCredential { which });
            }
        }
        Ok(Self {
            bucket: DEFAULT_BUCKET.to_owned(),
            key,
            region: DEFAULT_REGION.to_owned(),
            endpoint: None,
            access_key,
            secret_key,
            use_lockfile: true,
            skip_s3_checksum: false,
        })
    }

    /// Sets an S3-compatible endpoint (and turns on `skip_s3_checksum`).
    pub fn with_endpoint(mut self, endpoint: &str) -> Result<Self, BackendError> {
        let url = Url::parse(endpoint).map_err(|_| BackendError::InvalidEndpoint {
            value: endpoint.to_owned(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(BackendError::InvalidEndpoint {
                value: endpoint.to_owned(),
            });
        }
        self.endpoint = Some(url);
        self.skip_s3_checksum = true;
        Ok(self)
    }

    /// Builds the backend from the worker's settings: `SUPABASE_S3_ENDPOINT` (optional),
    /// `SUPABASE_S3_REGION` (default `us-east-1`), `SUPABASE_STORAGE_KEY_ID` and
    /// `SUPABASE_STORAGE_SECRET_KEY` (also accepted with an `SUPABASE_S3_` prefix),
    /// `SUPABASE_S3_BUCKET` (default `terraform-state`), for the state `key`.
    pub fn from_env_map<S: std::hash::BuildHasher>(
        env: &HashMap<String, String, S>,
        key: &str,
    ) -> Result<Self, BackendError> {
        let get = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| env.get(*n).map(|v| v.trim()).filter(|v| !v.is_empty()))
        };
        let access = get(&["SUPABASE_STORAGE_KEY_ID", "SUPABASE_S3_STORAGE_KEY_ID"]).ok_or(
            BackendError::Missing {
                name: "SUPABASE_STORAGE_KEY_ID",
            },
        )?;
        let secret = get(&[
            "SUPABASE_STORAGE_SECRET_KEY",
            "SUPABASE_S3_STORAGE_SECRET_KEY",
        ])
        .ok_or(BackendError::Missing {
            name: "SUPABASE_STORAGE_SECRET_KEY",
        })?;
        let mut backend = Self::new(key, Secret::new(access), Secret::new(secret))?;
        if let Some(bucket) = get(&["SUPABASE_S3_BUCKET"]) {
            bucket.clone_into(&mut backend.bucket);
        }
        if let Some(region) = get(&["SUPABASE_S3_REGION"]) {
            region.clone_into(&mut backend.region);
        }
        if let Some(endpoint) = get(&["SUPABASE_S3_ENDPOINT"]) {
            backend = backend.with_endpoint(endpoint)?;
        }
        Ok(backend)
    }

    /// The same backend for another state key.
    pub fn for_key(&self, key: &str) -> Result<Self, BackendError> {
        validate_state_key(key)?;
        Ok(Self {
            key: key.to_owned(),
            ..self.clone()
        })
    }

    /// The lock object's key (`<key>.tflock`).
    pub fn lock_key(&self) -> String {
        format!("{}.tflock", self.key)
    }

    /// The `-backend-config=KEY=VALUE` arguments: non-secret settings only.
    pub fn init_args(&self) -> Vec<String> {
        let mut settings: Vec<(&str, String)> = vec![
            ("bucket", self.bucket.clone()),
            ("key", self.key.clone()),
            ("region", self.region.clone()),
            ("profile", STATE_PROFILE.to_owned()),
            (
                "shared_config_files",
                format!("[{}]", hcl_string(AWS_CONFIG_FILE_NAME)),
            ),
        ];
        if let Some(endpoint) = &self.endpoint {
            settings.push((
                "endpoints",
                format!("{{s3={}}}", hcl_string(endpoint.as_str())),
            ));
            settings.push(("use_path_style", "true".into()));
            settings.push(("skip_credentials_validation", "true".into()));
            settings.push(("skip_requesting_account_id", "true".into()));
            settings.push(("skip_metadata_api_check", "true".into()));
            settings.push(("skip_region_validation", "true".into()));
        }
        if self.skip_s3_checksum {
            settings.push(("skip_s3_checksum", "true".into()));
        }
        if self.use_lockfile {
            settings.push(("use_lockfile", "true".into()));
        }
        settings
            .into_iter()
            .map(|(k, v)| format!("-backend-config={k}={v}"))
            .collect()
    }

    /// The environment the backend needs in every Terraform process that touches state (the
    /// keys under non-standard names: see the module documentation).
    pub fn env(&self) -> Vec<(&'static str, &str)> {
        vec![
            (STATE_KEY_ID_VAR, self.access_key.expose()),
            (STATE_SECRET_KEY_VAR, self.secret_key.expose()),
        ]
    }

    /// The text of [`AWS_CONFIG_FILE_NAME`]: the [`STATE_PROFILE`] profile whose
    /// `credential_process` (run by Terraform through `sh -c`) prints the keys from the
    /// environment. Holds no secret.
    pub fn aws_config_text() -> String {
        format!(
            "# Written by grape-terraform: the state backend's credentials, read from the environment.\n\
             [profile {STATE_PROFILE}]\n\
             credential_process = printf '{{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\"}}' \"${STATE_KEY_ID_VAR}\" \"${STATE_SECRET_KEY_VAR}\"\n"
        )
    }
}

/// A quoted HCL string literal (JSON escaping, plus `${`/`%{` template escapes).
fn hcl_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned())
        .to_string()
        .replace("${", "$${")
        .replace("%{", "%%{")
}

/// Finds the backend type a configuration declares (`backend "TYPE"` in a top-level `.tf`
/// file, ignoring comment lines), other than the wrapper's own file.
pub(crate) fn declared_backend(dir: &Path) -> std::io::Result<Option<String>> {
    let mut names: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "tf")
                && p.file_name().is_some_and(|n| n != BACKEND_FILE)
        })
        .collect();
    names.sort();
    for path in names {
        let text = std::fs::read_to_string(&path)?;
        for line in text.lines() {
            let line = line.trim_start();
            if line.starts_with('#') || line.starts_with("//") {
                continue;
            }
            if let Some(rest) = line.strip_prefix("backend")
                && let Some(rest) = rest.trim_start().strip_prefix('"')
                && let Some((kind, _)) = rest.split_once('"')
            {
                return Ok(Some(kind.to_owned()));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_are_validated() {
        for ok in ["a", "vines/web/terraform.tfstate", "x-1_2.tfstate"] {
            assert!(validate_state_key(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/abs", "a/../b", "..", "a//b", "a/", "a b", "a\\b", "./a",
        ] {
            assert!(validate_state_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn from_env_map_reads_worker_settings_and_keeps_secrets_out_of_args() {
        let env: HashMap<String, String> = [
            (
                "SUPABASE_S3_ENDPOINT",
                "http://127.0.0.1:9000/storage/v1/s3",
            ),
            ("SUPABASE_S3_REGION", "eu-west-1"),
            ("SUPABASE_STORAGE_KEY_ID", "AKIDEXAMPLE"),
            ("SUPABASE_STORAGE_SECRET_KEY", "s3cr3t-value"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let b = S3Backend::from_env_map(&env, "vines/a/terraform.tfstate").unwrap();
        assert_eq!(b.bucket, DEFAULT_BUCKET);
        assert_eq!(b.region, "eu-west-1");
        let args = b.init_args().join(" ");
        assert!(
            args.contains("-backend-config=endpoints={s3=\"http://127.0.0.1:9000/storage/v1/s3\"}")
        );
        assert!(args.contains("-backend-config=use_lockfile=true"));
        assert!(args.contains("-backend-config=profile=grape-state"));
        assert!(args.contains("-backend-config=shared_config_files=[\"_grape_aws_config\"]"));
        let env: Vec<_> = b.env().into_iter().map(|(k, _)| k).collect();
        assert_eq!(env, [STATE_KEY_ID_VAR, STATE_SECRET_KEY_VAR]);
        assert!(!S3Backend::aws_config_text().contains("s3cr3t"));
        assert!(!args.contains("s3cr3t") && !args.contains("AKIDEXAMPLE"));
        assert!(!format!("{b:?}").contains("s3cr3t"));
        assert_eq!(b.lock_key(), "vines/a/terraform.tfstate.tflock");
        let missing = S3Backend::from_env_map(&HashMap::<String, String>::new(), "k").unwrap_err();
        assert_eq!(
            missing,
            BackendError::Missing {
                name: "SUPABASE_STORAGE_KEY_ID"
            }
        );
    }

    #[test]
    fn keys_that_cannot_travel_through_the_credential_process_are_refused() {
        for bad in ["a\"b", "a\\b", "a\nb"] {
            let err = S3Backend::new("k", Secret::new(bad), Secret::new("fine")).unwrap_err();
            assert_eq!(
                err,
                BackendError::InvalidCredential {
                    which: "access key id"
                }
            );
            assert!(!err.to_string().contains(bad));
        }
    }
}
