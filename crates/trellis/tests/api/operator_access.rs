//! What an operator exposes: `/metrics` needs a token on the API listener or is served on a
//! separate listener, and no secret is taken from the command line.

use crate::common::{Backend, start, start_with};
use grape_testkit::trellis::TrellisBuilder;
use reqwest::StatusCode;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

async fn get(url: &str, bearer: Option<&str>) -> (StatusCode, String) {
    grape_testkit::http_get(url, bearer).await.expect("GET")
}

#[tokio::test]
async fn metrics_on_the_api_listener_need_the_metrics_or_admin_token() {
    let env = start(Backend::Sqlite).await;
    let s = &env.server;
    let url = format!("{}/metrics", s.url());
    for bearer in [None, Some("wrong"), Some(s.api_token().expose())] {
        let (status, body) = get(&url, bearer).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bearer:?}: {body}");
        assert!(!body.contains("trellis_jobs"), "{body}");
    }
    let (_, body) = get(&url, None).await;
    assert!(body.contains("TRELLIS_METRICS_TOKEN"), "{body}");
    for bearer in [s.metrics_token().expose(), s.admin_token().expose()] {
        let (status, body) = get(&url, Some(bearer)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("# TYPE trellis_jobs gauge\n"), "{body}");
        assert!(body.contains("trellis_claims_total 0\n"), "{body}");
    }
    let (status, _) = get(&format!("{}/healthz", s.url()), None).await;
    assert_eq!(status, StatusCode::OK, "/healthz stays open");
}

#[tokio::test]
async fn the_metrics_listener_needs_no_token_and_serves_nothing_else() {
    let env = start_with(Backend::Sqlite, TrellisBuilder::metrics_listen).await;
    let s = &env.server;
    let metrics = s.metrics_url().expect("the metrics listener's address");
    let (status, body) = get(&format!("{metrics}/metrics"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("# TYPE trellis_workers gauge\n"), "{body}");
    let (status, _) = get(&format!("{metrics}/healthz"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&format!("{metrics}/api/jobs"), Some(s.api_token().expose())).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the API is not on the metrics listener"
    );
    let (status, _) = get(&format!("{}/metrics", s.url()), None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the API listener still refuses"
    );
}

/// `trellis serve ARGS` with only `env` as its environment.
#[allow(clippy::disallowed_methods)] // tests run the binary itself
fn trellis(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(grape_testkit::trellis::trellis_bin());
    cmd.arg("serve")
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    cmd
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    trellis(args, env).output().expect("run trellis")
}

#[test]
fn a_secret_given_as_a_flag_is_refused() {
    let secret = "do-not-print-this-token";
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let tokens = [("TRELLIS_ADMIN_TOKEN", "a"), ("TRELLIS_API_TOKEN", "b")];
    for (flag, var) in [
        ("--admin-token", "TRELLIS_ADMIN_TOKEN"),
        ("--api-token", "TRELLIS_API_TOKEN"),
        ("--metrics-token", "TRELLIS_METRICS_TOKEN"),
    ] {
        for args in [vec![flag, secret], vec![&*format!("{flag}={secret}")]] {
            let mut argv = vec!["--database-url", &db, "--listen", "127.0.0.1:0"];
            argv.extend(args.iter().copied());
            let out = run(&argv, &tokens);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{argv:?}: {stderr}");
            let want = format!("error: {flag} is refused: ");
            assert!(stderr.starts_with(&want), "{stderr}");
            let file_flag = format!("{flag}-file PATH");
            assert!(
                stderr.contains(var) && stderr.contains(&file_flag),
                "{stderr}"
            );
            assert!(!stderr.contains(secret), "the secret was echoed: {stderr}");
            assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
        }
    }
    assert!(
        !dir.path().join("t.db").exists(),
        "refused before opening the database"
    );
}

#[test]
fn an_unusable_token_file_stops_start_up_naming_the_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let missing = dir.path().join("missing");
    let missing = missing.to_str().expect("utf-8 path");
    let out = run(
        &["--database-url", &db, "--admin-token-file", missing],
        &[("TRELLIS_API_TOKEN", "b")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let want = format!("error: --admin-token-file {missing}: cannot read the file: ");
    assert!(stderr.starts_with(&want), "{stderr}");

    let file = dir.path().join("api-token");
    std::fs::write(&file, "from-file\n").expect("write");
    let file = file.to_str().expect("utf-8 path");
    let out = run(
        &["--database-url", &db, "--api-token-file", file],
        &[("TRELLIS_ADMIN_TOKEN", "a"), ("TRELLIS_API_TOKEN", "b")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("TRELLIS_API_TOKEN and --api-token-file are both set"),
        "{stderr}"
    );
}

#[tokio::test]
async fn tokens_come_from_files_less_one_trailing_newline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let (admin, api, metrics) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("m"),
    );
    std::fs::write(&admin, "admin-from-file\n").expect("write");
    std::fs::write(&api, "api-from-file\n").expect("write");
    std::fs::write(&metrics, "metrics-from-file\r\n").expect("write");
    let path = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_owned();
    let (admin, api, metrics) = (path(&admin), path(&api), path(&metrics));
    let mut child = trellis(
        &[
            "--database-url",
            &db,
            "--listen",
            "127.0.0.1:0",
            "--admin-token-file",
            &admin,
            "--api-token-file",
            &api,
            "--metrics-token-file",
            &metrics,
        ],
        &[],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn trellis");
    let stdout = child.stdout.take().expect("stdout");
    let url = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(url) = line.trim().strip_prefix("trellis listening on ") {
                return Some(url.to_owned());
            }
            line.clear();
        }
        None
    })
    .await
    .expect("reader");
    let Some(url) = url else {
        let _ = child.kill();
        panic!("trellis did not start: {:?}", child.wait());
    };
    let jobs = format!("{url}/api/jobs");
    let api_status = get(&jobs, Some("api-from-file")).await.0;
    let metrics_url = format!("{url}/metrics");
    let metrics_status = get(&metrics_url, Some("metrics-from-file")).await.0;
    let admin_status = get(&metrics_url, Some("admin-from-file")).await.0;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(api_status, StatusCode::OK);
    assert_eq!(metrics_status, StatusCode::OK);
    assert_eq!(admin_status, StatusCode::OK);
}
