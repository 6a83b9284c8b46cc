//! The ECS worker fleet on moto: a deploy is idempotent and keeps the token out of the task
//! definition, an update registers a new revision and forces a new deployment, a teardown
//! leaves nothing and can run again.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_ecs::types::TaskDefinitionStatus;
use grape_cloud_aws::AwsErrorKind;
use grape_cloud_aws::SecretString;
use grape_fleet_aws::{
    ServiceNetwork, TaskDefinition, TaskSpec, TeardownOptions, WorkerFleet, WorkerNames,
    WorkerService,
};
use grape_testkit::Moto;

use crate::support::{admin_config, base, moto, percent_decode};

const REGION: &str = "eu-west-1";
const CLUSTER: &str = "fleet-tests";
const TOKEN: &str = "tendril-token-which-must-never-show-0123456789";
/// The roles the deployed worker may assume (the worker configuration's patterns).
const ASSUMABLE: [&str; 2] = [
    "arn:aws:iam::*:role/vintner-*",
    "arn:aws:iam::210987654321:role/deploy/platform",
];

/// What one deploy gave.
struct Deployed {
    task_definition: TaskDefinition,
    service: WorkerService,
    security_group: String,
    secret_arn: String,
    execution_role_arn: String,
}

/// The default VPC of the region and its subnets.
async fn default_network(config: &SdkConfig) -> (String, Vec<String>) {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let vpcs = ec2.describe_vpcs().send().await.expect("describe vpcs");
    let vpc = vpcs
        .vpcs()
        .iter()
        .find(|v| v.is_default() == Some(true))
        .and_then(|v| v.vpc_id())
        .expect("default vpc")
        .to_owned();
    let subnets = ec2
        .describe_subnets()
        .send()
        .await
        .expect("describe subnets");
    let subnets = subnets
        .subnets()
        .iter()
        .filter(|s| s.vpc_id() == Some(vpc.as_str()))
        .filter_map(|s| s.subnet_id().map(str::to_owned))
        .take(2)
        .collect();
    (vpc, subnets)
}

/// Every step of a DEPLOY_WORKER, as the handler runs them.
async fn deploy(
    fleet: &WorkerFleet,
    names: &WorkerNames,
    config: &SdkConfig,
    image: &str,
) -> Deployed {
    let (vpc, subnets) = default_network(config).await;
    let log_group_arn = fleet.ensure_log_group(names).await.expect("log group");
    let roles = fleet
        .ensure_roles(names, &log_group_arn, &ASSUMABLE.map(str::to_owned))
        .await
        .expect("roles");
    let security_group = fleet
        .ensure_security_group(names, &vpc)
        .await
        .expect("security group");
    fleet.ensure_cluster(CLUSTER).await.expect("cluster");
    let secret = match fleet.find_token_secret(names).await.expect("find secret") {
        Some(secret) => secret,
        None => fleet
            .store_token_secret(names, "worker-1", &SecretString::new(TOKEN))
            .await
            .expect("store secret"),
    };
    fleet
        .allow_secret_read(names, std::slice::from_ref(&secret.arn))
        .await
        .expect("secret policy");
    let spec = TaskSpec {
        image: image.to_owned(),
        cpu: "512".into(),
        memory: "1024".into(),
        environment: BTreeMap::from([
            (
                "TRELLIS_URL".to_owned(),
                "https://trellis.example".to_owned(),
            ),
            ("GRAPE_WORKER_ID".to_owned(), "worker-1".to_owned()),
            ("GRAPE_WORKER_MODE".to_owned(), "cloud-hosted".to_owned()),
        ]),
        secrets: BTreeMap::from([("GRAPE_WORKER_TOKEN".to_owned(), secret.arn.clone())]),
        roles: roles.clone(),
    };
    let task_definition = fleet
        .register_task_definition(names, &spec)
        .await
        .expect("task definition");
    let network = ServiceNetwork {
        subnets,
        security_groups: vec![security_group.clone()],
        assign_public_ip: true,
    };
    let service = fleet
        .ensure_service(names, CLUSTER, &task_definition.arn, &network, "worker-1")
        .await
        .expect("service");
    Deployed {
        task_definition,
        service,
        security_group,
        secret_arn: secret.arn,
        execution_role_arn: roles.execution_role_arn,
    }
}

async fn setup() -> (Moto, WorkerFleet, SdkConfig) {
    let moto = moto().await;
    let fleet = WorkerFleet::new(&base(&moto), REGION).await;
    let config = admin_config(&moto, REGION).await;
    (moto, fleet, config)
}

