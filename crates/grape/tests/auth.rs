//! `grape login`, `logout`, `status` and the environment overrides, against a real trellis.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{API_TOKEN, Env, assert_clean_error, assert_error_exit, has_ansi};

#[test]
fn login_stores_a_0600_file_and_status_reports_it() {
    let env = Env::new();
    let out = env
        .grape()
        .args(["login", "--url", &env.trellis.url, "--token-stdin"])
        .write_stdin(format!("{API_TOKEN}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(API_TOKEN),
        "the token was echoed"
    );
    assert!(out.stdout.is_empty(), "login prints its message on stderr");

    let file = env.config_file();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "config file mode");
    let dir_mode = std::fs::metadata(file.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700, "config dir mode");
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(stored["url"], env.trellis.url.as_str());

    // A file someone opened up (0644) is written again as 0600 by the next login.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env
        .grape()
        .args(["login", "--url", &env.trellis.url, "--token-stdin"])
        .write_stdin(API_TOKEN)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "config file mode after a second login");

    // No environment: everything comes from the file.
    let out = env.grape().args(["status", "-o", "json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["reachable"], true);
    assert_eq!(st["authenticated"], true);
    assert_eq!(st["url_source"], "config_file");
    assert_eq!(st["token_source"], "config_file");
    assert!(
        st["server_version"].as_str().is_some_and(|v| !v.is_empty()),
        "{st}"
    );

    // Human status, NO_COLOR set: no escapes.
    let out = env
        .grape()
        .env("NO_COLOR", "1")
        .arg("status")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Reachable:      yes"), "{text}");
    assert!(text.contains("Authenticated:  yes"), "{text}");
    assert!(!has_ansi(&out.stdout) && !has_ansi(&out.stderr));

    // Commands work with the stored settings.
    let out = env
        .grape()
        .args(["jobs", "list", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .is_array()
    );

    // A wrong GRAPE_TOKEN overrides the good stored one: exit 3.
    let out = env
        .grape()
        .env("GRAPE_TOKEN", "wrong-token")
        .args(["jobs", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_clean_error(&out.stderr);
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejected the API token"));

    // TRELLIS_URL overrides the stored URL.
    let port = grape_testkit::free_port().unwrap();
    let out = env
        .grape()
        .env("TRELLIS_URL", format!("http://127.0.0.1:{port}"))
        .args(["jobs", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));

    // Logout removes the file; status says so and exits 3.
    let out = env.grape().arg("logout").output().unwrap();
    assert!(out.status.success());
    assert!(!file.exists());
    let out = env.grape().args(["status", "-o", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["url"], serde_json::Value::Null);
}

#[test]
fn login_with_a_wrong_token_saves_nothing() {
    let env = Env::new();
    let out = env
        .grape()
        .args(["login", "--url", &env.trellis.url, "--token-stdin"])
        .write_stdin("not-the-token")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_clean_error(&out.stderr);
    assert!(!env.config_file().exists());
}

#[test]
fn environment_alone_is_enough() {
    let env = Env::new();
    let out = env
        .authed()
        .args(["status", "-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["authenticated"], true);
    assert_eq!(st["token_source"], "environment");
    assert!(!env.config_file().exists());
}

#[test]
fn a_rejected_token_exits_3_on_every_server_command() {
    let env = Env::new();
    let job = env.submit_sh("true");
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("main.tf"),
        "resource \"terraform_data\" \"x\" {}\n",
    )
    .unwrap();
    let dir = config.path().to_str().unwrap();
    let unknown = "6f1c3e9a-2d4b-4c8e-9f00-000000000001";
    let cases: &[&[&str]] = &[
        &["status"],
        &["jobs", "list"],
        &["jobs", "show", &job],
        &["jobs", "logs", &job],
        &["jobs", "logs", &job, "--follow"],
        &["jobs", "cancel", &job],
        &["jobs", "retry", &job],
        &["jobs", "submit", "EXEC"],
        &["workers", "list"],
        &["identities", "show", unknown],
        &["identities", "test", unknown],
        &["identities", "refresh", unknown],
        &[
            "identities",
            "add",
            "aws",
            "--name",
            "x",
            "--role-arn",
            "arn:aws:iam::123456789012:role/x",
        ],
        &["plan", dir],
        &["destroy", dir],
        &["apply", &job],
    ];
    for args in cases {
        let out = env
            .grape()
            .env("TRELLIS_URL", &env.trellis.url)
            .env("GRAPE_TOKEN", "not-the-token")
            .args(*args)
            .output()
            .unwrap();
        let err = assert_error_exit(&out, 3, args);
        assert!(
            err.contains("rejected the API token"),
            "grape {args:?}: {err}"
        );
    }
    // Nothing was submitted, cancelled or retried.
    let jobs = env.json(&["jobs", "list"]);
    assert_eq!(jobs.as_array().unwrap().len(), 1, "{jobs}");
    assert_eq!(jobs[0]["status"], "QUEUED");
}
