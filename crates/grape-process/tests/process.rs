//! Real child processes (sh, sleep, printf, env, cat, python3) through grape-process.

use std::sync::Mutex;
use std::time::Duration;

use grape_process::{CancellationToken, Command, OutputStream, ProcessError, REDACTED, Redactor};
use tokio::sync::Notify;

/// Collects lines; wakes `ready` when a line equals "ready".
#[derive(Default)]
struct Collect {
    lines: Mutex<Vec<(OutputStream, String)>>,
    ready: Notify,
}

impl grape_process::LineSink for Collect {
    fn line(&self, stream: OutputStream, text: &str) {
        if text == "ready" {
            self.ready.notify_one();
        }
        self.lines.lock().unwrap().push((stream, text.to_owned()));
    }
}

impl Collect {
    fn of(&self, stream: OutputStream) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _)| *s == stream)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

fn sh(script: &str) -> Command {
    Command::new("sh", std::env::temp_dir())
        .inherit_env(&["PATH"])
        .args(["-c", script])
}

/// Runs `cmd`, cancelling it once it printed "ready".
async fn run_and_cancel_when_ready(cmd: Command, sink: &Collect) -> grape_process::ExitReport {
    let cancel = CancellationToken::new();
    let run = cmd.run(sink, &cancel);
    let trigger = async {
        sink.ready.notified().await;
        cancel.cancel();
    };
    let (report, ()) = tokio::join!(run, trigger);
    report.unwrap()
}

fn proc_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// Waits until `pid` is gone; false after a minute (a hang guard).
async fn wait_gone(pid: u32) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if proc_gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn both_streams_in_order_with_exit_code() {
    let sink = Collect::default();
    let report =
        sh("i=0; while [ $i -lt 2000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done; exit 3")
            .run(&sink, &CancellationToken::new())
            .await
            .unwrap();
    assert_eq!(report.code, Some(3));
    assert_eq!(report.signal, None);
    assert!(!report.success());
    assert_eq!(report.describe(), "exited with code 3");
    let out = sink.of(OutputStream::Stdout);
    let err = sink.of(OutputStream::Stderr);
    assert_eq!(
        out,
        (0..2000).map(|i| format!("out{i}")).collect::<Vec<_>>()
    );
    assert_eq!(
        err,
        (0..2000).map(|i| format!("err{i}")).collect::<Vec<_>>()
    );
    assert_eq!(report.stderr_tail.len(), 20);
    assert_eq!(report.stderr_tail.last().unwrap(), "err1999");
}

#[tokio::test]
async fn success_crlf_and_final_line_without_newline() {
    let sink = Collect::default();
    let report = sh(r"printf 'a\r\nb\n\nlast'")
        .run(&sink, &CancellationToken::new())
        .await
        .unwrap();
    assert!(report.success());
    assert_eq!(sink.of(OutputStream::Stdout), ["a", "b", "", "last"]);
}

#[tokio::test]
async fn signal_is_reported() {
    let sink = Collect::default();
    let report = sh("kill -TERM $$")
        .run(&sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.code, None);
    assert_eq!(report.signal, Some(15));
    assert_eq!(report.describe(), "killed by signal 15");
}

#[tokio::test]
async fn cancel_sends_sigint_to_the_child() {
    let sink = Collect::default();
    let cmd = sh(r"trap 'echo got-sigint; exit 7' INT; echo ready; while :; do sleep 0.05; done")
        .grace(Duration::from_secs(20));
    let report = run_and_cancel_when_ready(cmd, &sink).await;
    assert!(report.cancelled);
    assert!(!report.timed_out);
    assert_eq!(report.code, Some(7));
    assert_eq!(report.describe(), "cancelled");
    assert_eq!(sink.of(OutputStream::Stdout), ["ready", "got-sigint"]);
}

