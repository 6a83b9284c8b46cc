//! The bundled templates: their HCL (every reference declared, the output contract, the tfvars
//! keys), `terraform fmt`, the stand-in set planned and applied with real Terraform and S3
//! state on moto, and — with the provider mirror — the AWS set validated, planned and applied
//! on moto.

mod hcl_refs;
mod real;

use std::collections::BTreeSet;

use grape_vine::{
    CloudProvider, Format, OUTPUT_CONTRACT, StateBackend, TemplateSet, parse_vine, render,
    render_with, state_key, tfvars,
};

pub fn sample_vine(file: &str) -> grape_vine::Vine {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/samples")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("sample");
    parse_vine(&text, Format::from_file_name(file)).expect("valid sample")
}

fn backend() -> StateBackend {
    StateBackend {
        bucket: "terraform-state".into(),
        region: "us-east-1".into(),
        endpoint: Some("http://127.0.0.1:9000/storage/v1/s3".into()),
    }
}

#[test]
fn every_reference_in_every_set_is_declared() {
    for set in TemplateSet::ALL {
        let ix = hcl_refs::index(set);
        let missing = |refs: &BTreeSet<String>, decl: &BTreeSet<String>| -> Vec<String> {
            refs.difference(decl).cloned().collect()
        };
        assert_eq!(
            missing(&ix.var_refs, &ix.variables),
            Vec::<String>::new(),
            "{} var.*",
            set.name()
        );
        assert_eq!(
            missing(&ix.local_refs, &ix.locals),
            Vec::<String>::new(),
            "{} local.*",
            set.name()
        );
        assert_eq!(
            missing(&ix.data_refs, &ix.data),
            Vec::<String>::new(),
            "{} data.*",
            set.name()
        );
        assert_eq!(
            missing(&ix.resource_refs, &ix.resources),
            Vec::<String>::new(),
            "{} resources",
            set.name()
        );
        assert!(!ix.resources.is_empty(), "{}", set.name());
    }
}

#[test]
fn every_set_declares_exactly_the_output_contract() {
    let contract: BTreeSet<String> = OUTPUT_CONTRACT.iter().map(|o| o.name.to_owned()).collect();
    assert_eq!(contract.len(), 14);
    for set in TemplateSet::ALL {
        assert_eq!(hcl_refs::index(set).outputs, contract, "{}", set.name());
    }
}

#[test]
fn every_tfvars_key_is_a_declared_variable_and_every_variable_is_set() {
    for file in ["valid-aws-full.yaml", "valid-gcp.yaml", "valid-azure.json"] {
        let vine = sample_vine(file);
        let keys: BTreeSet<String> = serde_json::to_value(tfvars(&vine))
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        for set in TemplateSet::ALL {
            let ix = hcl_refs::index(set);
            assert_eq!(keys, ix.variables, "{file} on {}", set.name());
            assert!(ix.required_variables.is_subset(&keys));
        }
    }
}

