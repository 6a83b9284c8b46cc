//! grape-cloud-azure against grape-testkit's strict fake of Entra ID and Resource Manager (the
//! documented wire formats; no emulator of them exists).

use std::os::unix::fs::PermissionsExt as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use grape_api::{
    CloudConnector, CloudFailure, CloudFailureKind, CloudProvider, IdentitySettings, RenewalPolicy,
    Secret, SessionEvents,
};
use grape_cloud_azure::{AssertionSource, AzureConnector, AzureEndpoints, ClientAssertion};
use grape_testkit::{FakeAzure, FakeAzureConfig};
use serde_json::json;

fn endpoints(fake: &FakeAzure) -> AzureEndpoints {
    AzureEndpoints {
        authority_host: fake.url().to_owned(),
        arm: fake.url().to_owned(),
    }
}

fn identity(config: &FakeAzureConfig, source: &str) -> IdentitySettings {
    IdentitySettings::parse(
        &CloudProvider::Azure,
        &json!({"tenant_id": config.tenant, "client_id": config.client,
                "subscription_id": config.subscription, "assertion_source": source}),
    )
    .expect("valid settings")
}

fn token_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("azure-token");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[tokio::test]
async fn a_federated_file_token_gives_arm_a_checked_subscription_and_every_page() {
    let config = FakeAzureConfig::default();
    let fake = FakeAzure::start(config.clone());
    let (_dir, file) = token_file(&format!("{}\n", config.assertion));
    let connector = AzureConnector::new(
        endpoints(&fake),
        AssertionSource::File(file),
        RenewalPolicy::default(),
    );
    let secrets = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = secrets.clone();
    let events = SessionEvents::new(move |s| sink.lock().unwrap().push(s.to_owned()), |_| {});
    let session = connector
        .open(&identity(&config, "file"), events)
        .await
        .expect("session");

    let workspace = tempfile::tempdir().unwrap();
    let env = session.tool_env(workspace.path());
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(
        var("AZURE_TENANT_ID").as_deref(),
        Some(config.tenant.as_str())
    );
    assert_eq!(
        var("ARM_SUBSCRIPTION_ID").as_deref(),
        Some(config.subscription.as_str())
    );
    assert_eq!(var("ARM_USE_OIDC").as_deref(), Some("true"));
    let file = var("AZURE_FEDERATED_TOKEN_FILE").expect("assertion file");
    assert_eq!(
        var("ARM_OIDC_TOKEN_FILE_PATH").as_deref(),
        Some(file.as_str())
    );
    assert!(file.starts_with(workspace.path().to_str().unwrap()));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), config.assertion);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // AKS (Entra ID integration) takes a token of the AKS server application's scope.
    let aks = session.cluster_token("acme-aks").await.expect("AKS token");
    assert!(
        aks.token.expose().starts_with("eyJ.aks-"),
        "{:?}",
        aks.token
    );
    assert!(aks.expires_at > chrono::Utc::now());
    let reported = secrets.lock().unwrap().clone();
    assert!(reported.contains(&config.assertion));
    assert!(fake.issued_tokens().iter().all(|t| reported.contains(t)));

    let who = session.verify().await.expect("verified");
    assert_eq!(who.account, config.subscription);
    assert_eq!(who.details["subscription_name"], "Acme Production");

    let doc = session.discover().await;
    assert_eq!(doc.errors, [], "{:?}", doc.errors);
    assert_eq!(doc.provider, CloudProvider::Azure);
    assert_eq!(doc.networks.len(), config.vnets);
    assert_eq!(doc.subnets.len(), config.vnets * 2);
    assert!(
        doc.subnets
            .iter()
            .all(|s| s.cidr.is_some() && s.network_id.is_some())
    );
    assert_eq!(doc.regions, ["northeurope", "westeurope"]);
    assert_eq!(doc.dns_zones.len(), config.zones + 1);
    assert!(
        doc.dns_zones
            .iter()
            .any(|z| z.private && z.name == "internal.example.")
    );
    let pages = fake
        .requests()
        .iter()
        .filter(|r| r.contains("/virtualNetworks?"))
        .count();
    assert!(pages >= 3, "{:#?}", fake.requests());
}

