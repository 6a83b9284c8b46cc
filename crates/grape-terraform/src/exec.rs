//! Running Terraform for a [`WorkingDir`]: streamed and captured runs, judging the exit,
//! private variable files.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use grape_process::{ExitReport, Output, ProcessError};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::Diagnostic;
use crate::backend::S3Backend;
use crate::diagnostic::parse_text_diagnostics;
use crate::error::{LockInfo, TerraformError};
use crate::stream::{Collected, RunIo, UiSink};
use crate::terraform::discard_lines;
use crate::ui::UiEvent;
use crate::workdir::WorkingDir;

/// The result of one streamed run, before it is judged.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// How the process ended.
    pub exit: ExitReport,
    /// Every parsed UI event, in order (empty for text runs).
    pub events: Vec<UiEvent>,
    /// Diagnostics: from UI events, plus those parsed from text output.
    pub diagnostics: Vec<Diagnostic>,
}

/// Builds the error for a failed run: cancelled, timed out, state locked, or failed.
pub(crate) fn failure(
    command: &str,
    diagnostics: Vec<Diagnostic>,
    exit: ExitReport,
) -> TerraformError {
    let command = command.to_owned();
    if exit.cancelled {
        return TerraformError::Cancelled { command, exit };
    }
    if exit.timed_out {
        return TerraformError::TimedOut { command, exit };
    }
    if let Some(lock) = LockInfo::from_diagnostics(&diagnostics) {
        return TerraformError::StateLocked {
            command,
            lock: Box::new(lock),
            diagnostics,
            exit,
        };
    }
    TerraformError::Failed {
        command,
        diagnostics,
        exit,
    }
}

/// A private var file that is removed when dropped.
pub(crate) struct VarFile(Option<PathBuf>);

impl Drop for VarFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

static VAR_FILE_SEQ: AtomicU64 = AtomicU64::new(0);

pub(crate) fn lock_timeout_arg(t: Option<Duration>) -> Option<String> {
    t.map(|d| format!("-lock-timeout={}s", d.as_secs()))
}

impl WorkingDir {
    fn command(&self) -> grape_process::Command {
        let env = self
            .backend
            .as_ref()
            .map(S3Backend::env)
            .unwrap_or_default();
        self.tf.command(&self.dir, &env)
    }

    /// Runs `terraform ARGS` streaming its output: with `json`, each `-json` UI line is parsed,
    /// sent to the event sink and rendered to the line sink; other lines pass through as text.
    /// Does not judge the exit status: see [`RunResult`].
    pub async fn run_streamed(
        &self,
        args: &[String],
        json: bool,
        io: RunIo<'_>,
    ) -> Result<RunResult, TerraformError> {
        let command = args.first().cloned().unwrap_or_default();
        let sink = UiSink::new(io, json);
        let exit = self
            .command()
            .args(args)
            .run(&sink, io.cancel)
            .await
            .map_err(|source| TerraformError::Process { command, source })?;
        let Collected { events, text } = sink.into_collected();
        let mut diagnostics: Vec<Diagnostic> = events
            .iter()
            .filter_map(|e| match e {
                UiEvent::Diagnostic(d) => Some(d.clone()),
                _ => None,
            })
            .collect();
        diagnostics.extend(parse_text_diagnostics(&text));
        Ok(RunResult {
            exit,
            events,
            diagnostics,
        })
    }

    /// Runs `terraform ARGS` capturing stdout (stderr kept for diagnostics); fails unless the
    /// exit code is 0 (or in `ok_codes`).
    pub(crate) async fn run_captured(
        &self,
        args: &[&str],
        ok_codes: &[i32],
        cancel: &CancellationToken,
    ) -> Result<Output, TerraformError> {
        let command = args.first().copied().unwrap_or_default().to_owned();
        let discard = discard_lines();
        let sink = UiSink::new(RunIo::new(&discard, cancel), false);
        let out = self
            .command()
            .args(args)
            .output_with_stderr_sink(&sink, cancel)
            .await
            .map_err(|source| match source {
                ProcessError::OutputTooLarge { limit, .. } => TerraformError::OutputTooLarge {
                    command: command.clone(),
                    limit,
                },
                source => TerraformError::Process {
                    command: command.clone(),
                    source,
                },
            })?;
        let r = &out.report;
        let ok =
            !r.cancelled && !r.timed_out && r.code.is_some_and(|c| c == 0 || ok_codes.contains(&c));
        if !ok {
            let text = sink.into_collected().text;
            return Err(failure(&command, parse_text_diagnostics(&text), out.report));
        }
        Ok(out)
    }

    pub(crate) fn write_var_file(
        &self,
        variables: &BTreeMap<String, Value>,
    ) -> Result<VarFile, TerraformError> {
        if variables.is_empty() {
            return Ok(VarFile(None));
        }
        let seq = VAR_FILE_SEQ.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!(
            "_grape_vars_{}_{seq}.tfvars.json",
            std::process::id()
        ));
        let body = serde_json::to_vec(variables).map_err(|source| TerraformError::Json {
            command: "plan".into(),
            source,
        })?;
        let io_err = |source| TerraformError::Io {
            action: "writing variables file",
            path: path.clone(),
            source,
        };
        {
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(io_err)?;
            f.write_all(&body).map_err(io_err)?;
        }
        Ok(VarFile(Some(path)))
    }

    pub(crate) fn var_args(var_file: &VarFile, extra: &[PathBuf], args: &mut Vec<String>) {
        for f in extra {
            args.push(format!("-var-file={}", f.display()));
        }
        if let Some(p) = &var_file.0 {
            args.push(format!("-var-file={}", p.display()));
        }
    }
}
