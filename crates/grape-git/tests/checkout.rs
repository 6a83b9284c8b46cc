//! Checkouts from real bare repositories on disk (`file://`) with real git.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use grape_api::Secret;
use grape_git::{
    CheckedOut, Git, GitAuth, GitAuthor, GitError, GitSource, Origin, checkout, commit_all_and_push,
};
use grape_process::{CancellationToken, Command, OutputStream, Redactor};

const TOKEN: &str = "ghp_TestTokenThatMustNeverLeak42";

#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl grape_process::LineSink for Lines {
    fn line(&self, _: OutputStream, text: &str) {
        self.0.lock().unwrap().push(text.to_owned());
    }
}

impl Lines {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// Runs git in `dir` for the fixtures; returns stdout.
async fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git", dir)
        .inherit_env(&["PATH"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args(args)
        .output(&CancellationToken::new())
        .await
        .unwrap();
    assert!(out.report.success(), "git {args:?}: {:?}", out.report);
    out.stdout.trim().to_owned()
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    url: String,
    /// main~1, tagged v1 (annotated).
    first: String,
    /// main.
    second: String,
}

/// A bare repo: main (2 commits; `a.txt`, `sub/b.txt`), annotated tag v1 on the first commit,
/// branch `feature` from the first commit with `c.txt`.
async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let work = root.join("work");
    std::fs::create_dir_all(work.join("sub")).unwrap();
    git(&work, &["-c", "init.defaultBranch=main", "init", "-q"]).await;
    std::fs::write(work.join("a.txt"), "one").unwrap();
    std::fs::write(work.join("sub/b.txt"), "bee").unwrap();
    git(&work, &["add", "-A"]).await;
    git(&work, &["commit", "-q", "-m", "first"]).await;
    let first = git(&work, &["rev-parse", "HEAD"]).await;
    git(&work, &["tag", "-a", "v1", "-m", "version 1"]).await;
    git(&work, &["checkout", "-q", "-b", "feature"]).await;
    std::fs::write(work.join("c.txt"), "sea").unwrap();
    git(&work, &["add", "-A"]).await;
    git(&work, &["commit", "-q", "-m", "feature"]).await;
    git(&work, &["checkout", "-q", "main"]).await;
    std::fs::write(work.join("a.txt"), "two").unwrap();
    git(&work, &["commit", "-q", "-am", "second"]).await;
    let second = git(&work, &["rev-parse", "HEAD"]).await;
    git(&root, &["clone", "-q", "--bare", "work", "bare.git"]).await;
    let url = format!("file://{}", root.join("bare.git").display());
    Fixture {
        _tmp: tmp,
        root,
        url,
        first,
        second,
    }
}

fn source(f: &Fixture, reference: Option<&str>, path: Option<&str>) -> GitSource {
    GitSource {
        url: f.url.clone(),
        reference: reference.map(str::to_owned),
        path: path.map(str::to_owned),
    }
}

async fn co(f: &Fixture, name: &str, src: &GitSource) -> Result<CheckedOut, GitError> {
    checkout(
        src,
        &f.root.join(name),
        None,
        &Lines::default(),
        &CancellationToken::new(),
        &Redactor::new(),
    )
    .await
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[tokio::test]
async fn default_branch_tag_branch_and_commits() {
    let f = fixture().await;

    let c = co(&f, "default", &source(&f, None, None)).await.unwrap();
    assert_eq!(c.commit, f.second);
    assert_eq!(read(&c.dir, "a.txt"), "two");
    assert_eq!(c.dir, f.root.join("default"));

    let c = co(&f, "tag", &source(&f, Some("v1"), None)).await.unwrap();
    assert_eq!(c.commit, f.first);
    assert_eq!(read(&c.dir, "a.txt"), "one");

    let c = co(&f, "branch", &source(&f, Some("feature"), None))
        .await
        .unwrap();
    assert_eq!(read(&c.dir, "c.txt"), "sea");

    let c = co(&f, "sha", &source(&f, Some(&f.first), None))
        .await
        .unwrap();
    assert_eq!(c.commit, f.first);
    assert_eq!(read(&c.dir, "a.txt"), "one");

    let short = &f.first[..8];
    let c = co(&f, "short", &source(&f, Some(short), None))
        .await
        .unwrap();
    assert_eq!(c.commit, f.first);
}

#[tokio::test]
async fn subdirectory_and_escaping_paths() {
    let f = fixture().await;
    let c = co(&f, "sub", &source(&f, None, Some("sub"))).await.unwrap();
    assert_eq!(c.dir, f.root.join("sub").join("sub"));
    assert_eq!(read(&c.dir, "b.txt"), "bee");

    let err = co(&f, "escape", &source(&f, None, Some("../x")))
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::InvalidPath { .. }), "{err:?}");
    assert!(
        !f.root.join("escape").exists(),
        "nothing done before validation"
    );

