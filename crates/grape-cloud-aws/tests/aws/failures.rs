//! Classified failures against real moto: invalid settings, network, and — with moto's IAM
//! enforcement switched on (`/moto-api/reset-auth`) — denied and invalid credentials, and a
//! denied service that lands in the discovery's `errors` without failing the rest.

use aws_sdk_iam::Client as IamClient;
use grape_cloud_aws::{
    AwsError, AwsErrorKind, AwsIdentity, BaseCredentials, DiscoveryOptions, assume, discover,
};

use crate::support::{ACCOUNT, admin_config, base, enable_moto_auth, identity, moto, role_arn};

const REGIONS: &[&str] = &["us-east-1", "eu-west-1"];

fn assert_no_secret(err: &AwsError, secrets: &[&str]) {
    let mut shown = format!("{err} | {err:?}");
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        shown = format!("{shown} | {s} | {s:?}");
        source = s.source();
    }
    for secret in secrets {
        assert!(!shown.contains(secret), "secret in error output: {shown}");
    }
}

#[tokio::test]
async fn invalid_role_arn_is_refused_before_any_call_with_a_fix() {
    let moto = moto().await;
    let identity = AwsIdentity {
        role_arn: "not-an-arn".into(),
        ..identity(&moto, "unused", REGIONS)
    };
    let err = assume(&identity, &base(&moto))
        .await
        .expect_err("invalid role ARN");
    assert_eq!(err.kind(), AwsErrorKind::InvalidRoleArn);
    let failure = err.failure();
    assert_eq!(
        serde_json::to_value(&failure).expect("json")["kind"],
        "INVALID_ROLE_ARN"
    );
    assert!(
        failure.message.contains("\"not-an-arn\""),
        "{}",
        failure.message
    );
    assert!(
        failure
            .message
            .contains("arn:aws:iam::<12-digit account id>:role/<name>"),
        "{}",
        failure.message
    );

    let bad_duration = AwsIdentity {
        duration_seconds: Some(60),
        ..identity.clone()
    };
    let bad_duration = AwsIdentity {
        role_arn: role_arn("r"),
        ..bad_duration
    };
    assert_eq!(
        assume(&bad_duration, &base(&moto))
            .await
            .expect_err("60 s")
            .kind(),
        AwsErrorKind::InvalidSettings
    );
}

#[tokio::test]
async fn unreachable_endpoint_is_a_network_failure() {
    let port = grape_testkit::free_port().expect("free port");
    let endpoint = format!("http://127.0.0.1:{port}");
    let identity = AwsIdentity::new(role_arn("r"));
    let base = BaseCredentials::from_static("AKIAIOSFODNN7EXAMPLE", "secret-value-123", None)
        .with_endpoint_url(&endpoint);
    let err = assume(&identity, &base).await.expect_err("nothing listens");
    assert_eq!(err.kind(), AwsErrorKind::Network, "{err}");
    assert!(
        err.to_string()
            .contains(&format!("cannot reach AWS at {endpoint}")),
        "{err}"
    );
    assert_no_secret(&err, &["secret-value-123"]);
}

/// Creates, with enforcement still off: the role `discoverer` (any AWS principal may assume it;
/// it may do everything but IAM), a user `worker` allowed to assume roles, a user `nobody`
/// without any policy. Returns the access keys of worker and nobody.
async fn iam_fixtures(moto: &grape_testkit::Moto) -> ((String, String), (String, String)) {
    let iam = IamClient::new(&admin_config(moto, "us-east-1").await);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name("discoverer")
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("role");
    let all_but_iam = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*"],"Resource":"*"}]}"#;
    iam.put_role_policy()
        .role_name("discoverer")
        .policy_name("no-iam")
        .policy_document(all_but_iam)
        .send()
        .await
        .expect("role policy");
    let assume_any = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;
    let mut keys = Vec::new();
    for user in ["worker", "nobody"] {
        iam.create_user()
            .user_name(user)
            .send()
            .await
            .expect("user");
        if user == "worker" {
            iam.put_user_policy()
                .user_name(user)
                .policy_name("assume")
                .policy_document(assume_any)
                .send()
                .await
                .expect("policy");
        }
        let key = iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .expect("key");
        let key = key.access_key().expect("access key");
        keys.push((
            key.access_key_id().to_owned(),
            key.secret_access_key().to_owned(),
        ));
    }
    let nobody = keys.pop().expect("nobody");
    let worker = keys.pop().expect("worker");
    (worker, nobody)
}

