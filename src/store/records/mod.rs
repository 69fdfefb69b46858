//! Reads and writes of catalogue records: change-detection lookups, batched upserts with their
//! `list_values` rows, tombstones, commit-time stamping, and keyset-paged scans for export.
//! The serving reads (conditions, collection queries, count and checkpoint caches, the store
//! generation) are in `reads`, re-exported here.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use diesel::QueryResult;

use super::connection::DbConnection;
use super::sql::{Cell, DynRow, Sql, P};
use crate::model::catalog::{Entity, Kind};
use crate::model::record::{id_hash, list_items, IdMap, Record, Status, Value};

/// What the store holds for an id, for change detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing {
    pub hash: u128,
    pub active: bool,
}

/// Rows per statement: keeps every statement under SQLite's 32,766 bound parameters.
fn rows_per_statement(entity: Entity) -> usize {
    (30_000 / (entity.fields().len() + 6)).min(500)
}

pub fn hash_hex(h: u128) -> String {
    format!("{h:032x}")
}

fn parse_hex(s: Option<&str>) -> u128 {
    s.and_then(|s| u128::from_str_radix(s, 16).ok())
        .unwrap_or(0)
}

fn existing_of(row: &DynRow) -> Option<(String, Existing)> {
    let id = row.0.first()?.text()?.to_string();
    let hash = parse_hex(row.0.get(1).and_then(Cell::text));
    let active = row.0.get(2).and_then(Cell::text) == Some("active");
    Some((id, Existing { hash, active }))
}

/// Every id of `entity` (by id hash) with its content hash and status; paged so PostgreSQL never
/// materialises the whole table in one result.
pub fn load_existing(conn: &mut DbConnection, entity: Entity) -> QueryResult<IdMap<Existing>> {
    let mut out = IdMap::default();
    let mut after = String::new();
    loop {
        let mut q = Sql::new(conn);
        q.push(&format!(
            "SELECT sourced_id AS t0, content_hash AS t1, status AS t2 FROM {} WHERE sourced_id > ",
            entity.table()
        ));
        q.bind(P::Owned(Some(after.clone())));
        q.push(" ORDER BY sourced_id LIMIT 20000");
        let rows: Vec<DynRow> = q.load(conn)?;
        let n = rows.len();
        for row in &rows {
            if let Some((id, ex)) = existing_of(row) {
                out.insert(id_hash(&id), ex);
                after = id;
            }
        }
        if n < 20000 {
            return Ok(out);
        }
    }
}

/// Visit the rows of those of `ids` that exist in `entity` (any status): `sourced_id AS t0`
/// followed by `columns`, in statements of at most 500 ids.
fn rows_by_ids(
    conn: &mut DbConnection,
    entity: Entity,
    columns: &str,
    ids: &[&str],
    mut visit: impl FnMut(&DynRow),
) -> QueryResult<()> {
    for chunk in ids.chunks(500) {
        // Catalogue text and a padded id list: a handful of shapes, kept prepared (a write's
        // lookups ran through the SQL parser on every request otherwise).
        let mut q = Sql::new(conn);
        q.cached();
        q.push(&format!(
            "SELECT sourced_id AS t0, {columns} FROM {} WHERE sourced_id IN ",
            entity.table()
        ));
        q.bind_ids(chunk);
        for row in q.load::<DynRow>(conn)? {
            visit(&row);
        }
    }
    Ok(())
}

/// Existing state of the given ids.
pub fn lookup_existing(
    conn: &mut DbConnection,
    entity: Entity,
    ids: &[&str],
) -> QueryResult<HashMap<String, Existing>> {
    let mut out = HashMap::new();
    rows_by_ids(
        conn,
        entity,
        "content_hash AS t1, status AS t2",
        ids,
        |row| {
            if let Some((id, ex)) = existing_of(row) {
                out.insert(id, ex);
            }
        },
    )?;
    Ok(out)
}

/// The status and `column` of those of `ids` that exist in `entity` (any status).
pub fn column_by_ids(
    conn: &mut DbConnection,
    entity: Entity,
    column: &str,
    ids: &[&str],
) -> QueryResult<HashMap<String, (String, Option<String>)>> {
    let mut out = HashMap::new();
    let columns = format!("status AS t1, {column} AS t2");
    rows_by_ids(conn, entity, &columns, ids, |row| {
        let cell = |i: usize| row.0.get(i).and_then(Cell::text).map(str::to_string);
        if let (Some(id), Some(status)) = (cell(0), cell(1)) {
            out.insert(id, (status, cell(2)));
        }
    })?;
    Ok(out)
}

