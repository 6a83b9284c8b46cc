//! Cancellation and graceful shutdown with a real `trellis` and a real `tendril`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use grape_api::{JobStatus, LogStream, WorkerStatus};
use nix::sys::signal::Signal;

const T: Duration = Duration::from_secs(30);

#[tokio::test]
async fn cancel_of_a_printing_job_ends_it_within_3_s() {
    let trellis = trellis_with(Duration::from_secs(60), Duration::from_secs(60)).await;
    let user = trellis.user_client();
    // A long heartbeat interval: the cancel must come through the log acknowledgements.
    let worker = Tendril::start(
        &trellis,
        "w-cancel-print",
        TendrilOptions {
            heartbeat: "20s",
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
    assert!(took <= Duration::from_secs(3), "cancel took {took:?}");
    println!("cancel of a printing job took {took:?}");
    // The worker goes on.
    let next = submit_exec(&user, sh("echo after")).await;
    assert_eq!(
        wait_terminal(&user, next.id, T).await.status,
        JobStatus::Success
    );
}

#[tokio::test]
async fn cancel_of_a_silent_job_ends_it_within_one_heartbeat_interval() {
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
    tokio::time::sleep(Duration::from_millis(500)).await; // the first lines are delivered
    let asked = Instant::now();
    user.cancel_job(job.id).await.expect("cancel");
    let done = wait_terminal(&user, job.id, T).await;
    let took = asked.elapsed();
    assert_eq!(done.status, JobStatus::Cancelled, "{}", worker.log());
    // One interval (+10 % jitter) for the heartbeat to carry the request, plus the time to stop
    // `sleep` and report.
    assert!(
        took <= interval.mul_f64(1.1) + Duration::from_secs(1),
        "cancel took {took:?}"
    );
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
    wait_worker(
        &user,
        worker.id,
        WorkerStatus::Draining,
        Duration::from_secs(5),
    )
    .await;
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
    wait_worker(
        &user,
        worker.id,
        WorkerStatus::Draining,
        Duration::from_secs(5),
    )
    .await;
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
    tokio::time::sleep(Duration::from_millis(500)).await; // a long-poll claim is in flight
    let asked = Instant::now();
    worker.signal(Signal::SIGTERM);
    let status = worker.wait_exit(T).await;
    assert!(status.success(), "exit status {status:?}\n{}", worker.log());
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "the 30 s long-poll was not aborted"
    );
    assert_eq!(worker_status(&user, worker.id).await, WorkerStatus::Offline);
}