#[test]
fn each_provider_set_requires_its_own_provider_only() {
    for (provider, name) in [
        (CloudProvider::Aws, "aws"),
        (CloudProvider::Gcp, "google"),
        (CloudProvider::Azure, "azurerm"),
    ] {
        let ix = hcl_refs::index(TemplateSet::Provider(provider));
        assert_eq!(
            ix.providers,
            BTreeSet::from([name.to_owned()]),
            "{provider}"
        );
    }
    assert!(hcl_refs::index(TemplateSet::StandIn).providers.is_empty());
    let aws = TemplateSet::Provider(CloudProvider::Aws).files();
    let versions = aws
        .iter()
        .find(|f| f.name == "versions.tf")
        .unwrap()
        .contents;
    assert!(
        versions.contains(r#"version = ">= 5.95, < 7.0""#),
        "admits hashicorp/aws 5.100.0"
    );
    let lock = aws
        .iter()
        .find(|f| f.name == ".terraform.lock.hcl")
        .unwrap()
        .contents;
    assert!(lock.contains(r#"version     = "5.100.0""#), "{lock}");
    for file in &aws {
        // The test-only provider overrides stay in the tests.
        for banned in [
            "skip_credentials_validation",
            "skip_requesting_account_id",
            "endpoints",
        ] {
            assert!(
                !file.contents.contains(banned),
                "{} contains {banned}",
                file.name
            );
        }
    }
}

#[test]
fn the_vine_maps_to_the_documented_tfvars() {
    let vine = sample_vine("valid-aws-full.yaml");
    let vars = serde_json::to_value(tfvars(&vine)).unwrap();
    assert_eq!(vars["project_name"], "web");
    assert_eq!(vars["instance_types"], serde_json::json!(["m5.large"]));
    assert_eq!(vars["provision_network"], true);
    assert_eq!(vars["cidr_block"], "10.20.0.0/16");
    assert_eq!(vars["network_id"], serde_json::Value::Null);
    assert_eq!(vars["single_nat_gateway"], true);
    assert_eq!(vars["enable_karpenter"], true);
    assert_eq!(vars["dns_enabled"], true);
    assert_eq!(vars["domain_name"], "dev.example.com");
    assert_eq!(vars["acm_certificate"], true);
    assert_eq!(
        vars["cluster_admins"],
        serde_json::json!(["arn:aws:iam::123456789012:role/platform-admins"])
    );

    let existing =
        serde_json::to_value(tfvars(&sample_vine("valid-aws-existing-vpc.yaml"))).unwrap();
    assert_eq!(existing["provision_network"], false);
    assert_eq!(existing["network_id"], "vpc-0123456789abcdef0");
    assert_eq!(existing["dns_zone_id"], "Z0123456789ABCDEFGHIJ");
}

#[test]
fn the_state_key_is_computed_in_one_place() {
    let vine = sample_vine("valid-aws-full.yaml");
    assert_eq!(
        state_key("default", &vine),
        "vines/default/web/dev/eu-west-1/terraform.tfstate"
    );
    let rendered = render(&vine, "default", &backend()).unwrap();
    assert_eq!(rendered.state_key, state_key("default", &vine));
    let config = &rendered
        .file(grape_vine::BACKEND_CONFIG_FILE)
        .unwrap()
        .contents;
    assert!(
        config.contains(r#"key          = "vines/default/web/dev/eu-west-1/terraform.tfstate""#),
        "{config}"
    );
    assert!(render(&vine, "Team A", &backend()).is_err());
}

#[test]
fn render_writes_templates_tfvars_and_backend_without_secrets() {
    let vine = sample_vine("valid-aws-full.yaml");
    let rendered = render(&vine, "default", &backend()).unwrap();
    let paths: Vec<&str> = rendered.files.iter().map(|f| f.path.as_str()).collect();
    for want in [
        "variables.tf",
        "eks.tf",
        ".terraform.lock.hcl",
        "terraform.tfvars.json",
        "backend.tf",
        "state.s3.tfbackend",
        "terraform_version.tf",
    ] {
        assert!(paths.contains(&want), "{want} in {paths:?}");
    }
    let version = &rendered.file("terraform_version.tf").unwrap().contents;
    assert!(
        version.contains(r#"required_version = ">= 1.10, < 2.0""#),
        "{version}"
    );
    let backend_tf = &rendered.file("backend.tf").unwrap().contents;
    assert!(backend_tf.contains(r#"backend "s3" {}"#));
    for f in &rendered.files {
        for secret in ["secret_key", "access_key", "SUPABASE_STORAGE"] {
            assert!(!f.contents.contains(secret), "{} holds {secret}", f.path);
        }
    }
    let minimal = render(
        &sample_vine("valid-aws-minimal.yaml"),
        "default",
        &backend(),
    )
    .unwrap();
    assert!(minimal.file("terraform_version.tf").is_none());

    let stand_in = render_with(&vine, "default", &backend(), TemplateSet::StandIn).unwrap();
    assert!(stand_in.file("main.tf").is_some() && stand_in.file("eks.tf").is_none());
}
