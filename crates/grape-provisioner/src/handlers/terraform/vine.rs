//! PLAN and DESTROY of a vine: the payload `{"vine": {...}}` becomes Vintner's own Terraform.
//!
//! The vine is checked before any tool runs (field paths in the reason), its cloud identity must
//! be the job's and of the vine's provider, an existing network must be in the identity's cached
//! discovery, and the bundled templates are rendered (with `terraform.tfvars.json` and the
//! backend declaration) into an inline-files request. From there a vine is planned, saved and
//! applied exactly like user Terraform: the plan artifact holds the rendered files, so an APPLY
//! applies what was planned even if the worker's templates changed in between.

use std::collections::BTreeMap;

use grape_vine::{CloudProvider, StateBackend, TemplateSet, Vine};

use super::network_check;
use super::request::{Source, TerraformRequest};
use crate::{JobContext, JobError};

/// The payload key of a vine PLAN/DESTROY.
pub const VINE_FIELD: &str = "vine";

/// Which templates vines are rendered with on this host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VineTemplates {
    /// The provider's own templates (AWS: VPC + EKS, GCP: VPC + GKE, Azure: VNet + AKS).
    #[default]
    Provider,
    /// The provider-free `terraform_data` stand-in set with the same variables and outputs:
    /// for demos and tests on machines without cloud providers (`TENDRIL_VINE_TEMPLATES=standin`).
    StandIn,
}

impl VineTemplates {
    /// Reads `provider` or `standin` (the value of `TENDRIL_VINE_TEMPLATES` /
    /// `GRAPE_VINE_TEMPLATES`).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "provider" => Some(Self::Provider),
            "standin" | "stand-in" => Some(Self::StandIn),
            _ => None,
        }
    }

    /// The template set a vine of `provider` renders with on this host.
    pub fn set(self, provider: CloudProvider) -> TemplateSet {
        match self {
            Self::Provider => TemplateSet::Provider(provider),
            Self::StandIn => TemplateSet::StandIn,
        }
    }
}

/// The request of a PLAN or DESTROY: a vine rendered into inline files, or the user's own
/// `{source, variables, state_key}`. A payload is one or the other, never a mix.
pub(super) fn request(ctx: &JobContext, check_network: bool) -> Result<TerraformRequest, JobError> {
    let job_type = &ctx.job.job_type;
    let Some(object) = ctx.job.payload.as_object() else {
        return TerraformRequest::from_payload(job_type, &ctx.job.payload);
    };
    let Some(vine) = object.get(VINE_FIELD) else {
        return TerraformRequest::from_payload(job_type, &ctx.job.payload);
    };
    let others: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| *k != VINE_FIELD)
        .collect();
    if !others.is_empty() {
        return Err(invalid(
            ctx,
            format!(
                "a payload is either {{\"vine\": …}} or {{source, variables, state_key}}, never a \
                 mix: remove `{}` (a vine's variables and state key come from the vine)",
                others.join("`, `")
            ),
        ));
    }
    let vine =
        grape_vine::vine_from_value(vine.clone()).map_err(|e| invalid(ctx, e.to_string()))?;
    check_identity(ctx, &vine)?;
    if check_network {
        network_check::check(ctx, &vine)?;
    }
    render(ctx, &vine)
}

/// The job's identity must be the vine's, and of the vine's provider.
fn check_identity(ctx: &JobContext, vine: &Vine) -> Result<(), JobError> {
    match ctx.job.cloud_identity_id {
        Some(id) if id == vine.cloud_identity_id => {}
        Some(id) => {
            return Err(JobError::Failed(format!(
                "the job runs as cloud identity {id}, but the vine names cloud_identity_id {}: \
                 submit the job with the vine's identity (`grape vine plan` does)",
                vine.cloud_identity_id
            )));
        }
        None => {
            return Err(JobError::Failed(format!(
                "the job names no cloud identity, but the vine names cloud_identity_id {}: \
                 submit the job with the vine's identity (`grape vine plan` does)",
                vine.cloud_identity_id
            )));
        }
    }
    if let Some(identity) = &ctx.job.identity {
        let theirs = identity.provider.to_string().to_ascii_lowercase();
        if theirs != vine.provider.as_str() {
            return Err(JobError::Failed(format!(
                "the vine's provider is {}, but its cloud identity {} is a {theirs} identity: \
                 give the vine an identity of its own cloud",
                vine.provider.as_str(),
                identity.id
            )));
        }
    }
    Ok(())
}

/// Renders the vine into the request the Terraform jobs run.
fn render(ctx: &JobContext, vine: &Vine) -> Result<TerraformRequest, JobError> {
    let Some(settings) = &ctx.settings.state_backend else {
        return Err(super::workdir::no_state_backend());
    };
    let backend = StateBackend {
        bucket: settings.bucket.clone(),
        region: settings.region.clone(),
        endpoint: settings.endpoint.clone(),
    };
    let set = ctx.settings.vine_templates.set(vine.provider);
    let team = job_team(&ctx.job);
    let rendered = grape_vine::render_with(vine, team, &backend, set)
        .map_err(|e| JobError::Failed(format!("rendering the vine: {e}")))?;
    ctx.log.system(format!(
        "vine {}/{} in {} ({}): {} files of the `{}` template set",
        vine.project_name,
        vine.environment_stage,
        vine.region,
        vine.provider.as_str(),
        rendered.files.len(),
        set.name()
    ));
    let files: BTreeMap<String, String> = rendered
        .files
        .into_iter()
        .map(|f| (f.path, f.contents))
        .collect();
    Ok(TerraformRequest {
        source: Source::Files(files),
        variables: BTreeMap::new(),
        sensitive_variables: Vec::new(),
        state_key: rendered.state_key,
    })
}

/// The team whose state the job's vine lives in: the job's (its submitter's) team.
fn job_team(job: &grape_api::Job) -> &str {
    if job.team.is_empty() {
        grape_vine::DEFAULT_TEAM
    } else {
        &job.team
    }
}

fn invalid(ctx: &JobContext, reason: String) -> JobError {
    JobError::InvalidPayload {
        job_type: ctx.job.job_type.to_string(),
        reason,
    }
}
