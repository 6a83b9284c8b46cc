//! [`GcpIdentitySettings`]: GCP workload identity federation, optionally impersonating a
//! service account. The subject token always comes from the worker (its AWS credentials or a
//! token file it is configured with), never from the identity.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{SettingsError, WorkerOnly, from_settings};

/// Google's STS token endpoint: the only `token_url` an `external_account` may carry.
pub const GCP_DEFAULT_TOKEN_URL: &str = "https://sts.googleapis.com/v1/token";
const IMPERSONATION_PREFIX: &str =
    "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/";
const IMPERSONATION_SUFFIX: &str = ":generateAccessToken";
const AWS_TOKEN_TYPE: &str = "urn:ietf:params:aws:token-type:aws4_request";
const JWT_TOKEN_TYPES: &[&str] = &[
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:id_token",
];

const WORKER_ONLY: &[WorkerOnly] = &[
    ("token_url", "TENDRIL_GCP_STS_URL"),
    ("sts_url", "TENDRIL_GCP_STS_URL"),
    ("iam_credentials_url", "TENDRIL_GCP_IAM_CREDENTIALS_URL"),
    ("compute_url", "TENDRIL_GCP_COMPUTE_URL"),
    ("dns_url", "TENDRIL_GCP_DNS_URL"),
    ("credential_source", "TENDRIL_GCP_SUBJECT_TOKEN_FILE"),
    ("subject_token_file", "TENDRIL_GCP_SUBJECT_TOKEN_FILE"),
];

/// Where the worker takes the subject token it exchanges at Google's STS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GcpSubjectTokenSource {
    /// A `GetCallerIdentity` request signed with the worker's own AWS credentials (Fargate).
    #[default]
    Aws,
    /// The OIDC token in the file the worker is configured with
    /// (`TENDRIL_GCP_SUBJECT_TOKEN_FILE`).
    File,
}

/// A GCP cloud identity.
///
/// ```json
/// {"project_id": "acme-prod", "project_number": "123456789012",
///  "audience": "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/vintner/providers/aws",
///  "service_account": "vintner@acme-prod.iam.gserviceaccount.com", "subject_token_source": "aws"}
/// ```
/// Instead of `audience`/`service_account`, the `external_account` JSON that `gcloud iam
/// workload-identity-pools create-cred-config` prints may be pasted; only its audience, service
/// account and subject token type are read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcpIdentitySettings {
    /// The project to work in (`acme-prod`).
    pub project_id: String,
    /// Its number (digits), as the workload identity pool's audience names it.
    pub project_number: String,
    /// The workload identity pool provider:
    /// `//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>`.
    #[serde(default)]
    pub audience: String,
    /// The service account to impersonate (optional): `name@project.iam.gserviceaccount.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Where the subject token comes from (default `aws`).
    #[serde(default)]
    pub subject_token_source: GcpSubjectTokenSource,
    /// The subject token type; default by source (`…aws4_request` or `…:jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_token_type: Option<String>,
    /// A pasted `external_account` credential configuration (read for the audience, the service
    /// account and the subject token type only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_account: Option<Value>,
    /// Regions to discover in (default: every region).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
}

impl GcpIdentitySettings {
    /// Parses and validates the settings, folding a pasted `external_account` in.
    pub fn parse(settings: &Value) -> Result<Self, SettingsError> {
        let mut identity: Self = from_settings("GCP", settings, WORKER_ONLY)?;
        if let Some(external) = identity.external_account.clone() {
            identity.fold_external_account(&external)?;
        }
        identity.validate()?;
        Ok(identity)
    }

