//! Console sessions: the SHA-256 of the session id, the SHA-256 (and id) of the API token it was
//! signed in with, its CSRF token and its expiry. See migration 0004.

use super::{Store, StoreError, with_db};
use chrono::{DateTime, Utc};
use uuid::Uuid;

const SESSION_COLUMNS: &str = "id_hash, token_hash, token_id, csrf_token, created_at, expires_at";

/// A row of `console_sessions`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    /// SHA-256 of the session id (the cookie's value), hex.
    pub id_hash: String,
    /// SHA-256 of the API token the session was signed in with, hex.
    pub token_hash: String,
    /// The id of that token when it is a per-user token (`/api/tokens`).
    pub token_id: Option<Uuid>,
    /// The CSRF synchronizer token of every form of this session.
    pub csrf_token: String,
    /// Sign-in time.
    pub created_at: DateTime<Utc>,
    /// The session ends then, whatever happens.
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Stores a new session.
    pub async fn insert_session(&self, row: &SessionRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO console_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        );
        with_db!(self, pool, q => {
            sqlx::query(q(&sql))
                .bind(&row.id_hash).bind(&row.token_hash).bind(row.token_id)
                .bind(&row.csrf_token).bind(row.created_at).bind(row.expires_at)
                .execute(pool).await?;
            Ok(())
        })
    }

    /// The session whose id hashes to `id_hash`, unless it expired before `now`.
    pub async fn live_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM console_sessions WHERE id_hash = $1 AND expires_at > $2"
        );
        with_db!(self, pool, q => {
            Ok(sqlx::query_as::<_, SessionRow>(q(&sql)).bind(id_hash).bind(now).fetch_optional(pool).await?)
        })
    }

    /// Ends one session (sign-out); ending it again is no error.
    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM console_sessions WHERE id_hash = $1";
        with_db!(self, pool, q => {
            sqlx::query(q(sql)).bind(id_hash).execute(pool).await?;
            Ok(())
        })
    }

    /// Ends every session signed in with the per-user token `token_id` (it was revoked); how
    /// many.
    pub async fn delete_sessions_of_token(&self, token_id: Uuid) -> Result<u64, StoreError> {
        let sql = "DELETE FROM console_sessions WHERE token_id = $1";
        with_db!(self, pool, q => {
            Ok(sqlx::query(q(sql)).bind(token_id).execute(pool).await?.rows_affected())
        })
    }

    /// Removes the sessions that expired before `now`; how many.
    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let sql = "DELETE FROM console_sessions WHERE expires_at <= $1";
        with_db!(self, pool, q => {
            Ok(sqlx::query(q(sql)).bind(now).execute(pool).await?.rows_affected())
        })
    }
}