/// Which of `ids` exist in `entity` (any status).
pub fn existing_ids(
    conn: &mut DbConnection,
    entity: Entity,
    ids: &[&str],
) -> QueryResult<HashSet<String>> {
    Ok(lookup_existing(conn, entity, ids)?.into_keys().collect())
}

/// Most records an upsert statement holds and still stays prepared whatever its size (the
/// group commit's batches of single-record writes; larger tails of an import vary too much).
const SMALL_UPSERT: usize = 32;

/// Insert or replace `recs` (status, content, SIS timestamp, metadata), stamping them `dlm`, and
/// rewrite their `list_values`. `fresh` says the ids are known to be new (no old list rows).
pub fn upsert(
    conn: &mut DbConnection,
    recs: &[&Record],
    dlm: &str,
    fresh: &[bool],
) -> QueryResult<()> {
    let Some(first) = recs.first() else {
        return Ok(());
    };
    let entity = first.entity;
    let fields = entity.fields();
    let hashes: Vec<String> = recs.iter().map(|r| hash_hex(r.content_hash())).collect();
    let metas: Vec<Option<String>> = recs
        .iter()
        .map(|r| {
            (!r.metadata.is_empty()).then(|| serde_json::to_string(&r.metadata).unwrap_or_default())
        })
        .collect();
    let mut cols = String::from(
        "sourced_id, status, date_last_modified, sis_date_last_modified, content_hash, metadata",
    );
    let mut set = String::from(
        "status = excluded.status, date_last_modified = excluded.date_last_modified, \
         sis_date_last_modified = excluded.sis_date_last_modified, \
         content_hash = excluded.content_hash, metadata = excluded.metadata",
    );
    for f in fields {
        cols.push_str(", ");
        cols.push_str(f.column);
        set.push_str(&format!(", {c} = excluded.{c}", c = f.column));
    }
    let per = rows_per_statement(entity);
    let mut start = 0;
    while start < recs.len() {
        let end = (start + per).min(recs.len());
        let mut q = Sql::new(conn);
        if end - start == per || end - start <= SMALL_UPSERT {
            // Full-size statements share one text per entity, and so do the small batches of
            // REST and LIS writes (one text per size up to SMALL_UPSERT): prepared once.
            q.cached();
        }
        q.push(&format!("INSERT INTO {} ({cols}) VALUES ", entity.table()));
        for i in start..end {
            let (Some(r), Some(h)) = (recs.get(i), hashes.get(i)) else {
                continue;
            };
            if i > start {
                q.push(", ");
            }
            q.push("(");
            q.bind_str(&r.sourced_id).push(", ");
            q.bind_str(r.status.as_str()).push(", ");
            q.bind_str(dlm).push(", ");
            q.bind(P::Text(r.sis_date_last_modified.as_deref()))
                .push(", ");
            q.bind_str(h).push(", ");
            q.bind(P::Text(metas.get(i).and_then(|m| m.as_deref())));
            for (v, f) in r.values.iter().zip(fields) {
                q.push(", ");
                match v {
                    // PostgreSQL types a NULL parameter: it must match the column.
                    Value::Null if f.kind == Kind::Float => q.bind(P::Float(None)),
                    Value::Null => q.bind(P::Text(None)),
                    Value::Text(s) => q.bind(P::Text(Some(s))),
                    Value::Float(x) => q.bind(P::Float(Some(*x))),
                };
            }
            q.push(")");
        }
        q.push(&format!(" ON CONFLICT (sourced_id) DO UPDATE SET {set}"));
        q.execute(conn)?;
        start = end;
    }
    write_list_values(conn, recs, fresh)
}

/// List items written per statement.
const LIST_CHUNK: usize = 1000;

