//! # grape-terraform — the Terraform CLI wrapper
//!
//! A [`Terraform`] handle knows the binary (explicit path or `PATH`), checks its version
//! (`terraform version -json`, minimum 1.5.0 by default) and holds what every run shares: a
//! clean environment (`TF_IN_AUTOMATION=1`, `TF_INPUT=0`, `CHECKPOINT_DISABLE=1`, the
//! caller-given variables — credentials go there and nowhere else — and only `PATH`, `HOME`,
//! `TMPDIR`, `LANG`, `TF_CLI_CONFIG_FILE`, `TF_PLUGIN_CACHE_DIR` inherited), the interrupt grace
//! and the [`Redactor`](grape_process::Redactor).
//!
//! A [`WorkingDir`] runs the commands of one configuration directory: [`WorkingDir::init`],
//! [`WorkingDir::validate`], [`WorkingDir::plan`] (to a plan file, variables through a private
//! var file), [`WorkingDir::show_plan`] (typed [`PlanJson`] and the raw JSON),
//! [`WorkingDir::apply_plan`], [`WorkingDir::destroy`], [`WorkingDir::output`],
//! [`WorkingDir::state_list`], [`WorkingDir::force_unlock`]. Every command runs with
//! `-no-color`; plan/apply/destroy with `-json`, whose lines become typed [`UiEvent`]s delivered
//! to a [`UiEventSink`] and rendered as familiar log lines to a
//! [`LineSink`](grape_process::LineSink) (see [`RunIo`]).
//!
//! ## Cancellation
//! Cancelling the [`RunIo`]'s token makes grape-process send SIGINT to Terraform, which stops
//! safely and releases the state lock; it is killed only after the grace period. The command
//! then fails with [`TerraformError::Cancelled`].
//!
//! ## State
//! [`S3Backend`] (built from the worker's `SUPABASE_*` settings with
//! [`S3Backend::from_env_map`]) is given to [`WorkingDir::with_backend`]: `init` writes a
//! `backend "s3" {}` block when the configuration has none and passes the non-secret settings
//! as `-backend-config`; the access keys reach Terraform only through its environment.
//!
//! ## Errors
//! [`TerraformError`] carries Terraform's diagnostics; a held lock becomes
//! [`TerraformError::StateLocked`] with the `force-unlock` command that clears it.

#![warn(missing_docs)]

mod backend;
mod diagnostic;
mod error;
mod exec;
mod options;
mod plan;
mod render;
mod sensitive;
mod stream;
mod terraform;
mod ui;
mod version;
mod workdir;

pub use backend::{
    AWS_CONFIG_FILE_NAME, BACKEND_FILE, BackendError, DEFAULT_BUCKET, DEFAULT_REGION, S3Backend,
    STATE_KEY_ID_VAR, STATE_PROFILE, STATE_SECRET_KEY_VAR, Secret, validate_state_key,
};
pub use diagnostic::{Diagnostic, Pos, Range, Severity, Snippet, parse_text_diagnostics};
pub use error::{LOCK_SUMMARY, LockInfo, TerraformError};
pub use exec::RunResult;
pub use options::{
    ApplyOutcome, DestroyOptions, InitOptions, OutputValue, PlanOptions, PlanOutcome,
    ValidateResult,
};
pub use plan::{Change, PlanJson, ResourceChange, ShownPlan};
pub use render::render;
pub use sensitive::{MASK, redact_sensitive_plan};
pub use stream::{RunIo, UiEventSink};
pub use terraform::{
    DEFAULT_GRACE, DEFAULT_MIN_VERSION, FIXED_ENV, INHERITED_ENV, Terraform, TerraformBuilder,
    discard_lines,
};
pub use ui::{
    Action, ApplyHook, ChangeSummary, ProvisionHook, RefreshHook, ResourceAddr,
    ResourceChangeEvent, UiEvent, UiOutput,
};
pub use version::{ParseVersionError, Version, VersionInfo};
pub use workdir::WorkingDir;