    let err = co(&f, "missing", &source(&f, None, Some("nope")))
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::PathNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn missing_refs_are_clear_errors() {
    let f = fixture().await;
    let err = co(&f, "r1", &source(&f, Some("no-such-branch"), None))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GitError::RefNotFound { reference, .. } if reference == "no-such-branch"),
        "{err:?}"
    );
    assert!(err.to_string().contains("no-such-branch"));
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let err = co(&f, "r2", &source(&f, Some(sha), None))
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::RefNotFound { .. }), "{err:?}");
    let err = co(&f, "r3", &source(&f, Some("--upload-pack=x"), None))
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::InvalidRef { .. }), "{err:?}");
}

#[tokio::test]
async fn dest_must_be_empty_and_url_without_password() {
    let f = fixture().await;
    std::fs::create_dir_all(f.root.join("full")).unwrap();
    std::fs::write(f.root.join("full/x"), "x").unwrap();
    let err = co(&f, "full", &source(&f, None, None)).await.unwrap_err();
    assert!(matches!(err, GitError::DestNotEmpty { .. }), "{err:?}");
    for url in [
        format!("https://user:{TOKEN}@example.invalid/r.git"),
        format!("https://{TOKEN}@example.invalid/r.git"),
        format!("ssh://git:{TOKEN}@example.invalid/r.git"),
    ] {
        let mut src = source(&f, None, None);
        src.url = url;
        let err = co(&f, "pw", &src).await.unwrap_err();
        assert!(matches!(err, GitError::InvalidUrl { .. }), "{err:?}");
        assert!(!err.to_string().contains(TOKEN));
    }
}

fn auth() -> GitAuth {
    let origin = Origin::parse("https://git.example.invalid").unwrap();
    GitAuth::token(origin, Secret::new(TOKEN))
}

/// A `git` wrapper that logs its argv and environment names to `log`, then runs the real git.
fn wrapper(dir: &Path, log: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("git-wrapper");
    let script = format!(
        "#!/bin/sh\necho \"ARGV: $*\" >> '{}'\nexec git \"$@\"\n",
        log.display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn token_never_in_argv_nor_git_config() {
    let f = fixture().await;
    let log = f.root.join("argv.log");
    let git = Git::new().program(wrapper(&f.root, &log));
    let redactor = Redactor::new();
    let lines = Lines::default();
    let c = git
        .checkout(
            &source(&f, Some("feature"), None),
            &f.root.join("tok"),
            Some(&auth()),
            &lines,
            &CancellationToken::new(),
            &redactor,
        )
        .await
        .unwrap();
    assert!(!redactor.is_empty(), "the token is registered");
    let b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{TOKEN}"))
    };
    let argv = std::fs::read_to_string(&log).unwrap();
    assert!(argv.contains("ARGV: fetch"), "{argv}");
    let config = std::fs::read_to_string(c.root.join(".git/config")).unwrap();
    for text in [&argv, &config, &lines.all().join("\n")] {
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains(&b64), "{text}");
    }

    // And the push of a GitOps job: same guarantees.
    std::fs::write(c.dir.join("new.txt"), "new").unwrap();
    let author = GitAuthor {
        name: "Grape Bot".into(),
        email: "bot@example.invalid".into(),
    };
    let pushed = git
        .commit_all_and_push(
            &c.dir,
            "add new.txt",
            &author,
            "feature",
            Some(&auth()),
            &lines,
            &CancellationToken::new(),
            &redactor,
        )
        .await
        .unwrap();
    assert!(pushed.is_some());
    let argv = std::fs::read_to_string(&log).unwrap();
    assert!(argv.contains("ARGV: push"), "{argv}");
    assert!(!argv.contains(TOKEN));
    let config = std::fs::read_to_string(c.root.join(".git/config")).unwrap();
    assert!(!config.contains(TOKEN));
}

#[tokio::test]
async fn commit_all_and_push_round_trip() {
    let f = fixture().await;
    let c = co(&f, "a", &source(&f, None, None)).await.unwrap();
    std::fs::write(c.dir.join("a.txt"), "three").unwrap();
    std::fs::remove_file(c.dir.join("sub/b.txt")).unwrap();
    let author = GitAuthor {
        name: "Grape Bot".into(),
        email: "bot@example.invalid".into(),
    };
    let sink = Lines::default();
    let cancel = CancellationToken::new();
    let redactor = Redactor::new();
    let commit = commit_all_and_push(
        &c.dir, "update", &author, "main", None, &sink, &cancel, &redactor,
    )
    .await
    .unwrap()
    .unwrap();
    let again = commit_all_and_push(
        &c.dir, "noop", &author, "main", None, &sink, &cancel, &redactor,
    )
    .await
    .unwrap();
    assert_eq!(again, None, "nothing to commit");

    let c2 = co(&f, "b", &source(&f, Some("main"), None)).await.unwrap();
    assert_eq!(c2.commit, commit);
    assert_eq!(read(&c2.dir, "a.txt"), "three");
    assert!(!c2.dir.join("sub/b.txt").exists());
    let who = git(&c2.dir, &["log", "-1", "--format=%an <%ae>"]).await;
    assert_eq!(who, "Grape Bot <bot@example.invalid>");
}
