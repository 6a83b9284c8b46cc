//! A job page over a 200,000-line log: one window of lines, search across the whole log on the
//! server, and the download streaming every line. Prints its figures (no timed assertion).

use crate::common::Visitor;
use chrono::Utc;
use grape_api::{
    HeartbeatRequest, JobStatus, JobType, LogLine, LogStream, StatusUpdate, SubmitJobRequest,
    WorkerStatus,
};
use grape_testkit::trellis::TrellisServer;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

const LINES: u64 = 200_000;

#[tokio::test]
async fn a_job_page_reads_a_200k_line_log_in_windows_and_downloads_all_of_it() {
    let server = TrellisServer::start().await.expect("trellis");
    let (id, token) = server.register_worker("w").await.expect("register");
    let worker = server.worker_client(id, token);
    worker
        .send_heartbeat(&HeartbeatRequest {
            status: WorkerStatus::Online,
            current_job_id: None,
            info: None,
        })
        .await
        .expect("heartbeat");
    let user = server.user_client();
    let job = user
        .submit_job(&SubmitJobRequest {
            job_type: JobType::Exec,
            payload: json!({"argv": ["true"]}),
            cloud_identity_id: None,
            team: None,
            labels: Vec::new(),
            secrets: grape_api::JobSecrets::new(),
        })
        .await
        .expect("submit");
    let claimed = worker
        .claim_job(Some(Duration::from_secs(5)))
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(claimed.id, job.id);
    let started = Instant::now();
    let mut seq = 0;
    while seq < LINES {
        let batch: Vec<LogLine> = (seq + 1..=(seq + 5000).min(LINES))
            .map(|n| LogLine {
                seq: n,
                ts: Utc::now(),
                stream: if n % 10 == 0 {
                    LogStream::Stderr
                } else {
                    LogStream::Stdout
                },
                text: format!("\u{1b}[32mline {n}\u{1b}[0m of the big log"),
            })
            .collect();
        seq = batch.last().map_or(seq, |l| l.seq);
        worker.send_logs(job.id, &batch).await.expect("send logs");
    }
    println!("stored {LINES} lines in {:?}", started.elapsed());
    worker
        .update_job_status(
            job.id,
            &StatusUpdate {
                status: JobStatus::Success,
                error: None,
                result: None,
            },
        )
        .await
        .expect("success");

    let mut v = Visitor::new(server.url());
    v.sign_in(server.api_token().expose()).await;
    let t = Instant::now();
    let page = v.get(&format!("/jobs/{}", job.id)).await;
    println!(
        "job page with the last window: {:?}, {} bytes",
        t.elapsed(),
        page.body.len()
    );
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Lines 199001–200000 of"),
        "the last window"
    );
    assert!(page.body.contains("id=\"L200000\""));
    assert!(!page.body.contains("id=\"L199000\""), "one window only");
    assert!(
        page.body
            .contains("<span class=\"a-f2\">line 200000</span>"),
        "ANSI rendered"
    );
    assert!(page.body.contains("class=\"l-stderr\""));

    let t = Instant::now();
    let found = v.get(&format!("/jobs/{}?q=LINE+123456", job.id)).await;
    println!("server search over {LINES} lines: {:?}", t.elapsed());
    assert!(
        found.body.contains("1 line(s) of the whole log contain"),
        "{}",
        &found.body[..2000.min(found.body.len())]
    );
    assert!(
        found
            .body
            .contains(&format!("/jobs/{}?from=123436#L123456", job.id))
    );

    let window = v.get(&format!("/jobs/{}?from=5000", job.id)).await;
    assert!(window.body.contains("Lines 5000–5999 of"));
    assert!(window.body.contains("Later lines") && window.body.contains("Earlier lines"));

    let t = Instant::now();
    let all = v.get(&format!("/jobs/{}/log.txt", job.id)).await;
    println!(
        "download of {LINES} lines: {:?}, {} bytes",
        t.elapsed(),
        all.body.len()
    );
    assert_eq!(all.status, StatusCode::OK);
    let lines: Vec<&str> = all.body.lines().collect();
    assert_eq!(lines.len() as u64, LINES);
    assert_eq!(lines[0], "\u{1b}[32mline 1\u{1b}[0m of the big log");
    assert_eq!(
        lines[LINES as usize - 1],
        "\u{1b}[32mline 200000\u{1b}[0m of the big log"
    );
}