#[tokio::test]
async fn aadsts_errors_no_role_and_a_foreign_next_link_are_told_apart() {
    let config = FakeAzureConfig {
        reader: false,
        ..FakeAzureConfig::default()
    };
    let fake = FakeAzure::start(config.clone());
    let (_dir, wrong) = token_file("eyJ.someone-else.sig");
    let connector = AzureConnector::new(
        endpoints(&fake),
        AssertionSource::File(wrong),
        RenewalPolicy::default(),
    );
    let err = connector
        .open(&identity(&config, "file"), SessionEvents::ignored())
        .await
        .expect_err("subject mismatch");
    assert_eq!(err.kind, CloudFailureKind::Denied, "{err}");
    assert_eq!(err.code, "AADSTS70021");
    assert!(err.message.contains("federated subject mismatch"), "{err}");

    let (_dir2, good) = token_file(&config.assertion);
    let connector = AzureConnector::new(
        endpoints(&fake),
        AssertionSource::File(good.clone()),
        RenewalPolicy::default(),
    );
    let mut other_client = identity(&config, "file");
    if let IdentitySettings::Azure(a) = &mut other_client {
        a.client_id = "99999999-0000-0000-0000-000000000000".into();
    }
    let err = connector
        .open(&other_client, SessionEvents::ignored())
        .await
        .expect_err("unknown client");
    assert_eq!(err.kind, CloudFailureKind::Settings, "{err}");

    let session = connector
        .open(&identity(&config, "file"), SessionEvents::ignored())
        .await
        .expect("a token even without a role");
    let err = session
        .verify()
        .await
        .expect_err("no role on the subscription");
    assert_eq!(err.kind, CloudFailureKind::Denied, "{err}");
    assert!(err.message.contains("assign it Reader"), "{err}");

    let foreign = FakeAzure::start(FakeAzureConfig {
        foreign_next_link: true,
        ..FakeAzureConfig::default()
    });
    let connector = AzureConnector::new(
        endpoints(&foreign),
        AssertionSource::File(good),
        RenewalPolicy::default(),
    );
    let session = connector
        .open(&identity(&config, "file"), SessionEvents::ignored())
        .await
        .expect("session");
    let doc = session.discover().await;
    let refused = doc
        .errors
        .iter()
        .find(|e| e.kind == "FOREIGN_NEXT_LINK")
        .expect("the foreign nextLink is refused");
    assert!(refused.message.contains("attacker.example"), "{refused:?}");
    assert!(
        foreign.requests().iter().all(|r| !r.contains("attacker")),
        "never followed"
    );
}

#[derive(Debug)]
struct Rotating(Mutex<u32>);

#[async_trait]
impl ClientAssertion for Rotating {
    async fn assertion(&self) -> Result<Secret, CloudFailure> {
        let mut n = self.0.lock().unwrap();
        *n += 1;
        Ok(Secret::new(format!("eyJ.rotating-{n}.sig")))
    }
}

#[tokio::test]
async fn an_external_assertion_is_renewed_and_the_tools_file_follows() {
    let config = FakeAzureConfig {
        token_lifetime: 1,
        ..FakeAzureConfig::default()
    };
    // The fake's app accepts two assertions: the source's first and second (later ones fail
    // and the second stays in use).
    let fake = FakeAzure::start(FakeAzureConfig {
        assertion: "eyJ.rotating-1.sig".into(),
        aws_web_identity_token: "eyJ.rotating-2.sig".into(),
        ..config.clone()
    });
    let renewal = RenewalPolicy {
        margin: Duration::from_secs(600),
        min_interval: Duration::from_millis(50),
        retry_delay: Duration::from_millis(50),
    };
    let connector = AzureConnector::new(
        endpoints(&fake),
        AssertionSource::External(Arc::new(Rotating(Mutex::new(0)))),
        renewal,
    );
    let session = connector
        .open(&identity(&config, "aws"), SessionEvents::ignored())
        .await
        .expect("session");
    let workspace = tempfile::tempdir().unwrap();
    session.tool_env(workspace.path());
    let file = workspace.path().join(".vintner/azure-federated-token");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "eyJ.rotating-1.sig"
    );
    for _ in 0..200 {
        if session.renewals() >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(session.renewals() >= 1, "renewed");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "eyJ.rotating-2.sig",
        "the tools' assertion file follows the renewal"
    );
}
