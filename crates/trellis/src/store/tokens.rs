//! Per-user API tokens: only their SHA-256 is stored; a revoked token stays listed.

use super::{Store, StoreError, with_db};
use chrono::{DateTime, Utc};
use grape_api::{ApiToken, TokenRole};
use uuid::Uuid;

const TOKEN_COLUMNS: &str = "id, name, team, role, token_hash, created_at, revoked_at";

/// A row of `api_tokens`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    /// Token id (named by the token itself).
    pub id: Uuid,
    /// Display name.
    pub name: Option<String>,
    /// Team.
    pub team: String,
    /// Role (wire value).
    pub role: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// Revocation.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    /// The listing form (no hash).
    pub fn to_token(&self) -> ApiToken {
        ApiToken {
            id: self.id,
            name: self.name.clone(),
            team: self.team.clone(),
            role: TokenRole::from_wire(&self.role),
            created_at: self.created_at,
            revoked_at: self.revoked_at,
        }
    }
}

impl Store {
    /// Stores a new token (its hash).
    pub async fn insert_token(
        &self,
        id: Uuid,
        name: Option<&str>,
        team: &str,
        role: &TokenRole,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenRow, StoreError> {
        let sql = format!(
            "INSERT INTO api_tokens (id, name, team, role, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TOKEN_COLUMNS}"
        );
        with_db!(self, pool, q => {
            Ok(sqlx::query_as::<_, TokenRow>(q(&sql))
                .bind(id).bind(name).bind(team).bind(role.as_str()).bind(token_hash).bind(now)
                .fetch_one(pool).await?)
        })
    }

    /// A token that is not revoked, by id.
    pub async fn active_token(&self, id: Uuid) -> Result<Option<TokenRow>, StoreError> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1 AND revoked_at IS NULL");
        with_db!(self, pool, q => {
            Ok(sqlx::query_as::<_, TokenRow>(q(&sql)).bind(id).fetch_optional(pool).await?)
        })
    }

    /// Every token, oldest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id");
        with_db!(self, pool, q => {
            Ok(sqlx::query_as::<_, TokenRow>(q(&sql)).fetch_all(pool).await?)
        })
    }

    /// Revokes a token (again: unchanged). False when there is no such token.
    pub async fn revoke_token(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let sql = "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1";
        with_db!(self, pool, q => {
            Ok(sqlx::query(q(sql)).bind(id).bind(now).execute(pool).await?.rows_affected() > 0)
        })
    }
}
