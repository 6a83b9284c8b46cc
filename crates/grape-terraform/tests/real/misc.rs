//! Version checks, invalid configurations, backend conflicts.

use grape_terraform::{
    BackendError, InitOptions, PlanOptions, RunIo, Severity, Terraform, TerraformError, Version,
    discard_lines,
};
use tokio_util::sync::CancellationToken;

use crate::common::{Lines, config, peers};

#[tokio::test]
async fn version_is_read_and_old_versions_refused() {
    let cancel = CancellationToken::new();
    let tf = Terraform::builder()
        .binary(grape_testkit::terraform_bin())
        .envs(grape_testkit::terraform_env())
        .build(&cancel)
        .await
        .expect("terraform");
    let info = tf.version(&cancel).await.expect("version");
    let v = info.version().expect("parses");
    assert!(v >= Version::new(1, 10, 0), "{v}");
    assert_eq!(tf.checked_version(), Some(&v));

    let err = Terraform::builder()
        .binary(grape_testkit::terraform_bin())
        .envs(grape_testkit::terraform_env())
        .min_version(Version::new(99, 0, 0))
        .build(&cancel)
        .await
        .expect_err("too old");
    assert!(
        matches!(err, TerraformError::VersionTooOld { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("version 99.0.0 or newer is required"),
        "{err}"
    );

    let err = Terraform::builder()
        .binary("/nonexistent/terraform")
        .build_unchecked()
        .expect_err("missing");
    assert!(matches!(err, TerraformError::NotFound { .. }), "{err:?}");
}

const INVALID_TF: &str = r#"
resource "terraform_data" "a" {
  not_an_argument = 1
}
"#;

#[tokio::test]
async fn invalid_configuration_fails_with_the_diagnostic() {
    let p = peers().await;
    let dir = config(INVALID_TF);
    let wd =
        p.tf.working_dir(dir.path())
            .with_backend(p.backend("vines/invalid/terraform.tfstate"));
    let cancel = CancellationToken::new();
    let lines = Lines::default();
    let io = RunIo::new(&lines, &cancel);
    wd.init(&InitOptions::default(), io)
        .await
        .expect("init does not check arguments");
    let v = wd.validate(&cancel).await.expect("validate runs");
    assert!(!v.valid);
    assert_eq!(v.error_count, 1);
    assert_eq!(v.diagnostics[0].severity, Severity::Error);
    assert_eq!(v.diagnostics[0].summary, "Unsupported argument");
    let err = wd
        .plan(&PlanOptions::default(), io)
        .await
        .expect_err("plan fails");
    let TerraformError::Failed { diagnostics, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        diagnostics
            .iter()
            .any(|d| d.summary == "Unsupported argument"),
        "{diagnostics:?}"
    );
    let message = err.to_string();
    assert!(message.contains("Unsupported argument"), "{message}");
    assert!(message.contains("not_an_argument"), "{message}");
    assert!(
        lines.text().contains("Error: Unsupported argument"),
        "{}",
        lines.text()
    );
}

#[tokio::test]
async fn a_foreign_backend_block_is_refused() {
    let p = peers().await;
    let dir = config("terraform {\n  backend \"local\" {}\n}\n");
    let wd =
        p.tf.working_dir(dir.path())
            .with_backend(p.backend("k/terraform.tfstate"));
    let cancel = CancellationToken::new();
    let sink = discard_lines();
    let err = wd
        .init(&InitOptions::default(), RunIo::new(&sink, &cancel))
        .await
        .expect_err("conflict");
    assert!(
        matches!(err, TerraformError::Backend(BackendError::Conflict { ref found }) if found == "local"),
        "{err:?}"
    );
}

/// Runs through a recording wrapper (a shell script that logs its arguments and environment
/// names, then execs the real Terraform): no secret in any argument, only the allowed
/// environment, backend keys in the environment.
#[tokio::test]
async fn arguments_and_environment_carry_no_secret() {
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt as _;

    let p = peers().await;
    let rec = tempfile::tempdir().unwrap();
    let wrapper = rec.path().join("terraform");
    let log = rec.path().join("argv.log");
    let envlog = rec.path().join("env.log");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nenv | cut -d= -f1 >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            envlog.display(),
            grape_testkit::terraform_bin().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tf = Terraform::builder()
        .binary(&wrapper)
        .envs(grape_testkit::terraform_env())
        .build(&CancellationToken::new())
        .await
        .expect("terraform via wrapper");

    let dir = config(
        "variable \"pw\" {\n  type = string\n  sensitive = true\n}\nresource \"terraform_data\" \"a\" {\n  input = var.pw\n}\n",
    );
    let wd = tf
        .working_dir(dir.path())
        .with_backend(p.backend("vines/argv/terraform.tfstate"));
    let cancel = CancellationToken::new();
    let lines = Lines::default();
    let io = RunIo::new(&lines, &cancel);
    wd.init(&InitOptions::default(), io).await.expect("init");
    let variables: BTreeMap<String, serde_json::Value> =
        [("pw".to_owned(), "var-secret-value".into())].into();
    let plan = wd
        .plan(
            &PlanOptions {
                variables,
                ..PlanOptions::default()
            },
            io,
        )
        .await
        .expect("plan");
    wd.apply_plan(&plan.plan_file, io).await.expect("apply");
    wd.output(&cancel).await.expect("output");

    let argv = std::fs::read_to_string(&log).unwrap();
    for secret in [
        crate::common::SECRET_KEY,
        crate::common::ACCESS_KEY,
        "var-secret-value",
    ] {
        assert!(!argv.contains(secret), "{secret} in arguments:\n{argv}");
        assert!(!lines.text().contains(secret), "{secret} in lines");
    }
    for line in argv.lines().filter(|l| !l.starts_with("version")) {
        assert!(line.contains("-no-color"), "{line}");
    }
    assert!(argv.contains("-backend-config=use_lockfile=true"), "{argv}");
    assert!(
        argv.contains("-backend-config=endpoints={s3=\"http://127.0.0.1:"),
        "{argv}"
    );
    assert!(argv.contains("-var-file="), "{argv}");

    let names: std::collections::BTreeSet<String> = std::fs::read_to_string(&envlog)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    for required in [
        "TF_IN_AUTOMATION",
        "TF_INPUT",
        "CHECKPOINT_DISABLE",
        "GRAPE_STATE_ACCESS_KEY_ID",
        "GRAPE_STATE_SECRET_ACCESS_KEY",
    ] {
        assert!(names.contains(required), "{required} missing: {names:?}");
    }
    let allowed = [
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "TF_CLI_CONFIG_FILE",
        "TF_PLUGIN_CACHE_DIR",
        "TF_IN_AUTOMATION",
        "TF_INPUT",
        "CHECKPOINT_DISABLE",
        "GRAPE_STATE_ACCESS_KEY_ID",
        "GRAPE_STATE_SECRET_ACCESS_KEY",
        "PWD",
        "SHLVL",
        "_",
        "OLDPWD",
    ];
    let extra: Vec<_> = names
        .iter()
        .filter(|n| !allowed.contains(&n.as_str()))
        .collect();
    assert!(extra.is_empty(), "unexpected environment: {extra:?}");
    assert!(crate::common::files_containing(dir.path(), crate::common::SECRET_KEY).is_empty());
    assert!(
        crate::common::files_containing(dir.path(), "var-secret-value")
            .iter()
            .all(|f| f.ends_with("tfplan")),
        "only the plan file (which Terraform needs) may hold variable values"
    );
}

/// `terraform show -json` of a plan too big to hold: an error naming the limit, and the
/// process is killed (a stand-in binary that writes JSON for ever; no real Terraform needed).
#[tokio::test]
async fn show_output_past_its_limit_is_an_error_naming_the_limit() {
    use std::os::unix::fs::PermissionsExt as _;

    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("terraform");
    std::fs::write(
        &fake,
        "#!/bin/sh\nprintf '{\"resource_changes\":['\nwhile :; do printf '{\"address\":\"a.b\"},'; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tf = Terraform::builder()
        .binary(&fake)
        .max_output(4 << 20)
        .build_unchecked()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = tf
        .working_dir(dir.path())
        .show_plan(
            std::path::Path::new("plan.tfplan"),
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, TerraformError::OutputTooLarge { ref command, limit } if command == "show" && limit == 4 << 20),
        "{err:?}"
    );
    assert!(err.to_string().contains("4194304 bytes (4 MiB)"), "{err}");
}
