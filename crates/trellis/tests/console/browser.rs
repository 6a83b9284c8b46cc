//! The console pages in a real headless Chromium with a real trellis and tendril (see
//! `harness.rs`): one scenario script per test.

use crate::harness::{Scenario, Tendril, submit, trellis, wait_status};
use grape_api::{HeartbeatRequest, JobStatus, JobType, StatusUpdate, WorkerStatus};
use grape_testkit::trellis::TrellisServer;
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

/// `sh -c` an EXEC job runs: `script` with `$REL` the release file the test creates.
fn exec(script: &str, release: &Path) -> Value {
    json!({ "argv": ["sh", "-c", script.replace("$REL", &release.display().to_string())] })
}

#[tokio::test]
async fn the_tendrils_page_follows_a_worker_online_draining_offline_in_the_same_row() {
    let server = trellis().await;
    let (id, token) = server
        .register_worker("console-w1")
        .await
        .expect("register");
    let mut s = Scenario::start("tendrils_live", &server, &[("WORKER_ID", id.to_string())]);
    s.step("page");
    let tendril = Tendril::start(&server, id, &token, &[], &[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let release = tmp.path().join("release");
    let job = submit(
        &server.user_client(),
        JobType::Exec,
        exec(
            "echo started; while [ ! -f $REL ]; do sleep 0.05; done; echo released",
            &release,
        ),
        None,
    )
    .await;
    s.step("online");
    tendril.signal(Signal::SIGTERM);
    s.step("draining");
    std::fs::write(&release, "go").expect("release");
    s.finish();
    let job = wait_status(&server.user_client(), job, |st| st.is_terminal()).await;
    assert_eq!(job.status, JobStatus::Success, "{}", tendril.log());
}

#[tokio::test]
async fn a_job_page_shows_log_lines_arrive_live_and_the_final_status() {
    let server = trellis().await;
    let (id, token) = server
        .register_worker("console-w2")
        .await
        .expect("register");
    let _tendril = Tendril::start(&server, id, &token, &[], &[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let release = tmp.path().join("release");
    let script = "echo 'first line'; printf '\\033[31mred\\033[0m plain\\n'; echo 'to stderr' >&2; \
                  while [ ! -f $REL ]; do sleep 0.05; done; echo 'last line'";
    let user = server.user_client();
    let job = submit(&user, JobType::Exec, exec(script, &release), None).await;
    wait_status(&user, job, |s| s == JobStatus::Running).await;
    let mut s = Scenario::start("job_live", &server, &[("JOB_ID", job.to_string())]);
    s.step("first");
    std::fs::write(&release, "go").expect("release");
    s.finish();
}

#[tokio::test]
async fn cancel_from_the_job_page_cancels_the_running_job() {
    let server = trellis().await;
    let (id, token) = server
        .register_worker("console-w3")
        .await
        .expect("register");
    let tendril = Tendril::start(&server, id, &token, &[], &[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let never = tmp.path().join("never");
    let user = server.user_client();
    let job = submit(
        &user,
        JobType::Exec,
        exec(
            "echo waiting; while [ ! -f $REL ]; do sleep 0.05; done",
            &never,
        ),
        None,
    )
    .await;
    wait_status(&user, job, |s| s == JobStatus::Running).await;
    Scenario::start("job_cancel", &server, &[("JOB_ID", job.to_string())]).finish();
    let job = wait_status(&user, job, |s| s.is_terminal()).await;
    assert_eq!(job.status, JobStatus::Cancelled, "{}", tendril.log());
}

#[tokio::test]
async fn signed_out_visitors_sign_in_and_users_see_no_admin_controls() {
    let server = trellis().await;
    server
        .register_worker("console-w4")
        .await
        .expect("register");
    Scenario::start("roles", &server, &[]).finish();
}

/// A worker client that completes a CONNECTION_TEST of `identity` with a format-3 discovery, so
/// the identity page has tables to show (no cloud needed).
async fn cache_discovery(server: &TrellisServer, identity: Uuid) {
    let (id, token) = server
        .register_worker("discoverer")
        .await
        .expect("register");
    let worker = server.worker_client(id, token);
    worker
        .send_heartbeat(&HeartbeatRequest {
            status: WorkerStatus::Online,
            current_job_id: None,
            info: None,
        })
        .await
        .expect("heartbeat");
    let job = submit(
        &server.user_client(),
        JobType::ConnectionTest,
        json!({ "cloud_identity_id": identity }),
        Some(identity),
    )
    .await;
    let claimed = worker
        .claim_job(Some(Duration::from_secs(5)))
        .await
        .expect("claim")
        .expect("the job");
    assert_eq!(claimed.id, job);
    let running = StatusUpdate {
        status: JobStatus::Running,
        error: None,
        result: None,
    };
    worker
        .update_job_status(job, &running)
        .await
        .expect("running");
    let discovery = json!({"format_version": 3, "provider": "aws", "discovered_at": "2026-12-01T10:00:00Z",
        "account": "123456789012", "regions": ["eu-west-1"],
        "networks": [{"id": "vpc-0a1b2c", "name": "main", "region": "eu-west-1", "cidr_blocks": ["10.0.0.0/16"], "is_default": false}],
        "subnets": [{"id": "subnet-1", "name": "private-a", "network_id": "vpc-0a1b2c", "region": "eu-west-1", "zone": "eu-west-1a", "cidr": "10.0.1.0/24", "public": false, "available_ips": 250}],
        "dns_zones": [{"id": "Z123", "name": "example.com.", "private": false, "record_count": 4}],
        "errors": [],
        "aws": {"security_groups": [{"id": "sg-1", "name": "default", "network_id": "vpc-0a1b2c", "region": "eu-west-1", "description": "default group"}], "iam_users": []}});
    let done = StatusUpdate {
        status: JobStatus::Success,
        error: None,
        result: Some(
            json!({ "discovery": discovery, "identity": {"account": "123456789012", "arn": "arn:aws:sts::123456789012:assumed-role/r/s"} }),
        ),
    };
    worker.update_job_status(job, &done).await.expect("success");
    // A worker that is gone: the page shows it OFFLINE.
    server
        .admin_client()
        .delete_worker(id, server.admin_token())
        .await
        .expect("delete the discoverer");
}

#[tokio::test]
async fn every_page_passes_axe_fits_375_px_and_reads_without_javascript() {
    let server = trellis().await;
    let (id, token) = server
        .register_worker("console-w5")
        .await
        .expect("register");
    let user = server.user_client();
    let identity = user
        .create_identity(&grape_api::CreateIdentityRequest {
            name: "sandbox".into(),
            provider: grape_api::CloudProvider::Aws,
            settings: json!({ "role_arn": "arn:aws:iam::123456789012:role/vintner", "regions": ["eu-west-1"] }),
        })
        .await
        .expect("identity")
        .id;
    // Before the tendril starts, or it would take the CONNECTION_TEST.
    cache_discovery(&server, identity).await;
    let _tendril = Tendril::start(&server, id, &token, &[], &[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let script = "echo 'a long line without spaces: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'; \
                  printf '\\033[1;32mgreen bold\\033[0m\\n'; echo 'an error line' >&2; exit 3";
    let failed = submit(
        &user,
        JobType::Exec,
        exec(script, &tmp.path().join("unused")),
        None,
    )
    .await;
    wait_status(&user, failed, |s| s.is_terminal()).await;
    // A per-user token, so the tokens page has a row (and a revoke button) to check.
    server
        .admin_client()
        .create_token(&grape_api::CreateTokenRequest {
            team: "blue".into(),
            role: grape_api::TokenRole::User,
            name: Some("ci".into()),
        })
        .await
        .expect("a token");
    let pages = json!([
        { "name": "tendrils", "path": "/tendrils", "expect": "console-w5" },
        { "name": "jobs", "path": "/jobs", "expect": "EXEC" },
        { "name": "jobs-filtered", "path": "/jobs?status=FAILED&type=EXEC", "expect": "FAILED" },
        { "name": "job-failed", "path": format!("/jobs/{failed}"), "expect": "an error line" },
        { "name": "job-search", "path": format!("/jobs/{failed}?q=error"), "expect": "searched on the server" },
        { "name": "identities", "path": "/identities", "expect": "sandbox" },
        { "name": "identity", "path": format!("/identities/{identity}"), "expect": "vpc-0a1b2c" },
        { "name": "vines", "path": "/vines", "expect": "No vine yet" },
        { "name": "tokens", "path": "/tokens", "expect": "Create a token" },
    ]);
    Scenario::start("pages", &server, &[("PAGES", pages.to_string())]).finish();
}