#[tokio::test]
async fn a_deploy_runs_again_without_changes_and_keeps_the_token_in_secrets_manager() {
    let (_moto, fleet, config) = setup().await;
    let names = WorkerNames::new("fleet-a").unwrap();
    let first = deploy(&fleet, &names, &config, "tendril:1").await;

    let td = &first.task_definition;
    assert_eq!(td.family, "vintner-tendril-fleet-a");
    assert_eq!(td.revision, 1);
    assert_eq!(td.image, "tendril:1");
    assert_eq!(td.secrets["GRAPE_WORKER_TOKEN"], first.secret_arn);
    assert!(!td.environment.contains_key("GRAPE_WORKER_TOKEN"));
    assert_eq!(td.environment["GRAPE_WORKER_MODE"], "cloud-hosted");
    assert_eq!(first.service.status.as_deref(), Some("ACTIVE"));
    assert_eq!(first.service.desired_count, 1);
    assert_eq!(
        first.service.task_definition.as_deref(),
        Some(td.arn.as_str())
    );
    assert_eq!(first.service.worker_id.as_deref(), Some("worker-1"));

    // The raw task definition, as ECS has it: the token is nowhere in it.
    let ecs = aws_sdk_ecs::Client::new(&config);
    let raw = ecs
        .describe_task_definition()
        .task_definition(&td.arn)
        .send()
        .await
        .expect("describe task definition");
    let raw = format!("{raw:?}");
    assert!(!raw.contains(TOKEN), "the token is in the task definition");
    assert!(raw.contains(&first.secret_arn));
    // The secret holds the token, tagged with the worker id.
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    let value = sm
        .get_secret_value()
        .secret_id(&first.secret_arn)
        .send()
        .await
        .expect("get secret");
    assert_eq!(value.secret_string(), Some(TOKEN));
    let found = fleet.find_token_secret(&names).await.unwrap().unwrap();
    assert_eq!(found.worker_id.as_deref(), Some("worker-1"));
    // The execution role may read exactly that secret.
    let iam = aws_sdk_iam::Client::new(&config);
    let policy = iam
        .get_role_policy()
        .role_name(&names.execution_role)
        .policy_name("vintner-tendril-token")
        .send()
        .await
        .expect("token policy");
    let document = percent_decode(policy.policy_document());
    assert!(document.contains(&first.secret_arn), "{document}");
    // The task role may assume only the configured roles, and only with an external id.
    let task = iam
        .get_role_policy()
        .role_name(&names.task_role)
        .policy_name("vintner-tendril-assume")
        .send()
        .await
        .expect("task role policy");
    let task: serde_json::Value =
        serde_json::from_str(&percent_decode(task.policy_document())).expect("a JSON policy");
    assert_eq!(
        task["Statement"],
        serde_json::json!([{
            "Sid": "AssumeCustomerRolesWithAnExternalId",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": ASSUMABLE,
            "Condition": { "Null": { "sts:ExternalId": "false" } }
        }]),
        "{task}"
    );

    // Again: the same resources, no new revision, no new service.
    let second = deploy(&fleet, &names, &config, "tendril:1").await;
    assert_eq!(second.task_definition.arn, td.arn);
    assert_eq!(second.service.service_arn, first.service.service_arn);
    assert_eq!(second.security_group, first.security_group);
    assert_eq!(second.secret_arn, first.secret_arn);
    assert_eq!(second.execution_role_arn, first.execution_role_arn);
    let revisions = ecs
        .list_task_definitions()
        .family_prefix(&names.family)
        .send()
        .await
        .expect("list task definitions");
    assert_eq!(revisions.task_definition_arns().len(), 1);
    let groups = aws_sdk_ec2::Client::new(&config)
        .describe_security_groups()
        .send()
        .await
        .expect("describe security groups");
    let ours: Vec<_> = groups
        .security_groups()
        .iter()
        .filter(|g| g.group_name() == Some(names.security_group.as_str()))
        .collect();
    assert_eq!(ours.len(), 1);
    assert!(ours[0].ip_permissions().is_empty(), "no inbound rule");

    // A changed network updates the service in place.
    let one_subnet = ServiceNetwork {
        subnets: second.service.subnets[..1].to_vec(),
        security_groups: vec![second.security_group.clone()],
        assign_public_ip: true,
    };
    assert_eq!(second.service.subnets.len(), 2);
    let moved = fleet
        .ensure_service(&names, CLUSTER, &td.arn, &one_subnet, "worker-1")
        .await
        .expect("service update");
    assert_eq!(moved.service_arn, first.service.service_arn);
    assert_eq!(moved.subnets, one_subnet.subnets);

    // A token secret scheduled for deletion (by hand) is restored, with its registration.
    sm.delete_secret()
        .secret_id(&first.secret_arn)
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("schedule the secret's deletion");
    let restored = fleet
        .find_token_secret(&names)
        .await
        .unwrap()
        .expect("restored");
    assert_eq!(restored.worker_id.as_deref(), Some("worker-1"));
    let described = sm
        .describe_secret()
        .secret_id(&first.secret_arn)
        .send()
        .await
        .expect("describe secret");
    assert!(described.deleted_date().is_none(), "{described:?}");

    let described = fleet.describe(&names, CLUSTER).await.expect("describe");
    assert_eq!(described.worker_id.as_deref(), Some("worker-1"));
    assert_eq!(
        described.task_definition.map(|t| t.arn),
        Some(td.arn.clone())
    );
}

