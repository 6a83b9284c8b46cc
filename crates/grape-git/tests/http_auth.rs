//! Where a token goes, seen from real HTTP listeners that record request headers
//! (grape-testkit's `HttpRecorder`), with real git: only to its own scheme + host + port, never
//! to another port of the same host, never through a redirect.

use std::path::Path;
use std::sync::Mutex;

use grape_api::Secret;
use grape_git::{GitAuth, GitCredentials, GitError, GitSource, Origin, checkout};
use grape_process::{CancellationToken, OutputStream, Redactor};
use grape_testkit::{Answer, HttpRecorder};

const TOKEN: &str = "ghp_HttpTokenThatMustNeverLeak42";

fn basic_header() -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{TOKEN}"));
    format!("Basic {b64}")
}

/// A credentials map with [`TOKEN`] for `origin_url` only.
fn credentials(origin_url: &str) -> GitCredentials {
    GitCredentials::from_json(&format!(r#"{{"{origin_url}": "{TOKEN}"}}"#)).unwrap()
}

/// Checks `url` out with `auth`; returns the error (the listeners serve no repository) and
/// git's output.
async fn clone(url: &str, auth: Option<&GitAuth>, dest: &Path) -> (GitError, String) {
    let lines = Mutex::new(Vec::<String>::new());
    let sink = |_: OutputStream, text: &str| lines.lock().unwrap().push(text.to_owned());
    let source = GitSource {
        url: url.to_owned(),
        reference: None,
        path: None,
    };
    let err = checkout(
        &source,
        dest,
        auth,
        &sink,
        &CancellationToken::new(),
        &Redactor::new(),
    )
    .await
    .expect_err("no repository is served");
    let output = lines.into_inner().unwrap().join("\n");
    (err, output)
}

fn assert_no_token(text: &str) {
    assert!(!text.contains(TOKEN), "{text}");
    assert!(!text.contains(&basic_header()), "{text}");
}

#[tokio::test]
async fn the_token_reaches_its_own_origin_only() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = HttpRecorder::start(Answer::NotFound).await.unwrap();
    let other_port = HttpRecorder::start(Answer::NotFound).await.unwrap();
    let creds = credentials(&ours.url());

    let url = format!("{}/team/repo.git", ours.url());
    let auth = creds.auth_for(&url).unwrap().expect("the origin matches");
    let (err, output) = clone(&url, Some(&auth), &tmp.path().join("a")).await;
    let auths = ours.authorizations();
    assert!(
        !auths.is_empty() && auths.iter().all(|a| *a == basic_header()),
        "{auths:?}"
    );
    assert_no_token(&format!("{err} {err:?} {output}"));

    // Same host, another port: the map gives nothing...
    let url = format!("{}/team/repo.git", other_port.url());
    assert_eq!(creds.auth_for(&url).unwrap(), None);
    // ...and even a token bound to the first origin is not sent there (git scopes the header).
    clone(&url, Some(&auth), &tmp.path().join("b")).await;
    assert!(
        !other_port.requests().is_empty(),
        "git asked the other port"
    );
    assert!(
        other_port.authorizations().is_empty(),
        "{:?}",
        other_port.requests()
    );

    // Same host and port, another scheme: nothing.
    let https = url.replacen("http://", "https://", 1);
    assert_eq!(creds.auth_for(&https).unwrap(), None);
}

#[tokio::test]
async fn a_redirect_to_another_host_never_carries_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = HttpRecorder::start(Answer::NotFound).await.unwrap();
    let ours = HttpRecorder::start(Answer::RedirectTo(elsewhere.url()))
        .await
        .unwrap();

    // Without a token git follows the redirect (so the listener would be reached)...
    let url = format!("{}/repo.git", ours.url());
    clone(&url, None, &tmp.path().join("plain")).await;
    assert!(
        !elsewhere.requests().is_empty(),
        "the redirect was followed"
    );

    // ...with one, the redirect is not followed and the token stays with its origin.
    let before = elsewhere.requests().len();
    let auth = credentials(&ours.url()).auth_for(&url).unwrap().unwrap();
    let (err, output) = clone(&url, Some(&auth), &tmp.path().join("tok")).await;
    assert!(ours.authorizations().contains(&basic_header()));
    assert_eq!(
        elsewhere.requests().len(),
        before,
        "{:?}",
        elsewhere.requests()
    );
    assert!(elsewhere.authorizations().is_empty());
    assert_no_token(&format!("{err} {err:?} {output}"));
}

#[test]
fn bearer_and_basic_tokens_keep_their_origin() {
    let origin = Origin::parse("https://git.example.com:8443").unwrap();
    let bearer = GitAuth::bearer(origin.clone(), Secret::new(TOKEN));
    assert_eq!(bearer.username(), None);
    assert_eq!(bearer.origin().to_string(), "https://git.example.com:8443");
    let basic = GitAuth::basic(origin, "oauth2", Secret::new(TOKEN));
    assert_eq!(basic.username(), Some("oauth2"));
    assert_no_token(&format!("{bearer:?} {basic:?}"));
}
