//! grape on a real terminal (a pty from util-linux `script`): `jobs logs --follow` renders a
//! live job line by line to its end; colours appear on a terminal and vanish with NO_COLOR.

mod common;

use std::io::Read;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{API_TOKEN, Env, command, has_ansi};

/// `script -qec CMD /dev/null` with the test's environment: CMD runs on a pty.
fn on_pty(env: &Env, cmd: &str) -> std::process::Command {
    let mut c = command("script");
    c.args(["-qec", cmd, "/dev/null"])
        .env("HOME", env.home.path())
        .env("XDG_CONFIG_HOME", env.config_home())
        .env("TRELLIS_URL", &env.trellis.url)
        .env("GRAPE_TOKEN", API_TOKEN)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn grape_bin() -> String {
    assert_cmd::cargo::cargo_bin("grape").display().to_string()
}

/// Strips ANSI escape sequences (CSI … letter) and carriage returns.
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for n in chars.by_ref() {
                    if n.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else if c != '\r' {
            out.push(c);
        }
    }
    out
}

/// A command running on a pty, its output (stdout and stderr of the pty) collected as it comes.
struct PtyRun {
    child: std::process::Child,
    rx: mpsc::Receiver<Vec<u8>>,
    reader: Option<std::thread::JoinHandle<()>>,
    seen: Vec<u8>,
}

impl PtyRun {
    fn spawn(mut cmd: std::process::Command) -> Self {
        let mut child = cmd.spawn().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Self {
            child,
            rx,
            reader: Some(reader),
            seen: Vec::new(),
        }
    }

    /// Waits (at most 60 s) until the output, without escapes, contains `needle`.
    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !strip_ansi(&String::from_utf8_lossy(&self.seen)).contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "`{needle}` not shown: {}",
                String::from_utf8_lossy(&self.seen)
            );
            if let Ok(chunk) = self.rx.recv_timeout(left.min(Duration::from_millis(200))) {
                self.seen.extend(chunk);
            }
        }
    }

    /// Waits for the command to end; returns its status and everything it printed.
    fn finish(mut self) -> (std::process::ExitStatus, Vec<u8>) {
        let status = self.child.wait().unwrap();
        drop(self.child.stdin.take());
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        while let Ok(chunk) = self.rx.try_recv() {
            self.seen.extend(chunk);
        }
        (status, self.seen)
    }
}

#[test]
fn follow_renders_a_live_job_to_the_end() {
    let env = Env::new();
    let _worker = env.start_worker("pty-worker");
    let gate = tempfile::tempdir().unwrap();
    let go = gate.path().join("go");
    let script = format!(
        "for i in 1 2 3; do echo tick-$i; sleep 0.2; done; \
         while [ ! -e {go} ]; do sleep 0.05; done; \
         echo err-line >&2; echo tick-last",
        go = go.display()
    );
    let id = env.submit_sh(&script);

    let mut run = PtyRun::spawn(on_pty(
        &env,
        &format!("{} jobs logs {id} --follow", grape_bin()),
    ));
    // The first lines show while the job is still running (it waits for the gate).
    run.wait_for("tick-3");
    assert_eq!(
        env.json(&["jobs", "show", &id])["status"],
        "RUNNING",
        "lines must arrive live"
    );
    std::fs::write(&go, "").unwrap();
    run.wait_for("SUCCESS");
    let (status, seen) = run.finish();
    assert!(status.success(), "exit {status}");
    let raw = String::from_utf8_lossy(&seen);
    let text = strip_ansi(&raw);
    // The spinner redraws on the same terminal, so look at words rather than whole lines.
    let order: Vec<&str> = text
        .split_whitespace()
        .filter(|w| ["tick-1", "tick-2", "tick-3", "tick-last"].contains(w))
        .collect();
    assert_eq!(order, ["tick-1", "tick-2", "tick-3", "tick-last"], "{text}");
    assert!(text.contains("err-line"));
    assert!(has_ansi(&seen), "a terminal gets colours");
    // The stderr-stream line is coloured (yellow) on a terminal.
    assert!(raw.contains("\x1b[33merr-line"), "{raw:?}");
}

