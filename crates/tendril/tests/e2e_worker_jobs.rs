//! The worker jobs end to end: real trellis + real tendril (`--enable-worker-jobs`) + moto.
//! DEPLOY_WORKER registers the worker and creates its ECS service with the token only in
//! Secrets Manager (a second tendril started with that token comes ONLINE, as the ECS task
//! would), UPDATE_WORKER rolls a new image out, DESTROY_WORKER leaves nothing and removes the
//! registration. No token reaches a log or a result. (What the worker jobs refuse:
//! `e2e_worker_jobs_refused.rs`.)

mod common;
mod platform_common;

use common::{Tendril, TendrilOptions, all_logs, trellis};
use grape_api::{Job, JobStatus, JobType, Secret, UserApiClient, WorkerMode};
use grape_fleet_aws::{DEFAULT_CLUSTER, WorkerFleet, WorkerNames};
use grape_testkit::Moto;
use grape_testkit::trellis::TrellisServer;
use platform_common::{
    PlatformEnv, REGION, SECRET_KEY, default_network, deploy_payload, online, platform_aws,
    platform_options, run, run_ok, secret_value, start_platform,
};
use serde_json::{Value, json};
use uuid::Uuid;

const NAME: &str = "e2e-fleet";

/// Starts a worker as `id` with `token`, as the ECS task would, and waits until it is ONLINE.
async fn comes_online_with(server: &TrellisServer, user: &UserApiClient, id: Uuid, token: &str) {
    let mut deployed = Tendril::start_as(
        server,
        id,
        Secret::new(token.to_owned()),
        TendrilOptions::default(),
    );
    online(user, id).await;
    deployed.kill9();
}

