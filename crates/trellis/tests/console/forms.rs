//! The identity forms (AWS, GCP, Azure), the Jobs page's filters and live list, and the tokens
//! page over plain HTTP (a visitor without JavaScript): what each form stores through the API's
//! handlers, a refused form shown again, 403 without the CSRF token or for a user.

use crate::common::{Visitor, field_value};
use grape_api::{
    CloudProvider, JobList, JobStatus, JobType, Secret, SubmitJobRequest, UserApiClient,
};
use grape_testkit::trellis::TrellisServer;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

const AUDIENCE: &str = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/vintner/providers/aws";
const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const CLIENT: &str = "66666666-7777-8888-9999-000000000000";
const SUBSCRIPTION: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

/// The id at the end of a `/identities/{id}` or `/jobs/{id}` redirect.
fn redirected_id(location: Option<&str>, prefix: &str) -> Uuid {
    let to = location.unwrap_or_default();
    to.strip_prefix(prefix)
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a redirect to {prefix}ID, not {to:?}"))
}

#[tokio::test]
async fn gcp_and_azure_identities_are_added_through_their_forms_and_tested_from_their_page() {
    let server = TrellisServer::start().await.expect("trellis");
    let user = server.user_client();
    let mut v = Visitor::new(server.url());
    assert_eq!(
        v.sign_in(server.api_token().expose()).await.status,
        StatusCode::SEE_OTHER
    );
    let page = v.get("/identities").await;
    assert_eq!(page.status, StatusCode::OK);
    for form in ["id=\"add-aws\"", "id=\"add-gcp\"", "id=\"add-azure\""] {
        assert!(page.body.contains(form), "{form}: {}", page.body);
    }
    let csrf = page.csrf();
    let gcp = [
        ("provider", "gcp"),
        ("name", "acme gcp"),
        ("project_id", "acme-prod"),
        ("project_number", "123456789012"),
        ("audience", AUDIENCE),
        (
            "service_account",
            "vintner@acme-prod.iam.gserviceaccount.com",
        ),
        ("subject_token_source", "aws"),
        ("external_account", ""),
        ("regions", "europe-west1, us-central1"),
    ];

    // Without the CSRF token: 403, nothing stored.
    let a = v.post("/identities", &gcp).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(user.list_identities().await.unwrap().identities.is_empty());

    let mut with_csrf = gcp.to_vec();
    with_csrf.push(("csrf_token", &csrf));
    let a = v.post("/identities", &with_csrf).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let gcp_id = redirected_id(a.location.as_deref(), "/identities/");
    let stored = user.get_identity(gcp_id).await.expect("the GCP identity");
    assert_eq!(stored.provider, CloudProvider::Gcp);
    assert_eq!(
        stored.settings,
        json!({"project_id": "acme-prod", "project_number": "123456789012", "audience": AUDIENCE,
            "service_account": "vintner@acme-prod.iam.gserviceaccount.com", "subject_token_source": "aws",
            "regions": ["europe-west1", "us-central1"]})
    );

    // Refused by Trellis' own validation: the form again, open, with the problem and the values.
    let mut bad = with_csrf.clone();
    bad[2] = ("project_id", "Acme_Prod");
    let a = v.post("/identities", &bad).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("is not a GCP project id"), "{}", a.body);
    assert!(a.body.contains("value=\"Acme_Prod\""), "{}", a.body);
    assert!(
        a.body.contains("<details id=\"add-gcp\" open"),
        "{}",
        a.body
    );
    // A pasted external_account naming a credential source: the worker's, never the identity's.
    let mut pasted = with_csrf.clone();
    pasted[4] = ("audience", "");
    pasted[7] = (
        "external_account",
        r#"{"type": "external_account", "audience": "x", "credential_source": {"file": "/etc/passwd"}}"#,
    );
    let a = v.post("/identities", &pasted).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.body.contains("credential_source is not read"),
        "{}",
        a.body
    );
    let mut not_json = with_csrf.clone();
    not_json[7] = ("external_account", "{oops");
    let a = v.post("/identities", &not_json).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("not JSON"), "{}", a.body);

    let azure = [
        ("provider", "azure"),
        ("name", "acme azure"),
        ("tenant_id", TENANT),
        ("client_id", CLIENT),
        ("subscription_id", SUBSCRIPTION),
        ("assertion_source", "file"),
        ("csrf_token", &csrf),
    ];
    let a = v.post("/identities", &azure).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let azure_id = redirected_id(a.location.as_deref(), "/identities/");
    let stored = user
        .get_identity(azure_id)
        .await
        .expect("the Azure identity");
    assert_eq!(
        stored.settings,
        json!({"tenant_id": TENANT, "client_id": CLIENT, "subscription_id": SUBSCRIPTION, "assertion_source": "file"})
    );
    let mut bad = azure.to_vec();
    bad[2] = ("tenant_id", "contoso");
    let a = v.post("/identities", &bad).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.body.contains("is not a GUID") && a.body.contains("<details id=\"add-azure\" open"),
        "{}",
        a.body
    );
    assert_eq!(user.list_identities().await.unwrap().identities.len(), 2);

    let list = v.get("/identities").await.body;
    for want in [
        "acme gcp",
        "acme azure",
        "acme-prod as vintner@acme-prod.iam.gserviceaccount.com",
        &format!("subscription {SUBSCRIPTION}"),
        ">GCP<",
        ">Azure<",
    ] {
        assert!(list.contains(want), "{want} in {list}");
    }

    // Test and refresh submit CONNECTION_TEST / FETCH_RESOURCES of the identity, then its job.
    for (id, action, job_type) in [
        (gcp_id, "test", JobType::ConnectionTest),
        (azure_id, "refresh", JobType::FetchResources),
    ] {
        let page = v.get(&format!("/identities/{id}")).await;
        assert!(page.body.contains("Test connection") && page.body.contains("Refresh resources"));
        let path = format!("/identities/{id}/{action}");
        assert_eq!(v.post(&path, &[]).await.status, StatusCode::FORBIDDEN);
        let a = v.post(&path, &[("csrf_token", &csrf)]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let job = user
            .get_job(redirected_id(a.location.as_deref(), "/jobs/"))
            .await
            .expect("the job");
        assert_eq!((job.job_type, job.cloud_identity_id), (job_type, Some(id)));
    }
}

