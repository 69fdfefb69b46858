//! Database connections: the `MultiConnection` enum over both backends, URL parsing
//! (`sqlite:PATH`, `postgres://…`), per-connection SQLite setup, and the r2d2 manager.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::ManageConnection;

use super::StoreError;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    // Last: SQLite accepts any path as a URL (we never rely on that: see `DbUrl`).
    Sqlite(diesel::SqliteConnection),
}

/// The backend type the derive generates, used for dynamic SQL.
pub type Db = <DbConnection as Connection>::Backend;

/// SQLite page cache per connection, in KiB.
pub const CACHE_KIB: u32 = 64 * 1024;

/// SQLite page cache of an import that changes existing tables, in KiB.
pub const IMPORT_CACHE_KIB: u32 = 256 * 1024;

/// Give this SQLite connection a larger page cache (`kib`, else [`IMPORT_CACHE_KIB`]) for the
/// rest of its transaction, so that an import's scattered index pages stay in memory until
/// commit instead of spilling to the WAL and being read back (docs/PERFORMANCE.md). No-op on
/// PostgreSQL.
pub fn enlarge_cache(conn: &mut DbConnection, kib: Option<u32>) -> diesel::QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => c.batch_execute(&format!(
            "PRAGMA cache_size = -{}",
            kib.unwrap_or(IMPORT_CACHE_KIB)
        )),
        DbConnection::Postgres(_) => Ok(()),
    }
}

/// A parsed database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(String),
    Postgres(String),
}

impl DbUrl {
    /// `sqlite:PATH`, `sqlite://PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(url: &str) -> Result<DbUrl, StoreError> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if rest.is_empty() {
                return Err(StoreError::Url(format!(
                    "{url}: missing file path after sqlite:"
                )));
            }
            return Ok(DbUrl::Sqlite(rest.to_string()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_string()));
        }
        Err(StoreError::Url(format!(
            "{url}: unsupported database URL (use sqlite:PATH or postgres://...)"
        )))
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, DbUrl::Sqlite(_))
    }

    /// Open one connection, with SQLite's per-connection settings applied.
    pub fn connect(&self) -> Result<DbConnection, StoreError> {
        match self {
            DbUrl::Sqlite(path) => {
                crate::native::sqlite_multithread();
                let mut c = diesel::SqliteConnection::establish(path)
                    .map_err(|e| StoreError::Connect(format!("sqlite:{path}: {e}")))?;
                // WAL lets readers run beside the importer; foreign keys for the bookkeeping
                // tables; a busy timeout instead of instant SQLITE_BUSY when an import holds the lock.
                c.batch_execute(&format!(
                    // busy_timeout first: switching to WAL needs a lock another connection may hold.
                    "PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -{CACHE_KIB}; PRAGMA temp_store = MEMORY; \
                     PRAGMA threads = 2;"
                ))
                .map_err(|e| StoreError::Connect(format!("sqlite:{path}: {e}")))?;
                Ok(DbConnection::Sqlite(c))
            }
            DbUrl::Postgres(url) => diesel::PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(|e| {
                    let msg = e.to_string();
                    let first = msg
                        .lines()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("")
                        .trim();
                    StoreError::Connect(format!("{}: {first}", redact(url)))
                }),
        }
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// r2d2 manager that opens connections through [`DbUrl::connect`].
pub struct Manager(pub DbUrl);

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConnection, StoreError> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        conn.batch_execute("SELECT 1").map_err(StoreError::Query)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}
