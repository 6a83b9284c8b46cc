use serde_json::json;

use super::*;

const ARN: &str = "arn:aws:iam::123456789012:role/vintner";
const GUID: &str = "0b3c5e2a-1f4d-4c6b-9a8e-7d2f1e0c9b8a";
const AUDIENCE: &str = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/vintner/providers/aws";

#[allow(clippy::needless_pass_by_value)] // reads better at the many call sites
fn refused(provider: CloudProvider, settings: serde_json::Value) -> SettingsError {
    IdentitySettings::parse(&provider, &settings).expect_err(&settings.to_string())
}

#[test]
fn aws_settings_with_defaults() {
    let IdentitySettings::Aws(id) = IdentitySettings::parse(
        &CloudProvider::Aws,
        &json!({"role_arn": ARN, "external_id": "ext-1", "region": "eu-west-1"}),
    )
    .expect("valid") else {
        panic!("not aws")
    };
    assert_eq!(id.regions(), ["eu-west-1"]);
    assert_eq!(id.duration(), std::time::Duration::from_secs(3600));
    assert_eq!(id.session_name(), "vintner");
    let id = AwsIdentitySettings::new("arn:aws:iam::123456789012:role/path/to/r");
    assert_eq!(id.regions(), ["us-east-1"]);
    id.validate().expect("valid");
}

#[test]
fn worker_only_fields_name_the_worker_variable() {
    for (field, variable) in [
        ("endpoint_url", "TENDRIL_AWS_ENDPOINT_URL"),
        (
            "web_identity_token_file",
            "TENDRIL_AWS_WEB_IDENTITY_TOKEN_FILE",
        ),
    ] {
        let err = refused(
            CloudProvider::Aws,
            json!({"role_arn": ARN, field: "/proc/self/environ"}),
        );
        assert_eq!(err.field.as_deref(), Some(field));
        assert!(err.message.contains(variable), "{err}");
    }
    let err = refused(
        CloudProvider::Gcp,
        json!({"project_id": "acme-prod", "project_number": "123456789012", "audience": AUDIENCE,
               "token_url": "http://attacker.example/token"}),
    );
    assert!(err.message.contains("TENDRIL_GCP_STS_URL"), "{err}");
    let err = refused(
        CloudProvider::Azure,
        json!({"tenant_id": GUID, "client_id": GUID, "subscription_id": GUID,
               "authority_host": "http://attacker.example"}),
    );
    assert!(
        err.message.contains("TENDRIL_AZURE_AUTHORITY_HOST"),
        "{err}"
    );
}

#[test]
fn unknown_fields_and_bad_values_are_named() {
    let err = refused(CloudProvider::Aws, json!({"role_arn": ARN, "rolearn": "x"}));
    assert_eq!(err.field.as_deref(), Some("rolearn"), "{err}");
    assert!(err.message.contains("unknown field `rolearn`"), "{err}");
    let err = refused(CloudProvider::Aws, json!({}));
    assert_eq!(err.field.as_deref(), Some("role_arn"), "{err}");
    let err = refused(CloudProvider::Aws, json!(["not", "an", "object"]));
    assert_eq!(err.field.as_deref(), Some("settings"));
    for arn in [
        "not-an-arn",
        "arn:aws:iam::12345:role/x",
        "arn:aws:iam::123456789012:user/x",
        "arn:aws:s3:::bucket",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam:eu-west-1:123456789012:role/x",
    ] {
        let err = refused(CloudProvider::Aws, json!({ "role_arn": arn }));
        assert!(err.invalid_role_arn, "{arn}");
        assert!(
            err.message
                .contains("arn:aws:iam::<12-digit account id>:role/<name>"),
            "{err}"
        );
    }
    for (field, value) in [
        ("duration_seconds", json!(60)),
        ("session_name", json!("has space")),
        ("regions", json!(["EU West"])),
        ("external_id", json!("x")),
    ] {
        let err = refused(CloudProvider::Aws, json!({"role_arn": ARN, field: value}));
        assert_eq!(err.field.as_deref(), Some(field), "{err}");
    }
    let err = refused(CloudProvider::Unknown("oci".into()), json!({}));
    assert_eq!(err.field.as_deref(), Some("provider"));
}

#[test]
fn gcp_settings_and_a_pasted_external_account() {
    let plain = json!({"project_id": "acme-prod", "project_number": "123456789012",
                       "audience": AUDIENCE,
                       "service_account": "vintner@acme-prod.iam.gserviceaccount.com"});
    let IdentitySettings::Gcp(id) =
        IdentitySettings::parse(&CloudProvider::Gcp, &plain).expect("valid")
    else {
        panic!("not gcp")
    };
    assert_eq!(
        id.subject_token_type(),
        "urn:ietf:params:aws:token-type:aws4_request"
    );
    // What `gcloud iam workload-identity-pools create-cred-config --aws` prints, without its
    // credential_source (the worker supplies the subject token).
    let pasted = json!({"project_id": "acme-prod", "project_number": "123456789012",
    "external_account": {
        "type": "external_account", "audience": AUDIENCE,
        "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
        "token_url": "https://sts.googleapis.com/v1/token",
        "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/vintner@acme-prod.iam.gserviceaccount.com:generateAccessToken"
    }});
    let IdentitySettings::Gcp(from_paste) =
        IdentitySettings::parse(&CloudProvider::Gcp, &pasted).expect("valid")
    else {
        panic!("not gcp")
    };
    assert_eq!(from_paste.audience, AUDIENCE);
    assert_eq!(from_paste.service_account, id.service_account);

    let mut with_source = pasted.clone();
    with_source["external_account"]["credential_source"] =
        json!({"environment_id": "aws1", "url": "http://169.254.169.254/latest/meta-data"});
    let err = refused(CloudProvider::Gcp, with_source);
    assert_eq!(
        err.field.as_deref(),
        Some("external_account.credential_source")
    );
    let mut other_sts = pasted.clone();
    other_sts["external_account"]["token_url"] = json!("https://attacker.example/token");
    let err = refused(CloudProvider::Gcp, other_sts);
    assert_eq!(err.field.as_deref(), Some("external_account.token_url"));

    let mut wrong_number = plain.clone();
    wrong_number["project_number"] = json!("999");
    assert_eq!(
        refused(CloudProvider::Gcp, wrong_number).field.as_deref(),
        Some("audience")
    );
    let mut file_with_aws_type = plain;
    file_with_aws_type["subject_token_source"] = json!("file");
    file_with_aws_type["subject_token_type"] = json!("urn:ietf:params:aws:token-type:aws4_request");
    assert_eq!(
        refused(CloudProvider::Gcp, file_with_aws_type)
            .field
            .as_deref(),
        Some("subject_token_type")
    );
}

#[test]
fn azure_ids_are_guids() {
    let ok = json!({"tenant_id": GUID, "client_id": GUID, "subscription_id": GUID});
    let parsed = IdentitySettings::parse(&CloudProvider::Azure, &ok).expect("valid");
    assert_eq!(parsed.provider(), CloudProvider::Azure);
    let err = refused(
        CloudProvider::Azure,
        json!({"tenant_id": "contoso", "client_id": GUID, "subscription_id": GUID}),
    );
    assert_eq!(err.field.as_deref(), Some("tenant_id"));
    let err = refused(
        CloudProvider::Azure,
        json!({"tenant_id": GUID, "client_id": GUID, "subscription_id": GUID, "client_secret": "s3cr3t"}),
    );
    assert_eq!(err.field.as_deref(), Some("client_secret"));
    assert!(!err.message.contains("s3cr3t"));
}
