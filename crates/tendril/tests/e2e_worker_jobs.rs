//! The worker jobs end to end: real trellis + real tendril (`--enable-worker-jobs`) + moto.
//! DEPLOY_WORKER registers the worker and creates its ECS service with the token only in
//! Secrets Manager (a second tendril started with that token comes ONLINE, as the ECS task
//! would), UPDATE_WORKER rolls a new image out, DESTROY_WORKER leaves nothing and removes the
//! registration. No token reaches a log or a result.

mod common;

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use common::{Tendril, TendrilOptions, all_logs, submit, trellis, wait_terminal, wait_worker};
use grape_api::{Job, JobStatus, JobType, Secret, UserApiClient, WorkerMode, WorkerStatus};
use grape_cloud_aws::fleet::{DEFAULT_CLUSTER, WorkerFleet, WorkerNames};
use grape_cloud_aws::{BaseCredentials, DiscoveryOptions, discover};
use grape_testkit::Moto;
use grape_testkit::trellis::TrellisServer;
use serde_json::{Value, json};
use uuid::Uuid;

const REGION: &str = "eu-west-1";
const KEY_ID: &str = "platform-key-id";
const SECRET_KEY: &str = "platform-secret-access-key";
const NAME: &str = "e2e-fleet";

fn platform_options(server: &TrellisServer, moto: &Moto) -> TendrilOptions {
    TendrilOptions {
        extra_args: vec![
            "--enable-worker-jobs".into(),
            "--platform-aws-endpoint".into(),
            moto.endpoint_url().to_owned(),
        ],
        extra_env: vec![
            (
                "TRELLIS_ADMIN_TOKEN".into(),
                server.admin_token().expose().to_owned(),
            ),
            ("AWS_ACCESS_KEY_ID".into(), KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), SECRET_KEY.into()),
            ("AWS_REGION".into(), REGION.into()),
        ],
        ..TendrilOptions::default()
    }
}

fn platform_aws(moto: &Moto) -> BaseCredentials {
    BaseCredentials::from_static(KEY_ID, SECRET_KEY, None).with_endpoint_url(moto.endpoint_url())
}

/// The default VPC of the region and two of its subnets, as discovery reports them.
async fn default_network(moto: &Moto) -> (String, Vec<String>) {
    let creds = platform_aws(moto)
        .resolve(Some(REGION))
        .await
        .expect("credentials");
    let found = discover(&creds, &DiscoveryOptions::new([REGION])).await;
    let vpc = found
        .vpcs
        .iter()
        .find(|v| v.is_default)
        .expect("default vpc")
        .id
        .clone();
    let subnets = found
        .subnets
        .iter()
        .filter(|s| s.vpc_id.as_deref() == Some(vpc.as_str()))
        .map(|s| s.id.clone())
        .take(2)
        .collect();
    (vpc, subnets)
}

/// The token as the ECS task would get it: read from Secrets Manager (tests only).
async fn token_from_secrets_manager(moto: &Moto, arn: &str) -> String {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(moto.endpoint_url())
        .credentials_provider(aws_credential_types::Credentials::new(
            KEY_ID, SECRET_KEY, None, None, "tests",
        ))
        .load()
        .await;
    aws_sdk_secretsmanager::Client::new(&config)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .expect("get the token secret")
        .secret_string()
        .expect("a string secret")
        .to_owned()
}

async fn run(user: &UserApiClient, job_type: JobType, payload: Value) -> Job {
    let job = submit(user, job_type, payload).await;
    wait_terminal(user, job.id, Duration::from_secs(120)).await
}

/// Every stored line of the job, and its result and error, as one text.
async fn everything_stored(user: &UserApiClient, job: &Job) -> String {
    let mut text: Vec<String> = all_logs(user, job.id)
        .await
        .into_iter()
        .map(|l| l.text)
        .collect();
    text.push(
        job.result
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default(),
    );
    text.push(job.error.clone().unwrap_or_default());
    text.join("\n")
}

