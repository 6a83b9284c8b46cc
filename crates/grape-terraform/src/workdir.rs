//! [`WorkingDir`]: the Terraform commands of one configuration directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use grape_process::ExitReport;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::backend::{
    AWS_CONFIG_FILE_NAME, BACKEND_FILE, BackendError, S3Backend, declared_backend,
};
use crate::error::TerraformError;
use crate::exec::{failure, lock_timeout_arg};
use crate::options::{
    ApplyOutcome, DestroyOptions, InitOptions, OutputValue, PlanOptions, PlanOutcome,
    ValidateResult,
};
use crate::plan::{PlanJson, ShownPlan};
use crate::stream::RunIo;
use crate::terraform::Terraform;
use crate::ui::{ChangeSummary, UiEvent};

/// One directory holding a Terraform configuration, with its state backend.
#[derive(Debug, Clone)]
pub struct WorkingDir {
    pub(crate) tf: Terraform,
    pub(crate) dir: PathBuf,
    pub(crate) backend: Option<S3Backend>,
}

impl WorkingDir {
    pub(crate) fn new(tf: Terraform, dir: PathBuf) -> Self {
        Self {
            tf,
            dir,
            backend: None,
        }
    }

    /// Keeps state in this S3 backend: `init` configures it, and every command gets its
    /// credentials through the environment (they are also added to the redactor).
    #[must_use]
    pub fn with_backend(mut self, backend: S3Backend) -> Self {
        self.tf.redactor().add(backend.access_key.expose());
        self.tf.redactor().add(backend.secret_key.expose());
        self.backend = Some(backend);
        self
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The state backend, if any.
    pub fn backend(&self) -> Option<&S3Backend> {
        self.backend.as_ref()
    }

    /// The Terraform handle.
    pub fn terraform(&self) -> &Terraform {
        &self.tf
    }

    /// `terraform init`: writes the `backend "s3" {}` block (file [`BACKEND_FILE`]) when the
    /// configuration declares none and the backend's credential profile (file
    /// [`AWS_CONFIG_FILE_NAME`], no secret in it), and passes the backend's non-secret settings.
    pub async fn init(
        &self,
        opts: &InitOptions,
        io: RunIo<'_>,
    ) -> Result<ExitReport, TerraformError> {
        let mut args: Vec<String> = vec!["init".into(), "-no-color".into(), "-input=false".into()];
        if let Some(backend) = &self.backend {
            let declared = declared_backend(&self.dir).map_err(|source| TerraformError::Io {
                action: "reading configuration in",
                path: self.dir.clone(),
                source,
            })?;
            match declared.as_deref() {
                Some("s3") => {}
                Some(other) => {
                    return Err(BackendError::Conflict {
                        found: other.to_owned(),
                    }
                    .into());
                }
                None => {
                    let path = self.dir.join(BACKEND_FILE);
                    std::fs::write(&path, "terraform {\n  backend \"s3\" {}\n}\n").map_err(
                        |source| TerraformError::Io {
                            action: "writing backend file",
                            path,
                            source,
                        },
                    )?;
                }
            }
            let path = self.dir.join(AWS_CONFIG_FILE_NAME);
            std::fs::write(&path, S3Backend::aws_config_text()).map_err(|source| {
                TerraformError::Io {
                    action: "writing the state backend's AWS config file",
                    path,
                    source,
                }
            })?;
            args.extend(backend.init_args());
        }
        if opts.upgrade {
            args.push("-upgrade".into());
        }
        if opts.reconfigure {
            args.push("-reconfigure".into());
        }
        args.extend(lock_timeout_arg(opts.lock_timeout));
        let r = self.run_streamed(&args, false, io).await?;
        if !r.exit.success() {
            return Err(failure("init", r.diagnostics, r.exit));
        }
        Ok(r.exit)
    }

    /// `terraform validate -json`: an invalid configuration is a result, not an error.
    pub async fn validate(
        &self,
        cancel: &CancellationToken,
    ) -> Result<ValidateResult, TerraformError> {
        let out = self
            .run_captured(&["validate", "-json", "-no-color"], &[1], cancel)
            .await?;
        match serde_json::from_str(&out.stdout) {
            Ok(v) => Ok(v),
            Err(_) if !out.report.success() => Err(failure("validate", Vec::new(), out.report)),
            Err(source) => Err(TerraformError::Json {
                command: "validate".into(),
                source,
            }),
        }
    }

    /// `terraform plan -json -out=FILE`: streams the UI events and returns what it found.
    pub async fn plan(
        &self,
        opts: &PlanOptions,
        io: RunIo<'_>,
    ) -> Result<PlanOutcome, TerraformError> {
        let plan_file = self.dir.join(&opts.out);
        let var_file = self.write_var_file(&opts.variables)?;
        let mut args: Vec<String> = vec![
            "plan".into(),
            "-no-color".into(),
            "-json".into(),
            "-input=false".into(),
            format!("-out={}", plan_file.display()),
        ];
        if opts.destroy {
            args.push("-destroy".into());
        }
        if opts.detailed_exitcode {
            args.push("-detailed-exitcode".into());
        }
        if !opts.refresh {
            args.push("-refresh=false".into());
        }
        args.extend(opts.targets.iter().map(|t| format!("-target={t}")));
        args.extend(lock_timeout_arg(opts.lock_timeout));
        Self::var_args(&var_file, &opts.var_files, &mut args);
        let r = self.run_streamed(&args, true, io).await;
        drop(var_file);
        let r = r?;
        let changes_code = opts.detailed_exitcode && r.exit.code == Some(2);
        let ok = r.exit.success() || (changes_code && !r.exit.cancelled && !r.exit.timed_out);
        if !ok {
            return Err(failure("plan", r.diagnostics, r.exit));
        }
        let summary = last_summary(&r.events).unwrap_or_default();
        let has_changes = if opts.detailed_exitcode {
            changes_code
        } else {
            summary.has_changes()
        };
        let pick = |drift: bool| {
            r.events
                .iter()
                .filter_map(|e| match (e, drift) {
                    (UiEvent::PlannedChange(c), false) | (UiEvent::ResourceDrift(c), true) => {
                        Some(c.clone())
                    }
                    _ => None,
                })
                .collect()
        };
        Ok(PlanOutcome {
            plan_file,
            has_changes,
            summary,
            changes: pick(false),
            drift: pick(true),
            diagnostics: r.diagnostics.clone(),
            events: r.events,
            exit: r.exit,
        })
    }

    /// `terraform show -json PLANFILE`, typed and raw.
    pub async fn show_plan(
        &self,
        plan_file: &Path,
        cancel: &CancellationToken,
    ) -> Result<ShownPlan, TerraformError> {
        let file = self.dir.join(plan_file).display().to_string();
        let out = self
            .run_captured(&["show", "-json", "-no-color", &file], &[], cancel)
            .await?;
        let json_err = |source| TerraformError::Json {
            command: "show".into(),
            source,
        };
        let raw: Value = serde_json::from_str(&out.stdout).map_err(json_err)?;
        let plan = PlanJson::deserialize_from(&raw).map_err(json_err)?;
        Ok(ShownPlan { plan, raw })
    }

    /// `terraform apply -json PLANFILE`: applies a saved plan.
    pub async fn apply_plan(
        &self,
        plan_file: &Path,
        io: RunIo<'_>,
    ) -> Result<ApplyOutcome, TerraformError> {
        let file = self.dir.join(plan_file).display().to_string();
        let args: Vec<String> = vec![
            "apply".into(),
            "-no-color".into(),
            "-json".into(),
            "-input=false".into(),
            file,
        ];
        self.apply_like("apply", &args, io).await
    }

    /// `terraform destroy -json -auto-approve`.
    pub async fn destroy(
        &self,
        opts: &DestroyOptions,
        io: RunIo<'_>,
    ) -> Result<ApplyOutcome, TerraformError> {
        let var_file = self.write_var_file(&opts.variables)?;
        let mut args: Vec<String> = vec![
            "destroy".into(),
            "-no-color".into(),
            "-json".into(),
            "-input=false".into(),
            "-auto-approve".into(),
        ];
        args.extend(lock_timeout_arg(opts.lock_timeout));
        Self::var_args(&var_file, &opts.var_files, &mut args);
        let r = self.apply_like("destroy", &args, io).await;
        drop(var_file);
        r
    }

    async fn apply_like(
        &self,
        command: &str,
        args: &[String],
        io: RunIo<'_>,
    ) -> Result<ApplyOutcome, TerraformError> {
        let r = self.run_streamed(args, true, io).await?;
        if !r.exit.success() {
            return Err(failure(command, r.diagnostics, r.exit));
        }
        let outputs = r
            .events
            .iter()
            .rev()
            .find_map(|e| match e {
                UiEvent::Outputs(o) => Some(o.clone()),
                _ => None,
            })
            .unwrap_or_default();
        Ok(ApplyOutcome {
            summary: last_summary(&r.events).unwrap_or_default(),
            outputs,
            diagnostics: r.diagnostics,
            events: r.events,
            exit: r.exit,
        })
    }

    /// `terraform output -json`: every root module output (sensitive ones included: treat them
    /// as secrets).
    pub async fn output(
        &self,
        cancel: &CancellationToken,
    ) -> Result<BTreeMap<String, OutputValue>, TerraformError> {
        let out = self
            .run_captured(&["output", "-json", "-no-color"], &[], cancel)
            .await?;
        serde_json::from_str(&out.stdout).map_err(|source| TerraformError::Json {
            command: "output".into(),
            source,
        })
    }

    /// `terraform state list`: the resource addresses in the state.
    pub async fn state_list(
        &self,
        cancel: &CancellationToken,
    ) -> Result<Vec<String>, TerraformError> {
        let out = self
            .run_captured(&["state", "list", "-no-color"], &[], cancel)
            .await?;
        Ok(out
            .stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// `terraform force-unlock -force LOCK_ID`: removes a lock left behind (see
    /// [`TerraformError::StateLocked`]). Only when no run holds it any more.
    pub async fn force_unlock(
        &self,
        lock_id: &str,
        cancel: &CancellationToken,
    ) -> Result<(), TerraformError> {
        self.run_captured(
            &["force-unlock", "-force", "-no-color", lock_id],
            &[],
            cancel,
        )
        .await?;
        Ok(())
    }
}

fn last_summary(events: &[UiEvent]) -> Option<ChangeSummary> {
    events.iter().rev().find_map(|e| match e {
        UiEvent::ChangeSummary(s) => Some(s.clone()),
        _ => None,
    })
}

impl PlanJson {
    fn deserialize_from(raw: &Value) -> Result<Self, serde_json::Error> {
        serde::Deserialize::deserialize(raw)
    }
}
