//! The outbox's disk fills up while lines spill (a real 64 KiB tmpfs): no accepted line is
//! lost while memory has room, past its bound a `system` line says how many were dropped and
//! why, and `finish` returns — the job can still report its final status.
//!
//! Needs root (to mount a tmpfs); elsewhere the tests say so and pass, except under `CI=true`.

mod logs_common;

use grape_api::LogStream;
use grape_process::Redactor;
use logs_common::{Trellis, fast_config};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use std::time::Duration;
use tendril::logs::{self, LogConfig, LogSummary};
use tendril::outbox::Outbox;
use tokio_util::sync::CancellationToken;

/// A mounted tmpfs of 64 KiB, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        match mount(
            Some("tmpfs"),
            dir.path(),
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("size=64k,mode=0700"),
        ) {
            Ok(()) => Some(Tmpfs { dir }),
            Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("SKIPPED: cannot mount a tmpfs ({e}); run as root to test a full disk");
                None
            }
            Err(e) => panic!("cannot mount a tmpfs ({e}): these tests need root"),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = umount2(self.dir.path(), MntFlags::MNT_DETACH);
    }
}

/// Streams `lines` into a job whose outbox lives on a full-to-be tmpfs while Trellis is down,
/// then brings Trellis back and finishes (hang guard: 60 s).
async fn stream_onto_a_full_disk(
    config: LogConfig,
    lines: &[String],
) -> Option<(Trellis, uuid::Uuid, LogSummary)> {
    let disk = Tmpfs::mount()?;
    let mut trellis = Trellis::start().await;
    let (api, job_id) = trellis.running_job().await;
    let outbox = Outbox::open(disk.dir.path()).unwrap();
    outbox.job_started(job_id).unwrap();
    let pipeline = logs::start(
        job_id,
        api,
        Redactor::new(),
        &outbox,
        config,
        CancellationToken::new(),
    );
    trellis.kill();
    let sink = pipeline.sink();
    for text in lines {
        sink.line(LogStream::Stdout, text);
    }
    drop(sink);
    trellis.restart().await;
    let summary = tokio::time::timeout(Duration::from_secs(60), pipeline.finish(None))
        .await
        .expect("finish returns although the journal's disk is full (hang guard: 60 s)");
    drop(disk);
    Some((trellis, job_id, summary))
}

fn texts(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!("{i:06} {}", "disk full ".repeat(10)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_no_line_while_memory_has_room() {
    let expected = texts(5_000); // ~ 750 KiB of journal on 64 KiB
    let config = LogConfig {
        memory_bytes: 8 * 1024,
        ..fast_config()
    };
    let Some((trellis, job_id, summary)) = stream_onto_a_full_disk(config, &expected).await else {
        return;
    };
    assert!(
        summary
            .journal_error
            .as_deref()
            .is_some_and(|e| e.contains("No space left on device")),
        "{summary:?}"
    );
    assert!(summary.delivered_all, "{summary:?}");
    assert_eq!(summary.lines_dropped, 0);
    let lines = trellis.logs(job_id).await;
    logs_common::assert_exactly_once(&lines, &expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_memory_bound_a_system_line_says_how_many_lines_were_lost_and_why() {
    let expected = texts(5_000);
    let config = LogConfig {
        memory_bytes: 8 * 1024,
        max_memory_bytes: 128 * 1024,
        ..fast_config()
    };
    let Some((trellis, job_id, summary)) = stream_onto_a_full_disk(config, &expected).await else {
        return;
    };
    assert!(summary.delivered_all, "{summary:?}");
    assert!(summary.lines_dropped > 1_000, "{summary:?}");
    let lines = trellis.logs(job_id).await;
    let n = lines.len();
    assert_eq!(n as u64, summary.lines);
    assert_eq!(
        lines.iter().map(|l| l.seq).collect::<Vec<_>>(),
        (1..=n as u64).collect::<Vec<_>>(),
        "no seq gap"
    );
    // Kept lines come in order (a subsequence of what was written); each run of dropped
    // lines is followed by a report, and the reports add up to what was dropped.
    let mut next = 0;
    let mut reported = 0u64;
    for line in &lines {
        if line.stream == LogStream::System {
            assert!(
                line.text.contains(
                    "were lost: the log journal cannot be written (No space left on device"
                ),
                "{}",
                line.text
            );
            let count = line.text["tendril: ".len()..]
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("a count in {}", line.text));
            reported += count;
        } else {
            let at = expected[next..]
                .iter()
                .position(|t| *t == line.text)
                .unwrap_or_else(|| panic!("{} out of order", line.text));
            next += at + 1;
        }
    }
    assert_eq!(reported, summary.lines_dropped);
    let kept = lines
        .iter()
        .filter(|l| l.stream != LogStream::System)
        .count() as u64;
    assert_eq!(kept + reported, expected.len() as u64);
    assert_eq!(
        lines.last().unwrap().stream,
        LogStream::System,
        "the report closes the log"
    );
}