#[tokio::test]
async fn deploy_update_and_destroy_a_cloud_hosted_worker() {
    let moto = Moto::start().await.expect("moto");
    let server = trellis().await;
    let platform = Tendril::start(&server, "e2e-platform", platform_options(&server, &moto)).await;
    let user = server.user_client();
    let listed = wait_worker(
        &user,
        platform.id,
        WorkerStatus::Online,
        Duration::from_secs(30),
    )
    .await;
    let advertised = listed.info.expect("worker info").job_types;
    for job_type in [
        JobType::DeployWorker,
        JobType::UpdateWorker,
        JobType::DestroyWorker,
    ] {
        assert!(advertised.contains(&job_type), "{advertised:?}");
    }
    let (vpc, subnets) = default_network(&moto).await;

    // DEPLOY_WORKER
    let deploy = run(
        &user,
        JobType::DeployWorker,
        json!({
            "name": NAME, "region": REGION, "image": "ghcr.io/vintner/tendril:1.0.0",
            "vpc_id": vpc, "subnet_ids": subnets, "labels": { "team": "e2e" }
        }),
    )
    .await;
    assert_eq!(deploy.status, JobStatus::Success, "{deploy:#?}");
    let result = deploy.result.clone().expect("result");
    let worker_id: Uuid = result["worker_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("worker_id in the result");
    let record = user
        .list_workers()
        .await
        .expect("list workers")
        .into_iter()
        .find(|w| w.id == worker_id)
        .expect("the new worker is registered");
    assert_eq!(record.name, NAME);
    assert_eq!(record.mode, WorkerMode::CloudHosted);
    assert_eq!(record.labels.get("team").map(String::as_str), Some("e2e"));

    let fleet = WorkerFleet::new(&platform_aws(&moto), REGION).await;
    let names = WorkerNames::new(NAME).unwrap();
    let deployed = fleet
        .describe(&names, DEFAULT_CLUSTER)
        .await
        .expect("describe");
    let service = deployed.service.expect("the ECS service");
    assert_eq!(service.status.as_deref(), Some("ACTIVE"));
    assert_eq!(result["service_arn"], json!(service.service_arn));
    let td = deployed.task_definition.expect("the task definition");
    assert_eq!(result["task_definition_arn"], json!(td.arn));
    assert_eq!(td.image, "ghcr.io/vintner/tendril:1.0.0");
    assert_eq!(td.environment["GRAPE_WORKER_ID"], worker_id.to_string());
    assert_eq!(td.environment["GRAPE_WORKER_MODE"], "cloud-hosted");
    assert_eq!(td.environment["TRELLIS_URL"], server.url());
    assert!(!td.environment.contains_key("GRAPE_WORKER_TOKEN"));
    let secret = deployed.token_secret.expect("the token secret");
    assert_eq!(td.secrets["GRAPE_WORKER_TOKEN"], secret.arn);
    assert_eq!(secret.worker_id, Some(worker_id.to_string()));

    // The ECS task would get the token from the secret: with it, a worker comes ONLINE.
    let token = token_from_secrets_manager(&moto, &secret.arn).await;
    assert!(
        !td.environment.values().any(|v| v.contains(&token)),
        "the token is in the task definition's environment"
    );
    let mut deployed_worker = Tendril::start_as(
        &server,
        worker_id,
        Secret::new(token.clone()),
        TendrilOptions::default(),
    );
    wait_worker(
        &user,
        worker_id,
        WorkerStatus::Online,
        Duration::from_secs(30),
    )
    .await;
    deployed_worker.kill9();

    // A re-run is idempotent: same registration, same task definition.
    let again = run(
        &user,
        JobType::DeployWorker,
        json!({
            "name": NAME, "region": REGION, "image": "ghcr.io/vintner/tendril:1.0.0",
            "vpc_id": vpc, "subnet_ids": subnets, "labels": { "team": "e2e" }
        }),
    )
    .await;
    assert_eq!(again.status, JobStatus::Success, "{again:#?}");
    let again_result = again.result.clone().unwrap();
    assert_eq!(again_result["worker_id"], result["worker_id"]);
    assert_eq!(
        again_result["task_definition_arn"],
        result["task_definition_arn"]
    );

    // UPDATE_WORKER
    let update = run(
        &user,
        JobType::UpdateWorker,
        json!({ "name": NAME, "region": REGION, "image": "ghcr.io/vintner/tendril:1.1.0" }),
    )
    .await;
    assert_eq!(update.status, JobStatus::Success, "{update:#?}");
    let update_result = update.result.clone().unwrap();
    assert_eq!(update_result["previous_task_definition_arn"], json!(td.arn));
    let new_arn = update_result["task_definition_arn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(new_arn.ends_with(":2"), "{new_arn}");
    assert_eq!(update_result["image"], "ghcr.io/vintner/tendril:1.1.0");
    let updated = fleet
        .describe(&names, DEFAULT_CLUSTER)
        .await
        .expect("describe");
    let updated_service = updated.service.expect("service");
    assert_eq!(
        updated_service.task_definition.as_deref(),
        Some(new_arn.as_str())
    );
    let primary = updated_service.primary().expect("primary deployment");
    assert_eq!(update_result["deployment_id"], json!(primary.id));
    let updated_td = updated.task_definition.expect("task definition");
    assert_eq!(updated_td.image, "ghcr.io/vintner/tendril:1.1.0");
    assert_eq!(updated_td.secrets, td.secrets);

    // DESTROY_WORKER
    let destroy = run(
        &user,
        JobType::DestroyWorker,
        json!({ "name": NAME, "region": REGION }),
    )
    .await;
    assert_eq!(destroy.status, JobStatus::Success, "{destroy:#?}");
    let destroy_result = destroy.result.clone().unwrap();
    assert_eq!(destroy_result["worker_id"], json!(worker_id));
    assert_eq!(destroy_result["registration_removed"], true);
    assert!(
        user.list_workers()
            .await
            .expect("list workers")
            .iter()
            .all(|w| w.id != worker_id),
        "the worker is still registered"
    );
    let gone = fleet
        .describe(&names, DEFAULT_CLUSTER)
        .await
        .expect("describe");
    assert!(
        gone.service
            .as_ref()
            .is_none_or(|s| s.status.as_deref() == Some("INACTIVE")),
        "{gone:#?}"
    );
    assert!(gone.task_definition.is_none(), "{gone:#?}");
    assert!(gone.token_secret.is_none(), "{gone:#?}");
    assert!(gone.cluster_arn.is_none(), "{gone:#?}");

    // No token anywhere in what Trellis stored of the three jobs.
    let admin = server.admin_token().expose().to_owned();
    for job in [&deploy, &again, &update, &destroy] {
        let stored = everything_stored(&user, job).await;
        assert!(
            !stored.contains(&token),
            "the worker token reached job {}",
            job.id
        );
        assert!(
            !stored.contains(&admin),
            "the admin token reached job {}",
            job.id
        );
        assert!(
            !stored.contains(SECRET_KEY),
            "the AWS secret key reached job {}",
            job.id
        );
    }
    let deploy_log = everything_stored(&user, &deploy).await;
    assert!(deploy_log.contains("registered as worker"), "{deploy_log}");
}

#[tokio::test]
async fn worker_jobs_need_platform_settings_and_a_valid_payload() {
    let moto = Moto::start().await.expect("moto");
    let server = trellis().await;
    let user = server.user_client();
    let plain = Tendril::start(&server, "e2e-plain", TendrilOptions::default()).await;
    let listed = wait_worker(
        &user,
        plain.id,
        WorkerStatus::Online,
        Duration::from_secs(30),
    )
    .await;
    let advertised = listed.info.expect("worker info").job_types;
    assert!(
        !advertised.contains(&JobType::DeployWorker),
        "a worker without platform settings offers DEPLOY_WORKER: {advertised:?}"
    );
    drop(plain);

    let _platform = Tendril::start(&server, "e2e-platform", platform_options(&server, &moto)).await;
    let bad = run(
        &user,
        JobType::DeployWorker,
        json!({ "name": "no spaces allowed", "region": REGION, "image": "tendril:1",
                "vpc_id": "vpc-1", "subnet_ids": ["subnet-1"] }),
    )
    .await;
    assert_eq!(bad.status, JobStatus::Failed, "{bad:#?}");
    let error = bad.error.unwrap_or_default();
    assert!(
        error.contains("invalid payload for DEPLOY_WORKER") && error.contains("worker name"),
        "{error}"
    );
    let missing = run(
        &user,
        JobType::UpdateWorker,
        json!({ "name": "never-deployed", "region": REGION, "image": "tendril:2" }),
    )
    .await;
    assert_eq!(missing.status, JobStatus::Failed, "{missing:#?}");
    assert!(
        missing
            .error
            .unwrap_or_default()
            .contains("deploy it first"),
        "the reason says what to do"
    );
}
