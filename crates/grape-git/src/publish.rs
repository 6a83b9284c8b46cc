//! [`Git::publish`]: a directory of files committed to a branch of a repository (GitOps: the
//! rendered Applications of a vine under `clusters/<environment>/`).

use std::path::Path;

use grape_process::{CancellationToken, LineSink, Redactor};

use crate::checkout::GitSource;
use crate::git::Ctx;
use crate::push::commit_all;
use crate::{Git, GitAuth, GitAuthor, GitError};

/// What to publish where.
#[derive(Debug, Clone)]
pub struct Publication<'a> {
    /// The repository URL.
    pub url: &'a str,
    /// The branch the commit goes to (made from the default branch when it does not exist).
    pub branch: &'a str,
    /// The directory of the repository the files live in (its old contents are replaced).
    pub dir: &'a str,
    /// The files: names relative to `dir`, and their text.
    pub files: &'a [(String, String)],
    /// The commit message.
    pub message: &'a str,
    /// Author and committer.
    pub author: &'a GitAuthor,
}

impl Git {
    /// Checks out `publication.branch` of the repository (its default branch when the branch
    /// does not exist yet) into `work` (created; must be empty), replaces `dir` with the files,
    /// commits and pushes to the branch. A push refused because the branch moved meanwhile is
    /// rebased once onto the new tip and pushed again; a second refusal is
    /// [`GitError::PushRejected`] naming the branch. Returns the pushed commit, or `None` when
    /// the files were already there (nothing is pushed).
    #[allow(clippy::too_many_arguments)]
    pub async fn publish(
        &self,
        publication: &Publication<'_>,
        work: &Path,
        auth: Option<&GitAuth>,
        sink: &dyn LineSink,
        cancel: &CancellationToken,
        redactor: &Redactor,
    ) -> Result<Option<String>, GitError> {
        let Publication {
            url, branch, dir, ..
        } = *publication;
        crate::checkout::validate_ref(branch)?;
        let sub = crate::checkout::validate_path(Some(dir))?;
        let source = GitSource {
            url: url.to_owned(),
            reference: None,
            path: None,
        };
        let root = self
            .checkout(&source, work, auth, sink, cancel, redactor)
            .await?
            .root;
        let ctx = Ctx {
            git: self,
            auth,
            sink,
            cancel,
            redactor,
        };
        let tip = format!("refs/heads/{branch}");
        // On the branch's tip when it exists (a failed fetch: it does not, start from HEAD).
        if ctx
            .run_report(
                "fetch",
                &root,
                &["fetch", "--depth", "1", "--no-tags", "origin", &tip],
            )
            .await?
            .success()
        {
            ctx.run(
                "checkout",
                &root,
                &["checkout", "-q", "--detach", "FETCH_HEAD"],
            )
            .await?;
        }
        let target = root.join(&sub);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| GitError::Io { path, source }
        };
        match tokio::fs::remove_dir_all(&target).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&target)(e)),
            _ => {}
        }
        for (name, text) in publication.files {
            let file = crate::checkout::validate_path(Some(name))?;
            let path = target.join(file);
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(io(parent))?;
            }
            tokio::fs::write(&path, text).await.map_err(io(&path))?;
        }
        let Some(commit) = commit_all(&ctx, &root, publication.message, publication.author).await?
        else {
            return Ok(None);
        };
        let refspec = format!("HEAD:{tip}");
        if ctx
            .run_report("push", &root, &["push", "-q", "origin", &refspec])
            .await?
            .success()
        {
            return Ok(Some(commit));
        }
        // The branch moved since the checkout: replay our one commit onto its new tip, once.
        let rejected = |detail: String| GitError::PushRejected {
            branch: branch.to_owned(),
            detail,
        };
        ctx.run(
            "fetch",
            &root,
            &["fetch", "--depth", "1", "--no-tags", "origin", &tip],
        )
        .await
        .map_err(|e| rejected(e.to_string()))?;
        let author = publication.author;
        let name_cfg = format!("user.name={}", author.name);
        let email_cfg = format!("user.email={}", author.email);
        let rebase = ctx
            .run_report(
                "rebase",
                &root,
                &[
                    "-c",
                    &name_cfg,
                    "-c",
                    &email_cfg,
                    "rebase",
                    "-q",
                    "--onto",
                    "FETCH_HEAD",
                    "HEAD~1",
                ],
            )
            .await?;
        if !rebase.success() {
            let _ = ctx
                .run_report("rebase", &root, &["rebase", "--abort"])
                .await;
            return Err(rejected(format!(
                "the branch moved and our commit does not rebase onto it: {}",
                rebase.stderr_tail.join(" ")
            )));
        }
        let again = ctx
            .run_report("push", &root, &["push", "-q", "origin", &refspec])
            .await?;
        if !again.success() {
            return Err(rejected(again.stderr_tail.join(" ")));
        }
        ctx.stdout("rev-parse", &root, &["rev-parse", "HEAD"])
            .await
            .map(Some)
    }
}
