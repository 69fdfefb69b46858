//! The import log (`imports` table) and the import lock row that serialises imports.

use diesel::prelude::*;

use super::connection::DbConnection;
use super::schema::{import_lock, imports};

/// One recorded import run.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = imports)]
pub struct ImportRun {
    /// Assigned by the store (not written: a new row takes the next id).
    #[diesel(skip_insertion)]
    pub id: i64,
    pub started_at: String,
    pub finished_at: String,
    pub source: String,
    pub oneroster_version: Option<String>,
    /// `committed`, `rejected`, `dry-run` or `failed`.
    pub outcome: String,
    /// JSON: per-entity counts.
    pub summary: String,
    /// JSON: the first errors (file, line, column, rule, message).
    pub errors: String,
    pub error_count: i64,
    pub warning_count: i64,
}

/// Take the import lock inside the current transaction: the first write, so SQLite holds the
/// write lock from here on and PostgreSQL serialises concurrent importers on this row.
pub fn lock(conn: &mut DbConnection, now: &str) -> QueryResult<()> {
    diesel::update(import_lock::table.find(1))
        .set(import_lock::held_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

pub fn record(conn: &mut DbConnection, run: &ImportRun) -> QueryResult<()> {
    diesel::insert_into(imports::table)
        .values(run)
        .execute(conn)
        .map(|_| ())
}

/// The run with this id.
pub fn get(conn: &mut DbConnection, id: i64) -> QueryResult<Option<ImportRun>> {
    imports::table
        .find(id)
        .select(ImportRun::as_select())
        .first(conn)
        .optional()
}

/// The most recent runs, newest first.
pub fn list(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<ImportRun>> {
    imports::table
        .order(imports::id.desc())
        .limit(limit)
        .select(ImportRun::as_select())
        .load(conn)
}
