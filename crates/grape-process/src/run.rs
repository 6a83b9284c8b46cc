//! Spawning and supervising the child: process group, pipes, interrupt -> grace -> kill.

use std::io;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, ChildStdin};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::lines::LineAssembler;
use crate::report::STDERR_TAIL_LINES;
use crate::{
    Command, ExitReport, LineSink, Output, OutputStream, ProcessError, is_secret_env_name,
};

/// Why the child was interrupted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    Cancelled,
    TimedOut,
    /// The captured stdout grew past its bound.
    OutputLimit,
}

/// Kills the whole process group when dropped: at the end of every run (stragglers that outlive
/// the main child) and when a run future is dropped midway.
struct GroupKiller(Pid);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        // ESRCH (the group is already gone) is the normal case.
        let _ = killpg(self.0, Signal::SIGKILL);
    }
}

impl Command {
    /// Runs the command; every line of stdout and stderr goes (redacted, as it comes) to `sink`.
    /// Cancelling `cancel` sends SIGINT to the process group, then SIGKILL after the grace.
    pub async fn run(
        self,
        sink: &dyn LineSink,
        cancel: &CancellationToken,
    ) -> Result<ExitReport, ProcessError> {
        let (report, _) = self.execute(sink, cancel, false).await?;
        Ok(report)
    }

    /// Runs the command and captures its whole stdout (redacted, lossy UTF-8, never split into
    /// lines or pieces — e.g. `terraform show -json`); stderr is only kept as the report's tail.
    pub async fn output(self, cancel: &CancellationToken) -> Result<Output, ProcessError> {
        let discard = |_: OutputStream, _: &str| {};
        self.output_with_stderr_sink(&discard, cancel).await
    }

    /// As [`Command::output`], and every stderr line also goes to `sink` as it comes.
    pub async fn output_with_stderr_sink(
        self,
        sink: &dyn LineSink,
        cancel: &CancellationToken,
    ) -> Result<Output, ProcessError> {
        let redactor = self.redactor.clone();
        let (report, stdout) = self.execute(sink, cancel, true).await?;
        let stdout = String::from_utf8_lossy(&stdout);
        let stdout = redactor.redact(&stdout).into_owned();
        Ok(Output { stdout, report })
    }

    async fn execute(
        self,
        sink: &dyn LineSink,
        cancel: &CancellationToken,
        capture_stdout: bool,
    ) -> Result<(ExitReport, Vec<u8>), ProcessError> {
        let program = self.program_name();
        for (k, v) in &self.env {
            if k.to_str().is_some_and(is_secret_env_name) {
                self.redactor.add(&v.to_string_lossy());
            }
        }
        let cwd_ok = std::fs::metadata(&self.cwd).and_then(|m| {
            if m.is_dir() {
                Ok(())
            } else {
                Err(io::Error::from(io::ErrorKind::NotADirectory))
            }
        });
        if let Err(source) = cwd_ok {
            return Err(ProcessError::Cwd {
                program,
                cwd: self.cwd.clone(),
                source,
            });
        }
        let Some(resolved) = self.resolve_program() else {
            return Err(ProcessError::NotFound { program });
        };
        tracing::debug!(command = %self.display(), cwd = %self.cwd.display(), "spawning");

        let started = Instant::now();
        let mut child = spawn(&self, &resolved).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                ProcessError::NotFound {
                    program: program.clone(),
                }
            } else {
                ProcessError::Spawn {
                    program: program.clone(),
                    source,
                }
            }
        })?;
        let io_err = |source| ProcessError::Io {
            program: program.clone(),
            source,
        };
        let pid = child
            .id()
            .ok_or_else(|| io_err(io::Error::other("child exited before its pid was read")))?;
        let group = GroupKiller(Pid::from_raw(pid as i32));

        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let stdin = child.stdin.take();

        let mut out_lines =
            LineAssembler::new(OutputStream::Stdout, sink, self.redactor.clone(), 0);
        let mut err_lines = LineAssembler::new(
            OutputStream::Stderr,
            sink,
            self.redactor.clone(),
            STDERR_TAIL_LINES,
        );
        let mut captured = Vec::new();
        let (exited_tx, exited_rx) = watch::channel(false);
        // Fired when the captured stdout passes its bound: the group is stopped.
        let too_large = CancellationToken::new();

        let supervise = async {
            let stops = Stops {
                cancel,
                too_large: &too_large,
                timeout: self.timeout,
            };
            let r = supervise(&mut child, group.0, stops, self.grace).await;
            let _ = exited_tx.send(true);
            r
        };
        let read = async {
            let out = async {
                match stdout {
                    Some(r) if capture_stdout => {
                        let r = capture(r, &mut captured, self.max_output).await;
                        if r.as_ref()
                            .is_err_and(|e| e.kind() == io::ErrorKind::FileTooLarge)
                        {
                            too_large.cancel();
                        }
                        r
                    }
                    Some(r) => pump(r, &mut out_lines).await,
                    None => Ok(()),
                }
            };
            let err = async {
                match stderr {
                    Some(r) => pump(r, &mut err_lines).await,
                    None => Ok(()),
                }
            };
            tokio::select! {
                (a, b) = async { tokio::join!(out, err) } => a.and(b),
                () = after_exit(exited_rx.clone(), self.pipe_drain) => {
                    tracing::debug!(command = %self.display(), "pipes still open after the child exited; killing its group");
                    Ok(())
                }
            }
        };
        let write = async {
            tokio::select! {
                r = feed_stdin(stdin, self.stdin.as_deref()) => r,
                () = after_exit(exited_rx.clone(), self.pipe_drain) => Ok(()),
            }
        };
        let (status, read, write) = tokio::join!(supervise, read, write);
        drop(group);
        out_lines.finish();
        err_lines.finish();
        let (status, stop) = status.map_err(io_err)?;
        if stop == Some(Stop::OutputLimit) || too_large.is_cancelled() {
            return Err(ProcessError::OutputTooLarge {
                program,
                limit: self.max_output,
            });
        }
        read.map_err(io_err)?;
        write.map_err(io_err)?;

        let report = ExitReport {
            code: status.code(),
            signal: status.signal(),
            cancelled: stop == Some(Stop::Cancelled),
            timed_out: stop == Some(Stop::TimedOut),
            duration: started.elapsed(),
            stderr_tail: err_lines.take_tail(),
        };
        tracing::debug!(command = %self.display(), outcome = %report.describe(), "child ended");
        Ok((report, captured))
    }
}

