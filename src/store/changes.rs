//! What each import changed (migration 000014), so that it can be undone: rows of
//! `import_changes`, written by the apply pass while it holds the import lock (with import id
//! 0, given the run's id by [`seal`] once its `imports` row exists), read by `ingest::undo`.
//!
//! A row per record the import created (`prior` NULL) or changed (`prior`: the record as it was,
//! as JSON), or a single row with sourcedId [`EVERY`] for an entity whose table was empty before
//! the import (so a first load of 100,000 students does not log each of them).

use diesel::QueryResult;
use serde::{Deserialize, Serialize};

use super::sql::{Cell, DynRow, Sql, P};
use super::DbConnection;
use crate::model::catalog::Entity;
use crate::model::record::{Record, Status, Value};

/// The sourcedId standing for "every record of the entity" (its table was empty before).
pub const EVERY: &str = "*";

/// Rows bound per statement (four parameters each).
const CHUNK: usize = 2_000;

/// A record's stored form in `prior`.
#[derive(Serialize, Deserialize)]
struct Prior {
    status: String,
    dlm: Option<String>,
    sis: Option<String>,
    values: Vec<Option<String>>,
    metadata: std::collections::BTreeMap<String, String>,
}

fn to_json(r: &Record) -> String {
    let p = Prior {
        status: r.status.as_str().to_string(),
        dlm: r.date_last_modified.clone(),
        sis: r.sis_date_last_modified.clone(),
        values: r
            .values
            .iter()
            .map(|v| (!v.is_null()).then(|| v.to_cell()))
            .collect(),
        metadata: r.metadata.clone(),
    };
    serde_json::to_string(&p).unwrap_or_default()
}

/// The record `entity`/`id` as `prior` holds it (`None` when unreadable).
pub fn from_json(entity: Entity, id: &str, text: &str) -> Option<Record> {
    let p: Prior = serde_json::from_str(text).ok()?;
    let mut r = Record::new(entity, id);
    r.status = Status::parse(&p.status)?;
    r.date_last_modified = p.dlm;
    r.sis_date_last_modified = p.sis;
    r.metadata = p.metadata;
    for (slot, v) in r.values.iter_mut().zip(p.values) {
        if let Some(v) = v {
            *slot = Value::Text(v);
        }
    }
    Some(r)
}

/// Log records the running import creates (`EVERY` for a whole, formerly empty, table).
pub fn created(conn: &mut DbConnection, entity: Entity, ids: &[&str]) -> QueryResult<()> {
    let rows: Vec<(&str, Option<String>)> = ids.iter().map(|id| (*id, None)).collect();
    insert(conn, entity, &rows)
}

/// Log records the running import changes, as they were before it.
pub fn changed(conn: &mut DbConnection, entity: Entity, before: &[Record]) -> QueryResult<()> {
    let rows: Vec<(&str, Option<String>)> = before
        .iter()
        .map(|r| (r.sourced_id.as_str(), Some(to_json(r))))
        .collect();
    insert(conn, entity, &rows)
}

fn insert(
    conn: &mut DbConnection,
    entity: Entity,
    rows: &[(&str, Option<String>)],
) -> QueryResult<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut q = Sql::new(conn);
        q.push("INSERT INTO import_changes (import_id, entity, sourced_id, prior) VALUES ");
        for (i, (id, prior)) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("(0, ")
                .bind_str(entity.name())
                .push(", ")
                .bind_str(id)
                .push(", ")
                .bind(P::Text(prior.as_deref()))
                .push(")");
        }
        // A record changed twice in one run (a 1.1 role rewritten, a parent touched) keeps
        // its first, true, prior state.
        q.push(" ON CONFLICT (import_id, entity, sourced_id) DO NOTHING");
        q.execute(conn)?;
    }
    Ok(())
}

/// Give the running import's rows its id (the newest `imports` row, written just before).
pub fn seal(conn: &mut DbConnection) -> QueryResult<()> {
    let mut q = Sql::new(conn);
    q.push(
        "UPDATE import_changes SET import_id = (SELECT MAX(id) FROM imports) WHERE import_id = 0",
    );
    q.execute(conn)?;
    Ok(())
}

/// Drop the running import's rows (it was not committed as an import of its own).
pub fn discard(conn: &mut DbConnection) -> QueryResult<()> {
    let mut q = Sql::new(conn);
    q.push("DELETE FROM import_changes WHERE import_id = 0");
    q.execute(conn)?;
    Ok(())
}

/// One logged change: entity name, sourcedId, prior state (`None`: created).
pub type Change = (String, String, Option<String>);

/// Every change import `id` logged, by entity and id.
pub fn of_import(conn: &mut DbConnection, id: i64) -> QueryResult<Vec<Change>> {
    let mut q = Sql::new(conn);
    q.push(
        "SELECT entity AS t0, sourced_id AS t1, prior AS t2 FROM import_changes WHERE import_id = ",
    )
    .bind(P::Int(id))
    .push(" ORDER BY entity, sourced_id");
    let rows: Vec<DynRow> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some((
                r.0.first()?.text()?.to_string(),
                r.0.get(1)?.text()?.to_string(),
                r.0.get(2).and_then(Cell::text).map(str::to_string),
            ))
        })
        .collect())
}

/// Imports after `id` that changed records `id` changed: (import id, how many of them, an
/// example "entity id").
pub fn later_overlaps(conn: &mut DbConnection, id: i64) -> QueryResult<Vec<(i64, i64, String)>> {
    let mut q = Sql::new(conn);
    q.push(
        "SELECT CAST(b.import_id AS TEXT) AS t0, CAST(COUNT(*) AS TEXT) AS t1, \
         MIN(b.entity || ' ' || b.sourced_id) AS t2 \
         FROM import_changes a JOIN import_changes b ON b.entity = a.entity \
         AND (b.sourced_id = a.sourced_id OR b.sourced_id = '*' OR a.sourced_id = '*') \
         WHERE a.import_id = ",
    )
    .bind(P::Int(id))
    .push(" AND b.import_id > ")
    .bind(P::Int(id))
    .push(" GROUP BY b.import_id ORDER BY b.import_id");
    let rows: Vec<DynRow> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some((
                r.0.first()?.text()?.parse().ok()?,
                r.0.get(1)?.text()?.parse().ok()?,
                r.0.get(2)?.text()?.to_string(),
            ))
        })
        .collect())
}
