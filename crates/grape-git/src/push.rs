//! [`commit_all_and_push`]: for GitOps jobs.

use std::path::Path;

use grape_process::{CancellationToken, LineSink, Redactor};

use crate::git::Ctx;
use crate::{Git, GitAuth, GitError};

/// Author (and committer) of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitAuthor {
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

/// Commits every change in the checkout `dir` and pushes it to `branch` of `origin`, with `git`
/// from the PATH. See [`Git::commit_all_and_push`].
#[allow(clippy::too_many_arguments)]
pub async fn commit_all_and_push(
    dir: &Path,
    message: &str,
    author: &GitAuthor,
    branch: &str,
    auth: Option<&GitAuth>,
    sink: &dyn LineSink,
    cancel: &CancellationToken,
    redactor: &Redactor,
) -> Result<Option<String>, GitError> {
    Git::default()
        .commit_all_and_push(dir, message, author, branch, auth, sink, cancel, redactor)
        .await
}

impl Git {
    /// Commits every change (added, modified, deleted files) in the checkout `dir` and pushes
    /// the commit to `branch` of `origin`. Returns the new commit's sha, or `None` when there
    /// was nothing to commit (then nothing is pushed).
    #[allow(clippy::too_many_arguments)]
    pub async fn commit_all_and_push(
        &self,
        dir: &Path,
        message: &str,
        author: &GitAuthor,
        branch: &str,
        auth: Option<&GitAuth>,
        sink: &dyn LineSink,
        cancel: &CancellationToken,
        redactor: &Redactor,
    ) -> Result<Option<String>, GitError> {
        if branch.is_empty()
            || branch.starts_with('-')
            || branch.contains(':')
            || branch.contains("..")
            || branch.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(GitError::InvalidRef {
                reference: branch.to_owned(),
            });
        }
        let ctx = Ctx {
            git: self,
            auth,
            sink,
            cancel,
            redactor,
        };
        let Some(commit) = commit_all(&ctx, dir, message, author).await? else {
            return Ok(None);
        };
        let refspec = format!("HEAD:refs/heads/{branch}");
        ctx.run("push", dir, &["push", "-q", "origin", &refspec])
            .await?;
        Ok(Some(commit))
    }
}

/// Commits every change (added, modified, deleted files) of the checkout `dir` as `author`;
/// returns the commit's sha, `None` when there was nothing to commit.
pub(crate) async fn commit_all(
    ctx: &Ctx<'_>,
    dir: &Path,
    message: &str,
    author: &GitAuthor,
) -> Result<Option<String>, GitError> {
    ctx.run("add", dir, &["add", "-A"]).await?;
    if ctx
        .run_report("diff", dir, &["diff", "--cached", "--quiet"])
        .await?
        .success()
    {
        return Ok(None);
    }
    let name_cfg = format!("user.name={}", author.name);
    let email_cfg = format!("user.email={}", author.email);
    ctx.run(
        "commit",
        dir,
        &[
            "-c",
            &name_cfg,
            "-c",
            &email_cfg,
            "commit",
            "-q",
            "--no-verify",
            "-m",
            message,
        ],
    )
    .await?;
    ctx.stdout("rev-parse", dir, &["rev-parse", "HEAD"])
        .await
        .map(Some)
}
