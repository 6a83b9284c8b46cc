//! Idempotency keys (`idempotency_keys`): a keyed write claims its key in the transaction that
//! makes its resource, so two requests with one key make one resource (on PostgreSQL the second
//! waits on the first's uncommitted row; SQLite has one writer). A key is its token's (by the
//! token's SHA-256) and is taken over once expired; the sweeper deletes expired keys.

use super::{Store, StoreError, with_db};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A write's idempotency key, scoped to the token that sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdemKey {
    /// SHA-256 (hex) of the bearer token.
    pub token_hash: String,
    /// The `Idempotency-Key` header.
    pub key: String,
    /// What the write does (`submit`, `retry`, `register`).
    pub operation: &'static str,
    /// SHA-256 (hex) of the request (operation, path, body).
    pub fingerprint: String,
    /// When the key is free again.
    pub expires_at: DateTime<Utc>,
}

/// What a keyed write came to.
#[derive(Debug)]
pub enum Keyed<T> {
    /// Done now.
    Fresh(T),
    /// An earlier request with this key and the same fingerprint made this resource.
    Replay(Uuid),
    /// The key was used (within its lifetime) for another request.
    Mismatch,
}

/// Claims a key for `$5` (the resource); an expired row is taken over. `$6` is now.
pub(super) const CLAIM_KEY: &str = "INSERT INTO idempotency_keys (token_hash, idem_key, operation, \
    fingerprint, resource_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
    ON CONFLICT (token_hash, idem_key) DO UPDATE SET operation = excluded.operation, \
    fingerprint = excluded.fingerprint, resource_id = excluded.resource_id, \
    created_at = excluded.created_at, expires_at = excluded.expires_at \
    WHERE idempotency_keys.expires_at <= $6";

/// The live row of a key: `$1` token hash, `$2` key, `$3` now.
pub(super) const READ_KEY: &str = "SELECT operation, fingerprint, resource_id FROM idempotency_keys \
    WHERE token_hash = $1 AND idem_key = $2 AND expires_at > $3";

/// The row of a key held by an earlier request, judged against this one.
pub(super) fn judge<T>(key: &IdemKey, row: (String, String, Uuid)) -> Keyed<T> {
    let (operation, fingerprint, resource) = row;
    if operation == key.operation && fingerprint == key.fingerprint {
        Keyed::Replay(resource)
    } else {
        Keyed::Mismatch
    }
}

/// Inside a `with_db!` transaction `$tx`: claims `$key` (`&IdemKey`) for `$resource` at `$now`.
/// Evaluates to `None` when claimed (go on and make the resource), or `Some(Keyed)` — a replay or
/// a mismatch — when an earlier request holds it (roll back).
macro_rules! claim_key {
    ($tx:ident, $q:ident, $key:expr, $resource:expr, $now:expr) => {{
        let key: &$crate::store::IdemKey = $key;
        let taken = sqlx::query($q($crate::store::idempotency::CLAIM_KEY))
            .bind(&key.token_hash)
            .bind(&key.key)
            .bind(key.operation)
            .bind(&key.fingerprint)
            .bind($resource)
            .bind($now)
            .bind(key.expires_at)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        if taken == 0 {
            let row: Option<(String, String, uuid::Uuid)> =
                sqlx::query_as($q($crate::store::idempotency::READ_KEY))
                    .bind(&key.token_hash)
                    .bind(&key.key)
                    .bind($now)
                    .fetch_optional(&mut *$tx)
                    .await?;
            match row {
                Some(row) => Some($crate::store::idempotency::judge(key, row)),
                None => {
                    return Err($crate::store::StoreError::Corrupt {
                        what: "idempotency_keys",
                        reason: "a key neither free nor readable".to_owned(),
                    });
                }
            }
        } else {
            None
        }
    }};
}
pub(crate) use claim_key;

impl Store {
    /// An earlier request's hold on `key`, judged (replay or mismatch); `None` when it is free.
    /// The fast path of a repeat: the write itself claims the key in its transaction.
    pub async fn find_key(
        &self,
        key: &IdemKey,
        now: DateTime<Utc>,
    ) -> Result<Option<Keyed<()>>, StoreError> {
        let row: Option<(String, String, Uuid)> = with_db!(self, pool, q => {
            sqlx::query_as(q(READ_KEY)).bind(&key.token_hash).bind(&key.key).bind(now).fetch_optional(pool).await?
        });
        Ok(row.map(|r| judge(key, r)))
    }

    /// Sweeper: deletes the keys expired at `now`. Returns how many.
    pub async fn delete_expired_keys(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let sql = "DELETE FROM idempotency_keys WHERE expires_at <= $1";
        with_db!(self, pool, q => {
            Ok(sqlx::query(q(sql)).bind(now).execute(pool).await?.rows_affected())
        })
    }
}
