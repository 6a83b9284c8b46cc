//! Cancellation releases the lock; a held lock is reported with its force-unlock command.

use std::sync::Arc;
use std::time::Duration;

use grape_terraform::{
    InitOptions, PlanOptions, RunIo, TerraformError, UiEvent, WorkingDir, discard_lines,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::common::{Lines, Peers, SLOW_TF, config, peers};

const KEY: &str = "vines/slow/terraform.tfstate";

/// Starts applying the slow configuration in the background; returns when the provisioner
/// (`sleep 30`) runs, i.e. while the apply holds the state lock.
async fn start_slow_apply(
    p: &Peers,
    wd: &WorkingDir,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<grape_terraform::ApplyOutcome, TerraformError>>,
) {
    let cancel = CancellationToken::new();
    let sink = discard_lines();
    let io = RunIo::new(&sink, &cancel);
    wd.init(&InitOptions::default(), io).await.expect("init");
    let plan = wd.plan(&PlanOptions::default(), io).await.expect("plan");
    let started = Arc::new(Notify::new());
    let task = {
        let wd = wd.clone();
        let started = started.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let lines = Lines::default();
            let on_event = move |e: &UiEvent| {
                if matches!(e, UiEvent::ProvisionStart(_)) {
                    started.notify_one();
                }
            };
            wd.apply_plan(
                &plan.plan_file,
                RunIo::new(&lines, &cancel).with_events(&on_event),
            )
            .await
        })
    };
    tokio::time::timeout(Duration::from_secs(120), started.notified())
        .await
        .expect("the provisioner starts");
    let lock_key = format!("{KEY}.tflock");
    assert!(p.get(&lock_key).await.is_some(), "the apply holds the lock");
    (cancel, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelled_apply_leaves_no_lock_and_a_new_plan_works() {
    let p = peers().await;
    let dir = config(SLOW_TF);
    let wd = p.tf.working_dir(dir.path()).with_backend(p.backend(KEY));
    let (cancel, task) = start_slow_apply(&p, &wd).await;
    cancel.cancel();
    let err = task.await.unwrap().expect_err("cancelled apply fails");
    assert!(
        matches!(err, TerraformError::Cancelled { ref command, .. } if command == "apply"),
        "{err:?}"
    );
    assert!(err.to_string().contains("cancelled"), "{err}");
    assert!(
        p.get(&format!("{KEY}.tflock")).await.is_none(),
        "lock released"
    );
    let fresh = CancellationToken::new();
    let sink = discard_lines();
    let again = wd
        .plan(&PlanOptions::default(), RunIo::new(&sink, &fresh))
        .await
        .expect("a new plan works");
    assert!(again.has_changes);
}

#[tokio::test(flavor = "multi_thread")]
async fn held_and_stale_locks_are_reported_and_force_unlocked() {
    let p = peers().await;
    let dir = config(SLOW_TF);
    let wd = p.tf.working_dir(dir.path()).with_backend(p.backend(KEY));
    let (cancel, task) = start_slow_apply(&p, &wd).await;

    // A concurrent plan in another directory on the same state.
    let other_dir = config(SLOW_TF);
    let other =
        p.tf.working_dir(other_dir.path())
            .with_backend(p.backend(KEY));
    let c2 = CancellationToken::new();
    let lines = Lines::default();
    let io = RunIo::new(&lines, &c2);
    other
        .init(&InitOptions::default(), io)
        .await
        .expect("init other");
    let err = other
        .plan(&PlanOptions::default(), io)
        .await
        .expect_err("state is locked");
    let TerraformError::StateLocked { lock, command, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(command, "plan");
    assert_eq!(lock.operation, "OperationTypeApply");
    assert_eq!(lock.path, format!("terraform-state/{KEY}"));
    assert!(!lock.who.is_empty());
    let message = err.to_string();
    assert!(
        message.contains(&format!("terraform force-unlock -force {}", lock.id)),
        "{message}"
    );
    assert!(
        lines
            .text()
            .contains("Error: Error acquiring the state lock"),
        "{}",
        lines.text()
    );

    // Keep a copy of the lock object, stop the apply, and put the copy back: a lock left
    // behind by a crashed run.
    let lock_key = format!("{KEY}.tflock");
    let lock_body = p.get(&lock_key).await.expect("lock object");
    cancel.cancel();
    let _ = task.await.unwrap();
    assert!(p.get(&lock_key).await.is_none());
    p.put(&lock_key, lock_body).await;

    let stale = other
        .plan(&PlanOptions::default(), io)
        .await
        .expect_err("stale lock");
    let TerraformError::StateLocked {
        lock: stale_lock, ..
    } = &stale
    else {
        panic!("{stale:?}")
    };
    assert_eq!(stale_lock.id, lock.id);
    other
        .force_unlock(&stale_lock.id, &c2)
        .await
        .expect("force-unlock");
    assert!(
        p.get(&lock_key).await.is_none(),
        "force-unlock removed the lock object"
    );
    other
        .plan(&PlanOptions::default(), io)
        .await
        .expect("plan after force-unlock");
}
