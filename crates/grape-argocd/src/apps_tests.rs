use std::collections::BTreeMap;

use super::*;

fn aws_facts() -> PlatformFacts {
    PlatformFacts {
        provider: Provider::Aws,
        cluster_name: "web-dev".into(),
        account_id: "123456789012".into(),
        region: "eu-west-1".into(),
        network_id: "vpc-1".into(),
        dns_zone_id: Some("Z123".into()),
        domain_name: Some("dev.example.com".into()),
        certificate_arn: None,
        irsa_role_arns: BTreeMap::from([
            (
                "load_balancer_controller".into(),
                "arn:aws:iam::123456789012:role/lbc".into(),
            ),
            (
                "external_dns".into(),
                "arn:aws:iam::123456789012:role/dns".into(),
            ),
            (
                "external_secrets".into(),
                "arn:aws:iam::123456789012:role/es".into(),
            ),
            (
                "karpenter".into(),
                "arn:aws:iam::123456789012:role/karpenter".into(),
            ),
        ]),
        karpenter_queue_name: Some("web-dev-karpenter".into()),
    }
}

fn names(manifests: &[Manifest]) -> Vec<&str> {
    manifests.iter().map(Manifest::name).collect()
}

fn app<'a>(manifests: &'a [Manifest], name: &str) -> &'a Value {
    &manifests.iter().find(|m| m.name() == name).expect(name).0
}

#[test]
fn aws_gets_every_app_with_its_irsa_role() {
    let options = AppsOptions {
        apps_repo: Some("https://github.com/acme/apps.git".into()),
        ..AppsOptions::default()
    };
    let out = platform_applications(&aws_facts(), &options);
    assert_eq!(
        names(&out),
        [
            "infrastructure",
            "aws-load-balancer-controller",
            "external-dns",
            "external-secrets",
            "metrics-server",
            "karpenter",
            "apps"
        ]
    );
    assert_eq!(out[0].kind(), "AppProject");
    for m in &out[1..] {
        assert_eq!(m.kind(), "Application");
        assert_eq!(m.namespace(), Some("argocd"));
        assert_eq!(m.0["spec"]["syncPolicy"]["automated"]["prune"], true);
        assert_eq!(
            m.0["metadata"]["finalizers"][0],
            "resources-finalizer.argocd.argoproj.io"
        );
    }
    let lbc = app(&out, "aws-load-balancer-controller");
    let values = &lbc["spec"]["source"]["helm"]["valuesObject"];
    assert_eq!(values["clusterName"], "web-dev");
    assert_eq!(values["vpcId"], "vpc-1");
    assert_eq!(
        values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/lbc"
    );
    let karpenter = &app(&out, "karpenter")["spec"]["source"]["helm"]["valuesObject"];
    assert_eq!(
        karpenter["settings"]["interruptionQueue"],
        "web-dev-karpenter"
    );
    let dns = &app(&out, "external-dns")["spec"]["source"]["helm"]["valuesObject"];
    assert_eq!(dns["domainFilters"][0], "dev.example.com");
    assert_eq!(dns["provider"]["name"], "aws");
    // The project admits exactly the charts' repositories.
    let repos = out[0].0["spec"]["sourceRepos"].as_array().unwrap();
    assert_eq!(repos.len(), 5, "{repos:?}");
    let user = app(&out, "apps");
    assert_eq!(
        user["spec"]["source"]["repoURL"],
        "https://github.com/acme/apps.git"
    );
    assert_eq!(user["spec"]["project"], "default");
}

#[test]
fn optional_apps_follow_the_facts_and_the_cloud() {
    let mut facts = aws_facts();
    facts.dns_zone_id = None;
    facts.karpenter_queue_name = None;
    let out = platform_applications(&facts, &AppsOptions::default());
    assert_eq!(
        names(&out),
        [
            "infrastructure",
            "aws-load-balancer-controller",
            "external-secrets",
            "metrics-server"
        ]
    );

    let gcp = PlatformFacts {
        provider: Provider::Gcp,
        irsa_role_arns: BTreeMap::new(),
        karpenter_queue_name: Some("ignored".into()),
        ..aws_facts()
    };
    let out = platform_applications(&gcp, &AppsOptions::default());
    assert_eq!(
        names(&out),
        ["infrastructure", "external-dns", "external-secrets"]
    );
    let dns = &app(&out, "external-dns")["spec"]["source"]["helm"]["valuesObject"];
    assert_eq!(dns["provider"]["name"], "google");
    assert_eq!(dns["extraArgs"][0], "--google-project=123456789012");
    let es = &app(&out, "external-secrets")["spec"]["source"]["helm"]["valuesObject"];
    assert_eq!(es["serviceAccount"]["annotations"], json!({}));
}

#[test]
fn argocd_values_and_storage_classes() {
    let facts = aws_facts();
    let values = crate::ArgoCdChart::default().values(&facts);
    assert_eq!(
        values["server"]["ingress"]["hostname"],
        "argocd.dev.example.com"
    );
    assert_eq!(values["configs"]["params"]["server.insecure"], false);
    let local = PlatformFacts {
        domain_name: None,
        ..facts
    };
    let values = crate::ArgoCdChart::default().values(&local);
    assert!(values["server"].get("ingress").is_none());
    assert_eq!(crate::ArgoCdChart::server_url(&local), None);
    for (provider, csi) in [
        (Provider::Aws, "ebs.csi.aws.com"),
        (Provider::Gcp, "pd.csi.storage.gke.io"),
        (Provider::Azure, "disk.csi.azure.com"),
    ] {
        let sc = storage_class(provider);
        assert_eq!(sc.kind(), "StorageClass");
        assert_eq!(sc.0["provisioner"], csi);
        assert_eq!(sc.namespace(), None);
    }
}
