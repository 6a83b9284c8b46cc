//! A deployed worker's task role on moto with IAM enforcement on: with the task role's
//! credentials (as ECS hands them to the task) the worker assumes a customer role matching its
//! patterns and no other, even one whose trust policy would let it in. moto evaluates a policy's
//! `Resource` and `StringEquals`, not `Null`: the external-id condition itself is checked as a
//! document (`fleet.rs`, GetRolePolicy).

use grape_cloud_aws::{AwsErrorKind, AwsIdentity, BaseCredentials, assume};
use grape_fleet_aws::{WorkerFleet, WorkerNames};

use crate::support::{admin_config, base, enable_moto_auth, identity, moto};

const REGION: &str = "eu-west-1";
const EXTERNAL_ID: &str = "ext-vintner-1";

#[tokio::test]
async fn the_task_role_assumes_only_the_roles_of_its_patterns() {
    let moto = moto().await;
    let fleet = WorkerFleet::new(&base(&moto), REGION).await;
    let names = WorkerNames::new("roles-a").unwrap();
    let log_group = fleet.ensure_log_group(&names).await.expect("log group");
    let patterns = ["arn:aws:iam::*:role/vintner-*".to_owned()];
    let roles = fleet
        .ensure_roles(&names, &log_group, &patterns)
        .await
        .expect("roles");

    // Two customer roles whose trust policies let anyone in who knows the external id.
    let iam = aws_sdk_iam::Client::new(&admin_config(&moto, REGION).await);
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"{EXTERNAL_ID}"}}}}}}]}}"#
    );
    for role in ["vintner-customer", "customer-elsewhere"] {
        iam.create_role()
            .role_name(role)
            .assume_role_policy_document(&trust)
            .send()
            .await
            .expect("customer role");
    }

    // The task's credentials, taken while enforcement is still off (ECS would assume it).
    let task = assume(
        &AwsIdentity {
            role_arn: roles.task_role_arn.clone(),
            external_id: None,
            ..identity(&moto, "unused", &[REGION])
        },
        &base(&moto),
    )
    .await
    .expect("the task role's credentials");
    let worker = BaseCredentials::from_static(
        task.access_key_id.clone(),
        task.secret_access_key.expose(),
        task.session_token.as_ref().map(|t| t.expose().to_owned()),
    )
    .with_endpoint_url(moto.endpoint_url());
    enable_moto_auth(&moto).await;

    assume(&identity(&moto, "vintner-customer", &[REGION]), &worker)
        .await
        .expect("a role of the pattern is assumable");
    let err = assume(&identity(&moto, "customer-elsewhere", &[REGION]), &worker)
        .await
        .expect_err("a role outside the patterns was assumed");
    assert_eq!(err.kind(), AwsErrorKind::AccessDenied, "{err}");
}
