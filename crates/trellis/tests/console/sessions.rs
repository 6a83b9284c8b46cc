//! Sign-in, sessions, CSRF and permissions of the console over plain HTTP (a visitor without
//! JavaScript), on SQLite and PostgreSQL.

use crate::common::Visitor;
use grape_api::{CreateTokenRequest, TokenRole};
use grape_testkit::PgDatabase;
use grape_testkit::trellis::TrellisServer;
use reqwest::StatusCode;

async fn server(postgres: bool) -> (TrellisServer, Option<PgDatabase>) {
    if postgres {
        let pg = PgDatabase::create().await.expect("a PostgreSQL database");
        let s = TrellisServer::builder()
            .database_url(pg.url())
            .start()
            .await
            .expect("trellis");
        (s, Some(pg))
    } else {
        (TrellisServer::start().await.expect("trellis"), None)
    }
}

#[tokio::test]
async fn a_signed_out_visitor_is_sent_to_sign_in() {
    let (server, _pg) = server(false).await;
    let mut v = Visitor::new(server.url());
    for path in ["/", "/tendrils", "/jobs?status=FAILED", "/identities"] {
        let a = v.get(path).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{path}");
        let to = a.location.unwrap_or_default();
        if path == "/" {
            assert_eq!(to, "/tendrils");
        } else {
            assert!(to.starts_with("/sign-in?next=%2F"), "{path} → {to}");
        }
    }
    // The scripts' endpoints answer 401, not a redirect.
    assert_eq!(
        v.get("/console/live/workers").await.status,
        StatusCode::UNAUTHORIZED
    );
    // A POST without a session changes nothing: sent to sign in as well.
    let a = v.post("/tendrils/register", &[("name", "x")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    // Going back after sign-in stays on this site.
    let page = v.get("/sign-in?next=//evil.example/x").await;
    assert!(
        page.body.contains("name=\"next\" value=\"/tendrils\""),
        "{}",
        page.body
    );
}

async fn admin_signs_in_registers_and_removes(postgres: bool) {
    let (server, _pg) = server(postgres).await;
    let mut v = Visitor::new(server.url());
    // The sign-in form needs its CSRF token.
    let page = v.get("/sign-in").await;
    let csrf = page.csrf();
    let a = v
        .post("/sign-in", &[("token", server.admin_token().expose())])
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = v
        .post(
            "/sign-in",
            &[("token", "not-a-token"), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.contains("not valid"));

    let a = v.sign_in(server.admin_token().expose()).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some("/tendrils"));
    let cookie = a
        .set_cookies
        .iter()
        .find(|c| c.starts_with("trellis_session="))
        .expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let session_id = v.cookies["trellis_session"].clone();

    let page = v.get("/tendrils").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Register a Tendril"), "{}", page.body);
    assert!(page.body.contains("admin · team default"));
    for secret in [
        server.admin_token().expose(),
        server.api_token().expose(),
        &session_id,
    ] {
        assert!(!page.body.contains(secret), "a secret in the page");
    }
    let csrf = page.csrf();
    let headers_ok = v.get("/tendrils").await;
    assert_eq!(headers_ok.status, StatusCode::OK);

    // A form without its CSRF token, or with another session's, is refused.
    let a = v.post("/tendrils/register", &[("name", "w1")]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = v
        .post(
            "/tendrils/register",
            &[("name", "w1"), ("csrf_token", "0000")],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        server
            .admin_client()
            .list_workers()
            .await
            .unwrap()
            .is_empty()
    );

    let a = v
        .post(
            "/tendrils/register",
            &[
                ("name", "w1"),
                ("team", "default"),
                ("mode", "self-hosted"),
                ("labels", "region=eu, gpu"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("shown only once"));
    let workers = server.admin_client().list_workers().await.unwrap();
    assert_eq!(workers.len(), 1);
    assert_eq!(
        workers[0].labels.get("region").map(String::as_str),
        Some("eu")
    );
    assert!(workers[0].labels.contains_key("gpu"));
    let token = crate::common::field_value(&a.body, "worker-token")
        .or_else(|| {
            a.body
                .split("id=\"worker-token\" readonly value=\"")
                .nth(1)
                .map(|s| s.split('"').next().unwrap_or_default().to_owned())
        })
        .unwrap_or_default();
    assert_eq!(token.len(), 64, "the token is shown once: {}", a.body);
    // Not on the list page.
    assert!(!v.get("/tendrils").await.body.contains(&token));

    let a = v
        .post(
            &format!("/tendrils/{}/remove", workers[0].id),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert!(
        server
            .admin_client()
            .list_workers()
            .await
            .unwrap()
            .is_empty()
    );

    // Sign-out ends the session: the old cookie no longer works.
    let a = v.post("/sign-out", &[("csrf_token", &csrf)]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(!v.cookies.contains_key("trellis_session"));
    v.cookies.insert("trellis_session".into(), session_id);
    assert_eq!(v.get("/tendrils").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_admin_signs_in_registers_and_removes_a_worker_and_signs_out_on_sqlite() {
    admin_signs_in_registers_and_removes(false).await;
}

#[tokio::test]
async fn an_admin_signs_in_registers_and_removes_a_worker_and_signs_out_on_postgres() {
    admin_signs_in_registers_and_removes(true).await;
}

#[tokio::test]
async fn a_user_sees_no_register_or_remove_and_its_posts_get_403() {
    let (server, _pg) = server(false).await;
    let (worker, _) = server.register_worker("w1").await.expect("register");
    let mut v = Visitor::new(server.url());
    assert_eq!(
        v.sign_in(server.api_token().expose()).await.status,
        StatusCode::SEE_OTHER
    );
    let page = v.get("/tendrils").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("w1"));
    assert!(!page.body.contains("Register a Tendril"));
    assert!(!page.body.contains("/remove"));
    let csrf = page.csrf();
    // A hidden button is not a permission: the handler's policy answers.
    let a = v
        .post(
            "/tendrils/register",
            &[("name", "sneaky"), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert!(a.body.contains("admin token"));
    let a = v
        .post(
            &format!("/tendrils/{worker}/remove"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(server.admin_client().list_workers().await.unwrap().len(), 1);
}

async fn revoked_token_ends_session(postgres: bool) {
    let (server, _pg) = server(postgres).await;
    let created = server
        .admin_client()
        .create_token(&CreateTokenRequest {
            team: "blue".into(),
            role: TokenRole::User,
            name: Some("alice".into()),
        })
        .await
        .expect("create a token");
    let mut v = Visitor::new(server.url());
    assert_eq!(
        v.sign_in(created.token.expose()).await.status,
        StatusCode::SEE_OTHER
    );
    let page = v.get("/jobs").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("user · team blue"));
    server
        .admin_client()
        .revoke_token(created.info.id)
        .await
        .expect("revoke");
    let a = v.get("/jobs").await;
    assert_eq!(
        a.status,
        StatusCode::SEE_OTHER,
        "a revoked token's session ends"
    );
    assert!(a.location.unwrap_or_default().starts_with("/sign-in"));
}

#[tokio::test]
async fn revoking_a_per_user_token_ends_its_sessions_on_sqlite() {
    revoked_token_ends_session(false).await;
}

#[tokio::test]
async fn revoking_a_per_user_token_ends_its_sessions_on_postgres() {
    revoked_token_ends_session(true).await;
}

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy_and_no_cache() {
    let (server, _pg) = server(false).await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/sign-in", server.url()))
        .send()
        .await
        .unwrap();
    let h = r.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    let css = http
        .get(format!("{}/assets/console.css", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    // The API keeps answering JSON; no plan artifact is reachable from the console.
    let a = http
        .get(format!("{}/api/nothing", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), StatusCode::NOT_FOUND);
}
