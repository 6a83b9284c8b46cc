//! The vine model: parsing, defaults, errors with field paths, and the JSON Schema agreeing with
//! the parser over the sample files in `tests/samples/`.

use std::path::{Path, PathBuf};

use grape_vine::{
    CloudProvider, DEFAULT_CIDR_BLOCK, Format, VineError, parse_document, parse_vine,
    vine_from_value, vine_schema,
};

fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("samples directory")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() > 30, "samples missing in {}", dir.display());
    files
}

fn read(path: &Path) -> (String, Format) {
    let text = std::fs::read_to_string(path).expect("sample");
    let format = Format::from_file_name(&path.display().to_string());
    (text, format)
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The `# expect: PATH` header of an invalid sample.
fn expected_path(text: &str) -> &str {
    text.lines()
        .find_map(|l| l.strip_prefix("# expect: "))
        .expect("invalid samples start with '# expect: PATH'")
}

fn sample(file: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/samples")
            .join(file),
    )
    .expect("sample")
}

#[test]
fn valid_samples_parse_and_invalid_ones_name_the_field() {
    for path in samples() {
        let (text, format) = read(&path);
        let result = parse_vine(&text, format);
        if name(&path).starts_with("valid-") {
            let vine = result.unwrap_or_else(|e| panic!("{}: {e}", name(&path)));
            // What was read round-trips through JSON to the same vine (a job payload's `vine`).
            let again = vine_from_value(serde_json::to_value(&vine).unwrap()).unwrap();
            assert_eq!(again, vine, "{}", name(&path));
        } else {
            let err = result.expect_err(&name(&path));
            let want = expected_path(&text);
            assert!(
                err.problems().iter().any(|p| p.path == want),
                "{}: expected a problem at {want}, got: {err}",
                name(&path)
            );
            assert!(err.to_string().contains(want), "{err}");
        }
    }
}

#[test]
fn the_schema_rejects_what_the_parser_rejects() {
    let schema = vine_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    for path in samples() {
        let (text, format) = read(&path);
        let doc = parse_document(&text, format).expect("samples are YAML/JSON");
        let parser_ok = parse_vine(&text, format).is_ok();
        let schema_ok = validator.is_valid(&doc);
        if text.contains("# schema-accepts:") {
            // The one rule JSON Schema cannot express (comparing two fields): the parser alone
            // rejects it, and the schema says so in its $comment.
            assert!(!parser_ok && schema_ok, "{}", name(&path));
            continue;
        }
        assert_eq!(
            schema_ok,
            parser_ok,
            "{}: schema says {schema_ok}, parser says {parser_ok}: {:?}",
            name(&path),
            validator
                .iter_errors(&doc)
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
        );
    }
    assert!(
        schema["$comment"]
            .as_str()
            .unwrap()
            .contains("node_min_size"),
        "{schema}"
    );
}

#[test]
fn defaults_are_the_documented_ones() {
    let vine = parse_vine(&sample("valid-aws-minimal.yaml"), Format::Yaml).unwrap();
    assert_eq!(vine.provider, CloudProvider::Aws);
    assert_eq!(vine.network.cidr_block, DEFAULT_CIDR_BLOCK);
    assert!(vine.network.provisions_network());
    assert!(!vine.network.single_nat_gateway);
    assert!(!vine.cluster.enable_karpenter);
    assert!(vine.cluster.cluster_admins.is_empty());
    assert!(!vine.dns.enabled && !vine.dns.acm_certificate);
    assert_eq!(vine.dns.zone_id, None);
    assert_eq!(vine.repositories.gitops_repo, None);
    assert_eq!(vine.terraform_version, None);

    let existing = parse_vine(&sample("valid-aws-existing-vpc.yaml"), Format::Yaml).unwrap();
    assert!(
        !existing.network.provisions_network(),
        "a network_id alone means provision_network: false"
    );
}

#[test]
fn messages_say_what_is_allowed() {
    let cases = [
        (
            "invalid-unknown-cluster-field.yaml",
            "unknown field `node_count`",
        ),
        ("invalid-bad-provider.yaml", "`aws`, `gcp`, `azure`"),
        ("invalid-missing-region.yaml", "missing field `region`"),
        ("invalid-long-project.yaml", "at most 20"),
        (
            "invalid-aws-region-on-gcp.yaml",
            "a GCP region such as europe-west1",
        ),
        ("invalid-cluster-version-float.yaml", "quote"),
        (
            "invalid-desired-above-max.yaml",
            "between node_min_size 1 and node_max_size 3",
        ),
        ("invalid-karpenter-on-azure.yaml", "only available on aws"),
        (
            "invalid-network-id-and-provision.yaml",
            "provision_network: true",
        ),
        ("invalid-bad-cidr.yaml", "/16 to /24"),
        ("invalid-bad-terraform-version.yaml", ">= 1.10, < 2.0"),
    ];
    for (file, needle) in cases {
        let err = parse_vine(&sample(file), Format::Yaml).expect_err(file);
        assert!(err.to_string().contains(needle), "{file}: {err}");
    }
}

#[test]
fn every_problem_is_listed_not_just_the_first() {
    let text = sample("valid-aws-minimal.yaml")
        .replace("project_name: web", "project_name: Web")
        .replace("region: eu-west-1", "region: Europe")
        .replace("node_desired_size: 2", "node_desired_size: 9");
    let err = parse_vine(&text, Format::Yaml).unwrap_err();
    let paths: Vec<&str> = err.problems().iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["project_name", "region", "cluster.node_desired_size"],
        "{err}"
    );
}

#[test]
fn syntax_errors_are_reported_as_such() {
    let err = parse_vine("project_name: [unclosed", Format::Yaml).unwrap_err();
    assert!(
        matches!(err, VineError::Syntax { format: "YAML", .. }),
        "{err}"
    );
    let err = parse_vine("{\"project_name\": ", Format::Json).unwrap_err();
    assert!(
        matches!(err, VineError::Syntax { format: "JSON", .. }),
        "{err}"
    );
    assert_eq!(Format::from_file_name("VINE.JSON"), Format::Json);
    assert_eq!(Format::from_file_name("vine.yml"), Format::Yaml);
}
