//! A bare git repository on disk, reachable as a `file://` URL, with helpers to commit to it.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::{TestkitError, process};

/// A bare repository in a temporary directory (removed on drop) whose `HEAD` is
/// `refs/heads/main`. It starts empty; [`GitRemote::commit`] adds commits.
#[derive(Debug)]
pub struct GitRemote {
    dir: TempDir,
    bare: PathBuf,
}

impl GitRemote {
    /// Creates an empty bare repository.
    pub fn new() -> Result<Self, TestkitError> {
        let dir = tempfile::Builder::new()
            .prefix("git-remote-")
            .tempdir()
            .map_err(|e| TestkitError::io("cannot create a temporary directory", e))?;
        let bare = dir.path().join("remote.git");
        process::run(
            git(dir.path())
                .args(["init", "--quiet", "--bare"])
                .arg(&bare),
        )?;
        process::run(git(&bare).args(["symbolic-ref", "HEAD", "refs/heads/main"]))?;
        Ok(Self { dir, bare })
    }

    /// The `file://` URL of the repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    /// The repository directory (`…/remote.git`).
    pub fn path(&self) -> &Path {
        &self.bare
    }

    /// Commits `files` (path relative to the repository root, contents) to `main` and
    /// returns the new commit id.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> Result<String, TestkitError> {
        self.commit_on("main", files, message)
    }

    /// Commits `files` to `branch` (created from `main` if it is new) and returns the commit id.
    pub fn commit_on(
        &self,
        branch: &str,
        files: &[(&str, &str)],
        message: &str,
    ) -> Result<String, TestkitError> {
        let work = self
            .dir
            .path()
            .join(format!("work-{}", uuid::Uuid::new_v4().simple()));
        process::run(
            git(self.dir.path())
                .args(["clone", "--quiet"])
                .arg(&self.bare)
                .arg(&work),
        )?;
        let result = commit_in(&work, branch, files, message);
        let _ = std::fs::remove_dir_all(&work);
        result
    }

    /// Creates a lightweight tag `name` on revision `rev` (e.g. `main`).
    pub fn tag(&self, name: &str, rev: &str) -> Result<(), TestkitError> {
        process::run(git(&self.bare).args(["tag", name, rev])).map(drop)
    }
}

/// In the clone `work`: check out `branch`, write `files`, commit and push; the new commit id.
fn commit_in(
    work: &Path,
    branch: &str,
    files: &[(&str, &str)],
    message: &str,
) -> Result<String, TestkitError> {
    let has =
        |rev: &str| process::run(git(work).args(["rev-parse", "--verify", "--quiet", rev])).is_ok();
    let checkout = if has(&format!("refs/remotes/origin/{branch}")) {
        vec![
            "checkout".into(),
            "--quiet".into(),
            "-B".into(),
            branch.into(),
            format!("origin/{branch}"),
        ]
    } else if has("refs/remotes/origin/main") {
        vec![
            "checkout".into(),
            "--quiet".into(),
            "-B".into(),
            branch.into(),
            "origin/main".into(),
        ]
    } else {
        vec![
            "checkout".into(),
            "--quiet".into(),
            "--orphan".into(),
            branch.to_owned(),
        ]
    };
    process::run(git(work).args(&checkout))?;
    for (path, contents) in files {
        let target = work.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| TestkitError::io(format!("cannot create {}", parent.display()), e))?;
        }
        std::fs::write(&target, contents)
            .map_err(|e| TestkitError::io(format!("cannot write {}", target.display()), e))?;
    }
    process::run(git(work).args(["add", "--all"]))?;
    process::run(git(work).args(["commit", "--quiet", "--allow-empty", "-m", message]))?;
    process::run(
        git(work)
            .args(["push", "--quiet", "origin"])
            .arg(format!("HEAD:refs/heads/{branch}")),
    )?;
    let out = process::run(git(work).args(["rev-parse", "HEAD"]))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `git` in `cwd`, isolated from the user's and system's configuration, with a fixed author.
fn git(cwd: &Path) -> Command {
    let mut cmd = process::command("git");
    cmd.current_dir(cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Grape Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Grape Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .stdin(std::process::Stdio::null());
    cmd
}
