//! Reads and writes of catalogue records: change-detection lookups, batched upserts with their
//! `list_values` rows, tombstones, commit-time stamping, and keyset-paged scans for export.

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

/// Existing state of the given ids.
pub fn lookup_existing(
    conn: &mut DbConnection,
    entity: Entity,
    ids: &[&str],
) -> QueryResult<HashMap<String, Existing>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut q = Sql::new(conn);
        q.push(&format!(
            "SELECT sourced_id AS t0, content_hash AS t1, status AS t2 FROM {} WHERE sourced_id IN ",
            entity.table()
        ));
        q.bind_list(chunk.iter().copied());
        for row in q.load::<DynRow>(conn)? {
            if let Some((id, ex)) = existing_of(&row) {
                out.insert(id, ex);
            }
        }
    }
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
    for chunk in ids.chunks(500) {
        let mut q = Sql::new(conn);
        q.push(&format!(
            "SELECT sourced_id AS t0, status AS t1, {column} AS t2 FROM {} WHERE sourced_id IN ",
            entity.table()
        ));
        q.bind_list(chunk.iter().copied());
        for row in q.load::<DynRow>(conn)? {
            let cell = |i: usize| row.0.get(i).and_then(Cell::text).map(str::to_string);
            if let (Some(id), Some(status)) = (cell(0), cell(1)) {
                out.insert(id, (status, cell(2)));
            }
        }
    }
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
        if end - start == per {
            // Full-size statements share one text per entity: prepare once (tails vary).
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
        q.push("DELETE FROM list_values WHERE entity = ");
        q.bind_str(entity.name()).push(" AND owner IN ");
        q.bind_list(chunk.iter().copied());
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
        q.push(&format!(
            "UPDATE {} SET status = 'tobedeleted', date_last_modified = ",
            entity.table()
        ));
        q.bind_str(dlm)
            .push(" WHERE status = 'active' AND sourced_id IN ");
        q.bind_list(chunk.iter().copied());
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

/// Active and tombstoned counts of `entity`.
pub fn counts(conn: &mut DbConnection, entity: Entity) -> QueryResult<(i64, i64)> {
    let mut q = Sql::new(conn);
    q.push(&format!(
        "SELECT CAST(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) AS TEXT) AS t0, \
         CAST(SUM(CASE WHEN status = 'active' THEN 0 ELSE 1 END) AS TEXT) AS t1 FROM {}",
        entity.table()
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

/// An argument of a [`Cond`] template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    One(String),
    /// A set tested with `IN (?)`: expands to `?, ?, …` ([`Sql::push_set`], padded with repeats
    /// of its last value), or `NULL` when empty, so `IN (NULL)` matches nothing.
    Many(Vec<String>),
}

/// One fixed condition of a read, ANDed with the others: a static SQL template over the
/// entity's table (aliased `t`) whose `?` marks are bound, in order, to `args`. Templates are
/// written in code, never built from input; values always travel as bound parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    pub template: std::borrow::Cow<'static, str>,
    pub args: Vec<Arg>,
}

impl Cond {
    /// `t.<column> = value`, for the common case (`column` from the catalogue).
    pub fn eq(column: &'static str, value: impl Into<String>) -> Cond {
        Cond {
            template: format!("t.{column} = ?").into(),
            args: vec![Arg::One(value.into())],
        }
    }

    /// `t.status = 'active'`, with the value written into the statement rather than bound:
    /// each table's partial index `WHERE status = 'tobedeleted'` makes SQLite re-plan a
    /// statement whenever a parameter compared with `status` is bound again (it checks whether
    /// the new value lets it use that index), which cost every cached SOAP read a re-prepare.
    pub fn active() -> Cond {
        Cond::new("t.status = 'active'", Vec::new())
    }

    pub fn new(template: &'static str, args: Vec<Arg>) -> Cond {
        Cond {
            template: template.into(),
            args,
        }
    }

    fn push(&self, q: &mut Sql<'_>) {
        let mut args = self.args.iter();
        let mut pieces = self.template.split('?');
        if let Some(first) = pieces.next() {
            q.push(first);
        }
        for piece in pieces {
            match args.next() {
                Some(Arg::One(v)) => {
                    q.bind(P::Owned(Some(v.clone())));
                }
                Some(Arg::Many(vs)) if !vs.is_empty() => {
                    q.push_set(vs.len(), |i| P::Owned(vs.get(i).cloned()));
                }
                Some(Arg::Many(_)) | None => {
                    q.push("NULL");
                }
            }
            q.push(piece);
        }
    }
}

/// A collection read: conditions, order and page, all executed in SQL.
#[derive(Debug, Clone, Default)]
pub struct Query<'f> {
    /// Fixed conditions: the endpoint's (e.g. `/schools` is orgs with `type = 'school'`, a
    /// nested path's parent) and the client's org restriction. All must hold.
    pub conds: Vec<Cond>,
    /// The client's `filter`, AND-ed with the fixed conditions in its own parentheses, so no
    /// `OR` in it can widen what the endpoint or the client's restriction allows.
    pub filter: Option<&'f crate::query::Filter>,
    /// Sort column and direction; `sourcedId` always breaks ties (pages never overlap).
    pub sort: Option<(&'static str, bool)>,
    pub limit: i64,
    pub offset: i64,
    /// Do not count the matches (single reads); the total returned is the page length.
    pub skip_total: bool,
    /// Reuse counts of identical queries while the store is unchanged: the cache and the
    /// current [`generation`].
    pub count_cache: Option<(&'f CountCache, i64)>,
}

/// Match counts of recent collection reads, keyed by SQL and parameters and valid for one
/// store generation ([`generation`]): a `COUNT(*)` over a large table costs more than the
/// page itself, and consumers page through the same query many times. Also where recent pages
/// in the default order ended (see [`CountCache::boundary`]).
#[derive(Debug, Default)]
pub struct CountCache {
    map: std::sync::Mutex<HashMap<String, (i64, i64)>>,
    /// (query key, offset) → (generation, sourcedId of the record just before that offset).
    ends: std::sync::Mutex<HashMap<(String, i64), (i64, String)>>,
    /// query key → (generation, [`Checkpoints`]).
    marks: std::sync::Mutex<HashMap<String, (i64, Checkpoints)>>,
    /// Held while checkpoints are read, so that the requests arriving together at a new deep
    /// query wait for one reading instead of each scanning the index.
    reading_marks: std::sync::Mutex<()>,
}

/// Entries kept before the cache starts over.
const COUNT_CACHE_MAX: usize = 10_000;

/// A query's default order is marked every this many records for deep offsets.
const CHECKPOINT: i64 = 1024;
/// Queries whose checkpoints are kept before that cache starts over (each holds one id per
/// [`CHECKPOINT`] matching records: ~200 for the 205,875 users of the benchmark district).
const CHECKPOINT_KEYS: usize = 64;

/// The sourcedIds at positions `CHECKPOINT`, `2 CHECKPOINT`, … (1-based) of a query's default
/// order: entry `i` is the record just before offset `(i + 1) CHECKPOINT`.
type Checkpoints = std::sync::Arc<Vec<String>>;

impl CountCache {
    fn get(&self, key: &str, generation: i64) -> Option<i64> {
        let map = self.map.lock().ok()?;
        map.get(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, n)| *n)
    }

    fn put(&self, key: String, generation: i64, total: i64) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= COUNT_CACHE_MAX {
                map.clear();
            }
            map.insert(key, (generation, total));
        }
    }

    /// The sourcedId of the last record before `offset` in the default order of the query
    /// `key`, when a page of it ended there at this `generation`. A consumer paging with
    /// `offset` then continues with `sourcedId > it` from the index instead of stepping over
    /// `offset` rows again (PostgreSQL: 190 ms at offset 190,000 against 14 ms at 0), which
    /// made a full extraction quadratic. Same records, since the store is unchanged and
    /// sourcedIds are unique.
    fn boundary(&self, key: &str, offset: i64, generation: i64) -> Option<String> {
        let ends = self.ends.lock().ok()?;
        ends.get(&(key.to_string(), offset))
            .filter(|(g, _)| *g == generation)
            .map(|(_, id)| id.clone())
    }

    fn put_boundary(&self, key: String, offset: i64, generation: i64, last: &str) {
        if let Ok(mut ends) = self.ends.lock() {
            if ends.len() >= COUNT_CACHE_MAX {
                ends.clear();
            }
            ends.insert((key, offset), (generation, last.to_string()));
        }
    }

    /// Where to start reading `offset` of the query `key` in the default order when no page
    /// ended there: after the nearest checkpoint at or before it, skipping the rest (at most
    /// `CHECKPOINT - 1` rows) with `OFFSET`. A client jumping to random deep offsets (parallel
    /// page fetchers do) otherwise makes the database step over every row before each one:
    /// SQLite 42 ms, PostgreSQL 950 ms per page at the district's middle. The checkpoints are
    /// read in one pass the first time a deep offset is asked at a store generation.
    fn checkpoint(
        &self,
        conn: &mut DbConnection,
        entity: Entity,
        conditions: &Sql<'_>,
        offset: i64,
        key: &str,
        generation: i64,
    ) -> QueryResult<Option<(String, i64)>> {
        let kept = || {
            self.marks.lock().ok().and_then(|m| {
                m.get(key)
                    .filter(|(g, _)| *g == generation)
                    .map(|(_, ids)| ids.clone())
            })
        };
        let marks = match kept() {
            Some(ids) => ids,
            None => {
                let _reading = self.reading_marks.lock();
                // Another request may have read them while this one waited.
                if let Some(ids) = kept() {
                    return Ok(checkpoint_at(&ids, offset));
                }
                let ids = Checkpoints::new(checkpoint_ids(conn, entity, conditions)?);
                if let Ok(mut m) = self.marks.lock() {
                    if m.len() >= CHECKPOINT_KEYS {
                        m.clear();
                    }
                    m.insert(key.to_string(), (generation, ids.clone()));
                }
                ids
            }
        };
        Ok(checkpoint_at(&marks, offset))
    }
}

