//! Attack tests of git sources through real processes: trellis + tendril + git, with the
//! "attacker's" hosts played by HTTP listeners that record the headers they get
//! (grape-testkit's `HttpRecorder`). A job payload chooses no worker secret: the admin token is
//! never sent, a token goes only to the exact origin the worker's TENDRIL_GIT_CREDENTIALS map
//! names, never through a redirect, and URLs carrying credentials are refused.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use common::{Tendril, TendrilOptions, all_logs, submit, trellis, wait_terminal};
use grape_api::{Job, JobStatus, JobType, UserApiClient};
use grape_testkit::{Answer, HttpRecorder};
use serde_json::{Value, json};

const GIT_TOKEN: &str = "glpat-E2eGitTokenThatMustNeverLeak";
/// A password a user put in a clone URL: refused, and never repeated by the worker.
const URL_PASSWORD: &str = "user-url-password-42";

/// Submits a PLAN of the git source `git` and waits for its end.
async fn plan_git(user: &UserApiClient, git: Value) -> Job {
    let payload = json!({ "source": { "git": git }, "state_key": "e2e/git.tfstate" });
    let job = submit(user, JobType::Plan, payload).await;
    wait_terminal(user, job.id, Duration::from_secs(60)).await
}

/// What the worker stored of a job: its log, error and result.
async fn stored_text(user: &UserApiClient, job: &Job) -> String {
    let log: Vec<String> = all_logs(user, job.id)
        .await
        .into_iter()
        .map(|l| l.text)
        .collect();
    format!("{}\n{:?}\n{:?}", log.join("\n"), job.error, job.result)
}

fn base64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn a_git_source_chooses_no_worker_secret_and_no_host_for_the_workers_tokens() {
    let server = trellis().await;
    let admin_token = server.admin_token().expose().to_owned();
    let attacker = HttpRecorder::start(Answer::NotFound).await.unwrap();
    let second = HttpRecorder::start(Answer::NotFound).await.unwrap();
    let trusted = HttpRecorder::start(Answer::RedirectTo(second.url()))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("git-credentials.json");
    std::fs::write(&map, format!(r#"{{"{}": "{GIT_TOKEN}"}}"#, trusted.url())).unwrap();
    std::fs::set_permissions(&map, std::fs::Permissions::from_mode(0o600)).unwrap();
    let opts = TendrilOptions {
        extra_args: vec!["--git-credentials".into(), map.display().to_string()],
        // The worker holds the admin token (as for --register and the worker jobs).
        extra_env: vec![("TRELLIS_ADMIN_TOKEN".into(), admin_token.clone())],
        ..TendrilOptions::default()
    };
    let _worker = Tendril::start(&server, "e2e-git", opts).await;
    let user = server.user_client();
    let mut jobs = Vec::new();

    // (a) The removed `token_env` naming the worker's admin token: refused before any request.
    let url = format!("{}/team/infra.git", attacker.url());
    let job = plan_git(
        &user,
        json!({ "url": url, "token_env": "TRELLIS_ADMIN_TOKEN" }),
    )
    .await;
    assert_eq!(job.status, JobStatus::Failed, "{job:#?}");
    let error = job.error.clone().unwrap_or_default();
    assert!(error.contains("source.git.token_env"), "{error}");
    assert!(attacker.requests().is_empty(), "{:?}", attacker.requests());
    jobs.push(job);

    // (b) A host the map has no token for: git asks it, without any Authorization header.
    let job = plan_git(&user, json!({ "url": url })).await;
    assert_eq!(job.status, JobStatus::Failed, "{job:#?}");
    assert!(
        !attacker.requests().is_empty(),
        "git never asked the listener"
    );
    assert!(
        attacker.authorizations().is_empty(),
        "{:?}",
        attacker.requests()
    );
    jobs.push(job);

    // (c) The map's own origin gets its token; its redirect to another host is not followed,
    // so the token never reaches that host.
    let job = plan_git(
        &user,
        json!({ "url": format!("{}/team/infra.git", trusted.url()) }),
    )
    .await;
    assert_eq!(job.status, JobStatus::Failed, "{job:#?}");
    let expected = format!("Basic {}", base64(&format!("x-access-token:{GIT_TOKEN}")));
    let auths = trusted.authorizations();
    assert!(
        !auths.is_empty() && auths.iter().all(|a| *a == expected),
        "{auths:?}"
    );
    assert!(second.requests().is_empty(), "{:?}", second.requests());
    jobs.push(job);

    // (d) Credentials in the URL: refused, naming the field, before any request.
    let before = trusted.requests().len();
    let host = trusted.url().replacen("http://", "", 1);
    let url = format!("http://x:{URL_PASSWORD}@{host}/r.git");
    let job = plan_git(&user, json!({ "url": url })).await;
    assert_eq!(job.status, JobStatus::Failed, "{job:#?}");
    let error = job.error.clone().unwrap_or_default();
    assert!(
        error.contains("source.git.url") && error.contains("user name or password"),
        "{error}"
    );
    assert_eq!(trusted.requests().len(), before);
    jobs.push(job);

    // No request anywhere carried the admin token; nothing stored shows a secret.
    for recorder in [&attacker, &second, &trusted] {
        let seen = format!("{:?}", recorder.requests());
        assert!(!seen.contains(&admin_token) && !seen.contains(&base64(&admin_token)));
    }
    for job in &jobs {
        let stored = stored_text(&user, job).await;
        for secret in [GIT_TOKEN, URL_PASSWORD, &admin_token] {
            assert!(!stored.contains(secret), "{stored}");
            assert!(
                !stored.contains(&base64(&format!("x-access-token:{secret}"))),
                "{stored}"
            );
        }
    }
}

#[tokio::test]
async fn a_worker_refuses_to_start_with_a_credentials_file_others_may_read() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("git-credentials.json");
    std::fs::write(
        &map,
        format!(r#"{{"https://git.example.com": "{GIT_TOKEN}"}}"#),
    )
    .unwrap();
    std::fs::set_permissions(&map, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = common::tendril_command()
        .args(["start", "--trellis-url", "http://127.0.0.1:9"])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .env("TENDRIL_GIT_CREDENTIALS", &map)
        .output()
        .expect("run tendril");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("TENDRIL_GIT_CREDENTIALS is not a valid git credentials file")
            && stderr.contains("chmod 600"),
        "{stderr}"
    );
    assert!(!stderr.contains(GIT_TOKEN), "{stderr}");
}
