//! `grape tokens create|list|revoke` against a real trellis, and a created token used as
//! `GRAPE_TOKEN` (its team's jobs only).

mod common;

use common::{ADMIN_TOKEN, API_TOKEN, Env, assert_clean_error};

/// `grape ARGS -o json` with the admin token; asserts exit 0.
fn admin_json(env: &Env, args: &[&str]) -> serde_json::Value {
    let out = env
        .authed()
        .env("TRELLIS_ADMIN_TOKEN", ADMIN_TOKEN)
        .args(args)
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "grape {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn create_list_use_revoke() {
    let env = Env::new();
    let created = admin_json(
        &env,
        &[
            "tokens", "create", "--team", "payments", "--role", "user", "--name", "alice",
        ],
    );
    assert_eq!(created["team"], "payments");
    assert_eq!(created["role"], "user");
    let id = created["id"].as_str().unwrap().to_owned();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("trl_"));

    // Listed without its secret (JSON and table).
    let list = admin_json(&env, &["tokens", "list"]);
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(row["name"], "alice");
    assert!(!list.to_string().contains(&token));
    let out = env
        .authed()
        .env("TRELLIS_ADMIN_TOKEN", ADMIN_TOKEN)
        .args(["tokens", "list"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("payments") && text.contains("alice"),
        "{text}"
    );
    assert!(!text.contains(&token));

    // The token submits into its team; the default API token does not see that job.
    let out = env
        .authed()
        .env("GRAPE_TOKEN", &token)
        .args([
            "jobs",
            "submit",
            "EXEC",
            "--label",
            "region=eu",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(job["team"], "payments");
    assert_eq!(job["labels"], serde_json::json!(["region=eu"]));
    let job_id = job["id"].as_str().unwrap();
    let out = env
        .authed()
        .args(["jobs", "show", job_id])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "another team's job is not found"
    );
    assert_clean_error(&out.stderr);

    // A user token may not manage tokens.
    let out = env
        .authed()
        .env("TRELLIS_ADMIN_TOKEN", API_TOKEN)
        .args(["tokens", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_clean_error(&out.stderr);
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin"));

    // Revoked: refused at once (exit 3: an auth error).
    let revoked = admin_json(&env, &["tokens", "revoke", &id]);
    assert_eq!(revoked["revoked"], id.as_str());
    let out = env
        .authed()
        .env("GRAPE_TOKEN", &token)
        .args(["jobs", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_clean_error(&out.stderr);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&token));
}
