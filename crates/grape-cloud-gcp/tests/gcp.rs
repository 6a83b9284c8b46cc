//! grape-cloud-gcp against grape-testkit's strict fake of Google's STS, IAM Credentials,
//! Compute and Cloud DNS (the documented wire formats; no emulator of them exists).

use std::os::unix::fs::PermissionsExt as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use grape_api::{
    CloudConnector, CloudFailureKind, IdentitySettings, RenewalPolicy, Secret, SessionEvents,
};
use grape_cloud_gcp::{AwsKeySource, AwsKeys, GcpConnector, GcpEndpoints, SubjectSource};
use grape_testkit::{ExpectedSubject, FakeGcp, FakeGcpConfig};
use serde_json::json;

#[derive(Debug)]
struct StaticKeys;

#[async_trait]
impl AwsKeySource for StaticKeys {
    async fn keys(&self) -> Result<AwsKeys, String> {
        Ok(AwsKeys {
            access_key_id: "ASIAWORKER".into(),
            secret_access_key: Secret::new("worker/secret/key"),
            session_token: Some(Secret::new("worker-session-token")),
        })
    }
    fn region(&self) -> String {
        "eu-west-1".into()
    }
}

fn endpoints(fake: &FakeGcp) -> GcpEndpoints {
    GcpEndpoints {
        sts: fake.sts_url(),
        iam_credentials: fake.url().to_owned(),
        compute: fake.url().to_owned(),
        dns: fake.url().to_owned(),
    }
}

fn identity(fake_config: &FakeGcpConfig, service_account: Option<&str>) -> IdentitySettings {
    let mut settings = json!({
        "project_id": fake_config.project,
        "project_number": "123456789012",
        "audience": fake_config.audience,
    });
    if let Some(sa) = service_account {
        settings["service_account"] = json!(sa);
    }
    IdentitySettings::parse(&grape_api::CloudProvider::Gcp, &settings).expect("valid settings")
}

/// Every secret the session reported, and each renewal.
#[derive(Default, Clone)]
struct Seen {
    secrets: Arc<Mutex<Vec<String>>>,
    renewals: Arc<Mutex<usize>>,
}

impl Seen {
    fn events(&self) -> SessionEvents {
        let (secrets, renewals) = (self.secrets.clone(), self.renewals.clone());
        SessionEvents::new(
            move |s| secrets.lock().unwrap().push(s.to_owned()),
            move |_| *renewals.lock().unwrap() += 1,
        )
    }
}

#[tokio::test]
async fn an_aws_signed_subject_is_exchanged_impersonated_and_discovers_every_page() {
    let config = FakeGcpConfig::default();
    let fake = FakeGcp::start(config.clone());
    let sa = config.service_accounts[0].clone();
    let connector = GcpConnector::new(
        endpoints(&fake),
        SubjectSource::Aws(Arc::new(StaticKeys)),
        RenewalPolicy::default(),
    )
    .page_size(2);
    let seen = Seen::default();
    let session = connector
        .open(&identity(&config, Some(&sa)), seen.events())
        .await
        .expect("session");

    // Tools get the impersonated token, the project and gcloud's 0600 token file.
    let workspace = tempfile::tempdir().unwrap();
    let env = session.tool_env(workspace.path());
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let token = var("GOOGLE_OAUTH_ACCESS_TOKEN").expect("token");
    assert!(
        token.starts_with("ya29.sa-"),
        "the impersonated token: {token}"
    );
    assert_eq!(var("GOOGLE_PROJECT").as_deref(), Some("acme-prod"));
    assert_eq!(var("CLOUDSDK_CORE_PROJECT").as_deref(), Some("acme-prod"));
    // GKE takes the same access token as its bearer token.
    let gke = session.cluster_token("acme-gke").await.expect("GKE token");
    assert_eq!(gke.token.expose(), token);
    assert!(gke.expires_at > chrono::Utc::now());
    let file = var("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE").expect("token file");
    assert!(
        file.starts_with(workspace.path().to_str().unwrap()),
        "{file}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), token);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        seen.secrets.lock().unwrap().contains(&token),
        "the minted token was reported for redaction before use"
    );

    // Verify = a fresh exchange + impersonation.
    let exchanges = fake.exchanges();
    let who = session.verify().await.expect("verified");
    assert_eq!(who.principal, sa);
    assert_eq!(who.account, "acme-prod");
    assert_eq!(fake.exchanges(), exchanges + 1);

    // Discovery: every page of every list (2 items a page).
    let doc = session.discover().await;
    assert_eq!(doc.errors, [], "{:?}", doc.errors);
    assert_eq!(doc.provider, grape_api::CloudProvider::Gcp);
    assert_eq!(doc.account.as_deref(), Some("acme-prod"));
    assert_eq!(doc.networks.len(), config.networks + 1);
    assert!(
        doc.networks
            .iter()
            .any(|n| n.id == "default" && n.is_default)
    );
    assert_eq!(doc.subnets.len(), config.networks + 1);
    assert!(doc.subnets.iter().all(|s| s.region.is_some() && !s.public));
    assert!(
        doc.subnets
            .iter()
            .any(|s| s.network_id.as_deref() == Some("net-1"))
    );
    assert_eq!(doc.regions, ["europe-west1", "us-central1"]);
    assert_eq!(doc.dns_zones.len(), config.zones);
    assert!(doc.dns_zones.iter().any(|z| z.private));
    let pages = |path: &str| fake.requests().iter().filter(|r| r.contains(path)).count();
    assert!(pages("/global/networks?") >= 3, "{:#?}", fake.requests());
    assert!(pages("/aggregated/subnetworks?") >= 3);
    assert!(pages("/managedZones?") >= 3);
}