#[allow(clippy::disallowed_methods)] // reason: grape-process is the one place that spawns processes
fn spawn(cmd: &Command, resolved: &std::path::Path) -> io::Result<Child> {
    let mut c = tokio::process::Command::new(resolved);
    c.arg0(&cmd.program)
        .args(&cmd.args)
        .current_dir(&cmd.cwd)
        .env_clear()
        .envs(&cmd.env)
        .stdin(if cmd.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    die_with_parent(&mut c);
    c.spawn()
}

/// Makes the child receive SIGKILL when the thread that spawned it ends (PR_SET_PDEATHSIG), so
/// children die with the worker even on `kill -9`. Note: the signal follows the spawning
/// *thread*; tokio runtime worker threads live as long as the runtime, so spawn from async code,
/// not from `spawn_blocking`.
#[allow(unsafe_code)]
fn die_with_parent(c: &mut tokio::process::Command) {
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // functions may be called: prctl(2) and getppid(2) are plain system calls, and the error path
    // builds an `io::Error` from a raw errno without allocating. Nothing is locked or allocated.
    unsafe {
        c.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
            // The parent may have died between fork and prctl: then nobody would kill us.
            if nix::unistd::getppid() != parent {
                return Err(io::Error::from(nix::errno::Errno::ESRCH));
            }
            Ok(())
        });
    }
}

/// What interrupts a child.
struct Stops<'a> {
    cancel: &'a CancellationToken,
    too_large: &'a CancellationToken,
    timeout: Option<Duration>,
}

/// Waits for the child; on cancel, timeout or too much output interrupts the group, then kills
/// it after `grace`.
async fn supervise(
    child: &mut Child,
    pgid: Pid,
    stops: Stops<'_>,
    grace: Duration,
) -> io::Result<(ExitStatus, Option<Stop>)> {
    let stop = tokio::select! {
        status = child.wait() => return Ok((status?, None)),
        () = stops.cancel.cancelled() => Stop::Cancelled,
        () = stops.too_large.cancelled() => Stop::OutputLimit,
        () = sleep_opt(stops.timeout) => Stop::TimedOut,
    };
    if stop == Stop::OutputLimit {
        // Nothing more is read: waiting for an interrupted child to exit would gain nothing.
        signal_group(pgid, Signal::SIGKILL)?;
        return Ok((child.wait().await?, Some(stop)));
    }
    signal_group(pgid, Signal::SIGINT)?;
    let status = tokio::select! {
        status = child.wait() => status?,
        () = tokio::time::sleep(grace) => {
            signal_group(pgid, Signal::SIGKILL)?;
            child.wait().await?
        }
    };
    Ok((status, Some(stop)))
}

fn signal_group(pgid: Pid, signal: Signal) -> io::Result<()> {
    match killpg(pgid, signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// Completes `drain` after the main child exited.
async fn after_exit(mut exited: watch::Receiver<bool>, drain: Duration) {
    // An error means the sender is gone, i.e. supervision ended: same as exited.
    let _ = exited.wait_for(|e| *e).await;
    tokio::time::sleep(drain).await;
}

async fn pump(mut r: impl AsyncRead + Unpin, lines: &mut LineAssembler<'_>) -> io::Result<()> {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        lines.push(&buf[..n]);
    }
}

/// Reads all of `r` into `out`; fails (`FileTooLarge`) rather than hold more than `limit` bytes.
async fn capture(mut r: impl AsyncRead + Unpin, out: &mut Vec<u8>, limit: usize) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        if out.len() + n > limit {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "captured stdout over its limit",
            ));
        }
        out.extend_from_slice(&buf[..n]);
    }
}

async fn feed_stdin(stdin: Option<ChildStdin>, bytes: Option<&[u8]>) -> io::Result<()> {
    let (Some(mut stdin), Some(bytes)) = (stdin, bytes) else {
        return Ok(());
    };
    let r = async {
        stdin.write_all(bytes).await?;
        stdin.shutdown().await
    }
    .await;
    match r {
        // The child does not have to read its stdin.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
