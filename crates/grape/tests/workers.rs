//! `grape workers …` and `grape worker start` against a real trellis.

mod common;

use common::{ADMIN_TOKEN, Env, assert_clean_error};

#[test]
fn register_list_remove_and_an_embedded_worker() {
    let env = Env::new();

    // `grape worker start` (in start_worker) heartbeats: ONLINE, with its version and job types.
    let worker = env.start_worker("embedded");
    let list = env.json(&["workers", "list"]);
    let w = list
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == worker.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(w["status"], "ONLINE");
    assert_eq!(w["name"], "embedded");
    assert!(
        w["info"]["job_types"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "EXEC"),
        "{w}"
    );

    // Human table.
    let out = env.authed().args(["workers", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("embedded") && text.contains("ONLINE"),
        "{text}"
    );

    // Register prints id and token once; human form is KEY=VALUE lines.
    let out = env
        .authed()
        .env("TRELLIS_ADMIN_TOKEN", ADMIN_TOKEN)
        .args(["workers", "register", "spare", "--label", "zone=a"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let id_line = text
        .lines()
        .find(|l| l.starts_with("GRAPE_WORKER_ID="))
        .unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("GRAPE_WORKER_TOKEN=") && l.len() > 25),
        "{text}"
    );
    let spare_id = id_line.trim_start_matches("GRAPE_WORKER_ID=").to_owned();

    // Admin token from stdin works too.
    let out = env
        .authed()
        .args([
            "workers",
            "register",
            "from-stdin",
            "--admin-token-stdin",
            "-o",
            "json",
        ])
        .write_stdin(ADMIN_TOKEN)
        .output()
        .unwrap();
    assert!(out.status.success());
    let reg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(reg["worker_id"].is_string() && reg["worker_token"].is_string());

    // Missing or wrong admin token: exit 3.
    let out = env
        .authed()
        .args(["workers", "register", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_clean_error(&out.stderr);
    let out = env
        .authed()
        .env("TRELLIS_ADMIN_TOKEN", "wrong")
        .args(["workers", "register", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_clean_error(&out.stderr);
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin token"));

    // Remove.
    let out = env
        .authed()
        .env("TRELLIS_ADMIN_TOKEN", ADMIN_TOKEN)
        .args(["workers", "remove", &spare_id, "-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let removed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(removed["removed"], spare_id.as_str());
    // Removing it again: not found, exit 1; without the admin token: exit 3.
    let out = env
        .authed()
        .env("TRELLIS_ADMIN_TOKEN", ADMIN_TOKEN)
        .args(["workers", "remove", &spare_id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_clean_error(&out.stderr);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&spare_id));
    let out = env
        .authed()
        .args(["workers", "remove", &worker.id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_clean_error(&out.stderr);
    let list = env.json(&["workers", "list"]);
    assert!(
        !list
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == spare_id.as_str())
    );
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|w| w["name"] == "from-stdin")
    );
}

#[test]
fn worker_start_without_credentials_is_a_usage_error() {
    let env = Env::new();
    let out = env
        .authed()
        .args(["worker", "start"])
        .env_remove("GRAPE_WORKER_ID")
        .env_remove("GRAPE_WORKER_TOKEN")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean_error(&out.stderr);
}
