//! Preparing a Terraform working directory for a job: source, binary, backend, init.

use std::path::{Component, Path, PathBuf};

use grape_terraform::{InitOptions, RunIo, S3Backend, Terraform, WorkingDir};

use super::request::{Source, TerraformRequest};
use super::tf_error;
use crate::{JobContext, JobError};

/// A working directory ready for plan or apply.
pub(super) struct Prepared {
    /// The initialised directory.
    pub wd: WorkingDir,
    /// The commit checked out, for a git source.
    pub commit: Option<String>,
}

/// The dependency lock file `terraform init` writes and reads.
pub(super) const LOCK_FILE: &str = ".terraform.lock.hcl";

/// Materialises the request's source in the job workspace (with `lock_file` as its dependency
/// lock file, when given), checks Terraform, configures the state backend and runs
/// `terraform init`.
pub(super) async fn prepare(
    ctx: &JobContext,
    request: &TerraformRequest,
    lock_file: Option<&str>,
) -> Result<Prepared, JobError> {
    for secret in request.secret_values() {
        ctx.redactor.add(secret);
    }
    let secret_vars = secret_variables(ctx, request)?;
    let (dir, commit) = materialise(ctx, &request.source).await?;
    if let Some(lock) = lock_file {
        let path = dir.join(LOCK_FILE);
        tokio::fs::write(&path, lock)
            .await
            .map_err(|e| JobError::tool(format!("writing {}", path.display()), e))?;
        ctx.log
            .system("restored the dependency lock file the plan was made with");
    }
    let backend = backend(ctx, &request.state_key)?;

    let mut builder = Terraform::builder()
        .grace(ctx.settings.interrupt_grace)
        .redactor(ctx.redactor.clone())
        .env("HOME", ctx.workspace.to_string_lossy())
        .envs(ctx.settings.env.iter().cloned());
    if let Some(bin) = &ctx.settings.terraform_bin {
        builder = builder.binary(bin);
    }
    if let Some(cloud) = &ctx.cloud {
        builder = builder.envs(cloud.tool_env(&ctx.workspace));
    }
    if !secret_vars.is_empty() {
        let names: Vec<&str> = ctx.secrets.keys().map(String::as_str).collect();
        ctx.log.system(format!(
            "secrets as Terraform variables (TF_VAR_*): {}",
            names.join(", ")
        ));
        builder = builder.envs(secret_vars);
    }
    let tf = builder.build(&ctx.cancel).await.map_err(tf_error)?;
    if let Some(v) = tf.checked_version() {
        ctx.log
            .system(format!("terraform {v} in {}", dir.display()));
    }
    let wd = tf.working_dir(dir).with_backend(backend);
    ctx.log.system(format!(
        "$ terraform init (state key {})",
        request.state_key
    ));
    wd.init(&InitOptions::default(), RunIo::new(&ctx.log, &ctx.cancel))
        .await
        .map_err(tf_error)?;
    Ok(Prepared { wd, commit })
}

/// The job's secrets as Terraform variables: `TF_VAR_<name>` in the environment of every
/// Terraform run — never an argument or a file (Terraform reads the declared ones and ignores the
/// others). A name the payload's `variables` give a value too is refused: a var file would win
/// over the environment, silently.
fn secret_variables(
    ctx: &JobContext,
    request: &TerraformRequest,
) -> Result<Vec<(String, String)>, JobError> {
    if let Some(name) = ctx
        .secrets
        .keys()
        .find(|n| request.variables.contains_key(*n))
    {
        return Err(invalid(
            ctx,
            &format!(
                "variable `{name}` has a value both in `variables` and in the job's secrets: give \
                 a secret only as a secret"
            ),
        ));
    }
    Ok(ctx
        .secrets
        .iter()
        .map(|(name, value)| (format!("TF_VAR_{name}"), value.expose().to_owned()))
        .collect())
}

/// The dependency lock file of an initialised directory, when it has one.
pub(super) async fn read_lock_file(wd: &WorkingDir) -> Result<Option<String>, JobError> {
    let path = wd.path().join(LOCK_FILE);
    match tokio::fs::read_to_string(&path).await {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(JobError::tool(format!("reading {}", path.display()), e)),
    }
}

/// The S3 state backend for `state_key`, from the runtime's settings.
fn backend(ctx: &JobContext, state_key: &str) -> Result<S3Backend, JobError> {
    let Some(settings) = &ctx.settings.state_backend else {
        return Err(no_state_backend());
    };
    let invalid =
        |e: grape_terraform::BackendError| JobError::Failed(format!("state backend: {e}"));
    let mut backend = S3Backend::new(
        state_key,
        settings.access_key_id.clone(),
        settings.secret_access_key.clone(),
    )
    .map_err(invalid)?;
    backend.bucket.clone_from(&settings.bucket);
    backend.region.clone_from(&settings.region);
    if let Some(endpoint) = &settings.endpoint {
        backend = backend.with_endpoint(endpoint).map_err(invalid)?;
    }
    Ok(backend)
}

/// The failure of a Terraform job on a host without a state backend.
pub(super) fn no_state_backend() -> JobError {
    JobError::Failed(
        "no Terraform state backend is configured: set SUPABASE_S3_ENDPOINT, SUPABASE_S3_REGION, \
         SUPABASE_STORAGE_KEY_ID and SUPABASE_STORAGE_SECRET_KEY on the worker"
            .into(),
    )
}

/// Writes or checks out the source under `workspace/src`; returns the configuration directory
/// and, for a git source, the commit.
async fn materialise(
    ctx: &JobContext,
    source: &Source,
) -> Result<(PathBuf, Option<String>), JobError> {
    let root = ctx.workspace.join("src");
    match source {
        Source::Files(files) => {
            if files.is_empty() {
                return Err(invalid(ctx, "`source.files` is empty"));
            }
            for (name, content) in files {
                let rel = safe_relative(name).ok_or_else(|| {
                    invalid(
                        ctx,
                        &format!(
                            "file name `{name}` must be a relative path inside the configuration"
                        ),
                    )
                })?;
                let path = root.join(rel);
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent)
                        .await
                        .map_err(|e| JobError::tool(format!("creating {}", parent.display()), e))?;
                }
                tokio::fs::write(&path, content)
                    .await
                    .map_err(|e| JobError::tool(format!("writing {}", path.display()), e))?;
            }
            ctx.log
                .system(format!("wrote {} configuration file(s)", files.len()));
            Ok((root, None))
        }
        Source::Git(spec) => {
            let out = super::super::git::checkout(ctx, spec, &root).await?;
            Ok((out.dir, Some(out.commit)))
        }
    }
}

/// `name` as a path that stays inside the directory it is joined to.
fn safe_relative(name: &str) -> Option<&Path> {
    let path = Path::new(name);
    let ok = !name.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    ok.then_some(path)
}

fn invalid(ctx: &JobContext, reason: &str) -> JobError {
    JobError::InvalidPayload {
        job_type: ctx.job.job_type.to_string(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_relative;

    #[test]
    fn file_names_stay_inside_the_configuration() {
        assert!(safe_relative("main.tf").is_some());
        assert!(safe_relative("modules/net/main.tf").is_some());
        for bad in ["", "/etc/passwd", "../x.tf", "a/../../x.tf", "./main.tf"] {
            assert!(safe_relative(bad).is_none(), "{bad} accepted");
        }
    }
}
