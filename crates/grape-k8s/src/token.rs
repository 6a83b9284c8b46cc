//! Where the bearer token comes from: the caller (grape-k8s signs nothing itself).

use chrono::{DateTime, Utc};
use grape_api::Secret;

use crate::TokenError;

/// A bearer token for the API server and when it stops working.
#[derive(Debug, Clone)]
pub struct BearerToken {
    /// The token (hidden in `Debug`).
    pub token: Secret,
    /// Its expiry; `None` for a token that does not expire (a test cluster's static token).
    pub expires_at: Option<DateTime<Utc>>,
}

/// Gives bearer tokens for one cluster: EKS tokens minted from the job identity's refreshed
/// credentials, a GKE/AKS access token, or a fixed token. Asked again whenever the last token
/// is within the client's refresh margin of its expiry.
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// A token valid for a while yet.
    async fn token(&self) -> Result<BearerToken, TokenError>;
}

/// A token that never changes.
#[derive(Debug, Clone)]
pub struct StaticToken(pub Secret);

#[async_trait::async_trait]
impl TokenSource for StaticToken {
    async fn token(&self) -> Result<BearerToken, TokenError> {
        Ok(BearerToken {
            token: self.0.clone(),
            expires_at: None,
        })
    }
}
