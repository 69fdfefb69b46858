//! Everything Diesel: connections, migrations, and the catalogue-driven record tables. Knows
//! nothing about CSV, HTTP, JSON or XML.
//!
//! Error policy: store functions return `diesel::QueryResult` inside a transaction and
//! [`StoreError`] at the edges (connect, pool, migrations).

pub mod admins;
pub mod changes;
pub mod clients;
pub mod connection;
pub mod ddl;
pub mod imports;
pub mod ledger;
pub mod records;
pub mod related;
pub mod schema;
pub mod sessions;
pub mod sql;
pub mod upstream;
pub mod views;

use diesel::connection::Connection;
use diesel::r2d2::{self as r2d2, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use connection::{DbConnection, DbUrl};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Url(String),
    #[error("cannot connect to {0}")]
    Connect(String),
    #[error("connection pool: {0}")]
    Pool(String),
    #[error("migrations failed: {0}")]
    Migrate(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
}

impl From<r2d2::PoolError> for StoreError {
    fn from(e: r2d2::PoolError) -> Self {
        StoreError::Pool(e.to_string())
    }
}

/// Sets a new SQLite connection's page cache (when configured).
#[derive(Debug)]
struct CacheSize(Option<u32>);

impl r2d2::CustomizeConnection<DbConnection, StoreError> for CacheSize {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        use diesel::connection::SimpleConnection;
        if let (Some(kib), DbConnection::Sqlite(_)) = (self.0, &*conn) {
            conn.batch_execute(&format!("PRAGMA cache_size = -{kib}"))?;
        }
        Ok(())
    }
}

/// The first import into an empty SQLite store, when no other connection has the file open,
/// runs in rollback-journal mode: new pages are written once, straight into the database file,
/// where WAL mode writes them to the WAL and again at the checkpoint (−18 % of a 100,000-student
/// initial load, docs/PERFORMANCE.md). Still atomic: a killed import leaves a hot journal that
/// the next opener rolls back. Any other connection (a running server, another pooled
/// connection) makes the switch fail at once and the import stays in WAL mode. Returns whether
/// the switch happened.
fn initial_load(conn: &mut DbConnection) -> bool {
    use diesel::connection::SimpleConnection;
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return false;
    }
    let empty = crate::model::catalog::Entity::ALL
        .iter()
        .try_fold(true, |all, e| {
            Ok::<_, diesel::result::Error>(all && records::is_empty(conn, *e)?)
        });
    if !matches!(empty, Ok(true)) {
        return false;
    }
    match conn.batch_execute("PRAGMA journal_mode = DELETE") {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(error = %e, "initial load stays in WAL mode");
            false
        }
    }
}

/// The roster store: a pool over one database.
#[derive(Clone)]
pub struct Store {
    pool: Pool<connection::Manager>,
    url: DbUrl,
}

impl Store {
    /// Connect (one-line error when unreachable) and build the pool. Does not migrate.
    pub fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, None)
    }

    /// Connect for serving reads: SQLite connections get a page cache of `cache_kib` KiB
    /// instead of the import-sized default, leaving the rest to the OS page cache.
    pub fn open_for_serving(url: &str, cache_kib: u32) -> Result<Store, StoreError> {
        let store = Store::connect_with(url, Some(cache_kib))?;
        store.migrate()?;
        Ok(store)
    }

    fn connect_with(url: &str, cache_kib: Option<u32>) -> Result<Store, StoreError> {
        let url = DbUrl::parse(url)?;
        // A first direct connection gives the real reason when the database is unreachable,
        // instead of r2d2's generic timeout.
        drop(url.connect()?);
        let pool = Pool::builder()
            .max_size(Store::pool_size(&url))
            // Open connections on demand (the CLI needs one): no spare idle connection, which
            // would also stop an initial load from taking the file to itself (`initial_load`).
            .min_idle(Some(0))
            .connection_timeout(std::time::Duration::from_secs(10))
            // A local SQLite file cannot drop a connection: skip the `SELECT 1` per checkout.
            .test_on_check_out(!url.is_sqlite())
            .connection_customizer(Box::new(CacheSize(cache_kib)))
            .build(connection::Manager(url.clone()))?;
        Ok(Store { pool, url })
    }

    /// Connect and apply pending migrations.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(url)?;
        store.migrate()?;
        Ok(store)
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.is_sqlite()
    }

    /// Connections the pool holds at most: 4 for SQLite (one writer at a time anyway), 8 for
    /// PostgreSQL.
    fn pool_size(url: &DbUrl) -> u32 {
        if url.is_sqlite() {
            4
        } else {
            8
        }
    }

    /// Connections the pool holds at most.
    pub fn max_connections(&self) -> u32 {
        self.pool.max_size()
    }

    /// (open connections, idle connections) of the pool.
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }

    pub fn conn(&self) -> Result<PooledConnection<connection::Manager>, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Apply pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        let ran = match &mut *conn {
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
            DbConnection::Postgres(c) => c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len()),
        };
        ran.map_err(|e| StoreError::Migrate(e.to_string()))
    }

    /// Revert every applied migration (tests and operators rebuilding a store); returns how
    /// many were reverted.
    pub fn revert_all_migrations(&self) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        let n = match &mut *conn {
            DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
            DbConnection::Postgres(c) => c
                .revert_all_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len()),
        };
        n.map_err(|e| StoreError::Migrate(e.to_string()))
    }

    /// Run an import's transaction: like [`Store::transaction`], and afterwards put back the
    /// connection's normal SQLite page cache in case the import enlarged it
    /// ([`connection::enlarge_cache`]).
    pub fn import_transaction<T, E>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<StoreError>,
    {
        self.with_conn(|conn| import_transaction_on(conn, true, f))
    }

    /// Run `f` in one transaction on a pooled connection.
    pub fn transaction<T, E>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<StoreError>,
    {
        self.with_conn(|conn| conn.transaction(f))
    }

    /// Check a connection out of the pool and run `f` on it.
    fn with_conn<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn()?;
        f(&mut conn)
    }
}

/// [`Store::import_transaction`] on a connection the caller holds. `standalone`: the
/// connection is in no transaction, so an initial load may switch SQLite's journal mode; inside
/// the caller's transaction (a LIS write), `f` runs in a savepoint of it.
pub fn import_transaction_on<T, E>(
    conn: &mut DbConnection,
    standalone: bool,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error> + From<StoreError>,
{
    use diesel::connection::SimpleConnection;
    let rollback_journal = standalone && initial_load(conn);

    let result = conn.transaction(f);
    if rollback_journal {
        // Back to WAL (readers beside writers). Should this fail, the next connection
        // sets WAL again when it opens.
        if let Err(e) = conn.batch_execute("PRAGMA journal_mode = WAL") {
            tracing::warn!(error = %e, "could not return to WAL mode after an initial load");
        }
    }
    if matches!(conn, DbConnection::Sqlite(_)) {
        // Give the memory back; the pool keeps this connection.
        let _ = conn.batch_execute(&format!(
            "PRAGMA cache_size = -{}; PRAGMA shrink_memory",
            connection::CACHE_KIB
        ));
    }
    result
}