/// The nearest checkpoint at or before `offset`: (its sourcedId, rows left to skip).
fn checkpoint_at(marks: &[String], offset: i64) -> Option<(String, i64)> {
    let n = ((offset / CHECKPOINT) as usize).min(marks.len());
    n.checked_sub(1)
        .and_then(|i| marks.get(i))
        .map(|id| (id.clone(), offset - n as i64 * CHECKPOINT))
}

/// The [`Checkpoints`] of a read's `conditions` (its `WHERE` clause; default order), in one
/// pass.
fn checkpoint_ids(
    conn: &mut DbConnection,
    entity: Entity,
    conditions: &Sql<'_>,
) -> QueryResult<Vec<String>> {
    let mut q = Sql::new(conn);
    q.push(&format!(
        "SELECT t0 FROM (SELECT t.sourced_id AS t0, ROW_NUMBER() OVER (ORDER BY t.sourced_id) \
         AS rn FROM {} t",
        entity.table()
    ));
    q.append(conditions);
    q.push(&format!(") s WHERE rn % {CHECKPOINT} = 0 ORDER BY rn"));
    let rows: Vec<DynRow> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            r.0.into_iter()
                .next()
                .and_then(|c| c.text().map(str::to_string))
        })
        .collect())
}

/// Which tables hold no active rows, per store [`generation`] (so reads can skip loading
/// associations nobody has, e.g. user resources).
#[derive(Debug, Default)]
pub struct EmptyCache {
    map: std::sync::Mutex<HashMap<Entity, (i64, bool)>>,
}