#[test]
fn follow_of_a_failing_job_exits_1_on_a_terminal() {
    let env = Env::new();
    let _worker = env.start_worker("pty-fail");
    let id = env.submit_sh("echo before-failure; exit 4");
    let out = on_pty(&env, &format!("{} jobs logs {id} --follow", grape_bin()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = strip_ansi(&String::from_utf8_lossy(&out.stdout));
    assert!(
        text.contains("before-failure") && text.contains("FAILED"),
        "{text}"
    );
}

#[test]
fn no_color_on_a_terminal() {
    let env = Env::new();
    env.submit_sh("true");
    let cmd = format!(
        "{g} jobs list && {g} status && {g} jobs show nope; true",
        g = grape_bin()
    );
    let coloured = on_pty(&env, &cmd).output().unwrap();
    assert!(
        has_ansi(&coloured.stdout),
        "a terminal without NO_COLOR gets colours"
    );
    let plain = on_pty(&env, &cmd).env("NO_COLOR", "1").output().unwrap();
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(text.contains("QUEUED") && text.contains("error:"), "{text}");
    assert!(
        !has_ansi(&plain.stdout),
        "NO_COLOR=1 still coloured: {text:?}"
    );
    let flag = on_pty(&env, &cmd.replace(" jobs list", " --no-color jobs list"))
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&flag.stdout);
    let first_cmd = first.split("Grape:").next().unwrap_or_default();
    assert!(
        !has_ansi(first_cmd.as_bytes()),
        "--no-color still coloured: {first_cmd:?}"
    );
}

#[test]
fn login_asks_for_the_token_on_the_terminal_without_echo() {
    let env = Env::new();
    let mut cmd = on_pty(
        &env,
        &format!("{} login --url {}", grape_bin(), env.trellis.url),
    );
    cmd.env_remove("GRAPE_TOKEN")
        .env_remove("TRELLIS_URL")
        .stdin(Stdio::piped());
    let mut run = PtyRun::spawn(cmd);
    run.wait_for("Trellis API token:");
    // The prompt is printed just before echo is switched off: give the switch a moment, so that
    // an echo seen below is grape's fault and not this test's haste.
    std::thread::sleep(Duration::from_millis(500));
    {
        use std::io::Write;
        let stdin = run.child.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{API_TOKEN}\r").as_bytes())
            .unwrap();
        stdin.flush().unwrap();
    }
    let (status, seen) = run.finish();
    let text = strip_ansi(&String::from_utf8_lossy(&seen));
    assert!(status.success(), "login failed: {text}");
    assert!(text.contains("Logged in to"), "{text}");
    assert!(!text.contains(API_TOKEN), "the token was echoed: {text}");
    let file = env.config_file();
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode, 0o600);
    // The saved token works without any environment.
    let out = env.grape().args(["status", "-o", "json"]).output().unwrap();
    assert!(out.status.success());
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["authenticated"], true);
    assert_eq!(st["token_source"], "config_file");
}

#[test]
fn a_spinner_shows_while_a_job_waits_for_a_worker() {
    let env = Env::new();
    let id = env.submit_sh("echo finally-ran");
    let mut run = PtyRun::spawn(on_pty(
        &env,
        &format!("{} jobs logs {id} --follow", grape_bin()),
    ));
    // No worker yet: the job stays QUEUED and the spinner names it with the time waited.
    run.wait_for(&format!("job {id} ("));
    assert_eq!(env.json(&["jobs", "show", &id])["status"], "QUEUED");
    let _worker = env.start_worker("late-worker");
    run.wait_for("SUCCESS");
    let (status, seen) = run.finish();
    assert!(status.success(), "exit {status}");
    let text = strip_ansi(&String::from_utf8_lossy(&seen));
    assert!(text.contains("finally-ran"), "{text}");
}

#[test]
fn vine_init_asks_on_a_terminal_and_offers_the_known_identities() {
    let env = Env::new();
    let identity =
        env.add_aws_identity("sandbox", "arn:aws:iam::123456789012:role/vintner-pty", &[]);
    let id = identity["id"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vine.yaml");
    let mut cmd = on_pty(
        &env,
        &format!("{} vine init --out {}", grape_bin(), file.display()),
    );
    cmd.stdin(Stdio::piped());
    let mut run = PtyRun::spawn(cmd);
    let answer = |run: &mut PtyRun, prompt: &str, text: &str| {
        use std::io::Write;
        run.wait_for(prompt);
        let stdin = run.child.stdin.as_mut().unwrap();
        stdin.write_all(format!("{text}\r").as_bytes()).unwrap();
        stdin.flush().unwrap();
    };
    answer(&mut run, "Project name", "shop");
    answer(&mut run, "Environment stage [dev]", "");
    answer(&mut run, "Cloud provider (aws, gcp, azure) [aws]", "");
    answer(&mut run, "Region [eu-west-1]", "eu-central-1");
    run.wait_for(&format!("1) sandbox  {id}"));
    answer(&mut run, "Cloud identity (number or id) [1]", "1");
    answer(&mut run, "Existing network id", "");
    let (status, seen) = run.finish();
    let text = strip_ansi(&String::from_utf8_lossy(&seen));
    assert!(status.success(), "vine init failed: {text}");
    assert!(text.contains("Next: grape vine plan"), "{text}");
    let written = std::fs::read_to_string(&file).unwrap();
    for line in [
        "project_name: \"shop\"",
        "environment_stage: \"dev\"",
        "region: \"eu-central-1\"",
        &format!("cloud_identity_id: \"{id}\""),
        "cidr_block: 10.0.0.0/16",
    ] {
        assert!(written.contains(line), "{line} not in:\n{written}");
    }
}