fn write_list_values(conn: &mut DbConnection, recs: &[&Record], fresh: &[bool]) -> QueryResult<()> {
    let Some(first) = recs.first() else {
        return Ok(());
    };
    let entity = first.entity;
    let list_fields: Vec<(usize, &'static str)> = entity
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind.is_list() && f.kind != Kind::ScoreScaleValue)
        .map(|(i, f)| (i, f.name))
        .collect();
    if list_fields.is_empty() {
        return Ok(());
    }
    let stale: Vec<&str> = recs
        .iter()
        .zip(fresh.iter().chain(std::iter::repeat(&false)))
        .filter(|(_, f)| !**f)
        .map(|(r, _)| r.sourced_id.as_str())
        .collect();
    for chunk in stale.chunks(500) {
        let mut q = Sql::new(conn);
        q.cached();
        q.push("DELETE FROM list_values WHERE entity = ");
        q.bind_str(entity.name()).push(" AND owner IN ");
        q.bind_ids(chunk);
        q.execute(conn)?;
    }
    let mut items: Vec<(&str, &str, i64, &str)> = Vec::new();
    for r in recs {
        for (i, name) in &list_fields {
            if let Some(Value::Text(s)) = r.values.get(*i) {
                for (pos, item) in list_items(s).enumerate() {
                    items.push((&r.sourced_id, name, pos as i64, item));
                }
            }
        }
    }
    for chunk in items.chunks(LIST_CHUNK) {
        let mut q = Sql::new(conn);
        if chunk.len() == LIST_CHUNK {
            q.cached();
        }
        q.push("INSERT INTO list_values (entity, owner, field, position, value) VALUES ");
        for (i, (owner, field, pos, value)) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("(");
            q.bind_str(entity.name()).push(", ");
            q.bind_str(owner).push(", ");
            q.bind_str(field).push(", ");
            q.bind(P::Int(*pos)).push(", ");
            q.bind_str(value).push(")");
        }
        q.execute(conn)?;
    }
    Ok(())
}

/// Mark `ids` as tombstones stamped `dlm` (content is kept).
pub fn tombstone(
    conn: &mut DbConnection,
    entity: Entity,
    ids: &[&str],
    dlm: &str,
) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in ids.chunks(500) {
        let mut q = Sql::new(conn);
        q.cached();
        q.push(&format!(
            "UPDATE {} SET status = 'tobedeleted', date_last_modified = ",
            entity.table()
        ));
        q.bind_str(dlm)
            .push(" WHERE status = 'active' AND sourced_id IN ");
        q.bind_ids(chunk);
        n += q.execute(conn)?;
    }
    Ok(n)
}

/// Replace the provisional stamp `marker` by `now` in `entity`'s table (run just before commit).
pub fn restamp(
    conn: &mut DbConnection,
    entity: Entity,
    marker: &str,
    now: &str,
) -> QueryResult<usize> {
    let mut q = Sql::new(conn);
    q.cached();
    q.push(&format!(
        "UPDATE {} SET date_last_modified = ",
        entity.table()
    ));
    q.bind_str(now).push(" WHERE date_last_modified = ");
    q.bind_str(marker);
    q.execute(conn)
}

/// Stamp `parent` records with `marker` when a `child` row pointing at them (through
/// `column`) carries `marker`, i.e. changed in this import: an embedded association changed, so
/// the parent's JSON did. Returns how many parents were touched.
pub fn touch_parents(
    conn: &mut DbConnection,
    child: Entity,
    parent: Entity,
    column: &str,
    marker: &str,
) -> QueryResult<usize> {
    let mut q = Sql::new(conn);
    q.cached();
    q.push(&format!(
        "UPDATE {} SET date_last_modified = ",
        parent.table()
    ));
    q.bind_str(marker).push(" WHERE date_last_modified <> ");
    q.bind_str(marker);
    q.push(&format!(
        " AND sourced_id IN (SELECT {column} FROM {} WHERE date_last_modified = ",
        child.table()
    ));
    q.bind_str(marker).push(")");
    q.execute(conn)
}

/// Active ids of `entity` whose `column` is one of `values`, with that column's value.
pub fn active_ids_by(
    conn: &mut DbConnection,
    entity: Entity,
    column: &str,
    values: &[&str],
) -> QueryResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in values.chunks(500) {
        let mut q = Sql::new(conn);
        q.push(&format!(
            "SELECT sourced_id AS t0, {column} AS t1 FROM {} WHERE status = 'active' AND {column} IN ",
            entity.table()
        ));
        q.bind_list(chunk.iter().copied());
        for row in q.load::<DynRow>(conn)? {
            if let (Some(a), Some(b)) = (
                row.0.first().and_then(Cell::text),
                row.0.get(1).and_then(Cell::text),
            ) {
                out.push((a.to_string(), b.to_string()));
            }
        }
    }
    Ok(out)
}

/// Which records a scan returns.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Only `active` records.
    pub active_only: bool,
    /// Only records changed strictly after this store timestamp.
    pub since: Option<String>,
    /// Only records whose `column` equals one of these values.
    pub column_in: Option<(&'static str, Vec<String>)>,
}

fn select_list(entity: Entity) -> String {
    let mut s = String::from(
        "SELECT sourced_id AS t0, status AS t1, date_last_modified AS t2, \
         sis_date_last_modified AS t3, metadata AS t4",
    );
    for (i, f) in entity.fields().iter().enumerate() {
        let p = if f.kind == Kind::Float { "f" } else { "t" };
        s.push_str(&format!(", {} AS {p}{}", f.column, i + 5));
    }
    s
}

