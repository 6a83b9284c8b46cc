//! What the worker jobs refuse, as attacks through real trellis + real tendril
//! (`--enable-worker-jobs`) + moto: the API token submits or retries no worker job (403); the
//! admin deploys no image outside `TENDRIL_WORKER_IMAGE_ALLOW` and references no secret outside
//! `TENDRIL_WORKER_SECRET_PREFIX` (FAILED before any AWS call: nothing is created); the deployed
//! worker may assume only the configured roles, and only with an external id.

mod common;
mod platform_common;

use grape_api::{ApiError, Job, JobStatus, JobType, SubmitJobRequest, UserApiClient};
use grape_fleet_aws::{DEFAULT_CLUSTER, WorkerFleet, WorkerNames};
use grape_provisioner::worker_policy::DEFAULT_ASSUMABLE_ROLES;
use grape_testkit::Moto;
use platform_common::{
    ALLOWED_IMAGES, PlatformEnv, REGION, SECRET_PREFIX, deploy_payload, platform_aws, run, run_ok,
    sdk_config,
};
use serde_json::{Value, json};
use uuid::Uuid;

const NAME: &str = "e2e-refused";

/// Asserts a 403 naming the admin token.
fn assert_forbidden(err: &ApiError) {
    let ApiError::Status {
        status, message, ..
    } = err
    else {
        panic!("not an HTTP status: {err:?}");
    };
    assert_eq!(*status, 403, "{message}");
    assert!(message.contains("admin token"), "{message}");
}

/// A job that must have FAILED with a reason containing each of `needles`.
fn assert_failed(job: &Job, needles: &[&str]) {
    assert_eq!(job.status, JobStatus::Failed, "{job:#?}");
    let error = job.error.as_deref().unwrap_or_default();
    for needle in needles {
        assert!(error.contains(needle), "{needle:?} not in {error:?}");
    }
}

/// Asserts that no AWS resource of worker `name` exists and Trellis registered no worker but
/// `platform`.
async fn assert_nothing_created(moto: &Moto, user: &UserApiClient, name: &str, platform: Uuid) {
    let fleet = WorkerFleet::new(&platform_aws(moto), REGION).await;
    let names = WorkerNames::new(name).unwrap();
    let deployed = fleet
        .describe(&names, DEFAULT_CLUSTER)
        .await
        .expect("describe");
    assert!(deployed.cluster_arn.is_none(), "{deployed:#?}");
    assert!(deployed.service.is_none(), "{deployed:#?}");
    assert!(deployed.task_definition.is_none(), "{deployed:#?}");
    assert!(deployed.token_secret.is_none(), "{deployed:#?}");
    let iam = aws_sdk_iam::Client::new(&sdk_config(moto).await);
    let roles = iam.list_roles().send().await.expect("list roles");
    assert!(
        roles
            .roles()
            .iter()
            .all(|r| !r.role_name().starts_with("vintner-tendril-")),
        "a worker role was created"
    );
    let workers = user.list_workers().await.expect("list workers");
    assert!(
        workers.iter().all(|w| w.id == platform),
        "a worker was registered: {workers:#?}"
    );
}

/// The inline policy `policy` of role `role`, parsed.
async fn role_policy(moto: &Moto, role: &str, policy: &str) -> Value {
    let iam = aws_sdk_iam::Client::new(&sdk_config(moto).await);
    let out = iam
        .get_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await
        .expect("get role policy");
    let document = percent_encoding::percent_decode_str(out.policy_document())
        .decode_utf8()
        .expect("UTF-8");
    serde_json::from_str(&document).expect("a JSON policy")
}

