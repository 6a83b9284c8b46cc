//! Git sources of jobs.

use std::path::Path;

use crate::handlers::terraform::GitSourceSpec;
use crate::{JobContext, JobError};

/// Checks `spec` out into `dest`: the configuration directory inside it and the commit. The
/// token, if any, is the one the worker's git credentials hold for the URL's exact origin.
pub(crate) async fn checkout(
    ctx: &JobContext,
    spec: &GitSourceSpec,
    dest: &Path,
) -> Result<grape_git::CheckedOut, JobError> {
    let auth = ctx
        .settings
        .git_credentials
        .auth_for(&spec.url)
        .map_err(|e| JobError::InvalidPayload {
            job_type: ctx.job.job_type.to_string(),
            reason: format!("`source.git.url`: {e}"),
        })?;
    let source = grape_git::GitSource {
        url: spec.url.clone(),
        reference: spec.reference.clone(),
        path: spec.path.clone(),
    };
    ctx.log.system(format!(
        "checking out {}{}",
        ctx.redactor.redact(&spec.url),
        spec.reference
            .as_deref()
            .map(|r| format!(" at {r}"))
            .unwrap_or_default()
    ));
    match &auth {
        Some(auth) => ctx.log.system(format!(
            "using this worker's git token for {}",
            auth.origin()
        )),
        None if !ctx.settings.git_credentials.is_empty() => ctx
            .log
            .system("this worker has no git token for the URL's origin: cloning without one"),
        None => {}
    }
    let out = grape_git::checkout(
        &source,
        dest,
        auth.as_ref(),
        &ctx.log,
        &ctx.cancel,
        &ctx.redactor,
    )
    .await
    .map_err(|e| match e {
        grape_git::GitError::Cancelled { .. } => JobError::Cancelled,
        e => JobError::Failed(format!("git checkout failed: {e}")),
    })?;
    ctx.log.system(format!("checked out commit {}", out.commit));
    Ok(out)
}
