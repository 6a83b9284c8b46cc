//! The add-identity forms of the Cloud identities page — AWS, GCP and Azure — and the settings
//! each posts, built as `grape identities add aws|gcp|azure` builds them. Trellis' own
//! `create_identity` validates them (`grape_api::IdentitySettings::parse`); a refused form is
//! shown again, open, with the problem and what was typed. Nothing secret is ever asked: how a
//! worker reaches a cloud (endpoints, token files) is the worker's configuration.

use crate::console::layout::csrf_field;
use crate::console::session::Console;
use grape_api::{CloudProvider, CreateIdentityRequest};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The fields of every add form (each form posts its own provider's and `provider`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct AddForm {
    /// `aws`, `gcp` or `azure`.
    pub provider: String,
    /// Display name.
    pub name: String,
    /// AWS: the role to assume.
    pub role_arn: String,
    /// AWS: the external id of the role's trust policy.
    pub external_id: String,
    /// AWS and GCP: regions, comma-separated.
    pub regions: String,
    /// GCP: the project id.
    pub project_id: String,
    /// GCP: the project number.
    pub project_number: String,
    /// GCP: the workload identity pool provider.
    pub audience: String,
    /// GCP: the service account to impersonate.
    pub service_account: String,
    /// GCP: `aws` or `file`.
    pub subject_token_source: String,
    /// GCP: a pasted `external_account` JSON document.
    pub external_account: String,
    /// Azure: the tenant id.
    pub tenant_id: String,
    /// Azure: the application (client) id.
    pub client_id: String,
    /// Azure: the subscription id.
    pub subscription_id: String,
    /// Azure: `file` or `aws`.
    pub assertion_source: String,
}

fn list(text: &str) -> Vec<&str> {
    text.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect()
}

impl AddForm {
    /// The provider the form is for.
    pub fn provider(&self) -> CloudProvider {
        CloudProvider::from_wire(self.provider.trim())
    }

    /// The API request of the form; a problem the API could not word itself (a pasted
    /// document that is not JSON, an unknown provider) as a sentence.
    pub fn request(&self) -> Result<CreateIdentityRequest, String> {
        let mut settings = Map::new();
        let mut put = |k: &str, v: &str| {
            settings.insert(k.to_owned(), json!(v.trim()));
        };
        let provider = self.provider();
        match &provider {
            CloudProvider::Aws => {
                put("role_arn", &self.role_arn);
                if !self.external_id.trim().is_empty() {
                    put("external_id", &self.external_id);
                }
            }
            CloudProvider::Gcp => {
                put("project_id", &self.project_id);
                put("project_number", &self.project_number);
                for (k, v) in [
                    ("audience", &self.audience),
                    ("service_account", &self.service_account),
                ] {
                    if !v.trim().is_empty() {
                        put(k, v);
                    }
                }
                let source = self.subject_token_source.trim();
                put(
                    "subject_token_source",
                    if source.is_empty() { "aws" } else { source },
                );
            }
            CloudProvider::Azure => {
                put("tenant_id", &self.tenant_id);
                put("client_id", &self.client_id);
                put("subscription_id", &self.subscription_id);
                let source = self.assertion_source.trim();
                put(
                    "assertion_source",
                    if source.is_empty() { "file" } else { source },
                );
            }
            CloudProvider::Unknown(other) => {
                return Err(format!(
                    "unknown provider `{other}` (expected one of: {})",
                    CloudProvider::expected()
                ));
            }
        }
        if provider != CloudProvider::Azure && !list(&self.regions).is_empty() {
            settings.insert("regions".into(), json!(list(&self.regions)));
        }
        if provider == CloudProvider::Gcp && !self.external_account.trim().is_empty() {
            let doc: Value = serde_json::from_str(self.external_account.trim())
                .map_err(|e| format!("the pasted external_account is not JSON: {e}"))?;
            settings.insert("external_account".into(), doc);
        }
        Ok(CreateIdentityRequest {
            name: self.name.trim().to_owned(),
            provider,
            settings: Value::Object(settings),
        })
    }
}

