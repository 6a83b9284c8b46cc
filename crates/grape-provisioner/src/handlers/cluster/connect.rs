//! Step `cluster`: a client of the vine's cluster, from its Terraform outputs and a token the
//! job's cloud session mints (EKS: a presigned STS call; GKE/AKS: the provider's access token),
//! or the host's stand-in cluster for a vine rendered with the stand-in templates.

use std::sync::Arc;

use grape_api::CloudSession;
use grape_argocd::{PlatformFacts, Provider};
use grape_k8s::{BearerToken, ClusterAccess, K8s, StaticToken, TokenError, TokenSource};
use grape_vine::Vine;
use serde_json::Value;

use super::{Step, step_failed};
use crate::handlers::VineTemplates;
use crate::{JobContext, JobError};

/// A connected cluster and what the vine's outputs say about it.
pub(super) struct Connected {
    pub k8s: K8s,
    pub facts: PlatformFacts,
}

/// Tokens of one cluster from the job's cloud session, renewed by the client before expiry.
#[derive(Debug)]
pub(crate) struct SessionTokens {
    session: Arc<dyn CloudSession>,
    cluster: String,
}

impl SessionTokens {
    pub(crate) fn new(session: Arc<dyn CloudSession>, cluster: impl Into<String>) -> Self {
        Self {
            session,
            cluster: cluster.into(),
        }
    }
}

#[async_trait::async_trait]
impl TokenSource for SessionTokens {
    async fn token(&self) -> Result<BearerToken, TokenError> {
        let minted = self
            .session
            .cluster_token(&self.cluster)
            .await
            .map_err(|e| TokenError(e.to_string()))?;
        Ok(BearerToken {
            token: minted.token,
            expires_at: Some(minted.expires_at),
        })
    }
}

/// Connects to the vine's cluster and checks it answers; `None` when this vine has no cluster
/// to connect to (stand-in templates without a stand-in cluster on this host).
pub(super) async fn connect(
    ctx: &JobContext,
    vine: &Vine,
    outputs: &Value,
) -> Result<Option<Connected>, JobError> {
    let provider = Provider::parse(vine.provider.as_str()).ok_or_else(|| {
        step_failed(
            Step::Cluster,
            format!("no platform for provider {}", vine.provider.as_str()),
        )
    })?;
    let domain = vine
        .dns
        .enabled
        .then_some(())
        .and(vine.dns.domain_name.as_deref());
    let facts = PlatformFacts::from_outputs(provider, outputs, domain)
        .map_err(|e| step_failed(Step::Cluster, e))?;
    let settings = &ctx.settings.cluster;
    let given = match (&settings.local_cluster, ctx.settings.vine_templates) {
        (Some(local), _) => Some((local, "the cluster of your kubeconfig")),
        (None, VineTemplates::StandIn) => settings
            .standin_cluster
            .as_ref()
            .map(|c| (c, "stand-in templates: the stand-in cluster")),
        (None, VineTemplates::Provider) => None,
    };
    let (access, tokens): (ClusterAccess, Arc<dyn TokenSource>) =
        match (given, ctx.settings.vine_templates) {
            (Some((cluster, what)), _) => {
                ctx.redactor.add(cluster.token.expose());
                ctx.log.system(format!(
                    "the cluster steps run against {what} {}",
                    cluster.endpoint
                ));
                let access = ClusterAccess::new(&cluster.endpoint, &cluster.ca_pem)
                    .map_err(|e| step_failed(Step::Cluster, e))?;
                (access, Arc::new(StaticToken(cluster.token.clone())))
            }
            (None, VineTemplates::StandIn) => {
                ctx.log.system(
                    "the stand-in templates make no cluster and this host names no stand-in \
                     cluster: the cluster steps (ArgoCD, repository, Applications) are skipped",
                );
                return Ok(None);
            }
            (None, VineTemplates::Provider) => {
                let access = ClusterAccess::from_outputs(outputs)
                    .map_err(|e| step_failed(Step::Cluster, e))?;
                let Some(session) = &ctx.cloud else {
                    return Err(step_failed(
                        Step::Cluster,
                        "the job has no cloud session to mint a cluster token with",
                    ));
                };
                (
                    access,
                    Arc::new(SessionTokens::new(session.clone(), &facts.cluster_name)),
                )
            }
        };
    let k8s = K8s::new(access, tokens);
    let version = k8s
        .server_version(&ctx.cancel)
        .await
        .map_err(|e| super::k8s_error(Step::Cluster, e))?;
    ctx.log.system(format!(
        "cluster {} at {}: Kubernetes {version}",
        facts.cluster_name,
        k8s.endpoint()
    ));
    Ok(Some(Connected { k8s, facts }))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use grape_api::{
        CloudFailure, CloudFailureKind, CloudProvider, ClusterToken, Secret, VerifiedIdentity,
    };

    use super::*;

    #[derive(Debug)]
    struct Minting;

    #[async_trait::async_trait]
    impl CloudSession for Minting {
        fn provider(&self) -> CloudProvider {
            CloudProvider::Aws
        }
        fn tool_env(&self, _: &std::path::Path) -> Vec<(String, String)> {
            Vec::new()
        }
        fn expires_at(&self) -> Option<chrono::DateTime<Utc>> {
            None
        }
        fn renewals(&self) -> u64 {
            0
        }
        async fn verify(&self) -> Result<VerifiedIdentity, CloudFailure> {
            Err(CloudFailure::new(
                CloudFailureKind::Unsupported,
                "TEST",
                "not used",
            ))
        }
        async fn discover(&self) -> grape_api::Discovery {
            grape_api::Discovery::new(CloudProvider::Aws, None, Vec::new())
        }
        fn discovery_scope(&self) -> Vec<String> {
            Vec::new()
        }
        async fn cluster_token(&self, cluster: &str) -> Result<ClusterToken, CloudFailure> {
            Ok(ClusterToken {
                token: Secret::new(format!("k8s-aws-v1.{cluster}")),
                expires_at: Utc::now() + chrono::Duration::minutes(14),
            })
        }
    }

    #[tokio::test]
    async fn a_session_mints_the_tokens_of_the_named_cluster_with_their_expiry() {
        let tokens = SessionTokens::new(Arc::new(Minting), "web-dev");
        let token = tokens.token().await.unwrap();
        assert_eq!(token.token.expose(), "k8s-aws-v1.web-dev");
        assert!(token.expires_at.unwrap() > Utc::now());
    }
}