/// The `worker_id` of a DEPLOY_WORKER result.
fn worker_id(result: &Value) -> Uuid {
    result["worker_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("worker_id in the result")
}

fn destroy_payload(name: &str) -> Value {
    json!({ "name": name, "region": REGION })
}

/// Asserts that none of `secrets` (value, what it is) is in what Trellis stored of `jobs`.
async fn assert_not_stored(user: &UserApiClient, jobs: &[&Job], secrets: &[(&str, &str)]) {
    for job in jobs {
        let stored = everything_stored(user, job).await;
        for (secret, what) in secrets {
            assert!(!stored.contains(secret), "{what} reached job {}", job.id);
        }
    }
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
    let env = PlatformEnv::start().await;
    let PlatformEnv {
        moto,
        server,
        user,
        admin,
        listed,
        vpc,
        subnets,
        ..
    } = &env;
    let advertised = &listed.info.as_ref().expect("worker info").job_types;
    for job_type in [
        JobType::DeployWorker,
        JobType::UpdateWorker,
        JobType::DestroyWorker,
    ] {
        assert!(advertised.contains(&job_type), "{advertised:?}");
    }

    // DEPLOY_WORKER
    let mut payload = deploy_payload(NAME, vpc, subnets);
    payload["labels"] = json!({ "team": "e2e" });
    let (deploy, result) = run_ok(admin, JobType::DeployWorker, payload.clone()).await;
    let worker_id = worker_id(&result);
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

    let fleet = WorkerFleet::new(&platform_aws(moto), REGION).await;
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
    let token = secret_value(moto, &secret.arn).await;
    assert!(
        !td.environment.values().any(|v| v.contains(&token)),
        "the token is in the task definition's environment"
    );
    comes_online_with(server, user, worker_id, &token).await;

    // A re-run is idempotent: same registration, same task definition.
    let (again, again_result) = run_ok(admin, JobType::DeployWorker, payload).await;
    assert_eq!(again_result["worker_id"], result["worker_id"]);
    assert_eq!(
        again_result["task_definition_arn"],
        result["task_definition_arn"]
    );

    // UPDATE_WORKER
    let (update, update_result) = run_ok(
        admin,
        JobType::UpdateWorker,
        json!({ "name": NAME, "region": REGION, "image": "ghcr.io/vintner/tendril:1.1.0" }),
    )
    .await;
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
    let (destroy, destroy_result) =
        run_ok(admin, JobType::DestroyWorker, destroy_payload(NAME)).await;
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
    assert_not_stored(
        user,
        &[&deploy, &again, &update, &destroy],
        &[
            (token.as_str(), "the worker token"),
            (admin.as_str(), "the admin token"),
            (SECRET_KEY, "the AWS secret key"),
        ],
    )
    .await;
    let deploy_log = everything_stored(user, &deploy).await;
    assert!(deploy_log.contains("registered as worker"), "{deploy_log}");
}

#[tokio::test]
async fn worker_jobs_need_platform_settings_and_a_valid_payload() {
    let moto = Moto::start().await.expect("moto");
    let server = trellis().await;
    let user = server.user_client();
    let admin = server.admin_client();
    let plain = Tendril::start(&server, "e2e-plain", TendrilOptions::default()).await;
    let listed = online(&user, plain.id).await;
    let advertised = listed.info.expect("worker info").job_types;
    assert!(
        !advertised.contains(&JobType::DeployWorker),
        "a worker without platform settings offers DEPLOY_WORKER: {advertised:?}"
    );
    drop(plain);

    let _platform = Tendril::start(&server, "e2e-platform", platform_options(&server, &moto)).await;
    let bad = run(
        &admin,
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
        &admin,
        JobType::UpdateWorker,
        json!({ "name": "never-deployed", "region": REGION, "image": "ghcr.io/vintner/tendril:2" }),
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

#[tokio::test]
async fn a_redeploy_registers_afresh_when_trellis_no_longer_has_the_worker() {
    const STALE: &str = "e2e-stale";
    let moto = Moto::start().await.expect("moto");
    let server = trellis().await;
    let user = server.user_client();
    let admin = server.admin_client();
    let _platform = start_platform(&server, &user, platform_options(&server, &moto)).await;
    let (vpc, subnets) = default_network(&moto).await;
    let fleet = WorkerFleet::new(&platform_aws(&moto), REGION).await;
    let names = WorkerNames::new(STALE).unwrap();

    let payload = deploy_payload(STALE, &vpc, &subnets);
    let (first, first_result) = run_ok(&admin, JobType::DeployWorker, payload.clone()).await;
    let old_id = worker_id(&first_result);
    let before = fleet.describe(&names, DEFAULT_CLUSTER).await.unwrap();
    let secret_arn = before.token_secret.expect("token secret").arn;
    let old_token = secret_value(&moto, &secret_arn).await;
    let first_td = before.task_definition.expect("task definition");

    // The worker is deleted in Trellis; its token secret stays in AWS.
    user.delete_worker(old_id, server.admin_token())
        .await
        .expect("delete the worker in Trellis");

    let (again, again_result) = run_ok(&admin, JobType::DeployWorker, payload.clone()).await;
    let new_id = worker_id(&again_result);
    assert_ne!(new_id, old_id, "the dead registration was reused");
    let workers = user.list_workers().await.expect("list workers");
    let record = workers
        .iter()
        .find(|w| w.id == new_id)
        .expect("the new registration exists in Trellis");
    assert_eq!(record.name, STALE);
    assert!(workers.iter().all(|w| w.id != old_id));

    // Same secret, new value and tag; a new task definition revision with the new id; the
    // service runs it and names the new worker.
    let after = fleet.describe(&names, DEFAULT_CLUSTER).await.unwrap();
    let secret = after.token_secret.expect("token secret");
    assert_eq!(secret.arn, secret_arn);
    assert_eq!(secret.worker_id, Some(new_id.to_string()));
    assert_eq!(after.worker_id, Some(new_id.to_string()));
    let new_token = secret_value(&moto, &secret_arn).await;
    assert_ne!(new_token, old_token, "the secret still holds the old token");
    let td = after.task_definition.expect("task definition");
    assert_ne!(td.arn, first_td.arn);
    assert_eq!(td.environment["GRAPE_WORKER_ID"], new_id.to_string());
    assert_eq!(td.secrets["GRAPE_WORKER_TOKEN"], secret_arn);
    let service = after.service.expect("service");
    assert_eq!(service.task_definition.as_deref(), Some(td.arn.as_str()));
    assert_eq!(service.worker_id, Some(new_id.to_string()));
    assert_eq!(again_result["task_definition_arn"], json!(td.arn));

    // The new token is the new worker's: with it, the worker comes ONLINE.
    comes_online_with(&server, &user, new_id, &new_token).await;

    let log = everything_stored(&user, &again).await;
    assert!(
        log.contains(&format!(
            "worker {old_id} named by the token secret is no longer registered"
        )),
        "{log}"
    );

    // A re-run with the registration alive keeps it.
    let (third, third_result) = run_ok(&admin, JobType::DeployWorker, payload).await;
    assert_eq!(third_result["worker_id"], json!(new_id));
    assert_eq!(third_result["task_definition_arn"], json!(td.arn));

    let (destroy, destroy_result) =
        run_ok(&admin, JobType::DestroyWorker, destroy_payload(STALE)).await;
    assert_eq!(destroy_result["worker_id"], json!(new_id));
    assert_eq!(destroy_result["registration_removed"], true);

    assert_not_stored(
        &user,
        &[&first, &again, &third, &destroy],
        &[
            (old_token.as_str(), "a worker token"),
            (new_token.as_str(), "a worker token"),
        ],
    )
    .await;
}

#[tokio::test]
async fn deploy_hands_the_state_backend_on_with_the_keys_only_as_secret_references() {
    const WITH_STATE: &str = "e2e-state";
    const STATE_KEY_ID: &str = "state-backend-key-id-e2e";
    const STATE_SECRET_KEY: &str = "state-backend-secret-key-e2e";
    let moto = Moto::start().await.expect("moto");
    let server = trellis().await;
    let mut options = platform_options(&server, &moto);
    options.extra_env.extend([
        (
            "SUPABASE_S3_ENDPOINT".into(),
            "https://state.example.test/storage/v1/s3".into(),
        ),
        ("SUPABASE_S3_REGION".into(), "eu-central-1".into()),
        ("SUPABASE_S3_BUCKET".into(), "tf-state-e2e".into()),
        ("SUPABASE_STORAGE_KEY_ID".into(), STATE_KEY_ID.into()),
        (
            "SUPABASE_STORAGE_SECRET_KEY".into(),
            STATE_SECRET_KEY.into(),
        ),
    ]);
    let user = server.user_client();
    let admin = server.admin_client();
    let _platform = start_platform(&server, &user, options).await;
    let (vpc, subnets) = default_network(&moto).await;
    let fleet = WorkerFleet::new(&platform_aws(&moto), REGION).await;
    let names = WorkerNames::new(WITH_STATE).unwrap();

    let payload = deploy_payload(WITH_STATE, &vpc, &subnets);
    let (deploy, result) = run_ok(&admin, JobType::DeployWorker, payload.clone()).await;
    let deployed = fleet.describe(&names, DEFAULT_CLUSTER).await.unwrap();
    let td = deployed.task_definition.expect("task definition");
    assert_eq!(
        td.environment["SUPABASE_S3_ENDPOINT"],
        "https://state.example.test/storage/v1/s3"
    );
    assert_eq!(td.environment["SUPABASE_S3_REGION"], "eu-central-1");
    assert_eq!(td.environment["SUPABASE_S3_BUCKET"], "tf-state-e2e");
    for var in ["SUPABASE_STORAGE_KEY_ID", "SUPABASE_STORAGE_SECRET_KEY"] {
        assert!(!td.environment.contains_key(var), "{var} is plain env");
    }
    assert!(
        !td.environment
            .values()
            .any(|v| v.contains(STATE_KEY_ID) || v.contains(STATE_SECRET_KEY)),
        "a state backend key is in the task definition's environment"
    );
    let key_id_arn = fleet
        .secret_arn(&names.state_key_id_secret)
        .await
        .unwrap()
        .expect("the key id secret");
    let secret_key_arn = fleet
        .secret_arn(&names.state_secret_key_secret)
        .await
        .unwrap()
        .expect("the secret key secret");
    assert_eq!(td.secrets["SUPABASE_STORAGE_KEY_ID"], key_id_arn);
    assert_eq!(td.secrets["SUPABASE_STORAGE_SECRET_KEY"], secret_key_arn);
    assert_eq!(secret_value(&moto, &key_id_arn).await, STATE_KEY_ID);
    assert_eq!(secret_value(&moto, &secret_key_arn).await, STATE_SECRET_KEY);
    let handed = result["state_backend_secret_arns"].to_string();
    assert!(
        handed.contains(&key_id_arn) && handed.contains(&secret_key_arn),
        "{result}"
    );

    // Idempotent: a re-run keeps the task definition (same secret ARNs).
    let (again, again_result) = run_ok(&admin, JobType::DeployWorker, payload).await;
    assert_eq!(again_result["task_definition_arn"], json!(td.arn));

    let (destroy, destroy_result) =
        run_ok(&admin, JobType::DestroyWorker, destroy_payload(WITH_STATE)).await;
    let removed = destroy_result["removed"].to_string();
    for secret in [&names.state_key_id_secret, &names.state_secret_key_secret] {
        assert!(removed.contains(secret.as_str()), "{removed}");
        assert!(
            fleet.secret_arn(secret).await.unwrap().is_none(),
            "{secret} is left behind"
        );
    }

    assert_not_stored(
        &user,
        &[&deploy, &again, &destroy],
        &[
            (STATE_KEY_ID, "a state backend key"),
            (STATE_SECRET_KEY, "a state backend key"),
        ],
    )
    .await;
}