#[tokio::test]
async fn only_the_admin_submits_worker_jobs_and_only_allowed_images() {
    let env = PlatformEnv::start().await;
    let PlatformEnv {
        moto,
        user,
        admin,
        listed,
        vpc,
        subnets,
        ..
    } = &env;

    // The API token: 403 for every worker job, and nothing stored.
    let payloads = [
        (JobType::DeployWorker, deploy_payload(NAME, vpc, subnets)),
        (
            JobType::UpdateWorker,
            json!({ "name": NAME, "region": REGION, "image": "ghcr.io/vintner/tendril:2.0.0" }),
        ),
        (
            JobType::DestroyWorker,
            json!({ "name": NAME, "region": REGION }),
        ),
    ];
    for (job_type, payload) in payloads {
        let request = SubmitJobRequest {
            job_type,
            payload,
            cloud_identity_id: None,
            team: None,
            labels: Vec::new(),
            secrets: grape_api::JobSecrets::new(),
        };
        assert_forbidden(&user.submit_job(&request).await.expect_err("submitted"));
    }
    let stored = user.list_jobs(None, None).await.expect("list jobs");
    assert!(stored.is_empty(), "{stored:#?}");

    // The admin token, with images outside the allow-list: FAILED, naming the allow-list.
    let mut evil = deploy_payload(NAME, vpc, subnets);
    for image in [
        "ghcr.io/vintner-evil/tendril:1.0.0",
        "docker.io/vintner/tendril:1.0.0",
        "tendril:1.0.0",
    ] {
        evil["image"] = json!(image);
        let job = run(admin, JobType::DeployWorker, evil.clone()).await;
        assert_failed(
            &job,
            &[
                "TENDRIL_WORKER_IMAGE_ALLOW",
                ALLOWED_IMAGES.trim_end_matches('/'),
            ],
        );
    }
    evil["image"] = json!("ghcr.io/vintner/tendril");
    let untagged = run(admin, JobType::DeployWorker, evil).await;
    assert_failed(&untagged, &["`image`", "neither a tag nor a digest"]);
    let update = run(
        admin,
        JobType::UpdateWorker,
        json!({ "name": NAME, "region": REGION, "image": "ghcr.io/vintner-evil/tendril:2" }),
    )
    .await;
    assert_failed(
        &update,
        &["UPDATE_WORKER refused", "TENDRIL_WORKER_IMAGE_ALLOW"],
    );
    assert_nothing_created(moto, user, NAME, listed.id).await;

    // A refused job stays the admin's: the API token may not retry it either.
    assert_forbidden(&user.retry_job(update.id).await.expect_err("retried"));
    let retried = admin.retry_job(update.id).await.expect("the admin retries");
    assert_eq!(retried.retry_of, Some(update.id));
}

#[tokio::test]
async fn secret_refs_stay_under_the_prefix_and_the_task_role_is_scoped() {
    let env = PlatformEnv::start().await;
    let PlatformEnv {
        moto,
        user,
        admin,
        listed,
        vpc,
        subnets,
        ..
    } = &env;
    let with_ref = |arn: &str| {
        let mut payload = deploy_payload(NAME, vpc, subnets);
        payload["secret_refs"] = json!({ "DB_PASSWORD": arn });
        payload
    };

    let outside = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other/db-AbCdEf";
    let job = run(admin, JobType::DeployWorker, with_ref(outside)).await;
    assert_failed(
        &job,
        &[
            "`secret_refs.DB_PASSWORD`",
            SECRET_PREFIX,
            "TENDRIL_WORKER_SECRET_PREFIX",
        ],
    );
    let other_worker = format!("{SECRET_PREFIX}tendril/other/token-AbCdEf");
    let job = run(admin, JobType::DeployWorker, with_ref(&other_worker)).await;
    assert_failed(&job, &["`secret_refs.DB_PASSWORD`", "own secret"]);
    assert_nothing_created(moto, user, NAME, listed.id).await;

    // Under the prefix: deployed; the execution role reads exactly the token and that secret.
    let allowed = format!("{SECRET_PREFIX}db-AbCdEf");
    let (_, result) = run_ok(admin, JobType::DeployWorker, with_ref(&allowed)).await;
    let names = WorkerNames::new(NAME).unwrap();
    let token_arn = result["token_secret_arn"].as_str().expect("token secret");
    let read = role_policy(moto, &names.execution_role, "vintner-tendril-token").await;
    assert_eq!(
        read["Statement"][0]["Resource"],
        json!([token_arn, allowed]),
        "{read}"
    );
    // The task role assumes only the default `vintner-*` roles, and only with an external id.
    let assume = role_policy(moto, &names.task_role, "vintner-tendril-assume").await;
    assert_eq!(
        assume["Statement"],
        json!([{
            "Sid": "AssumeCustomerRolesWithAnExternalId",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": [DEFAULT_ASSUMABLE_ROLES],
            "Condition": { "Null": { "sts:ExternalId": "false" } }
        }]),
        "{assume}"
    );
}
