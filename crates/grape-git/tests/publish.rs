//! `Git::publish` against real git and a bare repository: a new branch from the default one,
//! the same files again (nothing pushed), a directory replaced, and a branch moved by someone
//! else between our checkout and our push (a `pre-receive` hook plays the concurrent pusher):
//! rebased once and pushed.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use grape_git::{Git, GitAuthor, Publication};
use grape_process::{CancellationToken, Command, OutputStream, Redactor};
use grape_testkit::GitRemote;

/// Moves the pushed branch once (when `move-next` exists), as a concurrent pusher would, so
/// receive-pack's compare-and-swap of the ref fails. Outside the quarantine of the incoming
/// objects, where ref updates are allowed.
const HOOK: &str = "#!/bin/sh\n\
[ -e \"$GIT_DIR/move-next\" ] || exit 0\n\
rm -f \"$GIT_DIR/move-next\"\n\
while read old new ref; do\n\
  env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES sh -c '\n\
    tree=$(git rev-parse \"$1^{tree}\")\n\
    c=$(echo concurrent | GIT_AUTHOR_NAME=Other GIT_AUTHOR_EMAIL=o@x GIT_COMMITTER_NAME=Other GIT_COMMITTER_EMAIL=o@x git commit-tree \"$tree\" -p \"$1\")\n\
    git update-ref \"$2\" \"$c\" \"$1\"' _ \"$old\" \"$ref\"\n\
done\n\
exit 0\n";

async fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git", dir)
        .inherit_env(&["PATH"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(args)
        .output(&CancellationToken::new())
        .await
        .unwrap();
    assert!(out.report.success(), "git {args:?}: {:?}", out.report);
    out.stdout.trim().to_owned()
}

#[tokio::test]
async fn files_are_published_to_a_branch_and_a_moved_branch_is_rebased_once() {
    let remote = GitRemote::new().unwrap();
    remote
        .commit(
            &[("README.md", "gitops\n"), ("clusters/dev/old.json", "{}\n")],
            "init",
        )
        .unwrap();
    std::fs::write(remote.path().join("hooks/pre-receive"), HOOK).unwrap();
    std::fs::set_permissions(
        remote.path().join("hooks/pre-receive"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let url = remote.url();
    let author = GitAuthor {
        name: "Vintner".into(),
        email: "vintner@noreply.invalid".into(),
    };
    let files = |v: &str| {
        vec![(
            "application-web.json".to_owned(),
            format!("{{\"v\": {v}}}\n"),
        )]
    };
    let sink = |_: OutputStream, _: &str| {};
    let work = tempfile::tempdir().unwrap();
    let publish = |n: usize, files: Vec<(String, String)>| {
        let (url, author, work) = (url.clone(), author.clone(), work.path().join(n.to_string()));
        async move {
            Git::default()
                .publish(
                    &Publication {
                        url: &url,
                        branch: "vintner/web-dev",
                        dir: "clusters/dev",
                        files: &files,
                        message: "vintner: web/dev Applications",
                        author: &author,
                    },
                    &work,
                    None,
                    &sink,
                    &CancellationToken::new(),
                    &Redactor::new(),
                )
                .await
        }
    };

    // A new branch from main: the directory's old contents are replaced.
    let first = publish(1, files("1")).await.unwrap().expect("a commit");
    let bare = remote.path();
    assert_eq!(git(bare, &["rev-parse", "vintner/web-dev"]).await, first);
    let tree = git(bare, &["ls-tree", "-r", "--name-only", "vintner/web-dev"]).await;
    assert_eq!(
        tree, "README.md\nclusters/dev/application-web.json",
        "{tree}"
    );
    let log = git(
        bare,
        &["log", "-1", "--format=%an <%ae>|%s", "vintner/web-dev"],
    )
    .await;
    assert_eq!(
        log,
        "Vintner <vintner@noreply.invalid>|vintner: web/dev Applications"
    );
    assert_eq!(git(bare, &["rev-parse", "main~0"]).await.len(), 40);

    // The same files again: nothing to commit, nothing pushed.
    assert_eq!(publish(2, files("1")).await.unwrap(), None);

    // Someone pushes to the branch between our checkout and our push: ours is rebased onto
    // theirs once and pushed.
    std::fs::write(bare.join("move-next"), "").unwrap();
    let third = publish(3, files("2")).await.unwrap().expect("a commit");
    assert_eq!(git(bare, &["rev-parse", "vintner/web-dev"]).await, third);
    let subjects = git(bare, &["log", "--format=%an", "vintner/web-dev"]).await;
    assert_eq!(
        subjects, "Vintner\nOther\nVintner\nGrape Test",
        "{subjects}"
    );
    let text = git(
        bare,
        &["show", "vintner/web-dev:clusters/dev/application-web.json"],
    )
    .await;
    assert_eq!(text, "{\"v\": 2}");
}