#[tokio::test]
async fn child_ignoring_sigint_is_killed_after_grace() {
    let sink = Collect::default();
    let cmd =
        sh(r"trap '' INT; echo ready; sleep 30; echo survived").grace(Duration::from_millis(300));
    let report = run_and_cancel_when_ready(cmd, &sink).await;
    assert!(report.cancelled);
    assert_eq!(report.signal, Some(9));
    // Killed (signal 9, no "survived"): the 30 s sleep did not run to its end.
    assert_eq!(sink.of(OutputStream::Stdout), ["ready"]);
    println!("killed after {:?}", report.duration);
}

#[tokio::test]
async fn grandchild_in_the_group_is_killed_on_cancel() {
    let sink = Collect::default();
    // The grandchild ignores SIGINT: only the SIGKILL of the group ends it.
    let cmd = sh(r"(trap '' INT; exec sleep 300) & echo $!; echo ready; wait")
        .grace(Duration::from_millis(300))
        .pipe_drain(Duration::from_millis(300));
    let report = run_and_cancel_when_ready(cmd, &sink).await;
    assert!(report.cancelled);
    let pid: u32 = sink.of(OutputStream::Stdout)[0].parse().unwrap();
    assert!(wait_gone(pid).await, "grandchild {pid} still alive");
}

#[tokio::test]
async fn grandchild_holding_the_pipes_does_not_hang_the_run() {
    let sink = Collect::default();
    let report = sh(r"sleep 300 & echo $!")
        .pipe_drain(Duration::from_millis(200))
        .run(&sink, &CancellationToken::new())
        .await
        .unwrap();
    assert!(report.success());
    let pid: u32 = sink.of(OutputStream::Stdout)[0].parse().unwrap();
    assert!(wait_gone(pid).await, "grandchild {pid} still alive");
    assert!(
        report.duration < Duration::from_secs(60),
        "{:?}",
        report.duration
    );
}

#[tokio::test]
async fn timeout_interrupts() {
    let sink = Collect::default();
    let report = Command::new("sleep", "/")
        .inherit_env(&["PATH"])
        .arg("30")
        .timeout(Some(Duration::from_millis(200)))
        .run(&sink, &CancellationToken::new())
        .await
        .unwrap();
    assert!(report.timed_out);
    assert!(!report.cancelled);
    assert_eq!(report.signal, Some(2));
    assert_eq!(report.describe(), "timed out");
}

#[tokio::test]
async fn environment_is_only_what_was_given() {
    assert!(std::env::var_os("PATH").is_some());
    let sink = Collect::default();
    let report = Command::new("/usr/bin/env", "/")
        .env("FOO", "bar")
        .inherit_env(&["PATH", "GRAPE_PROCESS_SURELY_UNSET_VAR"])
        .run(&sink, &CancellationToken::new())
        .await
        .unwrap();
    assert!(report.success());
    let mut lines = sink.of(OutputStream::Stdout);
    lines.sort();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], "FOO=bar");
    assert_eq!(lines[1], format!("PATH={}", std::env::var("PATH").unwrap()));
}

#[tokio::test]
async fn missing_program_and_cwd() {
    let cancel = CancellationToken::new();
    let sink = Collect::default();
    let err = Command::new("grape-no-such-program", "/")
        .inherit_env(&["PATH"])
        .run(&sink, &cancel)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProcessError::NotFound { program } if program == "grape-no-such-program"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "program not found: grape-no-such-program");
    // The PATH of the child is the one searched.
    let err = Command::new("sh", "/")
        .env("PATH", "/grape-nonexistent-dir")
        .run(&sink, &cancel)
        .await
        .unwrap_err();
    assert!(matches!(err, ProcessError::NotFound { .. }), "{err:?}");
    let err = Command::new("/bin/sh", "/grape-nonexistent-dir")
        .run(&sink, &cancel)
        .await
        .unwrap_err();
    assert!(matches!(err, ProcessError::Cwd { .. }), "{err:?}");
}

