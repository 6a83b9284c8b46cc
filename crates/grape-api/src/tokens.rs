//! Per-user API tokens (`/api/tokens`, admin only): each belongs to a team and has a role.
//! The secret is shown once, in [`CreatedToken`]; Trellis keeps only its SHA-256.

use crate::enums::TokenRole;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /api/tokens` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateTokenRequest {
    /// The team the token acts for (`[a-z0-9][a-z0-9_-]*`, at most 63 characters).
    pub team: String,
    /// `user` (its team only) or `admin` (every team).
    pub role: TokenRole,
    /// A name to recognise it by in `GET /api/tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A token as `GET /api/tokens` lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    /// Token id (also the first part of the token itself).
    pub id: Uuid,
    /// Its name, if given.
    #[serde(default)]
    pub name: Option<String>,
    /// Its team.
    pub team: String,
    /// Its role.
    pub role: TokenRole,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was revoked (it gets 401 since).
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `POST /api/tokens` answer (201): the token, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    /// What the listing shows of it.
    #[serde(flatten)]
    pub info: ApiToken,
    /// The bearer token (stored by Trellis only as a hash).
    pub token: Secret,
}

/// `GET /api/tokens` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenList {
    /// Every token, oldest first (revoked ones too).
    pub tokens: Vec<ApiToken>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_token_is_the_listing_plus_the_secret() {
        let t = CreatedToken {
            info: ApiToken {
                id: Uuid::nil(),
                name: None,
                team: "a".into(),
                role: TokenRole::User,
                created_at: DateTime::UNIX_EPOCH,
                revoked_at: None,
            },
            token: Secret::new("s3cret"),
        };
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["role"], "user");
        assert_eq!(v["token"], "s3cret");
        assert!(!format!("{t:?}").contains("s3cret"));
        let back: CreatedToken = serde_json::from_value(v).unwrap();
        assert_eq!(back, t);
    }
}
