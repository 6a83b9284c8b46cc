use clap::Parser;

use super::*;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: StartArgs,
}

fn parse(extra: &[&str]) -> Result<Config, ConfigError> {
    parse_env(extra, &[])
}

/// Parses `extra`, with the secrets' variables from `env` (not this process's environment).
fn parse_env(extra: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut argv = vec!["tendril", "--state-dir", "/tmp/tendril-test-state"];
    argv.extend_from_slice(extra);
    let lookup = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    Cli::try_parse_from(argv)
        .expect("clap parses")
        .args
        .validate_with_env(&lookup)
}

const ID: &str = "5b0b8f52-4b8e-4c8f-9a53-0d8e9b2c9e11";

#[test]
fn minimal_config_and_defaults() {
    let c = parse_env(
        &["--trellis-url", "http://127.0.0.1:8080/", "--worker-id", ID],
        &[("GRAPE_WORKER_TOKEN", "tok-123456")],
    )
    .unwrap();
    assert_eq!(c.trellis_url, "http://127.0.0.1:8080");
    assert_eq!(c.credentials.as_ref().unwrap().id.to_string(), ID);
    assert_eq!(c.mode, WorkerMode::SelfHosted);
    assert_eq!(c.timings.poll_interval, Duration::from_secs(10));
    assert_eq!(c.timings.heartbeat_interval, Duration::from_secs(30));
    assert_eq!(c.timings.grace_period, Duration::from_secs(600));
    assert_eq!(c.timings.log_finish_timeout, Duration::from_secs(600));
    assert_eq!(c.timings.claim_wait, Duration::from_secs(20));
    assert_eq!(c.timings.interrupt_grace, Duration::from_secs(30));
    assert_eq!(
        c.timings.credentials_refresh.margin,
        Duration::from_secs(20 * 60)
    );
    assert_eq!(
        c.timings.credentials_refresh.min_interval,
        Duration::from_secs(30)
    );
    assert_eq!(c.work_dir, PathBuf::from("/tmp/tendril-test-state/work"));
    assert!(c.state_backend.is_none());
    assert!(!c.enable_exec);
    assert_eq!(c.secrets().len(), 1);
}

#[test]
fn errors_name_the_variable() {
    let err = parse(&["--trellis-url", "not a url"])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("TRELLIS_URL is not a valid URL: "), "{err}");
    let err = parse(&["--trellis-url", "ftp://x"])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("TRELLIS_URL is not a valid URL: scheme"),
        "{err}"
    );
    let err = parse(&[]).unwrap_err().to_string();
    assert!(err.starts_with("TRELLIS_URL is not set"), "{err}");
    let err = parse(&["--trellis-url", "http://h", "--log-finish-timeout", "soon"])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("TENDRIL_LOG_FINISH_TIMEOUT is not a valid duration"),
        "{err}"
    );
    let err = parse_env(
        &["--trellis-url", "http://h", "--worker-id", "nope"],
        &[("GRAPE_WORKER_TOKEN", "x")],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("GRAPE_WORKER_ID is not a valid UUID"),
        "{err}"
    );
    let err = parse(&["--trellis-url", "http://h", "--worker-id", ID]).unwrap_err();
    assert!(
        err.to_string().starts_with("GRAPE_WORKER_TOKEN is not set"),
        "{err}"
    );
    let err = parse(&["--trellis-url", "http://h", "--mode", "cloud"]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("GRAPE_WORKER_MODE is not a valid worker mode"),
        "{err}"
    );
    let err = parse(&["--trellis-url", "http://h", "--poll-interval", "10 parsecs"]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("TENDRIL_POLL_INTERVAL is not a valid duration"),
        "{err}"
    );
    let err = parse(&["--trellis-url", "http://h", "--claim-wait", "1m"]).unwrap_err();
    assert!(err.to_string().starts_with("TENDRIL_CLAIM_WAIT"), "{err}");
    let err = parse(&["--trellis-url", "http://h", "--register", "w1"]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("TRELLIS_ADMIN_TOKEN is not set"),
        "{err}"
    );
    let err = parse_env(
        &["--trellis-url", "http://h"],
        &[("SUPABASE_STORAGE_KEY_ID", "AKIAEXAMPLE")],
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("SUPABASE_S3_REGION is not set"),
        "{err}"
    );
    let err = parse(&["--trellis-url", "http://h", "--listen", "localhost"]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("TENDRIL_LISTEN is not a valid address"),
        "{err}"
    );
}

#[test]
fn secrets_never_echo() {
    let err = parse_env(
        &["--trellis-url", "http://h", "--s3-region", "eu-west-1"],
        &[("SUPABASE_STORAGE_KEY_ID", "AKIA-VERY-SECRET")],
    )
    .unwrap_err()
    .to_string();
    assert!(!err.contains("AKIA-VERY-SECRET"), "{err}");
    let cli = Cli::try_parse_from([
        "tendril",
        "--trellis-url",
        "http://h",
        "--worker-token",
        "super-secret-token",
        "--admin-token",
        "admin-secret-token",
    ])
    .unwrap();
    let debug = format!("{cli:?}");
    assert!(
        !debug.contains("super-secret-token") && !debug.contains("admin-secret-token"),
        "{debug}"
    );
    let err = cli
        .args
        .validate_with_env(&|_| None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("--worker-token is refused"), "{err}");
    assert!(!err.contains("super-secret-token"), "{err}");
}

