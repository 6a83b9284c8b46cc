//! Preparing a Terraform working directory for a job: source, binary, backend, init.

use std::path::{Component, Path, PathBuf};

use grape_terraform::{InitOptions, RunIo, S3Backend, Terraform, WorkingDir};

use super::request::{Source, TerraformRequest};
use super::tf_error;
use crate::{JobContext, JobError};

/// Materialises the request's source in the job workspace, checks Terraform, configures the
/// state backend and runs `terraform init`.
pub(super) async fn prepare(
    ctx: &JobContext,
    request: &TerraformRequest,
) -> Result<WorkingDir, JobError> {
    for secret in request.secret_values() {
        ctx.redactor.add(secret);
    }
    let dir = materialise(ctx, &request.source).await?;
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
        builder = builder.envs(cloud.env());
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
    Ok(wd)
}

/// The S3 state backend for `state_key`, from the runtime's settings.
fn backend(ctx: &JobContext, state_key: &str) -> Result<S3Backend, JobError> {
    let Some(settings) = &ctx.settings.state_backend else {
        return Err(JobError::Failed(
            "no Terraform state backend is configured: set SUPABASE_S3_ENDPOINT, SUPABASE_S3_REGION, \
             SUPABASE_STORAGE_KEY_ID and SUPABASE_STORAGE_SECRET_KEY on the worker"
                .into(),
        ));
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

/// Writes or checks out the source under `workspace/src` and returns the configuration directory.
async fn materialise(ctx: &JobContext, source: &Source) -> Result<PathBuf, JobError> {
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
            Ok(root)
        }
        Source::Git(spec) => super::super::git::checkout(ctx, spec, &root).await,
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
