//! `GitCredentials::load`: the worker's 0600 host → token file, refused when others may read
//! it or when it is not a map of origins to tokens.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use grape_git::{CredentialsError, GitCredentials, Origin};

const TOKEN: &str = "glpat-FileTokenThatMustNeverLeak";

fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
    let path = dir.join("git-credentials.json");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn a_0600_map_is_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let text =
        format!(r#"{{"https://gitlab.example.com": "{TOKEN}", "http://10.0.0.7:3000/": "t2"}}"#);
    for mode in [0o600, 0o400] {
        let creds = GitCredentials::load(&write(tmp.path(), &text, mode)).unwrap();
        let origin = Origin::parse("https://gitlab.example.com").unwrap();
        assert_eq!(creds.token(&origin).unwrap().expose(), TOKEN);
        let origins: Vec<String> = creds.origins().map(ToString::to_string).collect();
        assert_eq!(
            origins,
            ["http://10.0.0.7:3000", "https://gitlab.example.com"]
        );
    }
}

#[test]
fn a_file_others_may_access_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(r#"{{"https://gitlab.example.com": "{TOKEN}"}}"#);
    for mode in [0o644, 0o640, 0o604, 0o620, 0o602] {
        let path = write(tmp.path(), &text, mode);
        let err = GitCredentials::load(&path).unwrap_err();
        assert!(
            matches!(err, CredentialsError::Permissions { mode: m, .. } if m == mode),
            "{mode:o}: {err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("chmod 600") && msg.contains(&path.display().to_string()),
            "{msg}"
        );
        assert!(!msg.contains(TOKEN), "{msg}");
    }
}

#[test]
fn malformed_missing_or_not_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), &format!(r#"{{"https://h": "{TOKEN}""#), 0o600);
    let err = GitCredentials::load(&path).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("not valid JSON") && msg.contains("git-credentials.json"),
        "{msg}"
    );
    assert!(!msg.contains(TOKEN), "{msg}");

    let path = write(
        tmp.path(),
        &format!(r#"{{"https://h/group/repo": "{TOKEN}"}}"#),
        0o600,
    );
    let msg = GitCredentials::load(&path).unwrap_err().to_string();
    assert!(
        msg.contains(r#"key "https://h/group/repo" is refused"#),
        "{msg}"
    );
    assert!(!msg.contains(TOKEN), "{msg}");

    let err = GitCredentials::load(&tmp.path().join("missing.json")).unwrap_err();
    assert!(matches!(err, CredentialsError::Io { .. }), "{err:?}");
    let err = GitCredentials::load(tmp.path()).unwrap_err();
    assert!(matches!(err, CredentialsError::NotAFile { .. }), "{err:?}");
}
