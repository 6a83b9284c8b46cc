//! Crashes, requeues, registration and start-up errors, with a real `trellis` and real
//! `tendril` processes.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use common::*;
use grape_api::{HeartbeatRequest, JobStatus, JobType, WorkerInfo, WorkerMode, WorkerStatus};
use nix::sys::signal::Signal;

/// Hang guard of every wait.
const T: Duration = Duration::from_secs(60);

#[tokio::test]
async fn kill_9_mid_job_shows_offline_and_the_job_ends_worker_lost() {
    let trellis = trellis_with(Duration::from_millis(1500), Duration::from_millis(1500)).await;
    let user = trellis.user_client();
    let mut worker = Tendril::start(&trellis, "w-kill", TendrilOptions::default()).await;
    let job = submit_exec(&user, sh("echo started; sleep 60")).await;
    wait_status(&user, job.id, JobStatus::Running, T).await;
    worker.kill9();
    wait_worker(&user, worker.id, WorkerStatus::Offline, T).await;
    let done = wait_terminal(&user, job.id, T).await;
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("worker lost"));
}

#[tokio::test]
async fn a_claimed_job_of_a_dead_worker_is_requeued_and_finished_by_another() {
    let trellis = trellis_with(Duration::from_millis(1500), Duration::from_secs(60)).await;
    let user = trellis.user_client();
    // A fake worker claims the job and dies before starting it.
    let (dead_id, dead_token) = trellis.register_worker("w-dead").await.expect("register");
    let dead = trellis.worker_client(dead_id, dead_token);
    dead.send_heartbeat(&HeartbeatRequest {
        status: WorkerStatus::Online,
        current_job_id: None,
        info: Some(WorkerInfo {
            version: "0".into(),
            hostname: "nowhere".into(),
            mode: WorkerMode::SelfHosted,
            job_types: vec![JobType::Exec],
        }),
    })
    .await
    .expect("heartbeat");
    let job = submit_exec(&user, sh("echo finished by the second worker")).await;
    let claimed = dead.claim_job(None).await.expect("claim").expect("a job");
    assert_eq!(claimed.id, job.id);
    assert_eq!(
        user.get_job(job.id).await.expect("job").status,
        JobStatus::Claimed
    );
    drop(dead);

    let worker = Tendril::start(&trellis, "w-alive", TendrilOptions::default()).await;
    let done = wait_terminal(&user, job.id, T).await;
    assert_eq!(done.status, JobStatus::Success, "{}", worker.log());
    assert_eq!(done.worker_id, Some(worker.id));
    assert_eq!(
        stdout_lines(&user, job.id).await,
        vec!["finished by the second worker"]
    );
}

#[tokio::test]
async fn register_stores_credentials_and_a_restart_reuses_them() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let state = tempfile::tempdir().expect("tempdir");
    let start = || {
        let mut cmd = tendril_command();
        cmd.args([
            "start",
            "--register",
            "w-self",
            "--heartbeat-interval",
            "300ms",
            "--poll-interval",
            "200ms",
        ])
        .arg("--state-dir")
        .arg(state.path())
        .env("TRELLIS_URL", trellis.url())
        .env("TRELLIS_ADMIN_TOKEN", trellis.admin_token().expose())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        cmd.spawn().expect("spawn")
    };
    let creds_path = state.path().join("credentials.json");
    let mut ids = Vec::new();
    for round in 0..2 {
        let child = start();
        let deadline = Instant::now() + T;
        let id = loop {
            let workers = user.list_workers().await.expect("workers");
            if let Some(w) = workers
                .iter()
                .find(|w| w.name == "w-self" && w.status == WorkerStatus::Online)
            {
                break w.id;
            }
            assert!(
                Instant::now() < deadline,
                "the worker did not come ONLINE (round {round})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let mode = std::fs::metadata(&creds_path)
            .expect("credentials.json")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            Signal::SIGTERM,
        )
        .expect("signal");
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if round == 0 {
            assert_eq!(stdout.trim(), format!("registered worker w-self: id {id}"));
        } else {
            assert!(
                stdout.trim().is_empty(),
                "a restart does not register again: {stdout}"
            );
        }
        let token = std::fs::read_to_string(&creds_path).expect("read");
        let token: serde_json::Value = serde_json::from_str(&token).expect("json");
        let token = token["worker_token"].as_str().expect("token").to_owned();
        assert!(
            !stdout.contains(&token) && !stderr.contains(&token),
            "the token was printed"
        );
        ids.push(id);
    }
    assert_eq!(ids[0], ids[1]);
    let named = user
        .list_workers()
        .await
        .expect("workers")
        .into_iter()
        .filter(|w| w.name == "w-self")
        .count();
    assert_eq!(named, 1, "registered only once");
}