#[tokio::test]
async fn a_wrong_audience_and_a_refused_impersonation_say_what_to_fix() {
    let config = FakeGcpConfig::default();
    let fake = FakeGcp::start(config.clone());
    let connector = GcpConnector::new(
        endpoints(&fake),
        SubjectSource::Aws(Arc::new(StaticKeys)),
        RenewalPolicy::default(),
    );
    let mut wrong = config.clone();
    wrong.audience = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/other/providers/aws".into();
    let err = connector
        .open(&identity(&wrong, None), SessionEvents::ignored())
        .await
        .expect_err("unknown pool");
    assert_eq!(err.kind, CloudFailureKind::Settings, "{err}");
    assert_eq!(err.code, "STS_INVALID_TARGET");
    assert!(err.message.contains("pool or provider"), "{err}");

    let err = connector
        .open(
            &identity(&config, Some(&config.denied_service_accounts[0])),
            SessionEvents::ignored(),
        )
        .await
        .expect_err("impersonation refused");
    assert_eq!(err.kind, CloudFailureKind::Denied, "{err}");
    assert!(
        err.message.contains("roles/iam.workloadIdentityUser"),
        "{err}"
    );

    let err = connector
        .open(
            &identity(&config, Some("ghost@acme-prod.iam.gserviceaccount.com")),
            SessionEvents::ignored(),
        )
        .await
        .expect_err("no such account");
    assert_eq!(err.kind, CloudFailureKind::Settings, "{err}");
    for token in fake.issued_tokens() {
        assert!(!err.message.contains(&token));
    }
}

#[tokio::test]
async fn a_file_subject_token_and_renewal_before_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("oidc");
    std::fs::write(&token_file, "eyJ.worker-oidc.sig\n").unwrap();
    let config = FakeGcpConfig {
        subject: ExpectedSubject::Jwt("eyJ.worker-oidc.sig".into()),
        token_lifetime: 1,
        ..FakeGcpConfig::default()
    };
    let fake = FakeGcp::start(config.clone());
    let renewal = RenewalPolicy {
        margin: Duration::from_secs(600),
        min_interval: Duration::from_millis(50),
        retry_delay: Duration::from_millis(50),
    };
    let connector = GcpConnector::new(endpoints(&fake), SubjectSource::File(token_file), renewal);
    let mut settings = json!({
        "project_id": config.project, "project_number": "123456789012",
        "audience": config.audience, "subject_token_source": "file",
    });
    let parsed = IdentitySettings::parse(&grape_api::CloudProvider::Gcp, &settings).unwrap();
    let seen = Seen::default();
    let session = connector
        .open(&parsed, seen.events())
        .await
        .expect("session");
    let workspace = tempfile::tempdir().unwrap();
    let first = session.tool_env(workspace.path());
    let file = workspace.path().join(".vintner/gcp-access-token");
    let before = std::fs::read_to_string(&file).unwrap();
    for _ in 0..200 {
        if session.renewals() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(session.renewals() >= 2, "renewed before expiry");
    assert!(*seen.renewals.lock().unwrap() >= 2);
    let after = std::fs::read_to_string(&file).unwrap();
    assert_ne!(before, after, "gcloud's token file follows the renewals");
    assert_ne!(first, session.tool_env(workspace.path()));
    assert!(seen.secrets.lock().unwrap().contains(&after));

    // An identity asking for the AWS source on a worker configured with a file is refused.
    settings["subject_token_source"] = json!("aws");
    let aws = IdentitySettings::parse(&grape_api::CloudProvider::Gcp, &settings).unwrap();
    let err = connector
        .open(&aws, SessionEvents::ignored())
        .await
        .expect_err("source mismatch");
    assert_eq!(err.kind, CloudFailureKind::Unsupported);
}
