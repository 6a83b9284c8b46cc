//! The errors of this crate, carrying Terraform's own diagnostics.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use grape_process::{ExitReport, ProcessError};

use crate::Diagnostic;
use crate::backend::BackendError;
use crate::version::{ParseVersionError, Version};

/// The lock holder, as Terraform reports it in "Error acquiring the state lock".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockInfo {
    /// Lock ID: the argument of `terraform force-unlock`.
    pub id: String,
    /// State path (`bucket/key` for S3).
    pub path: String,
    /// Operation holding it, e.g. `OperationTypeApply`.
    pub operation: String,
    /// Who holds it (`user@host`).
    pub who: String,
    /// Terraform version of the holder.
    pub version: String,
    /// When it was taken.
    pub created: String,
    /// Free-form info.
    pub info: String,
}

/// Summary of the diagnostic Terraform gives when the state lock is held by someone else.
pub const LOCK_SUMMARY: &str = "Error acquiring the state lock";

impl LockInfo {
    /// Reads the `Lock Info:` block of a diagnostic detail; `None` when there is none or it
    /// has no ID.
    pub fn parse(detail: &str) -> Option<Self> {
        let (_, block) = detail.split_once("Lock Info:")?;
        let mut info = Self::default();
        for line in block.lines().skip(1) {
            let line = line.trim();
            if line.is_empty() {
                break;
            }
            let Some((k, v)) = line.split_once(':') else {
                break;
            };
            let v = v.trim().to_owned();
            match k.trim() {
                "ID" => info.id = v,
                "Path" => info.path = v,
                "Operation" => info.operation = v,
                "Who" => info.who = v,
                "Version" => info.version = v,
                "Created" => info.created = v,
                "Info" => info.info = v,
                _ => {}
            }
        }
        (!info.id.is_empty()).then_some(info)
    }

    /// Finds the lock error among diagnostics.
    pub fn from_diagnostics(diagnostics: &[Diagnostic]) -> Option<Self> {
        diagnostics
            .iter()
            .filter(|d| d.is_error() && d.summary.contains(LOCK_SUMMARY))
            .find_map(|d| Self::parse(&d.detail))
    }
}

/// Everything that can go wrong running Terraform.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TerraformError {
    /// The Terraform binary is not there (explicit path missing, or nothing on `PATH`).
    #[error("terraform binary not found: {looked_for}")]
    NotFound {
        /// What was searched: the configured path, or the directories of `PATH`.
        looked_for: String,
    },
    /// The binary's version is below the configured minimum.
    #[error("terraform {found} at {} is too old: version {minimum} or newer is required", binary.display())]
    VersionTooOld {
        /// The version found.
        found: Version,
        /// The minimum configured.
        minimum: Version,
        /// The binary.
        binary: PathBuf,
    },
    /// `terraform version -json` reported a version this crate cannot read.
    #[error("terraform reported an unreadable version")]
    BadVersion(#[source] ParseVersionError),
    /// The process could not be started or watched.
    #[error("terraform {command}: could not run the process")]
    Process {
        /// The subcommand, e.g. `plan`.
        command: String,
        /// What grape-process reported.
        #[source]
        source: ProcessError,
    },
    /// The captured stdout (e.g. `terraform show -json` of a big plan) passed grape-process's
    /// bound ([`grape_process::DEFAULT_MAX_OUTPUT_BYTES`], 256 MiB); Terraform was killed.
    #[error(
        "terraform {command} wrote more than {limit} bytes ({} MiB) of output, the limit of what is captured",
        limit / (1024 * 1024)
    )]
    OutputTooLarge {
        /// The subcommand, e.g. `show`.
        command: String,
        /// The bound, in bytes.
        limit: usize,
    },
    /// Terraform ran and failed; its error diagnostics say why.
    #[error("terraform {command} failed: {}", describe_failure(diagnostics, exit))]
    Failed {
        /// The subcommand, e.g. `plan`.
        command: String,
        /// Terraform's diagnostics (errors and warnings).
        diagnostics: Vec<Diagnostic>,
        /// How the process ended.
        exit: ExitReport,
    },
    /// The state is locked by another run (or a lock was left behind by a crashed one).
    #[error(
        "terraform {command}: the state is locked (lock ID {id}, held by {who}, operation {operation}, since {created}, state {path}); \
         if no Terraform run holds it any more, clear it with `terraform force-unlock -force {id}` in the working directory",
        id = lock.id, who = lock.who, operation = lock.operation, created = lock.created, path = lock.path
    )]
    StateLocked {
        /// The subcommand, e.g. `apply`.
        command: String,
        /// Who holds the lock.
        lock: Box<LockInfo>,
        /// All diagnostics of the run.
        diagnostics: Vec<Diagnostic>,
        /// How the process ended.
        exit: ExitReport,
    },
    /// The run was cancelled; Terraform was interrupted (and killed if it outlived the grace).
    #[error("terraform {command} was cancelled ({})", exit.describe())]
    Cancelled {
        /// The subcommand.
        command: String,
        /// How the process ended.
        exit: ExitReport,
    },
    /// The run exceeded its timeout and was stopped.
    #[error("terraform {command} timed out ({})", exit.describe())]
    TimedOut {
        /// The subcommand.
        command: String,
        /// How the process ended.
        exit: ExitReport,
    },
    /// Terraform's JSON output (`show`, `output`, `validate`, `version`) could not be read.
    #[error("terraform {command}: unreadable JSON output")]
    Json {
        /// The subcommand.
        command: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A file in the working directory could not be read or written.
    #[error("{action} {}", path.display())]
    Io {
        /// What was done, e.g. `writing variables file`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The state backend settings are wrong.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

fn describe_failure(diagnostics: &[Diagnostic], exit: &ExitReport) -> String {
    let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
    if errors.is_empty() {
        let mut s = exit.describe();
        let tail: Vec<&str> = exit
            .stderr_tail
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        if !tail.is_empty() {
            let _ = write!(s, ": {}", tail.join(" | "));
        }
        return s;
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl TerraformError {
    /// Terraform's diagnostics, when the error has any.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Self::Failed { diagnostics, .. } | Self::StateLocked { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }

    /// The exit report, when Terraform ran.
    pub fn exit(&self) -> Option<&ExitReport> {
        match self {
            Self::Failed { exit, .. }
            | Self::StateLocked { exit, .. }
            | Self::Cancelled { exit, .. }
            | Self::TimedOut { exit, .. } => Some(exit),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DETAIL: &str = "Error message: operation error S3: PutObject, https response error StatusCode: 412\nLock Info:\n  ID:        e30e754e-955f-8e6e-5f3d-f3dbbcaf5265\n  Path:      terraform-state/vines/a/terraform.tfstate\n  Operation: OperationTypeApply\n  Who:       root@vm\n  Version:   1.15.5\n  Created:   2026-11-26 09:52:21.119842548 +0000 UTC\n  Info:      \n\n\nTerraform acquires a state lock to protect the state";

    #[test]
    fn lock_info_is_parsed() {
        let d = Diagnostic::error(LOCK_SUMMARY, DETAIL);
        let info = LockInfo::from_diagnostics(&[d]).unwrap();
        assert_eq!(info.id, "e30e754e-955f-8e6e-5f3d-f3dbbcaf5265");
        assert_eq!(info.path, "terraform-state/vines/a/terraform.tfstate");
        assert_eq!(info.operation, "OperationTypeApply");
        assert_eq!(info.who, "root@vm");
        assert_eq!(info.created, "2026-11-26 09:52:21.119842548 +0000 UTC");
        assert!(LockInfo::parse("no lock here").is_none());
    }
}
