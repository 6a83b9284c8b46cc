//! Git sources of jobs (wired to grape-git once it lands).

use std::path::{Path, PathBuf};

use crate::handlers::terraform::GitSourceSpec;
use crate::{JobContext, JobError};

/// Checks `spec` out into `dest` and returns the configuration directory inside it.
#[allow(clippy::unused_async)]
pub(crate) async fn checkout(
    _ctx: &JobContext,
    _spec: &GitSourceSpec,
    _dest: &Path,
) -> Result<PathBuf, JobError> {
    Err(JobError::Failed(
        "git sources are not supported by this worker yet".into(),
    ))
}
