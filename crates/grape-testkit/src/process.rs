//! The one place this crate creates child processes.

use std::ffi::OsStr;
use std::process::{Command, Output};

use crate::TestkitError;

/// A new command. grape-testkit is a dev-dependency only: it starts test peers (moto, git), not
/// product work, so it may use `std::process` directly; product code goes through grape-process.
#[allow(clippy::disallowed_methods)]
pub(crate) fn command(program: impl AsRef<OsStr>) -> Command {
    Command::new(program)
}

/// A printable command line, for error messages (test peers get no secrets in arguments).
pub(crate) fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Runs to completion; an error carries the exit status and stderr.
pub(crate) fn run(cmd: &mut Command) -> Result<Output, TestkitError> {
    let command = describe(cmd);
    let output = cmd.output().map_err(|source| TestkitError::Spawn {
        command: command.clone(),
        source,
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(TestkitError::CommandFailed {
            command,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}
