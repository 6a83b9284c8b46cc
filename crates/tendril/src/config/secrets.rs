//! The secret settings of `tendril start`: each comes from its environment variable or from the
//! file its `--…-file PATH` flag names, never from the command line (where every user of the
//! machine can read it); the flags that once carried the values are refused.

use std::path::PathBuf;

use clap::Args;
use grape_api::{Secret, SecretSetting};

use super::{ConfigError, var};

/// The worker token.
pub const WORKER_TOKEN: SecretSetting = SecretSetting::new(
    var::GRAPE_WORKER_TOKEN,
    "--worker-token-file",
    "--worker-token",
);
/// The S3 access key id of the state backend.
pub const S3_KEY_ID: SecretSetting = SecretSetting::new(
    var::SUPABASE_STORAGE_KEY_ID,
    "--s3-key-id-file",
    "--s3-key-id",
);
/// The S3 secret key of the state backend.
pub const S3_SECRET_KEY: SecretSetting = SecretSetting::new(
    var::SUPABASE_STORAGE_SECRET_KEY,
    "--s3-secret-key-file",
    "--s3-secret-key",
);
/// The Infracost API key.
pub const INFRACOST_API_KEY: SecretSetting = SecretSetting::new(
    var::INFRACOST_API_KEY,
    "--infracost-api-key-file",
    "--infracost-api-key",
);
/// The admin token of Trellis.
pub const ADMIN_TOKEN: SecretSetting = SecretSetting::new(
    var::TRELLIS_ADMIN_TOKEN,
    "--admin-token-file",
    "--admin-token",
);
/// The bearer token of `/metrics` on `--listen`.
pub const METRICS_TOKEN: SecretSetting = SecretSetting::new(
    var::TENDRIL_METRICS_TOKEN,
    "--metrics-token-file",
    "--metrics-token",
);

/// Every secret setting, in the order of `--help`.
pub const SECRET_SETTINGS: [SecretSetting; 6] = [
    WORKER_TOKEN,
    S3_KEY_ID,
    S3_SECRET_KEY,
    INFRACOST_API_KEY,
    ADMIN_TOKEN,
    METRICS_TOKEN,
];

#[allow(clippy::unnecessary_wraps)] // clap's value_parser needs a Result
fn secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(s))
}

/// The `--…-file` flags of the secrets, and the refused value flags (hidden; a value given is
/// kept as a [`Secret`] only to be refused, so `Debug` never shows it).
#[derive(Debug, Clone, Default, Args)]
pub struct SecretArgs {
    /// File holding the worker token [else: GRAPE_WORKER_TOKEN].
    #[arg(long, value_name = "PATH")]
    pub worker_token_file: Option<PathBuf>,
    /// File holding the S3 access key id of the Terraform state [else: SUPABASE_STORAGE_KEY_ID].
    #[arg(long, value_name = "PATH")]
    pub s3_key_id_file: Option<PathBuf>,
    /// File holding the S3 secret key of the Terraform state [else:
    /// SUPABASE_STORAGE_SECRET_KEY].
    #[arg(long, value_name = "PATH")]
    pub s3_secret_key_file: Option<PathBuf>,
    /// File holding the Infracost API key [else: INFRACOST_API_KEY].
    #[arg(long, value_name = "PATH")]
    pub infracost_api_key_file: Option<PathBuf>,
    /// File holding the admin token of Trellis, used by --register and the worker jobs [else:
    /// TRELLIS_ADMIN_TOKEN].
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,
    /// File holding the bearer token of /metrics on --listen [else: TENDRIL_METRICS_TOKEN].
    #[arg(long, value_name = "PATH")]
    pub metrics_token_file: Option<PathBuf>,
    /// Refused: use GRAPE_WORKER_TOKEN or --worker-token-file.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "", value_parser = secret)]
    pub worker_token: Option<Secret>,
    /// Refused: use SUPABASE_STORAGE_KEY_ID or --s3-key-id-file.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "", value_parser = secret)]
    pub s3_key_id: Option<Secret>,
    /// Refused: use SUPABASE_STORAGE_SECRET_KEY or --s3-secret-key-file.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "", value_parser = secret)]
    pub s3_secret_key: Option<Secret>,
    /// Refused: use INFRACOST_API_KEY or --infracost-api-key-file.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "", value_parser = secret)]
    pub infracost_api_key: Option<Secret>,
    /// Refused: use TRELLIS_ADMIN_TOKEN or --admin-token-file.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "", value_parser = secret)]
    pub admin_token: Option<Secret>,
    /// Refused: use TENDRIL_METRICS_TOKEN or --metrics-token-file.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "", value_parser = secret)]
    pub metrics_token: Option<Secret>,
}

/// The values of the secret settings that are set.
#[derive(Debug, Clone, Default)]
pub(super) struct Secrets {
    pub worker_token: Option<Secret>,
    pub s3_key_id: Option<Secret>,
    pub s3_secret_key: Option<Secret>,
    pub infracost_api_key: Option<Secret>,
    pub admin_token: Option<Secret>,
    pub metrics_token: Option<Secret>,
}

impl SecretArgs {
    /// Reads each secret from its variable (looked up with `env`) or its file; a value flag
    /// given, both sources set, or an unreadable or empty file is an error.
    pub(super) fn resolve(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Secrets, ConfigError> {
        let given = [
            &self.worker_token,
            &self.s3_key_id,
            &self.s3_secret_key,
            &self.infracost_api_key,
            &self.admin_token,
            &self.metrics_token,
        ];
        if let Some((setting, _)) = SECRET_SETTINGS
            .iter()
            .zip(given)
            .find(|(_, value)| value.is_some())
        {
            return Err(setting.refused().into());
        }
        let one = |setting: SecretSetting, given: &Option<Secret>, file: &Option<PathBuf>| {
            setting
                .resolve(
                    given.is_some(),
                    env(setting.var).as_deref(),
                    file.as_deref(),
                )
                .map_err(ConfigError::from)
        };
        Ok(Secrets {
            worker_token: one(WORKER_TOKEN, &self.worker_token, &self.worker_token_file)?,
            s3_key_id: one(S3_KEY_ID, &self.s3_key_id, &self.s3_key_id_file)?,
            s3_secret_key: one(S3_SECRET_KEY, &self.s3_secret_key, &self.s3_secret_key_file)?,
            infracost_api_key: one(
                INFRACOST_API_KEY,
                &self.infracost_api_key,
                &self.infracost_api_key_file,
            )?,
            admin_token: one(ADMIN_TOKEN, &self.admin_token, &self.admin_token_file)?,
            metrics_token: one(METRICS_TOKEN, &self.metrics_token, &self.metrics_token_file)?,
        })
    }
}
