//! grape without a reachable server: exit codes, clean errors, completions.

mod common;

use std::path::Path;

use common::{assert_clean_error, assert_error_exit, bare_grape, has_ansi};

/// A URL nothing listens on.
fn dead_url() -> String {
    let port = grape_testkit::free_port().unwrap();
    format!("http://127.0.0.1:{port}")
}

/// `grape` configured by environment for the server at `url`, with a token.
fn grape_at(home: &Path, url: &str) -> assert_cmd::Command {
    let mut c = bare_grape(home);
    c.env("TRELLIS_URL", url).env("GRAPE_TOKEN", "t");
    c
}

#[test]
fn unreachable_server_exits_3_with_a_hint() {
    let home = tempfile::tempdir().unwrap();
    let url = dead_url();
    for args in [
        &["status"][..],
        &["jobs", "list"],
        &["workers", "list"],
        &["jobs", "show", "6f1c3e9a-2d4b-4c8e-9f00-000000000001"],
    ] {
        let out = grape_at(home.path(), &url).args(args).output().unwrap();
        let err = assert_error_exit(&out, 3, args);
        assert!(err.contains("cannot reach Trellis"), "{err}");
        assert!(!has_ansi(&out.stderr), "colours in a pipe: {err}");
    }
}

#[test]
fn status_json_when_unreachable() {
    let home = tempfile::tempdir().unwrap();
    let url = dead_url();
    let out = bare_grape(home.path())
        .env("TRELLIS_URL", &url)
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["reachable"], false);
    assert_eq!(doc["url"], url.as_str());
    assert_eq!(doc["url_source"], "environment");
    assert_eq!(doc["logged_in"], false);
}

#[test]
fn not_configured_exits_3() {
    let home = tempfile::tempdir().unwrap();
    let args = ["jobs", "list"];
    let out = bare_grape(home.path()).args(args).output().unwrap();
    let err = assert_error_exit(&out, 3, &args);
    assert!(err.contains("grape login"));
}

#[test]
fn login_to_unreachable_server_saves_nothing() {
    let home = tempfile::tempdir().unwrap();
    let out = bare_grape(home.path())
        .args(["login", "--url", &dead_url(), "--token-stdin"])
        .write_stdin("secret-token-value\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_clean_error(&out.stderr);
    assert!(!home.path().join("config/grape/config.json").exists());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("secret-token-value"));
}

#[test]
fn usage_errors_exit_2() {
    let home = tempfile::tempdir().unwrap();
    let cases: &[&[&str]] = &[
        &["jobs", "lst"],
        &["jobs", "submit"],
        &["--output", "yaml", "jobs", "list"],
        &["completions", "tcsh"],
        &["jobs", "list", "--status", "bogus"],
        &["workers", "register", "w", "--label", "no-equals-sign"],
        &["apply", "not-a-uuid"],
        &["identities", "test", "not-a-uuid"],
    ];
    for args in cases {
        let out = bare_grape(home.path()).args(*args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "grape {args:?}");
    }
    // Our own argument checks use the same code.
    let args = ["jobs", "show", "not-a-uuid"];
    let out = grape_at(home.path(), &dead_url())
        .args(args)
        .output()
        .unwrap();
    assert_error_exit(&out, 2, &args);
    let out = grape_at(home.path(), &dead_url())
        .args(["jobs", "submit", "FROBNICATE"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("EXEC"));
    let args = ["jobs", "submit", "EXEC", "--payload", "-"];
    let out = grape_at(home.path(), &dead_url())
        .args(args)
        .write_stdin("{not json")
        .output()
        .unwrap();
    assert_error_exit(&out, 2, &args);
}

#[test]
fn login_without_a_terminal_or_stdin_flag_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let out = bare_grape(home.path())
        .args(["login", "--url", &dead_url()])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token-stdin"));
}

#[test]
fn completions_for_each_shell() {
    let home = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef grape"),
        ("fish", "complete -c grape"),
    ] {
        let out = bare_grape(home.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(marker),
            "{shell}: {}",
            &text[..text.len().min(300)]
        );
        assert!(
            text.contains("identities"),
            "{shell} completions miss subcommands"
        );
    }
}