async fn queued(user: &UserApiClient, job_type: JobType) -> Uuid {
    user.submit_job(&SubmitJobRequest {
        job_type,
        payload: json!({ "argv": ["true"] }),
        cloud_identity_id: None,
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    })
    .await
    .expect("submit")
    .id
}

#[tokio::test]
async fn the_jobs_page_filters_by_status_and_type_without_javascript_and_its_live_list_alike() {
    let server = TrellisServer::start().await.expect("trellis");
    let user = server.user_client();
    // No worker: jobs stay QUEUED unless cancelled.
    let exec = queued(&user, JobType::Exec).await;
    let plan = queued(&user, JobType::Plan).await;
    let cancelled = queued(&user, JobType::Exec).await;
    user.cancel_job(cancelled).await.expect("cancel");
    let mut v = Visitor::new(server.url());
    assert_eq!(
        v.get("/console/live/jobs").await.status,
        StatusCode::UNAUTHORIZED
    );
    v.sign_in(server.api_token().expose()).await;
    let rows = |html: &str| -> Vec<Uuid> {
        html.split("data-job-id=\"")
            .skip(1)
            .filter_map(|s| s.get(..36)?.parse().ok())
            .collect()
    };
    for (query, want) in [
        ("", vec![cancelled, plan, exec]),
        ("?status=QUEUED&type=PLAN", vec![plan]),
        ("?status=&type=EXEC", vec![cancelled, exec]),
        ("?status=CANCELLED&type=EXEC", vec![cancelled]),
        ("?status=QUEUED&type=", vec![plan, exec]),
        ("?status=SUCCESS&type=EXEC", vec![]),
    ] {
        let page = v.get(&format!("/jobs{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
        assert_eq!(rows(&page.body), want, "/jobs{query}");
        if want.is_empty() {
            assert!(
                page.body.contains("No job matches this filter"),
                "{}",
                page.body
            );
        }
        // The script's list is the API's answer for the same filter.
        let live = v.get(&format!("/console/live/jobs{query}")).await;
        assert_eq!(live.status, StatusCode::OK);
        let list: JobList = serde_json::from_str(&live.body).expect("a job list");
        assert_eq!(
            list.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
            want,
            "live{query}"
        );
    }
    let page = v.get("/jobs?status=QUEUED&type=PLAN").await.body;
    assert!(
        page.contains("<option value=\"QUEUED\" selected>")
            && page.contains("<option value=\"PLAN\" selected>"),
        "the filter shows what it keeps: {page}"
    );
    let a = v.get("/jobs?type=COMPILE").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("unknown job type"), "{}", a.body);
    assert_eq!(user.get_job(exec).await.unwrap().status, JobStatus::Queued);
}

#[tokio::test]
async fn the_tokens_page_is_an_admins_a_new_token_is_shown_once_and_revoking_it_ends_it() {
    let server = TrellisServer::start().await.expect("trellis");
    let admin = server.admin_client();
    let made = admin
        .create_token(&grape_api::CreateTokenRequest {
            team: "blue".into(),
            role: grape_api::TokenRole::User,
            name: Some("bob".into()),
        })
        .await
        .expect("a token");

    // A user: no link, 403 for the page and for every form (the handlers' own policy).
    let mut u = Visitor::new(server.url());
    u.sign_in(server.api_token().expose()).await;
    let jobs = u.get("/jobs").await;
    assert!(!jobs.body.contains("href=\"/tokens\""));
    let csrf = jobs.csrf();
    assert_eq!(u.get("/tokens").await.status, StatusCode::FORBIDDEN);
    let form = [
        ("name", "sneaky"),
        ("team", "default"),
        ("role", "admin"),
        ("csrf_token", csrf.as_str()),
    ];
    let a = u.post("/tokens", &form).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let revoke = format!("/tokens/{}/revoke", made.info.id);
    let a = u.post(&revoke, &[("csrf_token", &csrf)]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.list_tokens().await.unwrap().len(), 1);

    let mut v = Visitor::new(server.url());
    v.sign_in(server.admin_token().expose()).await;
    let page = v.get("/tokens").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("href=\"/tokens\"") && page.body.contains("bob"));
    let csrf = page.csrf();
    let form = [("name", "alice"), ("team", "blue"), ("role", "user")];
    assert_eq!(v.post("/tokens", &form).await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.list_tokens().await.unwrap().len(), 1);
    let mut with_csrf = form.to_vec();
    with_csrf.push(("csrf_token", &csrf));
    let a = v.post("/tokens", &with_csrf).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("shown only once"));
    let token = a
        .body
        .split("id=\"new-token\" readonly value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the token in its answer")
        .to_owned();
    let alice = UserApiClient::with_options(
        server.url(),
        Secret::new(token.clone()),
        TrellisServer::test_options(),
    )
    .unwrap();
    alice
        .list_jobs(None, Some(1))
        .await
        .expect("the new token works");
    let listed = v.get("/tokens").await.body;
    assert!(listed.contains("alice") && !listed.contains(&token));
    let id = admin
        .list_tokens()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name.as_deref() == Some("alice"))
        .expect("alice's token")
        .id;
    // A bad role is the API's 400.
    let mut bad = with_csrf.clone();
    bad[2] = ("role", "owner");
    let a = v.post("/tokens", &bad).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("unknown role"), "{}", a.body);

    let revoke = format!("/tokens/{id}/revoke");
    assert_eq!(v.post(&revoke, &[]).await.status, StatusCode::FORBIDDEN);
    let a = v.post(&revoke, &[("csrf_token", &csrf)]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some("/tokens"));
    let err = alice.list_jobs(None, Some(1)).await.expect_err("revoked");
    assert_eq!(err.status(), Some(401), "{err}");
    let listed = v.get("/tokens").await.body;
    assert!(listed.contains("revoked"), "{listed}");
    assert!(field_value(&listed, "csrf_token").is_some());
}
