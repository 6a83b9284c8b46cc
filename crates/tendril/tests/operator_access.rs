//! What an operator exposes, through the real binaries: `/metrics` needs the metrics token on
//! `--listen` or is served on `--metrics-listen`; no secret is taken from the command line.

mod common;

use std::time::Duration;

use common::*;
use grape_api::WorkerStatus;
use reqwest::StatusCode;

const T: Duration = Duration::from_secs(30);

fn free_addr() -> String {
    format!(
        "127.0.0.1:{}",
        grape_testkit::free_port().expect("free port")
    )
}

async fn get(url: &str, bearer: Option<&str>) -> (StatusCode, String) {
    grape_testkit::http_get(url, bearer).await.expect("GET")
}

#[tokio::test]
async fn metrics_on_listen_need_the_metrics_token() {
    let trellis = trellis().await;
    let listen = free_addr();
    let token = "tendril-metrics-token";
    let worker = Tendril::start(
        &trellis,
        "w-metrics-token",
        TendrilOptions {
            extra_args: vec!["--listen".into(), listen.clone()],
            extra_env: vec![("TENDRIL_METRICS_TOKEN".into(), token.into())],
            ..Default::default()
        },
    )
    .await;
    wait_worker(&trellis.user_client(), worker.id, WorkerStatus::Online, T).await;
    let (status, _) = get(&format!("http://{listen}/healthz"), None).await;
    assert_eq!(status, StatusCode::OK, "/healthz stays open");
    let metrics = format!("http://{listen}/metrics");
    let worker_token = worker.token.expose().to_owned();
    for bearer in [None, Some("wrong"), Some(worker_token.as_str())] {
        let (status, body) = get(&metrics, bearer).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bearer:?}: {body}");
        assert!(body.contains("TENDRIL_METRICS_TOKEN"), "{body}");
        assert!(!body.contains("tendril_jobs_total"), "{body}");
    }
    let (status, body) = get(&metrics, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("tendril_jobs_total{outcome=\"success\"} 0\n"),
        "{body}"
    );
}

#[tokio::test]
async fn the_metrics_listener_needs_no_token_and_listen_refuses_without_one() {
    let trellis = trellis().await;
    let (listen, metrics_listen) = (free_addr(), free_addr());
    let worker = Tendril::start(
        &trellis,
        "w-metrics-listen",
        TendrilOptions {
            extra_args: vec![
                "--listen".into(),
                listen.clone(),
                "--metrics-listen".into(),
                metrics_listen.clone(),
            ],
            ..Default::default()
        },
    )
    .await;
    wait_worker(&trellis.user_client(), worker.id, WorkerStatus::Online, T).await;
    let (status, body) = get(&format!("http://{metrics_listen}/metrics"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("# TYPE tendril_jobs_total counter"), "{body}");
    // No metrics token is configured: nothing opens /metrics on --listen.
    for bearer in [None, Some("")] {
        let (status, body) = get(&format!("http://{listen}/metrics"), bearer).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
}

fn run_start(env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String, String) {
    let out = tendril_command()
        .arg("start")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run tendril");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_secret_given_as_a_flag_is_refused() {
    let secret = "do-not-print-this-token";
    let env = [("TRELLIS_URL", "http://127.0.0.1:1")];
    let state = tempfile::tempdir().expect("tempdir");
    let state = state.path().to_str().expect("utf-8 path").to_owned();
    for setting in tendril::config::SECRET_SETTINGS {
        let flag = setting.value_flag;
        let joined = format!("{flag}={secret}");
        for value in [vec![flag, secret], vec![joined.as_str()], vec![flag]] {
            let mut args = vec!["--state-dir", state.as_str()];
            args.extend(value.iter().copied());
            let (code, stdout, stderr) = run_start(&env, &args);
            assert_eq!(code, Some(2), "{args:?}: {stderr}");
            let want = format!("tendril: {flag} is refused: ");
            assert!(stderr.starts_with(&want), "{args:?}: {stderr}");
            let file_flag = format!("{} PATH", setting.file_flag);
            assert!(
                stderr.contains(setting.var) && stderr.contains(&file_flag),
                "{stderr}"
            );
            assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
            assert!(
                !stderr.contains(secret) && !stdout.contains(secret),
                "the secret was echoed: {stderr}"
            );
        }
    }
}

#[tokio::test]
async fn the_worker_token_comes_from_a_file() {
    let trellis = trellis().await;
    let (id, token) = trellis
        .register_worker("w-token-file")
        .await
        .expect("register");
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing-token");
    let missing = missing.to_str().expect("utf-8 path");
    let id_text = id.to_string();
    let env = [
        ("TRELLIS_URL", trellis.url()),
        ("GRAPE_WORKER_ID", id_text.as_str()),
    ];
    let state = dir.path().join("state");
    let state = state.to_str().expect("utf-8 path");
    let (code, _, stderr) = run_start(
        &env,
        &["--state-dir", state, "--worker-token-file", missing],
    );
    assert_eq!(code, Some(2), "{stderr}");
    let want = format!("tendril: --worker-token-file {missing}: cannot read the file: ");
    assert!(stderr.starts_with(&want), "{stderr}");

    let file = dir.path().join("worker-token");
    std::fs::write(&file, format!("{}\n", token.expose())).expect("write the token file");
    let log = std::fs::File::create(dir.path().join("tendril.log")).expect("log file");
    let mut child = tendril_command()
        .args([
            "start",
            "--heartbeat-interval",
            "300ms",
            "--state-dir",
            state,
        ])
        .arg("--worker-token-file")
        .arg(&file)
        .envs(env)
        .stderr(log)
        .spawn()
        .expect("spawn tendril");
    let user = trellis.user_client();
    // Shorter than wait_worker's own deadline: the child is killed before any assertion.
    let online = tokio::time::timeout(Duration::from_secs(20), async {
        wait_worker(&user, id, WorkerStatus::Online, T).await;
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.path().join("tendril.log")).unwrap_or_default();
    assert!(online.is_ok(), "the worker never came online:\n{log}");
    assert!(
        !log.contains(token.expose()),
        "the token was logged:\n{log}"
    );
}
