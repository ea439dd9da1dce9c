use crate::domain::ids::{InvoiceId, OrgId};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::AnyPool;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database the pool talks to; the SQL is shared, the migrations are per dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of_url(url: &str) -> Dialect {
        if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            Dialect::Postgres
        }
    }
}

/// The pool and its dialect.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub dialect: Dialect,
}

/// Opens a pool for `url` (`sqlite:` or `postgres://`), creating the SQLite file's folder.
pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let dialect = Dialect::of_url(url);
    if dialect == Dialect::Sqlite {
        if let Some(parent) = sqlite_path(url).and_then(|p| std::path::Path::new(p).parent()) {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
            }
        }
    }
    let pool = AnyPoolOptions::new()
        .max_connections(if dialect == Dialect::Sqlite { 8 } else { 16 })
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if dialect == Dialect::Sqlite {
                    // WAL lets readers proceed while one writer commits; foreign keys are on.
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA foreign_keys = ON")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA busy_timeout = 10000")
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(Db { pool, dialect })
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Brings the schema up to date; safe to run on every start.
pub async fn migrate(db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
    match db.dialect {
        Dialect::Sqlite => SQLITE_MIGRATIONS.run(&db.pool).await,
        Dialect::Postgres => POSTGRES_MIGRATIONS.run(&db.pool).await,
    }
}

impl Db {
    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later fails with
    /// "database is locked" when another writer committed in between, instead of waiting its
    /// turn. PostgreSQL's row locks need no such care.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.pool.begin().await,
        }
    }
}

/// A row a check-then-write depends on, locked inside a write transaction until it ends.
#[derive(Clone, Copy, Debug)]
pub enum Lock<'a> {
    /// An organisation: its members, invitations, seats and owners.
    Organization(&'a OrgId),
    /// An invoice: what it still owes and what can still be credited or refunded on it.
    Invoice(&'a InvoiceId),
}

/// Takes the row `lock` names for the rest of the transaction, so that a check made after it
/// (seats in use, the last owner, what an invoice can still be credited) still holds when the
/// transaction writes. PostgreSQL locks the row (`SELECT … FOR UPDATE`); SQLite's write
/// transaction (`BEGIN IMMEDIATE`) already excludes every other writer.
pub async fn lock(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    lock: Lock<'_>,
) -> Result<(), sqlx::Error> {
    if tx.backend_name() != "PostgreSQL" {
        return Ok(());
    }
    let (sql, id) = match lock {
        Lock::Organization(id) => (
            "SELECT id FROM organizations WHERE id = $1 FOR UPDATE",
            id.as_str(),
        ),
        Lock::Invoice(id) => (
            "SELECT id FROM invoices WHERE id = $1 FOR UPDATE",
            id.as_str(),
        ),
    };
    sqlx::query(sql).bind(id).fetch_optional(&mut **tx).await?;
    Ok(())
}

/// A status column read into its enum; a name no state has is a decoding error.
pub fn status<T>(row: &sqlx::any::AnyRow, column: &str) -> Result<T, sqlx::Error>
where
    T: std::str::FromStr<Err = crate::domain::status::UnknownStatus>,
{
    use sqlx::Row;
    let name: String = row.try_get(column)?;
    name.parse().map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(e),
    })
}

/// Whether a write failed on a unique constraint (the one place that knows how to tell).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &Db) -> bool {
    sqlx::query("SELECT 1").execute(&db.pool).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_read_from_urls() {
        assert_eq!(
            sqlite_path("sqlite://data/billing.db?mode=rwc"),
            Some("data/billing.db")
        );
        assert_eq!(sqlite_path("sqlite:x.db"), Some("x.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(Dialect::of_url("postgres://u@h/d"), Dialect::Postgres);
    }
}