fn record_of(entity: Entity, row: DynRow) -> Option<Record> {
    let mut cells = row.0.into_iter();
    let text = |c: Option<Cell>| match c {
        Some(Cell::Text(t)) => t,
        _ => None,
    };
    let id = text(cells.next())?;
    let status = Status::parse(text(cells.next()).as_deref().unwrap_or(""))?;
    let dlm = text(cells.next());
    let sis = text(cells.next());
    let metadata: BTreeMap<String, String> = text(cells.next())
        .and_then(|m| serde_json::from_str(&m).ok())
        .unwrap_or_default();
    let values = cells
        .map(|c| match c {
            Cell::Text(Some(s)) => Value::Text(s),
            Cell::Float(Some(x)) => Value::Float(x),
            _ => Value::Null,
        })
        .collect();
    Some(Record {
        entity,
        sourced_id: id,
        status,
        date_last_modified: dlm,
        sis_date_last_modified: sis,
        values,
        metadata,
    })
}

/// One keyset page of records after `after`, in `sourcedId` order.
pub fn page(
    conn: &mut DbConnection,
    entity: Entity,
    scan: &Scan,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<Record>> {
    let mut q = Sql::new(conn);
    q.push(&select_list(entity));
    push_scan_where(&mut q, entity, scan, after);
    q.push(" ORDER BY sourced_id LIMIT ");
    q.bind_limit(limit);
    let rows: Vec<DynRow> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| record_of(entity, r))
        .collect())
}

/// ` FROM <table> WHERE sourced_id > after AND <scan conditions>`.
/// Active records of `entity` whose `column` is one of `values` (a page's associations), in
/// one query driven by the column's index (chunks of 5,000 values).
pub fn active_by_column(
    conn: &mut DbConnection,
    entity: Entity,
    column: &str,
    values: &[String],
) -> QueryResult<Vec<Record>> {
    let mut out = Vec::new();
    for chunk in values.chunks(5_000) {
        let mut q = Sql::new(conn);
        q.push(&select_list(entity));
        q.push(&format!(
            " FROM {} WHERE status = 'active' AND {column} IN ",
            entity.table()
        ));
        q.bind_set(chunk).cached();
        let rows: Vec<DynRow> = q.load(conn)?;
        out.extend(rows.into_iter().filter_map(|r| record_of(entity, r)));
    }
    out.sort_by(|a, b| a.sourced_id.cmp(&b.sourced_id));
    Ok(out)
}

fn push_scan_where<'a>(q: &mut Sql<'a>, entity: Entity, scan: &'a Scan, after: &'a str) {
    q.push(&format!(" FROM {} WHERE sourced_id > ", entity.table()));
    q.bind_str(after);
    if scan.active_only {
        q.push(" AND status = 'active'");
    }
    if let Some(since) = &scan.since {
        q.push(" AND date_last_modified > ");
        q.bind_str(since);
    }
    if let Some((col, values)) = &scan.column_in {
        q.push(&format!(" AND {col} IN "));
        q.bind_list(values.iter().map(String::as_str));
    }
}

/// The `metadata` keys used by the records matching `scan`, reading only that column.
pub fn metadata_keys(
    conn: &mut DbConnection,
    entity: Entity,
    scan: &Scan,
) -> QueryResult<BTreeSet<String>> {
    let mut keys = BTreeSet::new();
    let mut after = String::new();
    loop {
        let mut q = Sql::new(conn);
        q.push("SELECT sourced_id AS t0, metadata AS t1");
        push_scan_where(&mut q, entity, scan, &after);
        q.push(" AND metadata IS NOT NULL ORDER BY sourced_id LIMIT 5000");
        let rows: Vec<DynRow> = q.load(conn)?;
        let n = rows.len();
        for row in rows {
            if let Some(m) = row.0.get(1).and_then(Cell::text) {
                let map: BTreeMap<String, String> = serde_json::from_str(m).unwrap_or_default();
                keys.extend(map.into_keys());
            }
            if let Some(id) = row.0.first().and_then(Cell::text) {
                after = id.to_string();
            }
        }
        if n < 5000 {
            return Ok(keys);
        }
    }
}