#[test]
fn secrets_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "tok-from-file\n").unwrap();
    let path = file.to_str().unwrap();
    let c = parse(&[
        "--trellis-url",
        "http://h",
        "--worker-id",
        ID,
        "--worker-token-file",
        path,
        "--metrics-token-file",
        path,
    ])
    .unwrap();
    assert_eq!(c.credentials.unwrap().token.expose(), "tok-from-file");
    assert_eq!(c.metrics_token.unwrap().expose(), "tok-from-file");
    let err = parse_env(
        &["--trellis-url", "http://h", "--admin-token-file", path],
        &[("TRELLIS_ADMIN_TOKEN", "a")],
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "TRELLIS_ADMIN_TOKEN and --admin-token-file are both set: use one of them"
    );
}

#[test]
fn full_state_backend() {
    let c = parse_env(
        &[
            "--trellis-url",
            "https://trellis.example.com",
            "--s3-endpoint",
            "http://127.0.0.1:9000",
            "--s3-region",
            "eu-west-1",
            "--terraform-bin",
            "/opt/terraform",
            "--infracost-bin",
            "/opt/infracost",
            "--interrupt-grace",
            "2s",
        ],
        &[
            ("SUPABASE_STORAGE_KEY_ID", "AKIAEXAMPLE"),
            ("SUPABASE_STORAGE_SECRET_KEY", "secret-key-value"),
            ("INFRACOST_API_KEY", "ico-123456"),
        ],
    )
    .unwrap();
    let b = c.state_backend.as_ref().unwrap();
    assert_eq!(b.bucket, "terraform-state");
    assert_eq!(b.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    let s = c.provisioner_settings();
    assert_eq!(s.interrupt_grace, Duration::from_secs(2));
    assert_eq!(s.terraform_bin, Some(PathBuf::from("/opt/terraform")));
    assert_eq!(s.infracost.bin, Some(PathBuf::from("/opt/infracost")));
    assert_eq!(
        s.infracost.api_key.as_ref().map(Secret::expose),
        Some("ico-123456")
    );
    assert_eq!(c.secrets().len(), 3);
}

#[test]
fn help_lists_every_variable() {
    let help = env_help();
    for v in ENV_VARS {
        assert!(help.contains(v.name), "{}", v.name);
    }
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let long = cmd.render_long_help().to_string();
    assert!(long.contains("credentials.json"), "{long}");
    for v in ENV_VARS {
        assert!(long.contains(v.name), "{} missing from --help", v.name);
    }
}

#[test]
fn git_credentials_are_read_at_start_and_refused_when_others_may_read_them() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("git.json");
    std::fs::write(&path, r#"{"https://git.example.com": "git-secret-token"}"#).unwrap();
    let file = path.to_str().unwrap();
    let args = ["--trellis-url", "http://h", "--git-credentials", file];

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = parse(&args).unwrap_err().to_string();
    assert!(
        err.starts_with("TENDRIL_GIT_CREDENTIALS is not a valid git credentials file: ")
            && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!err.contains("git-secret-token"), "{err}");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let c = parse(&args).unwrap();
    let settings = c.provisioner_settings();
    let auth = settings
        .git_credentials
        .auth_for("https://git.example.com/team/infra.git")
        .unwrap()
        .expect("the origin has a token");
    assert_eq!(auth.secret().expose(), "git-secret-token");
    assert!(c.secrets().iter().any(|s| s.expose() == "git-secret-token"));

    std::fs::write(&path, "{not json").unwrap();
    let err = parse(&args).unwrap_err().to_string();
    assert!(err.contains("not valid JSON"), "{err}");
    assert!(
        parse(&["--trellis-url", "http://h"])
            .unwrap()
            .git_credentials
            .is_empty()
    );
}

#[test]
fn registration_takes_a_team_and_labels() {
    let c = parse_env(
        &[
            "--trellis-url",
            "http://h",
            "--register",
            "gpu-1",
            "--team",
            "ml",
            "--label",
            "gpu=a100",
            "--label",
            "fast",
        ],
        &[("TRELLIS_ADMIN_TOKEN", "admin-token-123")],
    )
    .unwrap();
    let reg = c.register.expect("registration");
    assert_eq!(reg.team.as_deref(), Some("ml"));
    assert_eq!(reg.labels.get("gpu").map(String::as_str), Some("a100"));
    assert_eq!(reg.labels.get("fast").map(String::as_str), Some(""));
    let err = parse_env(
        &[
            "--trellis-url",
            "http://h",
            "--register",
            "w",
            "--label",
            "=x",
        ],
        &[("TRELLIS_ADMIN_TOKEN", "admin-token-123")],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("has no key"), "{err}");
    // Without --register they mean nothing: clap refuses them.
    let argv = ["tendril", "--trellis-url", "http://h", "--team", "ml"];
    assert!(Cli::try_parse_from(argv).is_err());
}