#[test]
fn plan_of_a_directory_without_tf_files_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    let args = ["plan", dir];
    let out = grape_at(home.path(), &dead_url())
        .args(args)
        .output()
        .unwrap();
    assert_error_exit(&out, 2, &args);
    // A variable without a value is refused before anything is sent.
    std::fs::write(empty.path().join("main.tf"), "variable \"x\" {}\n").unwrap();
    let args = ["plan", dir, "--var", "no-equals-sign"];
    let out = grape_at(home.path(), &dead_url())
        .args(args)
        .output()
        .unwrap();
    let err = assert_error_exit(&out, 2, &args);
    assert!(err.contains("NAME=VALUE"));
}

#[test]
fn a_broken_config_file_is_a_usage_error_with_a_hint() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("config/grape");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), "{ not json").unwrap();
    let args = ["jobs", "list"];
    let out = bare_grape(home.path()).args(args).output().unwrap();
    let err = assert_error_exit(&out, 2, &args);
    assert!(
        err.contains("config.json") && err.contains("grape login"),
        "{err}"
    );
    // Logout removes it, and the next command says what is missing instead.
    assert!(
        bare_grape(home.path())
            .arg("logout")
            .output()
            .unwrap()
            .status
            .success()
    );
    let out = bare_grape(home.path()).args(args).output().unwrap();
    assert_error_exit(&out, 3, &args);
}

