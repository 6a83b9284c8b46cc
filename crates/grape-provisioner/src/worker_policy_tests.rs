use super::*;

const PREFIX: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vintner/";

fn policy(images: &str) -> WorkerJobPolicy {
    WorkerJobPolicy::default().allow_images(images).unwrap()
}

fn image_ok(p: &WorkerJobPolicy, image: &str) -> bool {
    p.check_image(&JobType::DeployWorker, image).is_ok()
}

#[test]
fn images_match_on_whole_path_segments() {
    let p = policy("ghcr.io/vintner/, 123456789012.dkr.ecr.eu-west-1.amazonaws.com/tendril");
    for good in [
        "ghcr.io/vintner/tendril:1.4.2",
        "ghcr.io/vintner/sub/tendril:latest",
        "ghcr.io/vintner/tendril@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tendril:2",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tendril/nightly:2",
    ] {
        assert!(image_ok(&p, good), "{good} refused");
    }
    for bad in [
        "ghcr.io/vintner-evil/tendril:1",
        "ghcr.io/vintnertendril:1",
        "ghcr.io/vintner:1",
        "ghcr.io.evil.example/vintner/tendril:1",
        "evil.example/ghcr.io/vintner/tendril:1",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tendril-evil:2",
        "docker.io/vintner/tendril:1",
    ] {
        let err = p.check_image(&JobType::DeployWorker, bad).unwrap_err();
        assert!(matches!(err, JobError::Failed(_)), "{bad}: {err:?}");
        let reason = err.to_string();
        assert!(
            reason.contains(IMAGE_ALLOW_VAR) && reason.contains("ghcr.io/vintner"),
            "{reason}"
        );
    }
}

#[test]
fn an_image_needs_a_tag_or_a_digest_and_a_sane_name() {
    let p = policy("ghcr.io/vintner/");
    for bad in [
        "ghcr.io/vintner/tendril",
        "ghcr.io/vintner/tendril:",
        "ghcr.io/vintner/tendril@sha256:abc",
        "ghcr.io/vintner/Tendril:1",
        "ghcr.io/vintner/../evil:1",
        "ghcr.io/vintner//tendril:1",
        "ghcr.io/vintner/tendril:1 --privileged",
    ] {
        let err = p.check_image(&JobType::UpdateWorker, bad).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid payload for UPDATE_WORKER: `image`"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn images_without_a_registry_are_docker_hubs() {
    let p = policy("docker.io/library/");
    assert!(image_ok(&p, "tendril:1"));
    assert!(!image_ok(&p, "vintner/tendril:1"));
    let p = policy("docker.io/vintner");
    assert!(image_ok(&p, "vintner/tendril:1"));
    assert!(image_ok(&p, "docker.io/vintner/tendril:1"));
    assert!(!image_ok(&p, "tendril:1"));
    let p = policy("localhost:5000/");
    assert!(image_ok(&p, "localhost:5000/tendril:1"));
    assert!(!image_ok(&p, "localhost:5001/tendril:1"));
}

#[test]
fn no_allow_list_means_no_deploys() {
    for p in [WorkerJobPolicy::default(), policy(""), policy(" , ")] {
        let reason = p
            .check_image(&JobType::DeployWorker, "ghcr.io/vintner/tendril:1")
            .unwrap_err()
            .to_string();
        assert!(
            reason.contains(IMAGE_ALLOW_VAR) && reason.contains("is not set"),
            "{reason}"
        );
    }
}

#[test]
fn allow_list_entries_name_a_registry_and_nothing_else() {
    for bad in [
        "vintner/",
        "tendril",
        "ghcr.io/vintner/*",
        "ghcr.io/vintner/tendril:1",
        "ghcr.io/vintner@sha256:00",
        "ghcr.io/Vintner/",
    ] {
        let err = WorkerJobPolicy::default().allow_images(bad).unwrap_err();
        assert!(err.to_string().contains(bad), "{bad}: {err}");
    }
}

fn secrets() -> WorkerJobPolicy {
    WorkerJobPolicy::default().secret_prefix(PREFIX).unwrap()
}

#[test]
fn secret_refs_must_be_under_the_prefix() {
    let p = secrets();
    let check = |arn: &str| p.check_secret_ref(&JobType::DeployWorker, "DB_PASSWORD", arn);
    check(&format!("{PREFIX}db-AbCdEf")).unwrap();
    check(&format!("{PREFIX}team/db-AbCdEf")).unwrap();
    for bad in [
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other/db-AbCdEf".to_owned(),
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vintner-evil/db".to_owned(),
        "arn:aws:secretsmanager:eu-west-1:999999999999:secret:vintner/db-AbCdEf".to_owned(),
        format!("{PREFIX}*"),
        format!("{PREFIX}db?"),
        PREFIX.to_owned(),
    ] {
        let reason = check(&bad).unwrap_err().to_string();
        assert!(
            reason.contains("`secret_refs.DB_PASSWORD`") && reason.contains(PREFIX),
            "{bad}: {reason}"
        );
    }
    let own = check(&format!("{PREFIX}tendril/eu-1/token-AbCdEf"))
        .unwrap_err()
        .to_string();
    assert!(own.contains("own secret"), "{own}");
}

#[test]
fn without_a_prefix_no_secret_refs_are_accepted() {
    let reason = WorkerJobPolicy::default()
        .check_secret_ref(&JobType::DeployWorker, "X", &format!("{PREFIX}x"))
        .unwrap_err()
        .to_string();
    assert!(
        reason.contains("`secret_refs.X`") && reason.contains(SECRET_PREFIX_VAR),
        "{reason}"
    );
}

#[test]
fn a_secret_prefix_names_region_account_and_a_folder() {
    for bad in [
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vintner",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:",
        "arn:aws:secretsmanager:*:123456789012:secret:vintner/",
        "arn:aws:secretsmanager:eu-west-1::secret:vintner/",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/vintner/",
        "vintner/",
    ] {
        let err = WorkerJobPolicy::default().secret_prefix(bad).unwrap_err();
        assert!(err.to_string().contains(bad), "{bad}: {err}");
    }
}

#[test]
fn role_patterns_are_iam_role_arns() {
    assert_eq!(
        WorkerJobPolicy::default().roles(),
        [DEFAULT_ASSUMABLE_ROLES]
    );
    let p = WorkerJobPolicy::default()
        .assumable_roles("arn:aws:iam::123456789012:role/vintner-*, arn:aws:iam::*:role/ops/deploy")
        .unwrap();
    assert_eq!(
        p.roles(),
        [
            "arn:aws:iam::123456789012:role/vintner-*",
            "arn:aws:iam::*:role/ops/deploy"
        ]
    );
    for bad in [
        "",
        "*",
        "arn:aws:iam::*:user/vintner",
        "arn:aws:s3:::bucket",
        "arn:aws:iam::12:role/x",
        "arn:aws:iam:eu-west-1:123456789012:role/x",
    ] {
        assert!(
            WorkerJobPolicy::default().assumable_roles(bad).is_err(),
            "{bad} accepted"
        );
    }
}
