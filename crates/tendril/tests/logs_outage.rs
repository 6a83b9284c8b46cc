//! Trellis killed mid-stream and restarted on the same database: every line arrives exactly
//! once, and the memory buffer stays bounded (the spool file takes the rest).

mod logs_common;

use grape_api::LogStream;
use grape_process::Redactor;
use logs_common::{Trellis, assert_exactly_once, fast_config};
use std::time::Duration;
use tendril::logs::LogConfig;
use tokio_util::sync::CancellationToken;

/// Waits for `cond`; panics after a minute (a hang guard, not a timed assertion).
async fn wait_until(cond: impl Fn() -> bool, what: &str) {
    tokio::time::timeout(Duration::from_secs(60), async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: not after a minute"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trellis_restart_mid_stream_loses_and_duplicates_nothing() {
    let mut trellis = Trellis::start().await;
    let job = trellis.streamed_job().await;
    let job_id = job.job_id;
    let config = LogConfig {
        memory_bytes: 16 * 1024,
        max_batch_lines: 250,
        ..fast_config()
    };
    let pipeline = job.pipeline(Redactor::new(), config, CancellationToken::new());
    let sink = pipeline.sink();

    let total = 30_000usize;
    let expected: Vec<String> = (1..=total)
        .map(|i| format!("{i}: {}", "payload ".repeat(i % 7)))
        .collect();
    let producer = {
        let expected = expected.clone();
        tokio::spawn(async move {
            // About 6 s of output: 50 lines every 10 ms.
            for chunk in expected.chunks(50) {
                for text in chunk {
                    sink.line(LogStream::Stdout, text);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    // Lines flow before the outage, wait while Trellis is down (hang guards: 60 s each).
    wait_until(
        || pipeline.stats().lines_delivered > 0,
        "lines flow before the outage",
    )
    .await;
    trellis.kill();
    wait_until(
        || pipeline.stats().backlog > 1_000,
        "lines wait while Trellis is down",
    )
    .await;
    trellis.restart().await;

    producer.await.unwrap();
    let summary = pipeline.finish(None).await;
    assert!(summary.delivered_all, "{summary:?}");
    assert!(
        summary.lines_spilled > 0,
        "the spool file was used: {summary:?}"
    );
    assert_eq!(summary.lines, total as u64);

    let lines = trellis.logs(job_id).await;
    assert_exactly_once(&lines, &expected);
}
