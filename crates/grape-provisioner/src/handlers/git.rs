//! Git sources of jobs.

use std::path::Path;

use crate::handlers::terraform::GitSourceSpec;
use crate::{JobContext, JobError};

/// Checks `spec` out into `dest`: the configuration directory inside it and the commit.
pub(crate) async fn checkout(
    ctx: &JobContext,
    spec: &GitSourceSpec,
    dest: &Path,
) -> Result<grape_git::CheckedOut, JobError> {
    let auth = match &spec.token_env {
        None => None,
        Some(name) => {
            let token = std::env::var(name).map_err(|_| {
                JobError::Failed(format!(
                    "the git source names the token variable {name}, which is not set on this worker"
                ))
            })?;
            Some(grape_git::GitAuth::token(token))
        }
    };
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