fn run_start(env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = tendril_command();
    cmd.arg("start").args(args).envs(env.iter().copied());
    let out = cmd.output().expect("run tendril");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_settings_stop_start_up_with_one_line_naming_the_variable() {
    let secret = "do-not-print-this-token";
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("GRAPE_WORKER_TOKEN", secret)],
            "tendril: TRELLIS_URL is not set",
        ),
        (
            &[("TRELLIS_URL", "not a url"), ("GRAPE_WORKER_TOKEN", secret)],
            "tendril: TRELLIS_URL is not a valid URL: ",
        ),
        (
            &[
                ("TRELLIS_URL", "http://127.0.0.1:1"),
                ("GRAPE_WORKER_ID", "x"),
                ("GRAPE_WORKER_TOKEN", secret),
            ],
            "tendril: GRAPE_WORKER_ID is not a valid UUID",
        ),
        (
            &[
                ("TRELLIS_URL", "http://127.0.0.1:1"),
                ("GRAPE_WORKER_MODE", "hosted"),
                ("TRELLIS_ADMIN_TOKEN", secret),
            ],
            "tendril: GRAPE_WORKER_MODE is not a valid worker mode",
        ),
        (
            &[
                ("TRELLIS_URL", "http://127.0.0.1:1"),
                ("TENDRIL_HEARTBEAT_INTERVAL", "often"),
            ],
            "tendril: TENDRIL_HEARTBEAT_INTERVAL is not a valid duration",
        ),
        (
            &[
                ("TRELLIS_URL", "http://127.0.0.1:1"),
                ("SUPABASE_STORAGE_SECRET_KEY", secret),
            ],
            "tendril: SUPABASE_S3_REGION is not set",
        ),
    ];
    for (env, want) in cases {
        let (code, stdout, stderr) = run_start(env, &["--state-dir", "/tmp/tendril-never-used"]);
        assert_eq!(code, 2, "{want}: {stderr}");
        assert!(stderr.starts_with(want), "want `{want}`, got `{stderr}`");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "a secret was echoed: {stderr}"
        );
    }
    // Without credentials and without --register.
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().to_string_lossy().into_owned();
    let (code, _, stderr) = run_start(
        &[("TRELLIS_URL", "http://127.0.0.1:1")],
        &["--state-dir", &state],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("GRAPE_WORKER_ID and GRAPE_WORKER_TOKEN are not set"),
        "{stderr}"
    );
}

#[test]
fn help_documents_every_variable_and_hides_secret_values() {
    let secret = "do-not-print-this-token";
    let (code, stdout, _) = run_start(
        &[
            ("GRAPE_WORKER_TOKEN", secret),
            ("TRELLIS_ADMIN_TOKEN", secret),
        ],
        &["--help"],
    );
    assert_eq!(code, 0);
    for v in tendril::ENV_VARS {
        assert!(stdout.contains(v.name), "{} missing from --help", v.name);
    }
    assert!(stdout.contains("credentials.json"), "{stdout}");
    assert!(!stdout.contains(secret), "--help shows a secret value");
}
