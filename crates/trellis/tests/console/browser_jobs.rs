//! The Jobs page in the browser: a submitted job's row going QUEUED → RUNNING → SUCCESS live,
//! in the same DOM row, and leaving a page filtered to QUEUED jobs once it runs.

use crate::harness::{Scenario, Tendril, submit, trellis, wait_status};
use grape_api::{JobStatus, JobType};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn the_jobs_page_shows_a_submitted_job_go_from_queued_to_success_without_navigation() {
    let server = trellis().await;
    let (id, token) = server
        .register_worker("console-jobs")
        .await
        .expect("register");
    let mut s = Scenario::start("jobs_live", &server, &[]);
    s.step("page");
    let tmp = tempfile::tempdir().expect("tempdir");
    let release = tmp.path().join("release");
    let script = format!(
        "echo started; while [ ! -f {} ]; do sleep 0.05; done; echo released",
        release.display()
    );
    let user = server.user_client();
    // No tendril yet: the job waits QUEUED until the page has seen it.
    let job = submit(
        &user,
        JobType::Exec,
        json!({ "argv": ["sh", "-c", script] }),
        None,
    )
    .await;
    let seen: Uuid = s.step("queued").parse().expect("the row's job id");
    assert_eq!(seen, job);
    let tendril = Tendril::start(&server, id, &token, &[], &[]);
    s.step("running");
    std::fs::write(&release, "go").expect("release");
    s.finish();
    let done = wait_status(&user, job, |st| st.is_terminal()).await;
    assert_eq!(done.status, JobStatus::Success, "{}", tendril.log());
}
