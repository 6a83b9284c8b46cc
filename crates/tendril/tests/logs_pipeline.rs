//! The log pipeline against a real trellis server: order, exactly once, truncation, redaction,
//! cancellation.

mod logs_common;

use base64::Engine as _;
use grape_api::LogStream;
use grape_process::Redactor;
use logs_common::{Trellis, assert_exactly_once, fast_config};
use std::time::Duration;
use tendril::logs::LogConfig;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_thousand_lines_arrive_in_order_exactly_once() {
    let trellis = Trellis::start().await;
    let job = trellis.streamed_job().await;
    let job_id = job.job_id;
    let pipeline = job.pipeline(
        Redactor::new(),
        LogConfig::default(),
        CancellationToken::new(),
    );
    let sink = pipeline.sink();
    let expected: Vec<String> = (1..=50_000)
        .map(|i| format!("line {i} of the fifty thousand"))
        .collect();
    for (i, text) in expected.iter().enumerate() {
        let stream = if i % 10 == 0 {
            LogStream::Stderr
        } else {
            LogStream::Stdout
        };
        sink.line(stream, text);
    }
    drop(sink);
    let summary = pipeline.finish(None).await;
    assert!(summary.delivered_all, "{summary:?}");
    assert_eq!(summary.lines, 50_000);
    assert_eq!(summary.lines_delivered, 50_000);

    let lines = trellis.logs(job_id).await;
    assert_exactly_once(&lines, &expected);
    assert_eq!(lines[0].stream, LogStream::Stderr);
    assert_eq!(lines[1].stream, LogStream::Stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lines_are_truncated_with_a_marker_and_text_is_kept_as_is() {
    let trellis = Trellis::start().await;
    let job = trellis.streamed_job().await;
    let job_id = job.job_id;
    let pipeline = job.pipeline(Redactor::new(), fast_config(), CancellationToken::new());
    let sink = pipeline.sink();
    // A 200 KiB system line of multi-byte characters, and odd but valid text.
    let long = "é€".repeat(200 * 1024 / 5);
    sink.line(LogStream::System, &long);
    let odd = "tab\there \"quotes\" \\ back\u{1}slash \u{fffd} ünïcödé 🍇";
    sink.line(LogStream::Stdout, odd);
    sink.line(LogStream::Stdout, "");
    drop(sink);
    assert!(pipeline.finish(None).await.delivered_all);

    let lines = trellis.logs(job_id).await;
    assert_eq!(lines.len(), 3);
    let first = &lines[0];
    assert_eq!(first.stream, LogStream::System);
    assert!(first.text.len() <= grape_process::MAX_LINE_BYTES);
    assert_eq!(first.text, grape_process::truncate_line(&long));
    assert!(
        first.text.ends_with(&format!(
            " [line truncated: {} bytes, only the first 65440 kept]",
            long.len()
        )),
        "{}",
        &first.text[first.text.len() - 80..]
    );
    let rest: Vec<&str> = lines[1..].iter().map(|l| l.text.as_str()).collect();
    assert_eq!(rest, vec![odd, ""]);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l.seq, i as u64 + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_character_is_kept_with_what_follows_it() {
    let trellis = Trellis::start().await;
    let job = trellis.streamed_job().await;
    let job_id = job.job_id;
    let pipeline = job.pipeline(Redactor::new(), fast_config(), CancellationToken::new());
    let sink = pipeline.sink();
    sink.line(LogStream::Stdout, "before\0after");
    sink.line(LogStream::Stdout, "plain");
    drop(sink);
    assert!(pipeline.finish(None).await.delivered_all);
    let texts: Vec<String> = trellis
        .logs(job_id)
        .await
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(texts, vec!["before\0after".to_owned(), "plain".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_never_reaches_the_server_nor_the_disk() {
    let trellis = Trellis::start().await;
    let job = trellis.streamed_job().await;
    let job_id = job.job_id;
    let secret = "hunter2-Sup3r/Secret+Value";
    let redactor = Redactor::new();
    redactor.add(secret);
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    let url = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let pipeline = job.pipeline(redactor, fast_config(), CancellationToken::new());
    let sink = pipeline.sink();
    sink.line(LogStream::Stdout, &format!("token={secret}"));
    sink.line(LogStream::Stderr, &format!("Authorization: Basic {b64}"));
    sink.line(
        LogStream::System,
        &format!("https://x.invalid/?t={url}&ok=1"),
    );
    // Straddling the 64 KiB cut: redacted before it is cut.
    let pad = "x".repeat(grape_process::MAX_LINE_BYTES - 5);
    sink.line(LogStream::Stdout, &format!("{pad}{secret}"));
    drop(sink);
    assert!(pipeline.finish(None).await.delivered_all);

    let lines = trellis.logs(job_id).await;
    let all: String = lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for form in [secret, &b64, &url, "hunter2"] {
        assert!(!all.contains(form), "{form} reached the server");
    }
    assert_eq!(lines[0].text, "token=[REDACTED]");
    assert_eq!(lines[1].text, "Authorization: Basic [REDACTED]");
    assert_eq!(lines[2].text, "https://x.invalid/?t=[REDACTED]&ok=1");
    let journal = std::fs::read_to_string(job.outbox.job_dir(job_id).join("log.jsonl")).unwrap();
    assert!(
        !journal.contains("hunter2"),
        "the secret reached the journal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_requested_in_an_acknowledgement_fires_the_token() {
    let trellis = Trellis::start().await;
    let job = trellis.streamed_job().await;
    let job_id = job.job_id;
    let token = CancellationToken::new();
    let pipeline = job.pipeline(Redactor::new(), fast_config(), token.clone());
    let sink = pipeline.sink();
    sink.line(LogStream::Stdout, "before the cancel");
    // Acknowledged without a cancel request (hang guard: 60 s).
    tokio::time::timeout(Duration::from_secs(60), async {
        while pipeline.stats().lines_delivered < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the first line is acknowledged");
    assert!(!token.is_cancelled());

    trellis.user().cancel_job(job_id).await.unwrap();
    sink.line(LogStream::Stdout, "after the cancel");
    tokio::time::timeout(Duration::from_secs(60), token.cancelled())
        .await
        .expect("the token fires after the next acknowledgement (hang guard)");
    drop(sink);
    assert!(pipeline.finish(None).await.delivered_all);
    assert_eq!(trellis.logs(job_id).await.len(), 2);
}