/// Visit every record matching `scan`, page by page (memory stays bounded).
pub fn scan(
    conn: &mut DbConnection,
    entity: Entity,
    scan: &Scan,
    mut visit: impl FnMut(&mut DbConnection, Vec<Record>) -> QueryResult<()>,
) -> QueryResult<()> {
    let mut after = String::new();
    loop {
        let recs = page(conn, entity, scan, &after, 5000)?;
        let Some(last) = recs.last() else {
            return Ok(());
        };
        after = last.sourced_id.clone();
        let n = recs.len();
        visit(conn, recs)?;
        if n < 5000 {
            return Ok(());
        }
    }
}

/// Active and tombstoned counts of `entity`: every row counted (SQLite counts from its
/// smallest index), tombstones from their partial index, so no row is read (0.5 s -> tens of ms
/// for a 100,000-student district's tables on SQLite, docs/PERFORMANCE.md).
pub fn counts(conn: &mut DbConnection, entity: Entity) -> QueryResult<(i64, i64)> {
    let mut q = Sql::new(conn);
    let t = entity.table();
    q.push(&format!(
        "SELECT CAST(COUNT(*) - (SELECT COUNT(*) FROM {t} WHERE status = 'tobedeleted') AS TEXT) AS t0, \
         CAST((SELECT COUNT(*) FROM {t} WHERE status = 'tobedeleted') AS TEXT) AS t1 FROM {t}"
    ));
    let rows: Vec<DynRow> = q.load(conn)?;
    let get = |i: usize| {
        rows.first()
            .and_then(|r| r.0.get(i))
            .and_then(Cell::text)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    Ok((get(0), get(1)))
}

/// Whether `entity`'s table holds no row at all.
pub fn is_empty(conn: &mut DbConnection, entity: Entity) -> QueryResult<bool> {
    is_empty_table(conn, entity.table())
}

fn is_empty_table(conn: &mut DbConnection, table: &str) -> QueryResult<bool> {
    let mut q = Sql::new(conn);
    q.cached();
    q.push(&format!("SELECT 'x' AS t0 FROM {table} LIMIT 1"));
    Ok(q.load::<DynRow>(conn)?.is_empty())
}

/// Bulk loading into empty tables: drop their secondary indexes inside the import's
/// transaction and build them once at the end, which is several times cheaper than
/// maintaining them row by row. DDL is transactional on both backends, so a failed or killed
/// import leaves the indexes as they were.
#[derive(Debug, Default)]
pub struct DeferredIndexes(Vec<(String, String)>);

impl DeferredIndexes {
    /// Drop the secondary indexes of `entities` (the caller knows their tables are empty), and
    /// those of `list_values` if that table is empty too.
    pub fn defer(&mut self, conn: &mut DbConnection, entities: &[Entity]) -> QueryResult<()> {
        if entities.is_empty() {
            return Ok(());
        }
        let mut all: Vec<(String, String)> = entities
            .iter()
            .flat_map(|e| super::ddl::indexes(*e))
            .collect();
        if is_empty_table(conn, "list_values")? {
            all.push((
                super::ddl::LIST_VALUES_INDEX_NAME.into(),
                super::ddl::LIST_VALUES_INDEX.into(),
            ));
        }
        for (name, create) in all {
            let mut q = Sql::new(conn);
            q.push(&format!("DROP INDEX {name}"));
            q.execute(conn)?;
            self.0.push((name, create));
        }
        Ok(())
    }

    /// Whether nothing was deferred (the import only changes tables that already hold data).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Build every deferred index except the `dateLastModified` ones, which [`Self::rebuild`]
    /// builds after the restamp (so it does not rewrite their entries, and so the time between
    /// the stamp and the commit stays short).
    pub fn rebuild_but_dlm(&mut self, conn: &mut DbConnection) -> QueryResult<()> {
        let (dlm, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.0)
            .into_iter()
            .partition(|(name, _)| name.ends_with(super::ddl::DLM_INDEX_SUFFIX));
        self.0 = dlm;
        build(conn, rest)
    }

    /// Build every (remaining) deferred index.
    pub fn rebuild(self, conn: &mut DbConnection) -> QueryResult<()> {
        build(conn, self.0)
    }
}

fn build(conn: &mut DbConnection, indexes: Vec<(String, String)>) -> QueryResult<()> {
    for (_, create) in indexes {
        let mut q = Sql::new(conn);
        q.push(&create);
        q.execute(conn)?;
    }
    Ok(())
}

mod reads;
pub use reads::*;

/// Refresh the query planner's statistics (SQLite: sampled, `analysis_limit` rows per index).
pub fn analyze(conn: &mut DbConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    match conn {
        DbConnection::Sqlite(_) => conn.batch_execute("PRAGMA analysis_limit = 2000; ANALYZE;"),
        DbConnection::Postgres(_) => conn.batch_execute("ANALYZE"),
    }
}