#[tokio::test]
async fn long_lines_are_truncated_after_redaction_with_a_marker() {
    let secret = "LongLineSecret-42";
    let redactor = Redactor::new();
    redactor.add(secret);
    let sink = Collect::default();
    // The secret straddles the cut; then 8 MiB more of the same line, then a short line.
    let script = format!(
        "import sys; sys.stdout.write('a' * 65430 + '{secret}' + 'b' * (8 << 20) + '\\n' + 'x' * 10 + '\\n')"
    );
    let report = Command::new("python3", "/")
        .inherit_env(&["PATH"])
        .args(["-c", &script])
        .redactor(redactor)
        .run(&sink, &CancellationToken::new())
        .await
        .unwrap();
    assert!(report.success());
    let out = sink.of(OutputStream::Stdout);
    assert_eq!(out.len(), 2, "one truncated line and the short one");
    let total = 65430 + secret.len() + (8 << 20);
    assert!(
        out[0].len() <= grape_process::MAX_LINE_BYTES,
        "{}",
        out[0].len()
    );
    assert!(out[0].starts_with(&"a".repeat(65430)));
    assert!(!out[0].contains("LongLine"), "no part of the secret");
    assert!(
        out[0].ends_with(&format!(
            " [line truncated: {total} bytes, only the first 65440 kept]"
        )),
        "{}",
        &out[0][65000..]
    );
    assert_eq!(out[1], "xxxxxxxxxx");
}

#[tokio::test]
async fn captured_output_past_its_limit_is_an_error_naming_the_limit_and_the_child_is_killed() {
    // A child that would write for ever.
    let err = sh("while :; do echo 0123456789abcdef0123456789abcdef; done")
        .max_output(1 << 20)
        .output(&CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProcessError::OutputTooLarge { limit, .. } if limit == 1 << 20),
        "{err:?}"
    );
    assert!(err.to_string().contains("1048576 bytes"), "{err}");
    // Exactly at the limit is fine.
    let out = sh("head -c 1048576 /dev/zero")
        .max_output(1 << 20)
        .output(&CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 1 << 20);
    assert_eq!(
        grape_process::DEFAULT_MAX_OUTPUT_BYTES,
        256 * 1024 * 1024,
        "the documented bound"
    );
}

#[tokio::test]
async fn invalid_utf8_is_replaced() {
    let sink = Collect::default();
    sh(r"printf '\377abc\n\303\251t\303\n'")
        .run(&sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sink.of(OutputStream::Stdout), ["\u{fffd}abc", "ét\u{fffd}"]);
}

