//! A vine rendered into the directory a PLAN runs: the template set, `terraform.tfvars.json`,
//! the backend declaration and its non-secret settings — like `helm template`, nothing secret.

use crate::model::Vine;
use crate::rules::DNS_LABEL_PATTERN;
use crate::templates::TemplateSet;
use crate::tfvars::{state_key, tfvars_json};

/// The variables file Terraform loads by itself.
pub const TFVARS_FILE: &str = "terraform.tfvars.json";
/// Declares the (partial) `s3` backend; the PLAN passes its settings with `-backend-config`.
pub const BACKEND_FILE: &str = "backend.tf";
/// The backend's non-secret settings, for `terraform init -backend-config=state.s3.tfbackend`
/// by hand.
pub const BACKEND_CONFIG_FILE: &str = "state.s3.tfbackend";
/// The vine's `terraform_version` as a `required_version` (only when the vine sets one).
pub const VERSION_FILE: &str = "terraform_version.tf";

/// The non-secret settings of the S3 state backend (the worker's `SUPABASE_S3_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateBackend {
    /// The bucket.
    pub bucket: String,
    /// The bucket's region.
    pub region: String,
    /// An S3-compatible endpoint (Supabase, moto); `None` for AWS S3 itself.
    pub endpoint: Option<String>,
}

/// One rendered file, by its path relative to the working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Relative path, e.g. `eks.tf`.
    pub path: String,
    /// Text.
    pub contents: String,
}

/// What [`render`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The state object key ([`state_key`]).
    pub state_key: String,
    /// The files, templates first.
    pub files: Vec<RenderedFile>,
}

impl Rendered {
    /// The file at `path`, if rendered.
    pub fn file(&self, path: &str) -> Option<&RenderedFile> {
        self.files.iter().find(|f| f.path == path)
    }
}

/// Why a vine could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The team name cannot be part of a state key.
    #[error("invalid team {team:?}: a team is a DNS label (lowercase letters, digits and '-')")]
    InvalidTeam {
        /// The team given.
        team: String,
    },
}

/// Renders `vine` with its provider's templates for `team`'s state in `backend`.
pub fn render(vine: &Vine, team: &str, backend: &StateBackend) -> Result<Rendered, RenderError> {
    render_with(vine, team, backend, TemplateSet::Provider(vine.provider))
}

/// Renders `vine` with the template set `templates` (the stand-in set for tests).
pub fn render_with(
    vine: &Vine,
    team: &str,
    backend: &StateBackend,
    templates: TemplateSet,
) -> Result<Rendered, RenderError> {
    let team_ok = regex::Regex::new(DNS_LABEL_PATTERN).is_ok_and(|re| re.is_match(team));
    if !team_ok || team.len() > 63 {
        return Err(RenderError::InvalidTeam {
            team: team.to_owned(),
        });
    }
    let key = state_key(team, vine);
    let mut files: Vec<RenderedFile> = templates
        .files()
        .into_iter()
        .map(|t| RenderedFile {
            path: t.name.to_owned(),
            contents: t.contents.to_owned(),
        })
        .collect();
    files.push(RenderedFile {
        path: TFVARS_FILE.into(),
        contents: tfvars_json(vine),
    });
    files.push(RenderedFile {
        path: BACKEND_FILE.into(),
        contents:
            "# State lives in S3; the settings come from state.s3.tfbackend (or the worker).\n\
                   terraform {\n  backend \"s3\" {}\n}\n"
                .into(),
    });
    files.push(RenderedFile {
        path: BACKEND_CONFIG_FILE.into(),
        contents: backend_config(backend, &key),
    });
    if let Some(constraint) = &vine.terraform_version {
        files.push(RenderedFile {
            path: VERSION_FILE.into(),
            contents: format!(
                "# The vine's terraform_version.\nterraform {{\n  required_version = {}\n}}\n",
                hcl_string(constraint)
            ),
        });
    }
    Ok(Rendered {
        state_key: key,
        files,
    })
}

/// The `.tfbackend` text: the same non-secret settings the worker passes to `terraform init`
/// (credentials come from the environment of whoever runs it).
fn backend_config(backend: &StateBackend, key: &str) -> String {
    let mut lines = vec![
        "# Non-secret S3 backend settings; credentials come from the environment.".to_owned(),
        format!("bucket       = {}", hcl_string(&backend.bucket)),
        format!("key          = {}", hcl_string(key)),
        format!("region       = {}", hcl_string(&backend.region)),
        "use_lockfile = true".to_owned(),
    ];
    if let Some(endpoint) = &backend.endpoint {
        lines.extend([
            format!("endpoints = {{ s3 = {} }}", hcl_string(endpoint)),
            "use_path_style              = true".to_owned(),
            "skip_credentials_validation = true".to_owned(),
            "skip_requesting_account_id  = true".to_owned(),
            "skip_metadata_api_check     = true".to_owned(),
            "skip_region_validation      = true".to_owned(),
            "skip_s3_checksum            = true".to_owned(),
        ]);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// A quoted HCL string (JSON escaping plus the `${`/`%{` template escapes).
fn hcl_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned())
        .to_string()
        .replace("${", "$${")
        .replace("%{", "%%{")
}