#[tokio::test]
async fn an_update_registers_a_new_revision_and_forces_a_new_deployment() {
    let (_moto, fleet, config) = setup().await;
    let names = WorkerNames::new("fleet-b").unwrap();
    let deployed = deploy(&fleet, &names, &config, "tendril:1").await;
    let before = deployed
        .service
        .primary()
        .expect("primary deployment")
        .id
        .clone();

    let update = fleet
        .update_image(&names, CLUSTER, "tendril:2")
        .await
        .expect("update");
    assert_eq!(
        update.previous_task_definition,
        deployed.task_definition.arn
    );
    assert_eq!(update.task_definition.revision, 2);
    assert_eq!(update.task_definition.image, "tendril:2");
    assert_eq!(
        update.task_definition.secrets, deployed.task_definition.secrets,
        "the token reference is kept"
    );
    assert_eq!(
        update.task_definition.environment,
        deployed.task_definition.environment
    );
    // moto keeps the deployment's own task definition as it was (a moto gap): the service's
    // task definition and the new deployment id are what it reports.
    let primary = update.service.primary().expect("primary deployment");
    assert_ne!(primary.id, before, "a new deployment");
    assert_eq!(
        update.service.task_definition.as_deref(),
        Some(update.task_definition.arn.as_str())
    );
    let service = fleet
        .service(&names, CLUSTER)
        .await
        .unwrap()
        .expect("service");
    assert_eq!(
        service.task_definition.as_deref(),
        Some(update.task_definition.arn.as_str())
    );

    // The same image again: no new revision, still a new deployment (a moved tag is pulled).
    let again = fleet
        .update_image(&names, CLUSTER, "tendril:2")
        .await
        .expect("update again");
    assert_eq!(again.task_definition.arn, update.task_definition.arn);
    assert_ne!(again.service.primary().unwrap().id, primary.id);

    let missing = WorkerNames::new("never-deployed").unwrap();
    let err = fleet
        .update_image(&missing, CLUSTER, "tendril:2")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), AwsErrorKind::InvalidSettings);
    assert!(err.to_string().contains("deploy it first"), "{err}");
}

#[tokio::test]
async fn a_teardown_leaves_nothing_and_runs_again() {
    let (_moto, fleet, config) = setup().await;
    let names = WorkerNames::new("fleet-c").unwrap();
    let deployed = deploy(&fleet, &names, &config, "tendril:1").await;
    // The state backend keys a worker may be handed: written twice (same ARN, new value).
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    for secret in [&names.state_key_id_secret, &names.state_secret_key_secret] {
        let first = fleet
            .store_secret(&names, secret, "state key", &SecretString::new("v1"), &[])
            .await
            .expect("store the state secret");
        let second = fleet
            .store_secret(&names, secret, "state key", &SecretString::new("v2"), &[])
            .await
            .expect("store the state secret again");
        assert_eq!(first, second);
        assert_eq!(
            fleet.secret_arn(secret).await.unwrap().as_deref(),
            Some(first.as_str())
        );
        let value = sm
            .get_secret_value()
            .secret_id(&first)
            .send()
            .await
            .expect("get the state secret");
        assert_eq!(value.secret_string(), Some("v2"));
    }
    fleet
        .update_image(&names, CLUSTER, "tendril:2")
        .await
        .expect("update");
    let options = TeardownOptions {
        wait: Duration::from_secs(30),
        poll: Duration::from_millis(200),
        delete_empty_cluster: true,
    };
    let steps = std::sync::Mutex::new(Vec::<String>::new());
    let progress = |s: &str| steps.lock().unwrap().push(s.to_owned());
    let report = fleet
        .teardown(&names, CLUSTER, options, &progress)
        .await
        .expect("teardown");
    assert!(report.absent.is_empty(), "{report:#?}");
    assert!(report.kept.is_empty(), "{report:#?}");
    assert!(!steps.lock().unwrap().is_empty());
    assert_gone(&config, &names, &deployed).await;
    for secret in [&names.state_key_id_secret, &names.state_secret_key_secret] {
        assert!(
            report.removed.contains(&format!("secret {secret}")),
            "{report:#?}"
        );
        assert_eq!(fleet.secret_arn(secret).await.unwrap(), None);
    }

    let again = fleet
        .teardown(&names, CLUSTER, options, &progress)
        .await
        .expect("second teardown");
    assert!(again.removed.is_empty(), "{again:#?}");
    assert!(!again.absent.is_empty());
}