/// What a refused form shows again: its values and the problem.
#[derive(Debug, Clone, Copy)]
pub struct Refused<'a> {
    /// The form as posted.
    pub form: &'a AddForm,
    /// Why it was refused.
    pub problem: &'a str,
}

/// The three add forms, each in a `details` (open when it was just refused).
pub fn add_forms(console: &Console, refused: Option<Refused<'_>>) -> Markup {
    let empty = AddForm::default();
    let of = |p: CloudProvider| match refused {
        Some(r) if r.form.provider() == p => (r.form, Some(r.problem)),
        _ => (&empty, None),
    };
    let (aws, aws_problem) = of(CloudProvider::Aws);
    let (gcp, gcp_problem) = of(CloudProvider::Gcp);
    let (azure, azure_problem) = of(CloudProvider::Azure);
    html! {
        section class="panel" aria-labelledby="add-h" id="add-identity" {
            h2 id="add-h" { "Add a cloud identity" }
            p class="muted" { "Nothing secret is entered here: workers reach the cloud with their own credentials and endpoints (TENDRIL_AWS_*, TENDRIL_GCP_*, TENDRIL_AZURE_* on the worker)." }
            details id="add-aws" open[aws_problem.is_some()] {
                summary { "AWS: a role the workers assume" }
                (problem_note(aws_problem))
                form method="post" action="/identities" class="stack" {
                    (csrf_field(console))
                    input type="hidden" name="provider" value="aws";
                    (text_field("aws-name", "name", "Name", &aws.name, true, ""))
                    (text_field("aws-role", "role_arn", "Role ARN", &aws.role_arn, true, "arn:aws:iam::123456789012:role/vintner"))
                    (text_field("aws-ext", "external_id", "External id (optional)", &aws.external_id, false, ""))
                    (text_field("aws-regions", "regions", "Regions (comma-separated; the first is the primary one)", &aws.regions, false, "eu-west-1, us-east-1"))
                    button type="submit" { "Add AWS identity" }
                }
            }
            details id="add-gcp" open[gcp_problem.is_some()] {
                summary { "GCP: a workload identity pool provider" }
                (problem_note(gcp_problem))
                form method="post" action="/identities" class="stack" {
                    (csrf_field(console))
                    input type="hidden" name="provider" value="gcp";
                    (text_field("gcp-name", "name", "Name", &gcp.name, true, ""))
                    (text_field("gcp-project", "project_id", "Project id", &gcp.project_id, true, "acme-prod"))
                    (text_field("gcp-number", "project_number", "Project number", &gcp.project_number, true, "123456789012"))
                    (text_field("gcp-audience", "audience", "Workload identity pool provider (audience)", &gcp.audience, false,
                        "//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER"))
                    (text_field("gcp-sa", "service_account", "Service account to impersonate (optional)", &gcp.service_account, false,
                        "vintner@acme-prod.iam.gserviceaccount.com"))
                    label for="gcp-source" { "Subject token of the worker" }
                    select id="gcp-source" name="subject_token_source" {
                        option value="aws" selected[gcp.subject_token_source != "file"] { "aws: its own AWS credentials (signed GetCallerIdentity)" }
                        option value="file" selected[gcp.subject_token_source == "file"] { "file: its OIDC token file (TENDRIL_GCP_SUBJECT_TOKEN_FILE)" }
                    }
                    label for="gcp-external" { "Or paste the external_account JSON of gcloud iam workload-identity-pools create-cred-config (optional; its audience and service account are read)" }
                    textarea id="gcp-external" name="external_account" rows="4" spellcheck="false" { (gcp.external_account) }
                    (text_field("gcp-regions", "regions", "Regions to discover subnetworks in (comma-separated; empty: every region)", &gcp.regions, false, "europe-west1"))
                    button type="submit" { "Add GCP identity" }
                }
            }
            details id="add-azure" open[azure_problem.is_some()] {
                summary { "Azure: an app registration with a federated credential" }
                (problem_note(azure_problem))
                form method="post" action="/identities" class="stack" {
                    (csrf_field(console))
                    input type="hidden" name="provider" value="azure";
                    (text_field("az-name", "name", "Name", &azure.name, true, ""))
                    (text_field("az-tenant", "tenant_id", "Tenant (directory) id", &azure.tenant_id, true, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"))
                    (text_field("az-client", "client_id", "Application (client) id", &azure.client_id, true, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"))
                    (text_field("az-sub", "subscription_id", "Subscription id", &azure.subscription_id, true, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"))
                    label for="az-source" { "Client assertion of the worker" }
                    select id="az-source" name="assertion_source" {
                        option value="file" selected[azure.assertion_source != "aws"] { "file: its federated token file (TENDRIL_AZURE_FEDERATED_TOKEN_FILE)" }
                        option value="aws" selected[azure.assertion_source == "aws"] { "aws: a web identity token of its AWS identity" }
                    }
                    button type="submit" { "Add Azure identity" }
                }
            }
        }
    }
}

fn problem_note(problem: Option<&str>) -> Markup {
    html! { @if let Some(p) = problem { p class="problem" role="alert" id="add-problem" { (p) } } }
}

fn text_field(
    id: &str,
    name: &str,
    label: &str,
    value: &str,
    required: bool,
    placeholder: &str,
) -> Markup {
    html! {
        label for=(id) { (label) }
        input id=(id) name=(name) value=(value) required[required] maxlength="2000"
            placeholder=[(!placeholder.is_empty()).then_some(placeholder)] autocomplete="off" spellcheck="false";
    }
}

#[cfg(test)]
mod tests {
    use super::AddForm;
    use grape_api::{CloudProvider, IdentitySettings};
    use serde_json::json;

    fn form(pairs: &[(&str, &str)]) -> AddForm {
        serde_urlencoded::from_str(&serde_urlencoded::to_string(pairs).unwrap()).unwrap()
    }

    #[test]
    fn each_form_posts_the_settings_grape_posts() {
        let gcp = form(&[
            ("provider", "gcp"),
            ("name", " acme "),
            ("project_id", "acme-prod"),
            ("project_number", "123456789012"),
            ("audience", "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/vintner/providers/aws"),
            ("service_account", ""),
            ("regions", "europe-west1, ,us-central1"),
            ("csrf_token", "x"),
        ])
        .request()
        .unwrap();
        assert_eq!(gcp.name, "acme");
        assert_eq!(gcp.settings["subject_token_source"], "aws");
        assert_eq!(
            gcp.settings["regions"],
            json!(["europe-west1", "us-central1"])
        );
        assert!(gcp.settings.get("service_account").is_none());
        IdentitySettings::parse(&CloudProvider::Gcp, &gcp.settings).unwrap();

        let azure = form(&[
            ("provider", "azure"),
            ("name", "az"),
            ("tenant_id", "11111111-2222-3333-4444-555555555555"),
            ("client_id", "66666666-7777-8888-9999-000000000000"),
            ("subscription_id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
            ("regions", "ignored"),
        ])
        .request()
        .unwrap();
        assert_eq!(azure.settings["assertion_source"], "file");
        assert!(azure.settings.get("regions").is_none());
        IdentitySettings::parse(&CloudProvider::Azure, &azure.settings).unwrap();

        let aws = form(&[
            ("provider", "aws"),
            ("name", "a"),
            ("role_arn", "arn:aws:iam::123456789012:role/r"),
        ])
        .request()
        .unwrap();
        assert_eq!(
            aws.settings,
            json!({"role_arn": "arn:aws:iam::123456789012:role/r"})
        );
    }

    #[test]
    fn a_pasted_document_must_be_json_and_the_provider_known() {
        let e = form(&[("provider", "gcp"), ("external_account", "{not json")])
            .request()
            .unwrap_err();
        assert!(e.contains("not JSON"), "{e}");
        let e = form(&[("provider", "oracle")]).request().unwrap_err();
        assert!(e.contains("unknown provider `oracle`"), "{e}");
    }
}
