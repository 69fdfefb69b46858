//! The import log (`imports` table) and the import lock row that serialises imports.

use diesel::QueryResult;

use super::connection::DbConnection;
use super::sql::{Cell, DynRow, Sql, P};

/// One recorded import run.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRun {
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
    let mut q = Sql::new(conn);
    q.push("UPDATE import_lock SET held_at = ");
    q.bind_str(now).push(" WHERE id = 1");
    q.execute(conn).map(|_| ())
}

pub fn record(conn: &mut DbConnection, run: &ImportRun) -> QueryResult<()> {
    let mut q = Sql::new(conn);
    q.push(
        "INSERT INTO imports (started_at, finished_at, source, oneroster_version, outcome, summary, \
         errors, error_count, warning_count) VALUES (",
    );
    q.bind_str(&run.started_at).push(", ");
    q.bind_str(&run.finished_at).push(", ");
    q.bind_str(&run.source).push(", ");
    q.bind(P::Text(run.oneroster_version.as_deref())).push(", ");
    q.bind_str(&run.outcome).push(", ");
    q.bind_str(&run.summary).push(", ");
    q.bind_str(&run.errors).push(", ");
    q.bind(P::Int(run.error_count)).push(", ");
    q.bind(P::Int(run.warning_count)).push(")");
    q.execute(conn).map(|_| ())
}

/// The most recent runs, newest first.
pub fn list(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<ImportRun>> {
    let mut q = Sql::new(conn);
    q.push(
        "SELECT CAST(id AS TEXT) AS t0, started_at AS t1, finished_at AS t2, source AS t3, \
         oneroster_version AS t4, outcome AS t5, summary AS t6, errors AS t7, \
         CAST(error_count AS TEXT) AS t8, CAST(warning_count AS TEXT) AS t9 \
         FROM imports ORDER BY id DESC LIMIT ",
    );
    q.bind(P::Int(limit));
    let rows: Vec<DynRow> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let t = |i: usize| r.0.get(i).and_then(Cell::text).unwrap_or("").to_string();
            ImportRun {
                id: t(0).parse().unwrap_or(0),
                started_at: t(1),
                finished_at: t(2),
                source: t(3),
                oneroster_version: r.0.get(4).and_then(Cell::text).map(str::to_string),
                outcome: t(5),
                summary: t(6),
                errors: t(7),
                error_count: t(8).parse().unwrap_or(0),
                warning_count: t(9).parse().unwrap_or(0),
            }
        })
        .collect())
}