#[tokio::test]
async fn a_teardown_keeps_a_cluster_other_workers_use() {
    let (_moto, fleet, config) = setup().await;
    let a = WorkerNames::new("fleet-d").unwrap();
    let b = WorkerNames::new("fleet-e").unwrap();
    deploy(&fleet, &a, &config, "tendril:1").await;
    let kept = deploy(&fleet, &b, &config, "tendril:1").await;
    let options = TeardownOptions {
        wait: Duration::from_secs(30),
        poll: Duration::from_millis(200),
        delete_empty_cluster: true,
    };
    let report = fleet
        .teardown(&a, CLUSTER, options, &|_: &str| {})
        .await
        .expect("teardown");
    assert!(
        report.kept.iter().any(|k| k.contains(CLUSTER)),
        "{report:#?}"
    );
    let service = fleet
        .service(&b, CLUSTER)
        .await
        .unwrap()
        .expect("b's service");
    assert_eq!(service.status.as_deref(), Some("ACTIVE"));
    assert_eq!(
        service.task_definition.as_deref(),
        Some(kept.task_definition.arn.as_str())
    );
}

/// Nothing of the worker is left: service, task definitions, secret, roles, security group,
/// log group and the (empty) cluster.
async fn assert_gone(config: &SdkConfig, names: &WorkerNames, deployed: &Deployed) {
    let ecs = aws_sdk_ecs::Client::new(config);
    match ecs
        .describe_services()
        .cluster(CLUSTER)
        .services(&names.service)
        .send()
        .await
    {
        Ok(out) => assert!(
            out.services()
                .iter()
                .all(|s| s.status() == Some("INACTIVE")),
            "the service is still there: {out:?}"
        ),
        Err(e) => assert!(format!("{e:?}").contains("ClusterNotFound"), "{e:?}"),
    }
    for status in [TaskDefinitionStatus::Active, TaskDefinitionStatus::Inactive] {
        let left = ecs
            .list_task_definitions()
            .family_prefix(&names.family)
            .status(status.clone())
            .send()
            .await
            .expect("list task definitions");
        assert!(
            left.task_definition_arns().is_empty(),
            "{status:?} task definitions left: {:?}",
            left.task_definition_arns()
        );
    }
    let clusters = ecs
        .describe_clusters()
        .clusters(CLUSTER)
        .send()
        .await
        .expect("describe clusters");
    assert!(
        clusters
            .clusters()
            .iter()
            .all(|c| c.status() != Some("ACTIVE")),
        "{clusters:?}"
    );

    let sm = aws_sdk_secretsmanager::Client::new(config);
    assert!(
        sm.describe_secret()
            .secret_id(&deployed.secret_arn)
            .send()
            .await
            .is_err(),
        "the token secret is still there"
    );
    let iam = aws_sdk_iam::Client::new(config);
    for role in [&names.execution_role, &names.task_role] {
        assert!(
            iam.get_role().role_name(role).send().await.is_err(),
            "the role {role} is still there"
        );
    }
    let groups = aws_sdk_ec2::Client::new(config)
        .describe_security_groups()
        .send()
        .await
        .expect("describe security groups");
    assert!(
        groups
            .security_groups()
            .iter()
            .all(|g| g.group_id() != Some(deployed.security_group.as_str())),
        "the security group is still there"
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(config)
        .describe_log_groups()
        .log_group_name_prefix(&names.log_group)
        .send()
        .await
        .expect("describe log groups");
    assert!(logs.log_groups().is_empty(), "the log group is still there");
}
