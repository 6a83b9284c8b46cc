//! Step `gitops`: with `repositories.gitops_repo`, the platform's rendered objects are
//! committed (author "Vintner") to branch `vintner/<project>-<environment>` of that repository
//! under `clusters/<environment>/`, one JSON manifest per object; a push the branch moved
//! under is rebased once, then the step fails naming the branch. The token is the worker's
//! map's for the repository's exact origin (as for git sources).

use grape_argocd::Manifest;
use grape_git::{Git, GitAuthor, Publication};
use grape_vine::Vine;
use serde_json::{Value, json};

use super::{Step, step_failed};
use crate::{JobContext, JobError};

/// Publishes `manifests` to the vine's GitOps repository; `null` when it names none.
pub(super) async fn publish(
    ctx: &JobContext,
    vine: &Vine,
    manifests: &[Manifest],
) -> Result<Value, JobError> {
    let Some(url) = &vine.repositories.gitops_repo else {
        return Ok(Value::Null);
    };
    let branch = format!("vintner/{}-{}", vine.project_name, vine.environment_stage);
    let dir = format!("clusters/{}", vine.environment_stage);
    let files: Vec<(String, String)> = manifests
        .iter()
        .map(|m| {
            let text = serde_json::to_string_pretty(&m.0).unwrap_or_default() + "\n";
            (
                format!("{}-{}.json", m.kind().to_ascii_lowercase(), m.name()),
                text,
            )
        })
        .collect();
    let auth = ctx
        .settings
        .git_credentials
        .auth_for(url)
        .map_err(|e| step_failed(Step::GitOps, e))?;
    ctx.log.system(format!(
        "committing {} manifests to {url} branch {branch} under {dir}/",
        files.len()
    ));
    let author = GitAuthor {
        name: "Vintner".into(),
        email: "vintner@noreply.invalid".into(),
    };
    let message = format!(
        "vintner: {}/{} platform Applications",
        vine.project_name, vine.environment_stage
    );
    let commit = Git::default()
        .grace(ctx.settings.interrupt_grace)
        .publish(
            &Publication {
                url,
                branch: &branch,
                dir: &dir,
                files: &files,
                message: &message,
                author: &author,
            },
            &ctx.workspace.join("gitops"),
            auth.as_ref(),
            &ctx.log,
            &ctx.cancel,
            &ctx.redactor,
        )
        .await
        .map_err(|e| match e {
            grape_git::GitError::Cancelled { .. } => JobError::Cancelled,
            other => step_failed(Step::GitOps, other),
        })?;
    ctx.log.system(match &commit {
        Some(sha) => format!("pushed {sha} to {branch}"),
        None => format!("{branch} already holds these manifests: nothing pushed"),
    });
    Ok(json!({"repo": url, "branch": branch, "path": dir, "commit": commit}))
}