#[tokio::test]
async fn enforced_policies_give_classified_errors_and_a_denied_service_does_not_fail_discovery() {
    let moto = moto().await;
    let ((worker_id, worker_secret), (nobody_id, nobody_secret)) = iam_fixtures(&moto).await;
    enable_moto_auth(&moto).await;
    let identity = identity(&moto, "discoverer", REGIONS);
    let as_user = |id: &str, secret: &str| {
        BaseCredentials::from_static(id, secret, None).with_endpoint_url(moto.endpoint_url())
    };

    // A principal the role's trust policy (here: the principal's own policy) does not allow.
    let err = assume(&identity, &as_user(&nobody_id, &nobody_secret))
        .await
        .expect_err("nobody may not assume");
    assert_eq!(err.kind(), AwsErrorKind::AccessDenied, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("the trust policy of {} must allow arn:aws:iam::{ACCOUNT}:user/nobody to call sts:AssumeRole with the condition sts:ExternalId = \"ext-vintner-1\"", role_arn("discoverer"))),
        "{text}"
    );
    assert_no_secret(&err, &[&nobody_secret]);

    // Unknown access key; known key with a wrong secret.
    let err = assume(
        &identity,
        &as_user("AKIAUNKNOWNKEY000000", "whatever-secret"),
    )
    .await
    .expect_err("unknown key");
    assert_eq!(err.kind(), AwsErrorKind::InvalidCredentials, "{err}");
    assert!(
        err.to_string()
            .contains("the worker's own AWS credentials were rejected"),
        "{err}"
    );
    let err = assume(
        &identity,
        &as_user(&worker_id, "wrong-secret-value-0123456789"),
    )
    .await
    .expect_err("wrong secret");
    assert_eq!(err.kind(), AwsErrorKind::InvalidCredentials, "{err}");
    assert_no_secret(&err, &["wrong-secret-value-0123456789", &worker_secret]);

    // The worker may assume; the role may do everything but IAM.
    let creds = assume(&identity, &as_user(&worker_id, &worker_secret))
        .await
        .expect("worker assumes");
    let doc = discover(&creds, &DiscoveryOptions::new(REGIONS.iter().copied())).await;
    let iam_error = doc
        .errors
        .iter()
        .find(|e| e.operation == "iam:ListUsers")
        .expect("IAM is denied");
    assert_eq!(iam_error.service, "iam");
    assert_eq!(iam_error.kind, AwsErrorKind::AccessDenied.as_str());
    assert_eq!(iam_error.region, None);
    // The denial names the assumed role: discovery signs with the temporary keys.
    assert!(
        iam_error.message.contains("assumed-role/discoverer/job-42"),
        "{}",
        iam_error.message
    );
    assert!(
        iam_error
            .message
            .contains("grant it in the role's IAM policies"),
        "{}",
        iam_error.message
    );
    assert!(doc.aws.as_ref().expect("AWS extras").iam_users.is_empty());
    // The rest went on: the account and both regions' EC2 resources are there.
    assert_eq!(doc.account.as_deref(), Some(ACCOUNT));
    for region in REGIONS {
        assert!(
            doc.networks
                .iter()
                .any(|v| v.region.as_deref() == Some(*region)),
            "VPCs of {region}"
        );
        assert!(
            doc.subnets
                .iter()
                .any(|s| s.region.as_deref() == Some(*region)),
            "subnets of {region}"
        );
        assert!(
            doc.aws
                .as_ref()
                .is_some_and(|a| a.security_groups.iter().any(|g| g.region == *region)),
            "groups of {region}"
        );
    }
    // moto answers Route 53 with an empty 403 whenever enforcement is on (a moto limitation),
    // so only IAM and Route 53 may have failed.
    for error in &doc.errors {
        assert!(
            ["iam:ListUsers", "route53:ListHostedZones"].contains(&error.operation.as_str()),
            "{error:?}"
        );
    }
    let shown = serde_json::to_string(&doc).expect("json");
    for secret in creds.secrets() {
        assert!(!shown.contains(secret), "secret in the document");
    }
}
