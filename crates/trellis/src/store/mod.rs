//! Storage: one [`Store`] over SQLite (embedded default) or PostgreSQL (fleets).
//!
//! Both backends run the same SQL (written with `$n` placeholders; SQLite gets `?n`), except the
//! claim, which on PostgreSQL locks the candidate row `FOR UPDATE SKIP LOCKED` and on SQLite
//! relies on the single writer connection. Every state change runs in one transaction. Times are
//! computed in Rust and bound as parameters, so no SQL date functions differ between backends.

mod claims;
mod expiry;
mod idempotency;
mod jobs;
mod log_search;
mod logs;
mod rows;
mod secrets;
mod sessions;
mod tokens;
mod vines;
mod workers;

pub use claims::{ClaimOutcome, Claimed, Requeued};
pub use expiry::WaitingJob;
pub use idempotency::{IdemKey, Keyed};
pub use jobs::{ClaimFilter, ClaimScope, NewJob, StatusChange, UserAction};
pub use logs::{ArtifactAccess, LogAppend};
pub use rows::{JobRow, WorkerRow};
pub use sessions::SessionRow;
pub use tokens::TokenRow;
pub use vines::VineRow;
pub use workers::{HeartbeatOutcome, NewWorker};

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

/// A storage error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL scheme (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// Connecting or a query failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying the migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (corrupt row).
    #[error("corrupt stored value in {what}: {reason}")]
    Corrupt {
        /// The column.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
}

/// Which backend a [`Store`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The database.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite (one connection; WAL mode with synchronous=NORMAL: a committed transaction
    /// survives a crash of the server process; only an OS crash or power loss may lose the
    /// last commits).
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// Versioned migrations of each backend: (version, description, SQL), embedded at compile time.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "claim request id",
        include_str!("../../migrations/sqlite/0002_claim_request_id.sql"),
    ),
    (
        3,
        "teams, labels, api tokens",
        include_str!("../../migrations/sqlite/0003_teams.sql"),
    ),
    (
        4,
        "console sessions",
        include_str!("../../migrations/sqlite/0004_console_sessions.sql"),
    ),
    (
        5,
        "vine keys",
        include_str!("../../migrations/sqlite/0005_vine_keys.sql"),
    ),
    (
        6,
        "job secrets",
        include_str!("../../migrations/sqlite/0006_job_secrets.sql"),
    ),
    (
        7,
        "idempotency keys",
        include_str!("../../migrations/sqlite/0007_idempotency_keys.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "claim request id",
        include_str!("../../migrations/postgres/0002_claim_request_id.sql"),
    ),
    (
        3,
        "teams, labels, api tokens",
        include_str!("../../migrations/postgres/0003_teams.sql"),
    ),
    (
        4,
        "console sessions",
        include_str!("../../migrations/postgres/0004_console_sessions.sql"),
    ),
    (
        5,
        "vine keys",
        include_str!("../../migrations/postgres/0005_vine_keys.sql"),
    ),
    (
        6,
        "job secrets",
        include_str!("../../migrations/postgres/0006_job_secrets.sql"),
    ),
    (
        7,
        "idempotency keys",
        include_str!("../../migrations/postgres/0007_idempotency_keys.sql"),
    ),
];

fn migrator(list: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Makes the SQLite database readable by this user only (it holds token hashes, job payloads
/// and cached discoveries): created 0600 when missing — SQLite gives its `-wal` and `-shm`
/// files the database's mode — and an existing one (and its siblings) narrowed to 0600.
fn private_sqlite_file(path: &std::path::Path) {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") {
        return;
    }
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path);
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        if std::fs::metadata(&file).is_ok() {
            let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
        }
    }
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` — created if missing — or `postgres://…`) and applies
    /// the pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let store = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?;
            private_sqlite_file(opts.get_filename());
            let opts = opts
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            // One connection: SQLite has a single writer anyway, and this makes every
            // read-modify-write transaction (the claim) serial without BUSY errors.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(opts)
                .await?;
            migrator(SQLITE_MIGRATIONS).run(&pool).await?;
            Store::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            migrator(POSTGRES_MIGRATIONS).run(&pool).await?;
            Store::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        Ok(store)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes the pool (waits for running queries).
    pub async fn close(&self) {
        match self {
            Store::Sqlite(p) => p.close().await,
            Store::Postgres(p) => p.close().await,
        }
    }
}

/// Runs `$body` once per backend with `$pool` bound to the pool and `$q` a function turning the
/// `$n`-placeholder SQL text into the backend's form.
macro_rules! with_db {
    ($store:expr, $pool:ident, $q:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite($pool) => {
                #[allow(unused)]
                let $q = |s: &str| sqlx::AssertSqlSafe(s.replace('$', "?"));
                $body
            }
            $crate::store::Store::Postgres($pool) => {
                #[allow(unused)]
                let $q = |s: &str| sqlx::AssertSqlSafe(s.to_owned());
                $body
            }
        }
    };
}
pub(crate) use with_db;

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::Store;

    #[tokio::test]
    async fn the_sqlite_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("trellis.db");
        let store = Store::connect(&format!("sqlite://{}", db.display()))
            .await
            .expect("connect");
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{}{suffix}", db.display());
            if let Ok(meta) = std::fs::metadata(&path) {
                assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{path}");
            } else {
                assert!(!suffix.is_empty(), "the database exists");
            }
        }
        store.close().await;
        // An existing database with a loose mode is narrowed on the next start.
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let store = Store::connect(&format!("sqlite://{}", db.display()))
            .await
            .expect("reconnect");
        let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        store.close().await;
    }
}
