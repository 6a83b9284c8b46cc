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

/// The output a vine's PLAN adds to the rendered files: the id of the PLAN job whose plan was
/// last applied to the state. A retried APPLY that finds its own plan's id there knows
/// Terraform is done and resumes with the cluster steps.
pub(super) const APPLIED_PLAN_OUTPUT: &str = "vintner_plan_job_id";

/// What a PLAN or DESTROY runs: the Terraform request, and the vine it was rendered from.
pub(super) struct Planned {
    pub request: TerraformRequest,
    pub vine: Option<Vine>,
}

/// The request of a PLAN or DESTROY: a vine rendered into inline files, or the user's own
/// `{source, variables, state_key}`. A payload is one or the other, never a mix. A PLAN
/// (`check_network`) also checks an existing network and records its own id in the state
/// ([`APPLIED_PLAN_OUTPUT`]).
pub(super) fn request(ctx: &JobContext, check_network: bool) -> Result<Planned, JobError> {
    let job_type = &ctx.job.job_type;
    let user = |ctx: &JobContext| {
        TerraformRequest::from_payload(job_type, &ctx.job.payload).map(|request| Planned {
            request,
            vine: None,
        })
    };
    let Some(object) = ctx.job.payload.as_object() else {
        return user(ctx);
    };
    let Some(vine) = object.get(VINE_FIELD) else {
        return user(ctx);
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
    let vine = vine_of_payload(ctx, vine.clone())?;
    if check_network {
        network_check::check(ctx, &vine)?;
    }
    let mut request = render(ctx, &vine)?;
    if check_network && let Source::Files(files) = &mut request.source {
        files.insert(
            "vintner.tf".into(),
            format!(
                "# Written by Vintner: the PLAN job whose plan this state was last applied from.\n\
                 output \"{APPLIED_PLAN_OUTPUT}\" {{\n  value = \"{}\"\n}}\n",
                ctx.job.id
            ),
        );
    }
    Ok(Planned {
        request,
        vine: Some(vine),
    })
}

/// Reads the vine a PLAN saved with its artifact.
pub(super) fn saved_vine(
    value: &serde_json::Value,
    plan_job_id: uuid::Uuid,
) -> Result<Vine, JobError> {
    grape_vine::vine_from_value(value.clone()).map_err(|e| {
        JobError::Failed(format!(
            "the vine saved with the plan of job {plan_job_id} is unreadable ({e}): plan again and apply the new plan"
        ))
    })
}

/// The vine of a payload, checked (every problem with its field path), run as its own
/// identity of its own cloud.
pub(crate) fn vine_of_payload(ctx: &JobContext, vine: serde_json::Value) -> Result<Vine, JobError> {
    let vine = grape_vine::vine_from_value(vine).map_err(|e| invalid(ctx, e.to_string()))?;
    check_identity(ctx, &vine)?;
    Ok(vine)
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
