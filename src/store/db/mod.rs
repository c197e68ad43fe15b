//! The durable database: SQLite (embedded default) or PostgreSQL, through sea-orm. Every
//! query is written once for both. sea-orm models stay in here; callers get domain types.

pub mod api_resources;
pub mod audit;
pub mod clients;
pub mod consents;
pub mod email_links;
mod entities;
pub mod groups;
pub mod initial_access_tokens;
pub mod mfa;
pub mod passkeys;
pub mod refresh_tokens;
pub mod revoked_grants;
pub mod signing_keys;
pub mod stats;
pub mod upstreams;
pub mod users;

use std::time::Duration;

use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, SqlErr};
use secrecy::ExposeSecret;

use crate::config::{DatabaseSettings, SqliteSync};

pub type Db = DatabaseConnection;

/// Opens the connection pool. For SQLite the folder of the database file is created and
/// the database switched to WAL, so the CLI can write while a server runs on the file.
pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Db> {
    let url = settings.url.expose_secret();
    if let Some(folder) = sqlite_folder(url) {
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create the database folder {}", folder.display()))?;
    }
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(settings.max_connections)
        .min_connections(1)
        // Short: with the database gone, a request answers 503 within a couple of seconds.
        .connect_timeout(Duration::from_secs(2))
        .acquire_timeout(Duration::from_secs(2))
        .sqlx_logging(false);
    // SQLite settings are per connection, so they are given to every connection the pool
    // opens: WAL (readers never wait for the writer), a busy timeout (writers queue instead
    // of failing), foreign keys, and when commits reach the disk.
    let synchronous = match settings.sqlite_synchronous {
        SqliteSync::Full => sea_orm::sqlx::sqlite::SqliteSynchronous::Full,
        SqliteSync::Normal => sea_orm::sqlx::sqlite::SqliteSynchronous::Normal,
    };
    options.map_sqlx_sqlite_opts(move |sqlite| {
        use sea_orm::sqlx::sqlite::SqliteJournalMode;
        sqlite
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
    });
    Database::connect(options).await.context("cannot connect to the database")
}

/// Begins a write transaction. On SQLite, write transactions of this process queue here
/// rather than in SQLite's busy handler, whose sleeps (up to 100 ms each) made a busy
/// writer's neighbours wait far longer than the write itself; PostgreSQL needs no queue.
/// The guard must live until the transaction ends.
pub(super) async fn begin_write(
    db: &Db,
) -> anyhow::Result<(Option<tokio::sync::MutexGuard<'static, ()>>, sea_orm::DatabaseTransaction)> {
    use sea_orm::TransactionTrait;
    static SQLITE_WRITER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let guard = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => Some(SQLITE_WRITER.lock().await),
        _ => None,
    };
    Ok((guard, db.begin().await.context("cannot start a transaction")?))
}

/// Applies every pending migration. Safe to call on every start.
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("cannot apply database migrations")
}

/// Lists applied and pending migrations, by name.
pub async fn pending_migrations(db: &Db) -> anyhow::Result<Vec<String>> {
    let pending = Migrator::get_pending_migrations(db).await.context("cannot read the migration table")?;
    Ok(pending.iter().map(|migration| migration.name().to_string()).collect())
}

pub async fn ping(db: &Db) -> Result<(), DbErr> {
    db.ping().await
}

/// The folder an SQLite file lives in, when the URL names a file.
fn sqlite_folder(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return None;
    }
    std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()).map(Into::into)
}

pub(crate) fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Why an insert failed. A duplicate is reported this one way by every insert; the domain
/// turns it into its own error (`UsernameTaken`, `AlreadyExists`...).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("a row with the same unique key exists")]
    Duplicate,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Maps a failed insert: a unique violation is a [`WriteError::Duplicate`].
fn insert_error(error: DbErr, what: &'static str) -> WriteError {
    if is_unique_violation(&error) {
        WriteError::Duplicate
    } else {
        WriteError::Unexpected(anyhow::Error::new(error).context(what))
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_folder;

    #[test]
    fn sqlite_folder_is_the_parent_of_the_database_file() {
        assert_eq!(sqlite_folder("sqlite://data/latchkey.db?mode=rwc"), Some("data".into()));
        assert_eq!(sqlite_folder("sqlite:latchkey.db"), None);
        assert_eq!(sqlite_folder("sqlite::memory:"), None);
        assert_eq!(sqlite_folder("postgres://localhost/test"), None);
    }
}
