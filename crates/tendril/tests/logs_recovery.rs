//! Crash recovery through the outbox: a worker that died with an undelivered log tail and a
//! journaled final status (or none) finishes the job's story on its next start.

mod logs_common;

use grape_api::{JobStatus, LogStream, StatusUpdate};
use grape_process::Redactor;
use logs_common::{Trellis, assert_exactly_once, fast_config};
use std::time::Duration;
use tendril::logs;
use tendril::outbox::{INTERRUPTED_ERROR, Outbox, RecoveryOutcome};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Copies a directory tree (to replay a recovery from the same journal).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_worker_delivers_the_tail_and_the_status_idempotently() {
    let mut trellis = Trellis::start().await;
    // One worker identity across both lives (a restarted worker keeps its id and token).
    let api = trellis.worker().await;
    let done_job = trellis.running_job_for(&api).await;
    let cut_job = trellis.running_job_for(&api).await;
    let state = tempfile::tempdir().unwrap();

    // First life of the worker: some lines are delivered, then Trellis goes away.
    let expected: Vec<String> = (1..=3_000).map(|i| format!("done job line {i}")).collect();
    let cut_expected: Vec<String> = (1..=40)
        .map(|i| format!("interrupted job line {i}"))
        .collect();
    {
        let outbox = Outbox::open(state.path()).unwrap();
        outbox.job_started(done_job).unwrap();
        outbox.job_started(cut_job).unwrap();
        let config = fast_config();
        let done = logs::start(
            done_job,
            api.clone(),
            Redactor::new(),
            &outbox,
            config.clone(),
            CancellationToken::new(),
        );
        let cut = logs::start(
            cut_job,
            api.clone(),
            Redactor::new(),
            &outbox,
            config,
            CancellationToken::new(),
        );
        let (done_sink, cut_sink) = (done.sink(), cut.sink());
        for text in &expected[..1_000] {
            done_sink.line(LogStream::Stdout, text);
        }
        let wait_until = Instant::now() + Duration::from_secs(10);
        while done.stats().lines_delivered < 1_000 && Instant::now() < wait_until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(done.stats().lines_delivered, 1_000);

        trellis.kill();
        for text in &expected[1_000..] {
            done_sink.line(LogStream::Stdout, text);
        }
        for text in &cut_expected {
            cut_sink.line(LogStream::Stderr, text);
        }
        // The handler of one job returned: its status is journaled, then the worker dies
        // (everything dropped, nothing more delivered), as with kill -9.
        outbox
            .record_final_status(
                done_job,
                &StatusUpdate::success(Some(serde_json::json!({"ok": true}))),
            )
            .unwrap();
        let summary = done
            .finish(Some(Instant::now() + Duration::from_millis(300)))
            .await;
        assert!(!summary.delivered_all);
        drop((done_sink, cut_sink, cut, outbox));
    }
    // Second life: Trellis is back; a crash in the middle of recovery is replayed too.
    trellis.restart().await;
    let replay = tempfile::tempdir().unwrap();
    copy_dir(state.path(), replay.path());

    let outbox = Outbox::open(state.path()).unwrap();
    assert_eq!(outbox.pending_jobs().unwrap().len(), 2);
    let report = outbox.recover_with(&api, &fast_config()).await.unwrap();
    assert_eq!(report.jobs.len(), 2);
    let done_report = report.jobs.iter().find(|j| j.job_id == done_job).unwrap();
    assert_eq!(done_report.outcome, RecoveryOutcome::Delivered);
    assert!(!done_report.interrupted);
    assert_eq!(
        done_report.lines_sent, 2_000,
        "only the unacknowledged tail is resent"
    );
    let cut_report = report.jobs.iter().find(|j| j.job_id == cut_job).unwrap();
    assert!(cut_report.interrupted);
    assert_eq!(cut_report.status.error.as_deref(), Some(INTERRUPTED_ERROR));
    assert!(
        outbox.pending_jobs().unwrap().is_empty(),
        "journals are deleted"
    );

    assert_eq!(trellis.status(done_job).await, (JobStatus::Success, None));
    assert_exactly_once(&trellis.logs(done_job).await, &expected);
    let (status, error) = trellis.status(cut_job).await;
    assert_eq!(status, JobStatus::Failed);
    assert_eq!(error.as_deref(), Some(INTERRUPTED_ERROR));
    assert_exactly_once(&trellis.logs(cut_job).await, &cut_expected);

    // Recovering again from the same journal (a crash before it was deleted) changes nothing.
    let again = Outbox::open(replay.path()).unwrap();
    let report = again.recover_with(&api, &fast_config()).await.unwrap();
    assert_eq!(report.jobs.len(), 2);
    assert!(
        report.jobs.iter().all(|j| matches!(
            j.outcome,
            RecoveryOutcome::Delivered | RecoveryOutcome::AlreadyFinal(_)
        )),
        "{report:?}"
    );
    assert_exactly_once(&trellis.logs(done_job).await, &expected);
    assert_exactly_once(&trellis.logs(cut_job).await, &cut_expected);
    assert_eq!(trellis.status(done_job).await.0, JobStatus::Success);
}
