//! [`checkout`]: a git source into a directory.

use std::path::{Component, Path, PathBuf};

use grape_process::{CancellationToken, LineSink, Redactor};

use crate::git::{Ctx, failed};
use crate::{Git, GitAuth, GitError};

/// A git source of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    /// Repository URL (`https://…`, `ssh://…`, `file://…`); must not embed a password (nor,
    /// for `http(s)`, a user name).
    pub url: String,
    /// Branch, tag or commit (full or abbreviated sha); `None`: the remote's default branch.
    pub reference: Option<String>,
    /// Subdirectory of the repository the job works in; relative, never climbing out (`..`).
    pub path: Option<String>,
}

/// Result of a [`checkout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedOut {
    /// The working directory of the job: `dest_dir` joined with the source's `path`.
    pub dir: PathBuf,
    /// The root of the checkout (`dest_dir`).
    pub root: PathBuf,
    /// The full sha of the checked-out commit.
    pub commit: String,
}

/// Checks `source` out into `dest_dir` (created if missing; must be empty) with `git` from the
/// PATH. See [`Git::checkout`].
pub async fn checkout(
    source: &GitSource,
    dest_dir: &Path,
    auth: Option<&GitAuth>,
    sink: &dyn LineSink,
    cancel: &CancellationToken,
    redactor: &Redactor,
) -> Result<CheckedOut, GitError> {
    Git::default()
        .checkout(source, dest_dir, auth, sink, cancel, redactor)
        .await
}

impl Git {
    /// Checks `source` out into `dest_dir` (created if missing; must be empty).
    ///
    /// `git init`, `git remote add origin URL`, then a shallow `git fetch --depth 1 origin REF`
    /// and a detached checkout of what was fetched. When a commit sha cannot be fetched shallowly
    /// (abbreviated, or a server that refuses it), all branches and tags are fetched and the
    /// commit is looked up locally. git's output goes to `sink`, redacted with `redactor`, with
    /// which the token of `auth` is registered.
    pub async fn checkout(
        &self,
        source: &GitSource,
        dest_dir: &Path,
        auth: Option<&GitAuth>,
        sink: &dyn LineSink,
        cancel: &CancellationToken,
        redactor: &Redactor,
    ) -> Result<CheckedOut, GitError> {
        let sub = validate_path(source.path.as_deref())?;
        validate_url(&source.url)?;
        let reference = source.reference.as_deref().unwrap_or("HEAD");
        validate_ref(reference)?;
        prepare_dest(dest_dir).await?;
        let ctx = Ctx {
            git: self,
            auth,
            sink,
            cancel,
            redactor,
        };
        let dest = dest_dir;
        ctx.run(
            "init",
            dest,
            &["-c", "init.defaultBranch=main", "init", "-q"],
        )
        .await?;
        ctx.run(
            "remote add",
            dest,
            &["remote", "add", "origin", &source.url],
        )
        .await?;

        let shallow = ctx
            .run_report(
                "fetch",
                dest,
                &["fetch", "--depth", "1", "--no-tags", "origin", reference],
            )
            .await?;
        let target = if shallow.success() {
            "FETCH_HEAD^{commit}".to_owned()
        } else if looks_like_sha(reference) {
            tracing::debug!(
                reference,
                "shallow fetch of a commit refused; fetching everything"
            );
            ctx.run(
                "fetch",
                dest,
                &[
                    "fetch",
                    "--tags",
                    "origin",
                    "+refs/heads/*:refs/remotes/origin/*",
                ],
            )
            .await?;
            let spec = format!("{reference}^{{commit}}");
            let found = ctx
                .run_report(
                    "rev-parse",
                    dest,
                    &["rev-parse", "--verify", "--quiet", &spec],
                )
                .await?;
            if !found.success() {
                return Err(ref_not_found(source, reference));
            }
            spec
        } else if shallow
            .stderr_tail
            .iter()
            .any(|l| l.contains("couldn't find remote ref"))
        {
            return Err(ref_not_found(source, reference));
        } else {
            return Err(failed("fetch", &shallow));
        };
        ctx.run(
            "checkout",
            dest,
            &[
                "-c",
                "advice.detachedHead=false",
                "checkout",
                "-q",
                "--detach",
                &target,
            ],
        )
        .await?;
        let commit = ctx
            .stdout("rev-parse", dest, &["rev-parse", "HEAD"])
            .await?;

        let dir = dest.join(&sub);
        let path_display = source.path.clone().unwrap_or_default();
        let io = |source| GitError::Io {
            path: dest.to_path_buf(),
            source,
        };
        let root = tokio::fs::canonicalize(dest).await.map_err(io)?;
        match tokio::fs::canonicalize(&dir).await {
            Ok(real) if !real.starts_with(&root) => Err(GitError::InvalidPath {
                path: path_display,
                reason: "resolves (through a symlink) outside the checkout",
            }),
            Ok(real) if real.is_dir() => Ok(CheckedOut {
                dir,
                root: dest.to_path_buf(),
                commit,
            }),
            _ => Err(GitError::PathNotFound { path: path_display }),
        }
    }
}

