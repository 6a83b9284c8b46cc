//! `EXEC`: run one command in the job workspace.
//!
//! Off by default in the worker (`tendril start --enable-exec`): it is meant for tests, demos and
//! self-hosted scripting, and it lets the runtime be tested end to end with real processes.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use grape_process::is_secret_env_name;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{JobContext, JobError, JobHandler};

/// The payload of an `EXEC` job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecPayload {
    /// Program and arguments; the program is looked up on the child's `PATH`.
    pub argv: Vec<String>,
    /// Extra environment variables. Values of names ending in `_TOKEN`, `_SECRET`,
    /// `_PASSWORD` or `_KEY` are redacted from the log.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Environment variables whose values are always redacted from the log.
    #[serde(default)]
    pub secret_env: BTreeMap<String, String>,
    /// The command is interrupted (then killed) after this many seconds.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// Runs the command of an [`ExecPayload`]; exit code 0 is SUCCESS, anything else FAILED.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExecHandler;

#[async_trait]
impl JobHandler for ExecHandler {
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError> {
        let payload: ExecPayload = JobError::parse_payload(&ctx.job.job_type, &ctx.job.payload)?;
        let Some((program, args)) = payload.argv.split_first() else {
            return Err(JobError::InvalidPayload {
                job_type: ctx.job.job_type.to_string(),
                reason: "`argv` must name a program".into(),
            });
        };
        for value in payload.secret_env.values() {
            ctx.redactor.add(value);
        }
        for (name, value) in &payload.env {
            if is_secret_env_name(name) {
                ctx.redactor.add(value);
            }
        }
        let timeout = payload.timeout_seconds.map(Duration::from_secs);
        let cmd = ctx
            .command(program)
            .args(args)
            .envs(payload.env.iter().chain(&payload.secret_env))
            .timeout(timeout);
        ctx.log.system(format!("$ {}", cmd.display()));
        let report = cmd
            .run(&ctx.log, &ctx.cancel)
            .await
            .map_err(|e| JobError::tool(format!("cannot run `{program}`"), e))?;
        if report.cancelled {
            return Err(JobError::Cancelled);
        }
        if report.timed_out {
            return Err(JobError::Failed(format!(
                "`{program}` timed out after {} s",
                payload.timeout_seconds.unwrap_or_default()
            )));
        }
        if !report.success() {
            let last = report
                .stderr_tail
                .last()
                .map(|l| format!(": {l}"))
                .unwrap_or_default();
            return Err(JobError::Failed(format!(
                "`{program}` {}{last}",
                report.describe()
            )));
        }
        Ok(Some(json!({
            "exit_code": report.code,
            "duration_ms": u64::try_from(report.duration.as_millis()).unwrap_or(u64::MAX),
        })))
    }
}