#[tokio::test]
async fn secrets_redacted_in_every_form_via_stdin() {
    let secret = "p@ss/w0rd+\"x\"~tail";
    let redactor = Redactor::new();
    redactor.add(secret);
    let script = r#"
import base64, json, sys, urllib.parse
s = sys.argv[1]
b = s.encode()
print("plain", s)
print("b64", base64.b64encode(b).decode())
print("b64nopad", base64.b64encode(b).decode().rstrip("="))
print("url64", base64.urlsafe_b64encode(b).decode())
print("pct", urllib.parse.quote(s, safe=""))
print("json", json.dumps({"k": s}))
"#;
    let sink = Collect::default();
    let report = Command::new("python3", "/")
        .inherit_env(&["PATH"])
        .args(["-", secret])
        .stdin_bytes(script.as_bytes().to_vec())
        .redactor(redactor.clone())
        .run(&sink, &CancellationToken::new())
        .await
        .unwrap();
    assert!(report.success(), "{report:?}");
    let out = sink.of(OutputStream::Stdout);
    assert_eq!(out.len(), 6, "{out:?}");
    for line in &out {
        assert!(line.contains(REDACTED), "{line}");
        assert!(!line.contains("w0rd"), "{line}");
    }
    assert_eq!(out[5], r#"json {"k": "[REDACTED]"}"#);
}

#[tokio::test]
async fn secret_written_in_two_writes_is_redacted() {
    let redactor = Redactor::new();
    redactor.add("abcdef");
    let sink = Collect::default();
    sh(r"printf abc; sleep 0.2; printf 'def\n'; printf 'xyzabc' >&2; sleep 0.2; printf 'def-end\n' >&2")
        .redactor(redactor)
        .run(&sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sink.of(OutputStream::Stdout), [REDACTED]);
    assert_eq!(
        sink.of(OutputStream::Stderr),
        [format!("xyz{REDACTED}-end")]
    );
}

#[tokio::test]
async fn secret_env_values_are_registered() {
    let redactor = Redactor::new();
    let sink = Collect::default();
    sh("echo $MY_API_TOKEN")
        .env("MY_API_TOKEN", "tok-1234567")
        .redactor(redactor.clone())
        .run(&sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sink.of(OutputStream::Stdout), [REDACTED]);
    assert_eq!(redactor.len(), 1);
}

#[tokio::test]
async fn output_captures_one_huge_line_and_stdin() {
    let big: Vec<u8> = std::iter::repeat_n(b"0123456789abcdef".as_slice(), 400_000)
        .flatten()
        .copied()
        .collect();
    let out = Command::new("cat", "/")
        .inherit_env(&["PATH"])
        .stdin_bytes(big.clone())
        .output(&CancellationToken::new())
        .await
        .unwrap();
    assert!(out.report.success());
    assert_eq!(out.stdout.len(), big.len());
    assert_eq!(out.stdout.as_bytes(), &big[..]);

    let redactor = Redactor::new();
    redactor.add("topsecret");
    let out = sh("echo '{\"a\":\"topsecret\"}'; echo oops >&2; exit 1")
        .redactor(redactor)
        .output(&CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(out.stdout, "{\"a\":\"[REDACTED]\"}\n");
    assert_eq!(out.report.code, Some(1));
    assert_eq!(out.report.stderr_tail, ["oops"]);
}

#[tokio::test]
async fn child_that_does_not_read_stdin() {
    let out = sh("exit 0")
        .stdin_bytes(vec![b'x'; 1 << 20])
        .output(&CancellationToken::new())
        .await
        .unwrap();
    assert!(out.report.success());
}

/// Helper for `children_die_with_a_killed_parent`: only does something when re-executed by it.
#[tokio::test]
async fn pdeathsig_helper() {
    if std::env::var_os("GRAPE_PROCESS_PDEATHSIG_HELPER").is_none() {
        return;
    }
    let sink = |_: OutputStream, text: &str| println!("{text}");
    println!("PDEATHSIG-HELPER={}", std::process::id());
    // Prints the pid of its child, then blocks until killed.
    let _ = sh("echo PDEATHSIG-CHILD=$$; exec sleep 300")
        .run(&sink, &CancellationToken::new())
        .await;
}

#[tokio::test]
async fn children_die_with_a_killed_parent() {
    let exe = std::env::current_exe().unwrap();
    let sink = Collect::default();
    let cancel = CancellationToken::new();
    let run = Command::new(exe, "/")
        .inherit_env(&["PATH"])
        .env("GRAPE_PROCESS_PDEATHSIG_HELPER", "1")
        .args([
            "pdeathsig_helper",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .timeout(Some(Duration::from_secs(60)))
        .run(&sink, &cancel);
    let run = async {
        let report = run.await;
        // Stops the watcher below if the helper ended on its own.
        cancel.cancel();
        report
    };
    let kill = async {
        let (helper, child) = loop {
            assert!(!cancel.is_cancelled(), "helper did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
            let out = sink.of(OutputStream::Stdout);
            let find = |p: &str| {
                out.iter()
                    .find_map(|l| l.split(p).nth(1).map(|n| n.trim().parse::<i32>().unwrap()))
            };
            if let (Some(h), Some(c)) = (find("PDEATHSIG-HELPER="), find("PDEATHSIG-CHILD=")) {
                break (h, c);
            }
        };
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(helper),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        child
    };
    let (report, child) = tokio::join!(run, kill);
    let report = report.unwrap();
    assert_eq!(report.signal, Some(9), "{report:?}");
    assert!(!report.timed_out);
    assert!(
        wait_gone(child as u32).await,
        "child {child} survived its killed parent"
    );
}