fn ref_not_found(source: &GitSource, reference: &str) -> GitError {
    GitError::RefNotFound {
        url: source.url.clone(),
        reference: reference.to_owned(),
    }
}

async fn prepare_dest(dest: &Path) -> Result<(), GitError> {
    let io = |source| GitError::Io {
        path: dest.to_path_buf(),
        source,
    };
    tokio::fs::create_dir_all(dest).await.map_err(io)?;
    let mut entries = tokio::fs::read_dir(dest).await.map_err(io)?;
    if entries.next_entry().await.map_err(io)?.is_some() {
        return Err(GitError::DestNotEmpty {
            dir: dest.to_path_buf(),
        });
    }
    Ok(())
}

/// The subdirectory as a relative path that stays inside the checkout.
pub(crate) fn validate_path(path: Option<&str>) -> Result<PathBuf, GitError> {
    let Some(p) = path else {
        return Ok(PathBuf::new());
    };
    let invalid = |reason| GitError::InvalidPath {
        path: p.to_owned(),
        reason,
    };
    let mut out = PathBuf::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => return Err(invalid("must not contain `..`")),
            Component::RootDir | Component::Prefix(_) => return Err(invalid("must be relative")),
        }
    }
    Ok(out)
}

fn validate_url(url: &str) -> Result<(), GitError> {
    if url.is_empty() || url.starts_with('-') || url.chars().any(char::is_control) {
        return Err(GitError::InvalidUrl {
            reason: "empty, starting with '-' or containing control characters",
        });
    }
    crate::Origin::of_url(url)?;
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split('/').next().unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && userinfo.contains(':')
        {
            return Err(GitError::InvalidUrl {
                reason: "credentials in the URL; pass them as GitAuth",
            });
        }
    }
    Ok(())
}

pub(crate) fn validate_ref(reference: &str) -> Result<(), GitError> {
    let bad = reference.is_empty()
        || reference.starts_with('-')
        || reference.contains("..")
        || reference.contains(':')
        || reference
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if bad {
        Err(GitError::InvalidRef {
            reference: reference.to_owned(),
        })
    } else {
        Ok(())
    }
}

fn looks_like_sha(reference: &str) -> bool {
    (7..=64).contains(&reference.len()) && reference.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(validate_path(None).unwrap(), PathBuf::new());
        assert_eq!(validate_path(Some("./a/b/")).unwrap(), PathBuf::from("a/b"));
        assert!(validate_path(Some("../x")).is_err());
        assert!(validate_path(Some("a/../../x")).is_err());
        assert!(validate_path(Some("/etc")).is_err());
    }

    #[test]
    fn urls_and_refs() {
        assert!(validate_url("https://github.com/o/r.git").is_ok());
        assert!(validate_url("ssh://git@github.com/o/r.git").is_ok());
        assert!(validate_url("git@github.com:o/r.git").is_ok());
        assert!(validate_url("https://u:tok@github.com/o/r").is_err());
        assert!(validate_url("https://tok@github.com/o/r").is_err());
        assert!(validate_url("ssh://u:pw@github.com/o/r").is_err());
        assert!(validate_url("--upload-pack=x").is_err());
        assert!(validate_ref("main").is_ok());
        assert!(validate_ref("refs/tags/v1.0").is_ok());
        for bad in ["-x", "a b", "a:b", "a..b", ""] {
            assert!(validate_ref(bad).is_err(), "{bad}");
        }
        assert!(looks_like_sha("abc1234"));
        assert!(!looks_like_sha("main"));
    }
}