impl EmptyCache {
    /// Whether `entity` has no active row at `generation` (asks the store once per generation).
    pub fn is_empty(
        &self,
        conn: &mut DbConnection,
        entity: Entity,
        generation: i64,
    ) -> QueryResult<bool> {
        if let Some((g, empty)) = self.map.lock().ok().and_then(|m| m.get(&entity).copied()) {
            if g == generation {
                return Ok(empty);
            }
        }
        let empty = !exists(conn, entity, &[Cond::active()])?;
        if let Ok(mut m) = self.map.lock() {
            m.insert(entity, (generation, empty));
        }
        Ok(empty)
    }
}

/// The store's generation: changes whenever committed roster data changes. Today every write
/// is an import, which records its run in `imports` inside its own transaction, so the newest
/// run's id is the generation. Any future writer must also record itself there.
pub fn generation(conn: &mut DbConnection) -> QueryResult<i64> {
    let mut q = Sql::new(conn);
    q.cached()
        .push("SELECT CAST(COALESCE(MAX(id), 0) AS TEXT) AS t0 FROM imports");
    q.load_i64(conn)
}

/// The newest `dateLastModified` of `entity` (any status), by its index.
pub fn newest_change(conn: &mut DbConnection, entity: Entity) -> QueryResult<Option<String>> {
    let mut q = Sql::new(conn);
    q.cached().push(&format!(
        "SELECT MAX(date_last_modified) AS t0 FROM {}",
        entity.table()
    ));
    let rows: Vec<DynRow> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|r| r.0.first().and_then(|c| c.text()).map(str::to_string)))
}

/// Error of a collection read: the filter did not compile, or the database failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Filter(#[from] crate::query::FilterError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

fn push_where(
    q: &mut Sql<'_>,
    entity: Entity,
    query: &Query<'_>,
) -> Result<(), crate::query::FilterError> {
    q.push(" WHERE 1 = 1");
    for cond in &query.conds {
        q.push(" AND (");
        cond.push(q);
        q.push(")");
    }
    if let Some(f) = query.filter {
        q.push(" AND ");
        crate::query::plan::push_filter(q, entity, f)?;
    }
    Ok(())
}

/// Whether a record of `entity` satisfying every condition exists.
pub fn exists(conn: &mut DbConnection, entity: Entity, conds: &[Cond]) -> QueryResult<bool> {
    let mut q = Sql::new(conn);
    q.cached()
        .push(&format!("SELECT 'x' AS t0 FROM {} t", entity.table()));
    let query = Query {
        conds: conds.to_vec(),
        ..Query::default()
    };
    push_where(&mut q, entity, &query)
        .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))?;
    q.push(" LIMIT 1");
    Ok(!q.load::<DynRow>(conn)?.is_empty())
}