    fn fold_external_account(&mut self, external: &Value) -> Result<(), SettingsError> {
        const KNOWN: &[&str] = &[
            "type",
            "audience",
            "subject_token_type",
            "token_url",
            "service_account_impersonation_url",
            "service_account_impersonation",
            "universe_domain",
        ];
        let field = |name: &str| format!("external_account.{name}");
        let Some(object) = external.as_object() else {
            return Err(SettingsError::field(
                "external_account",
                "external_account must be the JSON object gcloud prints",
            ));
        };
        for key in object.keys() {
            if key == "credential_source" {
                return Err(SettingsError::field(
                    field(key),
                    "external_account.credential_source is not read: the subject token comes \
                     from the worker (its AWS credentials, or TENDRIL_GCP_SUBJECT_TOKEN_FILE); \
                     remove it",
                ));
            }
            if !KNOWN.contains(&key.as_str()) {
                return Err(SettingsError::field(
                    field(key),
                    format!(
                        "unknown field `{key}` in external_account (expected: {})",
                        KNOWN.join(", ")
                    ),
                ));
            }
        }
        let text = |name: &str| -> Result<Option<String>, SettingsError> {
            match object.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(SettingsError::field(field(name), "must be a string")),
            }
        };
        if let Some(kind) = text("type")?
            && kind != "external_account"
        {
            return Err(SettingsError::field(
                field("type"),
                format!("type is \"{kind}\": only an external_account configuration is read"),
            ));
        }
        if let Some(url) = text("token_url")?
            && url != GCP_DEFAULT_TOKEN_URL
        {
            return Err(SettingsError::field(
                field("token_url"),
                format!(
                    "token_url must be Google's {GCP_DEFAULT_TOKEN_URL}; another STS endpoint is \
                     worker configuration (TENDRIL_GCP_STS_URL)"
                ),
            ));
        }
        if let Some(audience) = text("audience")? {
            merge(&mut self.audience, audience, "audience")?;
        }
        if let Some(kind) = text("subject_token_type")? {
            let mut current = self.subject_token_type.clone().unwrap_or_default();
            merge(&mut current, kind, "subject_token_type")?;
            self.subject_token_type = Some(current);
        }
        if let Some(url) = text("service_account_impersonation_url")? {
            let email = url
                .strip_prefix(IMPERSONATION_PREFIX)
                .and_then(|rest| rest.strip_suffix(IMPERSONATION_SUFFIX))
                .ok_or_else(|| {
                    SettingsError::field(
                        field("service_account_impersonation_url"),
                        format!(
                            "must be {IMPERSONATION_PREFIX}<service account>{IMPERSONATION_SUFFIX}"
                        ),
                    )
                })?;
            let mut current = self.service_account.clone().unwrap_or_default();
            merge(&mut current, email.to_owned(), "service_account")?;
            self.service_account = Some(current);
        }
        Ok(())
    }

    /// Checks every setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let id = &self.project_id;
        let id_ok = (6..=30).contains(&id.len())
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && !id.ends_with('-')
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
            return Err(SettingsError::field(
                "project_id",
                format!(
                    "project_id \"{id}\" is not a GCP project id (6 to 30 lower-case letters, \
                     digits and hyphens, starting with a letter)"
                ),
            ));
        }
        let number = &self.project_number;
        if number.is_empty() || number.len() > 20 || !number.chars().all(|c| c.is_ascii_digit()) {
            return Err(SettingsError::field(
                "project_number",
                format!("project_number \"{number}\" must be the project's number (digits)"),
            ));
        }
        let pattern = "//iam.googleapis.com/projects/<project number>/locations/global/\
                       workloadIdentityPools/<pool>/providers/<provider>";
        let parts: Vec<&str> = self.audience.split('/').collect();
        let audience_ok = matches!(
            parts.as_slice(),
            ["", "", "iam.googleapis.com", "projects", n, "locations", "global",
             "workloadIdentityPools", pool, "providers", provider]
                if !n.is_empty() && !pool.is_empty() && !provider.is_empty()
        );
        if !audience_ok {
            return Err(SettingsError::field(
                "audience",
                format!(
                    "audience \"{}\" is not a workload identity pool provider: use {pattern}",
                    self.audience
                ),
            ));
        }
        if parts[4] != number {
            return Err(SettingsError::field(
                "audience",
                format!(
                    "the audience names project number {}, but project_number is {number}",
                    parts[4]
                ),
            ));
        }
        if let Some(sa) = &self.service_account {
            let ok = sa.split_once('@').is_some_and(|(name, domain)| {
                !name.is_empty() && domain.ends_with(".gserviceaccount.com")
            });
            if !ok {
                return Err(SettingsError::field(
                    "service_account",
                    format!(
                        "service_account \"{sa}\" is not a service account e-mail \
                         (name@project.iam.gserviceaccount.com)"
                    ),
                ));
            }
        }
        let kind = self.subject_token_type();
        let kind_ok = match self.subject_token_source {
            GcpSubjectTokenSource::Aws => kind == AWS_TOKEN_TYPE,
            GcpSubjectTokenSource::File => JWT_TOKEN_TYPES.contains(&kind),
        };
        if !kind_ok {
            return Err(SettingsError::field(
                "subject_token_type",
                format!(
                    "subject_token_type \"{kind}\" does not fit subject_token_source {:?} \
                     (aws: {AWS_TOKEN_TYPE}; file: {})",
                    self.subject_token_source,
                    JWT_TOKEN_TYPES.join(" or ")
                ),
            ));
        }
        Ok(())
    }

    /// The subject token type, by default the one of the source.
    pub fn subject_token_type(&self) -> &str {
        match (&self.subject_token_type, self.subject_token_source) {
            (Some(kind), _) => kind,
            (None, GcpSubjectTokenSource::Aws) => AWS_TOKEN_TYPE,
            (None, GcpSubjectTokenSource::File) => JWT_TOKEN_TYPES[0],
        }
    }
}

/// Takes `pasted` into `current` unless both are set and differ.
fn merge(current: &mut String, pasted: String, name: &str) -> Result<(), SettingsError> {
    if current.is_empty() {
        *current = pasted;
        Ok(())
    } else if *current == pasted {
        Ok(())
    } else {
        Err(SettingsError::field(
            name,
            format!("{name} \"{current}\" differs from the external_account's \"{pasted}\""),
        ))
    }
}