#[test]
fn bash_completion_completes_commands_in_a_real_bash() {
    let home = tempfile::tempdir().unwrap();
    let out = bare_grape(home.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let script = home.path().join("grape.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // Load the script into bash and ask its completion function what follows each line.
    let complete = |words: &[&str]| -> Vec<String> {
        let line = words.join(" ");
        let program = format!(
            "source {script}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE={line:?}; \
             COMP_POINT={point}; _grape grape {cur:?} {prev:?}; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script = script.display(),
            words = words
                .iter()
                .map(|w| format!("{w:?}"))
                .collect::<Vec<_>>()
                .join(" "),
            cword = words.len() - 1,
            point = line.len(),
            cur = words[words.len() - 1],
            prev = words[words.len() - 2],
        );
        let out = common::command("bash")
            .args(["--norc", "--noprofile", "-c", &program])
            .output()
            .expect("run bash");
        assert!(
            out.status.success(),
            "bash: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(complete(&["grape", "ident"]), ["identities"]);
    let sub = complete(&["grape", "identities", ""]);
    for word in ["add", "show", "test", "refresh"] {
        assert!(sub.iter().any(|w| w == word), "{word} missing: {sub:?}");
    }
    let jobs = complete(&["grape", "jobs", ""]);
    for word in ["submit", "list", "show", "logs", "cancel", "retry"] {
        assert!(jobs.iter().any(|w| w == word), "{word} missing: {jobs:?}");
    }
}

/// A vine file in `dir` with `extra` appended (YAML).
fn vine_file(dir: &Path, name: &str, extra: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let text = format!(
        "project_name: web\nenvironment_stage: dev\nregion: eu-west-1\nprovider: aws\n\
         cloud_identity_id: 5b0c8f3e-4a7d-4a51-9e0b-1f6a2c7d9e10\ncluster:\n  \
         cluster_version: \"1.31\"\n  instance_types: [m5.large]\n  node_min_size: 1\n  \
         node_max_size: 3\n  node_desired_size: 2\n{extra}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Makes the vine file's `cluster.node_max_size` 0 (invalid).
fn zero_max_size(file: &Path) {
    let text = std::fs::read_to_string(file)
        .unwrap()
        .replace("node_max_size: 3", "node_max_size: 0");
    std::fs::write(file, text).unwrap();
}

#[test]
fn a_bad_vine_file_exits_2_naming_each_field_before_anything_is_sent() {
    let home = tempfile::tempdir().unwrap();
    let file = vine_file(home.path(), "vine.yaml", "colour: blue\n");
    zero_max_size(&file);
    // The server is unreachable: a 2 (not a 3) shows nothing was sent.
    let url = dead_url();
    for args in [
        &["vine", "plan"][..],
        &["vine", "destroy"],
        &["vine", "plan", "--local"],
    ] {
        let out = grape_at(home.path(), &url)
            .args(args)
            .arg(&file)
            .output()
            .unwrap();
        let err = assert_error_exit(&out, 2, args);
        assert!(err.contains("is not a valid vine"), "{err}");
        assert!(err.contains("colour"), "{err}");
        assert!(err.contains("grape vine schema"), "{err}");
    }
    let file = vine_file(home.path(), "max.yaml", "");
    zero_max_size(&file);
    let out = grape_at(home.path(), &url)
        .args(["vine", "plan"])
        .arg(&file)
        .output()
        .unwrap();
    let err = assert_error_exit(&out, 2, &["vine", "plan"]);
    assert!(err.contains("cluster.node_max_size"), "{err}");
}

#[test]
fn vine_schema_is_json_schema_of_every_field() {
    let home = tempfile::tempdir().unwrap();
    let out = bare_grape(home.path())
        .args(["vine", "schema"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for field in ["project_name", "cluster", "network", "dns", "repositories"] {
        assert!(
            schema["properties"].get(field).is_some(),
            "{field}: {schema}"
        );
    }
}

#[test]
fn vine_render_writes_the_files_a_plan_runs_without_secrets() {
    let home = tempfile::tempdir().unwrap();
    let file = vine_file(home.path(), "vine.yaml", "");
    let out_dir = home.path().join("rendered");
    let out = bare_grape(home.path())
        .env("SUPABASE_S3_BUCKET", "states")
        .env("SUPABASE_STORAGE_SECRET_KEY", "render-must-not-see-this")
        .args(["-o", "json", "vine", "render"])
        .arg(&file)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(answer["template_set"], "aws");
    assert_eq!(
        answer["state_key"],
        "vines/default/web/dev/eu-west-1/terraform.tfstate"
    );
    for name in [
        "eks.tf",
        "terraform.tfvars.json",
        "backend.tf",
        "state.s3.tfbackend",
    ] {
        assert!(out_dir.join(name).is_file(), "{name} not rendered");
    }
    let backend = std::fs::read_to_string(out_dir.join("state.s3.tfbackend")).unwrap();
    assert!(backend.contains("bucket       = \"states\""), "{backend}");
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        assert!(!text.contains("render-must-not-see-this"));
    }
    // A second render into the same directory is refused.
    let out = bare_grape(home.path())
        .args(["vine", "render"])
        .arg(&file)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    let err = assert_error_exit(&out, 2, &["vine", "render"]);
    assert!(err.contains("is not empty"), "{err}");
}

#[test]
fn vine_init_with_flags_writes_a_valid_vine_and_names_missing_flags() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("vine.yaml");
    let out = bare_grape(home.path())
        .args([
            "vine",
            "init",
            "--no-input",
            "--project",
            "web",
            "--provider",
            "aws",
        ])
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    let err = assert_error_exit(&out, 2, &["vine", "init"]);
    assert!(err.contains("--environment, --region, --identity"), "{err}");
    assert!(!file.exists());

    let out = bare_grape(home.path())
        .args([
            "vine",
            "init",
            "--no-input",
            "--project",
            "web",
            "--environment",
            "prod",
        ])
        .args([
            "--provider",
            "aws",
            "--region",
            "eu-west-1",
            "--network-id",
            "vpc-0abc1234",
        ])
        .args(["--identity", "5b0c8f3e-4a7d-4a51-9e0b-1f6a2c7d9e10"])
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("network_id: \"vpc-0abc1234\""), "{text}");
    assert!(text.starts_with("# A vine"), "{text}");
    // What init wrote, render accepts.
    let out = bare_grape(home.path())
        .args(["vine", "render"])
        .arg(&file)
        .arg("--out")
        .arg(home.path().join("out"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And it does not overwrite without --force.
    let out = bare_grape(home.path())
        .args(["vine", "init", "--no-input"])
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    let err = assert_error_exit(&out, 2, &["vine", "init"]);
    assert!(err.contains("--force"), "{err}");
}
