//! Cancellation and graceful shutdown with a real `trellis` and a real `tendril`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use grape_api::{JobStatus, LogStream, WorkerStatus};
use nix::sys::signal::Signal;

/// Hang guard of every wait (not a timed assertion: the durations are printed).
const T: Duration = Duration::from_secs(60);

#[tokio::test]
async fn cancel_of_a_printing_job_comes_through_the_log_acknowledgements() {
    let trellis = trellis_with(Duration::from_secs(600), Duration::from_secs(600)).await;
    let user = trellis.user_client();
    // A heartbeat interval far past the hang guard: the cancel can only come through the log
    // acknowledgements.
    let worker = Tendril::start(
        &trellis,
        "w-cancel-print",
        TendrilOptions {
            heartbeat: "10m",
            ..Default::default()
        },
    )
    .await;
    let job = submit_exec(&user, sh("while true; do echo tick; sleep 0.1; done")).await;
    wait_job(&user, job.id, T, |j| j.status == JobStatus::Running).await;
    // Wait until output flows.
    let deadline = Instant::now() + T;
    while stdout_lines(&user, job.id).await.len() < 3 {
        assert!(Instant::now() < deadline, "no output\n{}", worker.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let asked = Instant::now();
    user.cancel_job(job.id).await.expect("cancel");
    let done = wait_terminal(&user, job.id, T).await;
    let took = asked.elapsed();
    assert_eq!(done.status, JobStatus::Cancelled, "{}", worker.log());
    assert!(
        worker
            .log()
            .contains("cancel requested (log acknowledgement)"),
        "{}",
        worker.log()
    );
    println!("cancel of a printing job took {took:?}");
    // The worker goes on.
    let next = submit_exec(&user, sh("echo after")).await;
    assert_eq!(
        wait_terminal(&user, next.id, T).await.status,
        JobStatus::Success
    );
}

#[tokio::test]
async fn cancel_of_a_silent_job_comes_with_a_heartbeat() {
    let trellis = trellis_with(Duration::from_secs(10), Duration::from_secs(60)).await;
    let user = trellis.user_client();
    let interval = Duration::from_secs(2);
    let worker = Tendril::start(
        &trellis,
        "w-cancel-silent",
        TendrilOptions {
            heartbeat: "2s",
            ..Default::default()
        },
    )
    .await;
    let job = submit_exec(&user, sh("sleep 60")).await;
    wait_status(&user, job.id, JobStatus::Running, T).await;
    // The first (system) lines are delivered: no log acknowledgement is due any more.
    let deadline = Instant::now() + T;
    while all_logs(&user, job.id).await.len() < 2 {
        assert!(Instant::now() < deadline, "no log\n{}", worker.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let asked = Instant::now();
    user.cancel_job(job.id).await.expect("cancel");
    let done = wait_terminal(&user, job.id, T).await;
    let took = asked.elapsed();
    assert_eq!(done.status, JobStatus::Cancelled, "{}", worker.log());
    println!("cancel of a silent job took {took:?} (heartbeat interval {interval:?})");
}

#[tokio::test]
async fn sigterm_mid_job_lets_it_finish_then_goes_offline() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let mut worker = Tendril::start(&trellis, "w-drain", TendrilOptions::default()).await;
    let job = submit_exec(&user, sh("echo begin; sleep 3; echo end")).await;
    wait_status(&user, job.id, JobStatus::Running, T).await;
    worker.signal(Signal::SIGTERM);
    wait_worker(&user, worker.id, WorkerStatus::Draining, T).await;
    // No new claims while draining.
    let second = submit_exec(&user, sh("echo should not run")).await;
    let done = wait_terminal(&user, job.id, T).await;
    assert_eq!(done.status, JobStatus::Success, "{}", worker.log());
    assert_eq!(stdout_lines(&user, job.id).await, vec!["begin", "end"]);
    let status = worker.wait_exit(T).await;
    assert!(status.success(), "exit status {status:?}\n{}", worker.log());
    let w = worker_status(&user, worker.id).await;
    assert_eq!(w, WorkerStatus::Offline);
    assert_eq!(
        user.get_job(second.id).await.expect("job").status,
        JobStatus::Queued
    );
    let log = worker.log();
    assert!(log.contains("draining"), "{log}");
    assert!(log.contains("OFFLINE heartbeat sent"), "{log}");
}

async fn worker_status(user: &grape_api::UserApiClient, id: uuid::Uuid) -> WorkerStatus {
    worker(user, id).await.status
}

#[tokio::test]
async fn grace_shorter_than_the_job_interrupts_the_child() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let mut worker = Tendril::start(
        &trellis,
        "w-grace",
        TendrilOptions {
            grace: "1s",
            interrupt_grace: "5s",
            ..Default::default()
        },
    )
    .await;
    let job = submit_exec(
        &user,
        sh("trap 'echo got SIGINT; exit 130' INT; echo waiting; while true; do sleep 0.1; done"),
    )
    .await;
    wait_status(&user, job.id, JobStatus::Running, T).await;
    let deadline = Instant::now() + T;
    while stdout_lines(&user, job.id).await.is_empty() {
        assert!(Instant::now() < deadline, "no output\n{}", worker.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.signal(Signal::SIGTERM);
    let done = wait_terminal(&user, job.id, T).await;
    assert_eq!(done.status, JobStatus::Cancelled, "{}", worker.log());
    let out = stdout_lines(&user, job.id).await;
    assert_eq!(
        out,
        vec!["waiting", "got SIGINT"],
        "the child got SIGINT and could clean up"
    );
    let status = worker.wait_exit(T).await;
    assert!(status.success(), "exit status {status:?}\n{}", worker.log());
    assert_eq!(worker_status(&user, worker.id).await, WorkerStatus::Offline);
}

#[tokio::test]
async fn a_second_signal_cancels_the_job_at_once() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let mut worker = Tendril::start(
        &trellis,
        "w-twice",
        TendrilOptions {
            grace: "10m",
            ..Default::default()
        },
    )
    .await;
    let job = submit_exec(&user, sh("sleep 60")).await;
    wait_status(&user, job.id, JobStatus::Running, T).await;
    worker.signal(Signal::SIGTERM);
    wait_worker(&user, worker.id, WorkerStatus::Draining, T).await;
    worker.signal(Signal::SIGINT);
    let done = wait_terminal(&user, job.id, T).await;
    assert_eq!(done.status, JobStatus::Cancelled, "{}", worker.log());
    let status = worker.wait_exit(T).await;
    assert!(status.success(), "exit status {status:?}\n{}", worker.log());
    assert!(
        all_logs(&user, job.id)
            .await
            .iter()
            .all(|l| l.stream != LogStream::Stderr || !l.text.contains("panick")),
        "no panic"
    );
}

#[tokio::test]
async fn sigterm_while_idle_aborts_the_long_poll_and_exits() {
    let trellis = trellis().await;
    let user = trellis.user_client();
    let mut worker = Tendril::start(
        &trellis,
        "w-idle",
        TendrilOptions {
            claim_wait: "30s",
            ..Default::default()
        },
    )
    .await;
    wait_worker(&user, worker.id, WorkerStatus::Online, T).await;
    // A long-poll claim is in flight.
    let deadline = Instant::now() + T;
    while !worker.log().contains("claiming a job") {
        assert!(Instant::now() < deadline, "no claim\n{}", worker.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = Instant::now();
    worker.signal(Signal::SIGTERM);
    let status = worker.wait_exit(T).await;
    assert!(status.success(), "exit status {status:?}\n{}", worker.log());
    assert!(
        worker.log().contains("draining: claim aborted"),
        "the 30 s long-poll was not aborted\n{}",
        worker.log()
    );
    println!("exit after SIGTERM while idle took {:?}", asked.elapsed());
    assert_eq!(worker_status(&user, worker.id).await, WorkerStatus::Offline);
}
