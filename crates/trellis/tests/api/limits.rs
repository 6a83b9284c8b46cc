//! Bounds of the server: log pages in bytes, a shutdown deadline.

use crate::both_backends;
use crate::common::{Backend, start, start_with, worker};
use chrono::Utc;
use grape_api::{JobType, LogLine, LogStream, StatusUpdate, SubmitJobRequest};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The documented bound of one log page answer.
const PAGE_BYTES: usize = 4 * 1024 * 1024;

fn line(seq: u64, text: String) -> LogLine {
    LogLine {
        seq,
        ts: Utc::now(),
        stream: LogStream::Stdout,
        text,
    }
}

both_backends!(log_pages_are_bounded_by_bytes, super::log_pages);
async fn log_pages(backend: Backend) {
    let env = start(backend).await;
    let w = worker(&env, "pages", None).await;
    let job = env
        .server
        .user_client()
        .submit_job(&SubmitJobRequest {
            job_type: JobType::Exec,
            payload: serde_json::json!({"argv": ["true"]}),
            cloud_identity_id: None,
            team: None,
            labels: Vec::new(),
            secrets: grape_api::JobSecrets::new(),
        })
        .await
        .unwrap();
    w.client.claim_job(None).await.unwrap().expect("the job");
    w.client
        .update_job_status(job.id, &StatusUpdate::running())
        .await
        .unwrap();
    // 200 lines of 60 KiB (12 MiB), then 30 lines of control characters whose JSON is six
    // times their size (60 KiB of text, 360 KiB of JSON each).
    let mut all = Vec::new();
    for seq in 1..=200u64 {
        all.push(line(seq, format!("{seq:05}{}", "p".repeat(60 * 1024))));
    }
    for seq in 201..=230u64 {
        all.push(line(seq, "\u{1}".repeat(60 * 1024)));
    }
    for chunk in all[..200].chunks(14) {
        w.client.send_logs(job.id, chunk).await.unwrap();
    }
    for chunk in all[200..].chunks(2) {
        w.client.send_logs(job.id, chunk).await.unwrap();
    }

    let http = reqwest::Client::new();
    let mut after = 0u64;
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let body = http
            .get(format!(
                "{}/api/jobs/{}/logs?after_seq={after}",
                env.server.url(),
                job.id
            ))
            .bearer_auth(env.server.api_token().expose())
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(body.len() <= PAGE_BYTES, "a page of {} bytes", body.len());
        let page: grape_api::LogPage = serde_json::from_slice(&body).unwrap();
        let Some(last) = page.lines.last() else { break };
        after = last.seq;
        pages += 1;
        got.extend(page.lines);
    }
    assert!(pages >= 6, "{pages} pages");
    assert_eq!(
        got.iter().map(|l| l.seq).collect::<Vec<_>>(),
        (1..=230).collect::<Vec<_>>()
    );
    assert!(got.iter().zip(&all).all(|(a, b)| a.text == b.text));
}

/// A client that sent the head of a request and never its body holds a graceful drain up for
/// ever: after `--shutdown-timeout` the server drops it and exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_has_a_deadline() {
    let mut env = start_with(Backend::Sqlite, |b| {
        b.shutdown_timeout(Duration::from_secs(1))
    })
    .await;
    let addr = env.server.url().trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/jobs HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n",
        env.server.api_token().expose()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    // "100 Continue" comes once the handler reads the body: the request is in flight.
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(60), conn.read(&mut buf))
        .await
        .expect("hang guard: the server answers 100 Continue")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(answer.starts_with("HTTP/1.1 100"), "{answer}");
    conn.write_all(b"{\"type\":").await.unwrap();

    let status = env
        .server
        .terminate(Duration::from_secs(60))
        .await
        .expect("trellis exits after its shutdown deadline (hang guard: 60 s)");
    assert!(status.success(), "{status}");
    assert!(
        env.server.log().contains("shutdown deadline reached"),
        "{}",
        env.server.log()
    );
    drop(conn);
}