/// One page of `entity` matching `query`, and the total number of matches.
pub fn query(
    conn: &mut DbConnection,
    entity: Entity,
    query: &Query<'_>,
) -> Result<(Vec<Record>, i64), QueryError> {
    // The query's conditions, compiled once for the count, the checkpoints and the page.
    let mut conditions = Sql::new(conn);
    push_where(&mut conditions, entity, query)?;
    // The matches' count (not for single reads), and the key of the query's conditions for
    // the caches.
    let count = if query.skip_total {
        None
    } else {
        let mut count = Sql::new(conn);
        if query.filter.is_none() {
            count.cached();
        }
        count.push(&format!(
            "SELECT CAST(COUNT(*) AS TEXT) AS t0 FROM {} t",
            entity.table()
        ));
        count.append(&conditions);
        Some(count)
    };
    let cache = match (&count, query.count_cache) {
        (Some(count), Some((c, g))) => Some((c, count.cache_key(), g)),
        _ => None,
    };
    // In the default order, continue after the record a page of the same query ended on, or
    // else after the nearest checkpoint for a deep offset: (after this id, rows to skip).
    let after = match &cache {
        Some((c, key, g)) if query.sort.is_none() && query.offset > 0 => {
            match c.boundary(key, query.offset, *g) {
                Some(id) => Some((id, 0)),
                None if query.offset >= CHECKPOINT => {
                    c.checkpoint(conn, entity, &conditions, query.offset, key, *g)?
                }
                None => None,
            }
        }
        _ => None,
    };
    let mut q = Sql::new(conn);
    // Without a client filter or sort the text comes only from code-written conditions (and
    // padded sets): a few shapes per endpoint, kept prepared.
    let fixed_shape = query.filter.is_none() && query.sort.is_none();
    if fixed_shape {
        q.cached();
    }
    q.push(&select_list(entity));
    q.push(&format!(" FROM {} t", entity.table()));
    q.append(&conditions);
    if let Some((after, _)) = &after {
        q.push(" AND t.sourced_id > ");
        q.bind(P::Text(Some(after)));
    }
    q.push(" ORDER BY ");
    if let Some((column, desc)) = query.sort {
        // NULLs sort first ascending on both backends.
        let nulls = if desc { "NULLS LAST" } else { "NULLS FIRST" };
        // Code-point order for text on PostgreSQL too, so both backends sort alike.
        let float = entity
            .fields()
            .iter()
            .any(|f| f.column == column && f.kind == Kind::Float);
        let collate = if q.is_postgres() && !float {
            " COLLATE \"C\""
        } else {
            ""
        };
        q.push(&format!(
            "t.{column}{collate} {} {nulls}, ",
            if desc { "DESC" } else { "ASC" }
        ));
    }
    q.push("t.sourced_id LIMIT ");
    q.bind_limit(query.limit);
    q.push(" OFFSET ");
    q.bind(P::Int(match &after {
        Some((_, skip)) => *skip,
        None => query.offset,
    }));
    let rows: Vec<DynRow> = q.load(conn)?;
    let n = rows.len() as i64;
    let records: Vec<Record> = rows
        .into_iter()
        .filter_map(|r| record_of(entity, r))
        .collect();
    // A full page in the default order: remember where it ended for the next one.
    if let (Some((c, key, g)), Some(last)) = (&cache, records.last()) {
        if query.sort.is_none() && n == query.limit && records.len() as i64 == n {
            c.put_boundary(key.clone(), query.offset + n, *g, &last.sourced_id);
        }
    }
    // A short, non-empty page (or a short first page) ends the result: no COUNT needed.
    let total = if query.skip_total {
        n
    } else if n < query.limit && (n > 0 || query.offset == 0) {
        query.offset + n
    } else if let Some(count) = count {
        match cache.as_ref().and_then(|(c, key, g)| c.get(key, *g)) {
            Some(total) => total,
            None => {
                let total = count.load_i64(conn)?;
                if let Some((c, key, g)) = cache {
                    c.put(key, g, total);
                }
                total
            }
        }
    } else {
        n
    };
    Ok((records, total))
}

/// Refresh the query planner's statistics (SQLite: sampled, `analysis_limit` rows per index).
pub fn analyze(conn: &mut DbConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    match conn {
        DbConnection::Sqlite(_) => conn.batch_execute("PRAGMA analysis_limit = 2000; ANALYZE;"),
        DbConnection::Postgres(_) => conn.batch_execute("ANALYZE"),
    }
}
