//! Helpers of the worker-job tests: the platform worker (`--enable-worker-jobs`) on moto.
#![allow(dead_code)] // each test binary uses a part of these helpers

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use grape_api::{Job, JobStatus, JobType, UserApiClient, Worker, WorkerStatus};
use grape_cloud_aws::{BaseCredentials, DiscoveryOptions, discover};
use grape_testkit::Moto;
use grape_testkit::trellis::TrellisServer;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Tendril, TendrilOptions, submit, wait_terminal, wait_worker};

/// The image allow-list of the platform worker (`TENDRIL_WORKER_IMAGE_ALLOW`).
pub const ALLOWED_IMAGES: &str = "ghcr.io/vintner/";
/// The Secrets Manager prefix of its `secret_refs` (`TENDRIL_WORKER_SECRET_PREFIX`).
pub const SECRET_PREFIX: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vintner/";
/// The region of the deployed workers.
pub const REGION: &str = "eu-west-1";
/// The platform's AWS keys (moto accepts any).
pub const KEY_ID: &str = "platform-key-id";
/// See [`KEY_ID`].
pub const SECRET_KEY: &str = "platform-secret-access-key";

/// The options of the platform worker: worker jobs on moto, the images of [`ALLOWED_IMAGES`]
/// and the secret references under [`SECRET_PREFIX`].
pub fn platform_options(server: &TrellisServer, moto: &Moto) -> TendrilOptions {
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
            ("TENDRIL_WORKER_IMAGE_ALLOW".into(), ALLOWED_IMAGES.into()),
            ("TENDRIL_WORKER_SECRET_PREFIX".into(), SECRET_PREFIX.into()),
        ],
        ..TendrilOptions::default()
    }
}

/// The platform's AWS credentials, on moto.
pub fn platform_aws(moto: &Moto) -> BaseCredentials {
    BaseCredentials::from_static(KEY_ID, SECRET_KEY, None).with_endpoint_url(moto.endpoint_url())
}

/// The default VPC of the region and two of its subnets, as discovery reports them.
pub async fn default_network(moto: &Moto) -> (String, Vec<String>) {
    let creds = platform_aws(moto)
        .resolve(Some(REGION))
        .await
        .expect("credentials");
    let found = discover(&creds, &DiscoveryOptions::new([REGION])).await;
    let vpc = found
        .networks
        .iter()
        .find(|v| v.is_default)
        .expect("default vpc")
        .id
        .clone();
    let subnets = found
        .subnets
        .iter()
        .filter(|s| s.network_id.as_deref() == Some(vpc.as_str()))
        .map(|s| s.id.clone())
        .take(2)
        .collect();
    (vpc, subnets)
}

/// An SDK config on moto with the platform's keys, to look at what the jobs made (tests only).
pub async fn sdk_config(moto: &Moto) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(moto.endpoint_url())
        .credentials_provider(aws_credential_types::Credentials::new(
            KEY_ID, SECRET_KEY, None, None, "tests",
        ))
        .load()
        .await
}

/// A secret's value (the token, a state backend key) as the ECS task would get it: read from
/// Secrets Manager (tests only).
pub async fn secret_value(moto: &Moto, arn: &str) -> String {
    aws_sdk_secretsmanager::Client::new(&sdk_config(moto).await)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .expect("get the token secret")
        .secret_string()
        .expect("a string secret")
        .to_owned()
}

/// Submits a job (worker jobs need the admin client) and waits until it ends.
pub async fn run(user: &UserApiClient, job_type: JobType, payload: Value) -> Job {
    let job = submit(user, job_type, payload).await;
    wait_terminal(user, job.id, Duration::from_secs(120)).await
}

/// Runs a job that must succeed; the job and its result.
pub async fn run_ok(user: &UserApiClient, job_type: JobType, payload: Value) -> (Job, Value) {
    let job = run(user, job_type, payload).await;
    assert_eq!(job.status, JobStatus::Success, "{job:#?}");
    let result = job.result.clone().expect("result");
    (job, result)
}

/// Waits until worker `id` is ONLINE.
pub async fn online(user: &UserApiClient, id: Uuid) -> Worker {
    wait_worker(user, id, WorkerStatus::Online, Duration::from_secs(30)).await
}

/// Starts the platform worker (`--enable-worker-jobs`) with `options` and waits until it is
/// ONLINE; the worker and how Trellis lists it.
pub async fn start_platform(
    server: &TrellisServer,
    user: &UserApiClient,
    options: TendrilOptions,
) -> (Tendril, Worker) {
    let platform = Tendril::start(server, "e2e-platform", options).await;
    let listed = online(user, platform.id).await;
    (platform, listed)
}

/// moto, trellis and the ONLINE platform worker with the default [`platform_options`]; the
/// user and admin clients, and the default network of [`REGION`].
pub struct PlatformEnv {
    pub moto: Moto,
    pub server: TrellisServer,
    pub user: UserApiClient,
    pub admin: UserApiClient,
    pub platform: Tendril,
    /// How Trellis lists the platform worker.
    pub listed: Worker,
    pub vpc: String,
    pub subnets: Vec<String>,
}

impl PlatformEnv {
    pub async fn start() -> Self {
        let moto = Moto::start().await.expect("moto");
        let server = crate::common::trellis().await;
        let (user, admin) = (server.user_client(), server.admin_client());
        let (platform, listed) =
            start_platform(&server, &user, platform_options(&server, &moto)).await;
        let (vpc, subnets) = default_network(&moto).await;
        Self {
            moto,
            server,
            user,
            admin,
            platform,
            listed,
            vpc,
            subnets,
        }
    }
}

/// A DEPLOY_WORKER payload with an allowed image.
pub fn deploy_payload(name: &str, vpc: &str, subnets: &[String]) -> Value {
    json!({
        "name": name, "region": REGION, "image": "ghcr.io/vintner/tendril:1.0.0",
        "vpc_id": vpc, "subnet_ids": subnets
    })
}
