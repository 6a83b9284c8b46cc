//! A fresh PostgreSQL database per test, on `DATABASE_URL` or the local server.

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::TestkitError;

/// The server used when `DATABASE_URL` is not set: the machine's own, trust auth.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A uniquely named database, dropped `WITH (FORCE)` when this value is dropped.
#[derive(Debug)]
pub struct PgDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl PgDatabase {
    /// Creates `grape_test_<uuid>` on the server of `DATABASE_URL` (or [`DEFAULT_ADMIN_URL`]).
    pub async fn create() -> Result<Self, TestkitError> {
        let admin_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned());
        Self::create_on(&admin_url).await
    }

    /// Creates a fresh database on the server that `admin_url` points at.
    pub async fn create_on(admin_url: &str) -> Result<Self, TestkitError> {
        let name = format!("grape_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = connect(admin_url).await?;
        // The name is ours: lowercase letters, digits and underscores only.
        conn.execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .map_err(|source| pg_error(admin_url, format!("CREATE DATABASE {name}"), source))?;
        let _ = conn.close().await;
        Ok(Self {
            url: with_database(admin_url, &name),
            name,
            admin_url: admin_url.to_owned(),
        })
    }

    /// The connection URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database now and reports errors (dropping the value does it silently).
    pub async fn drop_now(mut self) -> Result<(), TestkitError> {
        let result = drop_database(&self.admin_url, &self.name).await;
        self.name.clear();
        result
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), std::mem::take(&mut self.name));
        // Drop may run inside a tokio runtime, where blocking on a future panics: use a thread
        // with its own small runtime, and wait for it so the database is gone when drop returns.
        let worker = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime
                && let Err(err) = runtime.block_on(drop_database(&admin_url, &name))
            {
                eprintln!("grape-testkit: {err}");
            }
        });
        let _ = worker.join();
    }
}

async fn connect(url: &str) -> Result<PgConnection, TestkitError> {
    PgConnection::connect(url)
        .await
        .map_err(|source| pg_error(url, "connect".into(), source))
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), TestkitError> {
    let mut conn = connect(admin_url).await?;
    conn.execute(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .await
    .map_err(|source| pg_error(admin_url, format!("DROP DATABASE {name}"), source))?;
    let _ = conn.close().await;
    Ok(())
}

fn pg_error(url: &str, action: String, source: sqlx::Error) -> TestkitError {
    TestkitError::Postgres {
        url: without_password(url),
        action,
        source,
    }
}

/// `url` with its database path replaced by `name` (the query string is kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// `url` without the password of its user info, for messages.
fn without_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end], &rest[at..])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{with_database, without_password};

    #[test]
    fn replaces_database_in_url() {
        let url = "postgres://postgres@127.0.0.1:5432/postgres";
        assert_eq!(
            with_database(url, "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }

    #[test]
    fn hides_password() {
        assert_eq!(
            without_password("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(without_password("postgres://h/db"), "postgres://h/db");
    }
}
