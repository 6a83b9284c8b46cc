//! The vine's infrastructure facts: its Terraform outputs (the output contract of every
//! template set, ARCHITECTURE.md "Vines"), read into a typed struct.

use std::collections::BTreeMap;

use serde_json::Value;

/// The cloud of a vine, as far as ArgoCD's apps care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// EKS: IRSA roles, the AWS load balancer controller, Route 53, Karpenter.
    Aws,
    /// GKE: Workload Identity, Cloud DNS.
    Gcp,
    /// AKS: workload identity, Azure DNS.
    Azure,
}

impl Provider {
    /// Reads `aws`, `gcp` or `azure`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "aws" => Some(Self::Aws),
            "gcp" => Some(Self::Gcp),
            "azure" => Some(Self::Azure),
            _ => None,
        }
    }
}

/// What the platform's apps are configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformFacts {
    /// The cloud.
    pub provider: Provider,
    /// `cluster_name`.
    pub cluster_name: String,
    /// `account_id`: AWS account, GCP project, Azure subscription.
    pub account_id: String,
    /// `region`.
    pub region: String,
    /// `network_id`.
    pub network_id: String,
    /// `dns_zone_id`, when the vine manages DNS.
    pub dns_zone_id: Option<String>,
    /// The vine's `dns.domain_name`, when set.
    pub domain_name: Option<String>,
    /// `certificate_arn`, when one was issued.
    pub certificate_arn: Option<String>,
    /// `irsa_role_arns` (AWS): `load_balancer_controller`, `external_dns`, `external_secrets`,
    /// `karpenter`.
    pub irsa_role_arns: BTreeMap<String, String>,
    /// `karpenter_queue_name`, when Karpenter is enabled.
    pub karpenter_queue_name: Option<String>,
}

/// An output the facts need is missing or of the wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("terraform output `{output}`: {problem}")]
pub struct FactsError {
    /// The output's name.
    pub output: &'static str,
    /// What is wrong.
    pub problem: &'static str,
}

impl PlatformFacts {
    /// Reads the facts from `terraform output -json`-style values (`{name: value}` or
    /// `{name: {value, …}}`; Terraform leaves `null` outputs out, so a missing optional output is
    /// `None`). `domain_name` comes from the vine itself.
    pub fn from_outputs(
        provider: Provider,
        outputs: &Value,
        domain_name: Option<&str>,
    ) -> Result<Self, FactsError> {
        let get = |name: &str| {
            let v = outputs.get(name)?;
            let v = v.get("value").unwrap_or(v);
            (!v.is_null()).then_some(v)
        };
        let required = |name: &'static str| -> Result<String, FactsError> {
            match get(name) {
                None => Err(FactsError {
                    output: name,
                    problem: "missing",
                }),
                Some(v) => v.as_str().map(str::to_owned).ok_or(FactsError {
                    output: name,
                    problem: "not a string",
                }),
            }
        };
        let optional = |name: &'static str| -> Result<Option<String>, FactsError> {
            match get(name) {
                None => Ok(None),
                Some(v) => v.as_str().map(|s| Some(s.to_owned())).ok_or(FactsError {
                    output: name,
                    problem: "not a string",
                }),
            }
        };
        let irsa_role_arns = match get("irsa_role_arns") {
            None => BTreeMap::new(),
            Some(Value::Object(map)) => map
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect(),
            Some(_) => {
                return Err(FactsError {
                    output: "irsa_role_arns",
                    problem: "not a map of strings",
                });
            }
        };
        Ok(Self {
            provider,
            cluster_name: required("cluster_name")?,
            account_id: required("account_id")?,
            region: required("region")?,
            network_id: required("network_id")?,
            dns_zone_id: optional("dns_zone_id")?,
            domain_name: domain_name.map(str::to_owned),
            certificate_arn: optional("certificate_arn")?,
            irsa_role_arns,
            karpenter_queue_name: optional("karpenter_queue_name")?,
        })
    }

    /// The IRSA role of `app` (AWS), if the templates made one.
    pub fn irsa_role(&self, app: &str) -> Option<&str> {
        self.irsa_role_arns.get(app).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn outputs_in_both_shapes_and_missing_optionals() {
        let outputs = json!({
            "cluster_name": {"value": "web-dev", "type": "string", "sensitive": false},
            "account_id": "123456789012",
            "region": "eu-west-1",
            "network_id": "vpc-1",
            "irsa_role_arns": {"value": {"external_dns": "arn:aws:iam::1:role/dns"}},
            "certificate_arn": null
        });
        let facts =
            PlatformFacts::from_outputs(Provider::Aws, &outputs, Some("dev.example.com")).unwrap();
        assert_eq!(facts.cluster_name, "web-dev");
        assert_eq!(facts.certificate_arn, None);
        assert_eq!(
            facts.irsa_role("external_dns"),
            Some("arn:aws:iam::1:role/dns")
        );
        assert_eq!(facts.domain_name.as_deref(), Some("dev.example.com"));
    }

    #[test]
    fn a_missing_required_output_is_named() {
        let err = PlatformFacts::from_outputs(Provider::Gcp, &json!({"cluster_name": "c"}), None)
            .unwrap_err();
        assert_eq!(err.to_string(), "terraform output `account_id`: missing");
        let err = PlatformFacts::from_outputs(
            Provider::Gcp,
            &json!({"cluster_name": 3, "account_id": "p", "region": "r", "network_id": "n"}),
            None,
        )
        .unwrap_err();
        assert_eq!(err.output, "cluster_name");
    }
}
