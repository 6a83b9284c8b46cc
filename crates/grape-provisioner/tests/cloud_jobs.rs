//! CONNECTION_TEST / FETCH_RESOURCES and the "assume cloud credentials" step, against moto.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use grape_api::{CloudIdentity, CloudProvider, Job, JobType, LogStream};
use grape_process::{REDACTED, Redactor};
use grape_provisioner::handlers::{DiscoveryHandler, ExecHandler};
use grape_provisioner::local::{FileArtifacts, LocalRunner, local_job};
use grape_provisioner::{
    AwsAccess, CloudSettings, JobError, JobHandler, JobLog, ProvisionerSettings, RenewalPolicy,
    StaticKeys, cloud,
};
use grape_testkit::Moto;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const ROLE: &str = "arn:aws:iam::123456789012:role/vintner-test";

struct Harness {
    _moto: Moto,
    runner: LocalRunner,
    _dir: tempfile::TempDir,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Harness {
    async fn new(refresh: RenewalPolicy) -> Self {
        let moto = Moto::start().await.expect("moto");
        let endpoint = moto.endpoint_url().to_owned();
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = ProvisionerSettings {
            cloud: CloudSettings {
                aws: AwsAccess {
                    endpoint_url: Some(endpoint),
                    static_keys: Some(StaticKeys {
                        access_key_id: "base-access-key".into(),
                        secret_access_key: "base-secret-key-123".into(),
                        session_token: None,
                    }),
                    ..AwsAccess::default()
                },
                renewal: refresh,
                ..CloudSettings::default()
            },
            ..ProvisionerSettings::default()
        };
        let runner = LocalRunner {
            settings: Arc::new(settings),
            services: Arc::new(FileArtifacts::new(dir.path().join("artifacts"))),
            work_dir: dir.path().join("work"),
            cloud: None,
        };
        Self {
            _moto: moto,
            runner,
            _dir: dir,
            lines: Arc::default(),
        }
    }

    #[allow(clippy::unused_self)] // a job of this harness (its worker has the moto endpoint)
    fn job(&self, job_type: JobType, payload: Value, role_arn: &str) -> Job {
        let mut job = local_job(job_type, payload);
        let now = Utc::now();
        let id = Uuid::new_v4();
        job.cloud_identity_id = Some(id);
        job.identity = Some(CloudIdentity {
            id,
            name: "test account".into(),
            team: "default".into(),
            provider: CloudProvider::Aws,
            settings: json!({
                "role_arn": role_arn,
                "external_id": "vintner-external-id",
                "regions": ["us-east-1", "eu-west-1"],
            }),
            credentials: None,
            created_at: now,
            updated_at: now,
        });
        job
    }

    async fn run(
        &self,
        handler: &dyn JobHandler,
        job: Job,
        redactor: Redactor,
    ) -> Result<Option<Value>, JobError> {
        let lines = self.lines.clone();
        let log = JobLog::new(Arc::new(move |stream: LogStream, text: &str| {
            lines.lock().unwrap().push(format!("[{stream}] {text}"));
        }));
        self.runner
            .run(handler, job, log, redactor, CancellationToken::new())
            .await
    }

    fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

#[tokio::test]
async fn connection_test_verifies_the_assumed_role_and_discovers_every_region() {
    let h = Harness::new(RenewalPolicy::default()).await;
    let job = h.job(JobType::ConnectionTest, json!({}), ROLE);
    let result = h
        .run(&DiscoveryHandler::connection_test(), job, Redactor::new())
        .await
        .expect("connection test succeeds")
        .expect("result");
    let arn = result["identity"]["arn"].as_str().expect("caller arn");
    assert!(arn.contains("assumed-role/vintner-test/"), "{arn}");
    let discovery = &result["discovery"];
    assert_eq!(discovery["format_version"], 3, "{discovery}");
    assert_eq!(discovery["provider"], "aws");
    assert_eq!(discovery["regions"], json!(["us-east-1", "eu-west-1"]));
    let vpc_regions: Vec<&str> = discovery["networks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["region"].as_str())
        .collect();
    assert!(
        vpc_regions.contains(&"us-east-1") && vpc_regions.contains(&"eu-west-1"),
        "{discovery}"
    );
    assert!(!discovery["subnets"].as_array().unwrap().is_empty());
    assert!(
        discovery["aws"]["security_groups"].is_array(),
        "{discovery}"
    );
    let log = h.log();
    assert!(log.contains("verifying the AWS identity"), "{log}");
    assert!(
        log.contains("found ") && log.contains(" network(s)"),
        "{log}"
    );
}

#[tokio::test]
async fn fetch_resources_discovers_without_verifying() {
    let h = Harness::new(RenewalPolicy::default()).await;
    let job = h.job(JobType::FetchResources, json!({}), ROLE);
    let result = h
        .run(&DiscoveryHandler::fetch_resources(), job, Redactor::new())
        .await
        .unwrap()
        .unwrap();
    assert!(result.get("identity").is_none(), "{result}");
    assert!(
        result["discovery"]["networks"]
            .as_array()
            .is_some_and(|v| v.len() >= 2)
    );
}

#[tokio::test]
async fn an_invalid_role_fails_with_a_clear_reason_before_anything_runs() {
    let h = Harness::new(RenewalPolicy::default()).await;
    let job = h.job(
        JobType::ConnectionTest,
        json!({}),
        "arn:aws:iam::123:not-a-role",
    );
    let reason = h
        .run(&DiscoveryHandler::connection_test(), job, Redactor::new())
        .await
        .expect_err("must fail")
        .to_string();
    assert!(reason.contains("role"), "{reason}");
    assert!(h.log().is_empty(), "something ran: {}", h.log());
}

#[tokio::test]
async fn a_child_sees_the_assumed_role_and_its_keys_never_reach_the_log() {
    let h = Harness::new(RenewalPolicy::default()).await;
    let python = grape_testkit::peers_dir().join("venv/bin/python");
    let script = "import os, boto3\n\
        sts = boto3.client('sts')\n\
        print('caller', sts.get_caller_identity()['Arn'])\n\
        print('secret', os.environ['AWS_SECRET_ACCESS_KEY'])\n\
        print('token', os.environ['AWS_SESSION_TOKEN'])\n";
    let payload = json!({ "argv": [python, "-c", script] });
    let job = h.job(JobType::Exec, payload, ROLE);
    h.run(&ExecHandler, job, Redactor::new())
        .await
        .expect("exec succeeds");
    let log = h.log();
    assert!(
        log.contains("caller arn:aws:sts::123456789012:assumed-role/vintner-test/"),
        "{log}"
    );
    assert!(log.contains(&format!("secret {REDACTED}")), "{log}");
    assert!(log.contains(&format!("token {REDACTED}")), "{log}");
}

#[tokio::test]
async fn credentials_are_refreshed_and_each_new_set_is_redacted_at_once() {
    let refresh = RenewalPolicy {
        margin: Duration::from_secs(7200),
        min_interval: Duration::from_millis(300),
        retry_delay: Duration::from_millis(300),
    };
    let h = Harness::new(refresh).await;
    let job = h.job(JobType::Exec, json!({}), ROLE);
    let redactor = Redactor::new();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let log = JobLog::new(Arc::new(move |_: LogStream, text: &str| {
        sink.lock().unwrap().push(text.to_owned());
    }));
    let session = cloud::open_session(&job, &h.runner.settings, &redactor, &log)
        .await
        .expect("assume")
        .expect("session");
    let first = session.tool_env(std::path::Path::new("/nonexistent"));
    for _ in 0..50 {
        if session.renewals() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(session.renewals() >= 2, "no refresh happened");
    let now = session.tool_env(std::path::Path::new("/nonexistent"));
    let key = |env: &[(String, String)], name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_ne!(
        key(&first, "AWS_ACCESS_KEY_ID"),
        key(&now, "AWS_ACCESS_KEY_ID"),
        "refresh gave the same keys"
    );
    let secret = key(&now, "AWS_SECRET_ACCESS_KEY");
    assert_eq!(
        redactor.redact(&format!("x {secret} y")),
        format!("x {REDACTED} y")
    );
    let noted = lines.lock().unwrap().clone();
    assert!(
        !noted.is_empty()
            && noted
                .iter()
                .all(|l| l.starts_with("renewed the cloud identity's credentials (valid until ")),
        "{noted:#?}"
    );
    assert!(noted.iter().all(|l| !l.contains(&secret)), "{noted:#?}");
}
