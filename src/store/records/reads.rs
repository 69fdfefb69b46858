//! Serving reads of catalogue records: collection queries built from named conditions
//! (`store::views::Where`) and a client filter's plan (`query::plan::Plan`), compiled to SQL
//! here, with sort and page (`query`, `Query`); the count and deep-offset checkpoint caches,
//! the empty-table cache and the store generation they are keyed by.

use super::*;
use crate::query::fields::Access;
use crate::query::plan::{Bound, Plan};
use crate::query::{Logical, Op};
use crate::store::views::Where;

/// An argument of a [`Cond`] template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    One(String),
    /// A set tested with `IN (?)`: expands to `?, ?, …` ([`Sql::push_set`], padded with repeats
    /// of its last value), or `NULL` when empty, so `IN (NULL)` matches nothing.
    Many(Vec<String>),
}

/// One fixed condition of a read as SQL ([`Where::cond`] makes them), ANDed with the others: a
/// static SQL template over the entity's table (aliased `t`) whose `?` marks are bound, in
/// order, to `args`. Templates are written in code, never built from input; values always
/// travel as bound parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cond {
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
    pub conds: Vec<Where>,
    /// The client's `filter`, AND-ed with the fixed conditions in its own parentheses, so no
    /// `OR` in it can widen what the endpoint or the client's restriction allows.
    pub filter: Option<&'f Plan>,
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
const CHECKPOINT: i64 = 256;
/// Queries whose checkpoints are kept before that cache starts over (each holds one id per
/// [`CHECKPOINT`] matching records: ~800 for the 205,875 users of the benchmark district).
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
        let empty = !exists(conn, entity, &[Where::Active])?;
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

fn push_where(q: &mut Sql<'_>, entity: Entity, query: &Query<'_>) {
    q.push(" WHERE 1 = 1");
    for w in &query.conds {
        q.push(" AND (");
        w.cond(entity).push(q);
        q.push(")");
    }
    if let Some(plan) = query.filter {
        q.push(" AND ");
        push_plan(q, entity, plan);
    }
}

/// `%value%` for LIKE, lower-cased, with `\`, `%` and `_` escaped.
fn like_pattern(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('%');
    for c in v.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

fn sql_op(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "<>",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Contains => "LIKE",
    }
}

/// `<lhs> <op> ?` with the value bound (case-insensitive substring for `~`).
fn push_compare(q: &mut Sql<'_>, lhs: &str, op: Op, value: &Bound) {
    match (op, value) {
        (Op::Contains, Bound::Text(v)) => {
            q.push(&format!("LOWER({lhs}) LIKE "));
            q.bind(P::Owned(Some(like_pattern(v))));
            q.push(" ESCAPE '\\'");
        }
        (op, Bound::Text(v)) => {
            q.push(&format!("{lhs} {} ", sql_op(op)));
            q.bind(P::Owned(Some(v.clone())));
        }
        (op, Bound::Float(x)) => {
            q.push(&format!("{lhs} {} ", sql_op(op)));
            q.bind(P::Float(Some(*x)));
        }
    }
}

/// `(clause AND|OR clause …)` for a client filter's `plan` on `entity` (table alias `t`).
/// Values are always bound, never spliced; identifiers come only from the field catalogue.
fn push_plan(q: &mut Sql<'_>, entity: Entity, plan: &Plan) {
    let joiner = match plan.logical {
        Logical::And => " AND ",
        Logical::Or => " OR ",
    };
    q.push("(");
    for (i, p) in plan.preds.iter().enumerate() {
        if i > 0 {
            q.push(joiner);
        }
        match &p.access {
            Access::Column { column, .. } => {
                if p.op == Op::Ne {
                    // A missing value is "not equal" too.
                    q.push(&format!("(t.{column} IS NULL OR "));
                    push_compare(q, &format!("t.{column}"), p.op, &p.value);
                    q.push(")");
                } else {
                    push_compare(q, &format!("t.{column}"), p.op, &p.value);
                }
            }
            Access::ListItem { field } => {
                q.push(if p.negate { "NOT EXISTS" } else { "EXISTS" });
                q.push(" (SELECT 1 FROM list_values lv WHERE lv.entity = ");
                q.bind_str(entity.name());
                q.push(" AND lv.owner = t.sourced_id AND lv.field = ");
                q.bind_str(field);
                q.push(" AND ");
                push_compare(q, "lv.value", p.op, &p.value);
                q.push(")");
            }
            Access::Child {
                table, fk, column, ..
            } => {
                q.push(if p.negate { "NOT EXISTS" } else { "EXISTS" });
                q.push(&format!(" (SELECT 1 FROM {table} c WHERE c.{fk} = t.sourced_id AND c.status = 'active' AND "));
                push_compare(q, &format!("c.{column}"), p.op, &p.value);
                q.push(")");
            }
        }
    }
    q.push(")");
}

/// Whether a record of `entity` satisfying every condition exists.
pub fn exists(conn: &mut DbConnection, entity: Entity, conds: &[Where]) -> QueryResult<bool> {
    let mut q = Sql::new(conn);
    q.cached()
        .push(&format!("SELECT 'x' AS t0 FROM {} t", entity.table()));
    let query = Query {
        conds: conds.to_vec(),
        ..Query::default()
    };
    push_where(&mut q, entity, &query);
    q.push(" LIMIT 1");
    Ok(!q.load::<DynRow>(conn)?.is_empty())
}

/// The ids of every record of `entity` (any status) meeting `conds`, in id order.
pub fn ids_where(
    conn: &mut DbConnection,
    entity: Entity,
    conds: &[Where],
) -> QueryResult<Vec<String>> {
    let mut q = Sql::new(conn);
    q.push(&format!(
        "SELECT t.sourced_id AS t0 FROM {} t",
        entity.table()
    ));
    let query = Query {
        conds: conds.to_vec(),
        ..Query::default()
    };
    push_where(&mut q, entity, &query);
    q.push(" ORDER BY t.sourced_id");
    let rows: Vec<DynRow> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.0.first().and_then(Cell::text).map(str::to_string))
        .collect())
}

/// How many records of `entity` meet `conds`, and the first `sample` of their ids.
pub fn count_and_sample(
    conn: &mut DbConnection,
    entity: Entity,
    conds: &[Where],
    sample: i64,
) -> QueryResult<(i64, Vec<String>)> {
    let query = Query {
        conds: conds.to_vec(),
        ..Query::default()
    };
    let mut q = Sql::new(conn);
    q.push(&format!(
        "SELECT CAST(COUNT(*) AS TEXT) AS t0 FROM {} t",
        entity.table()
    ));
    push_where(&mut q, entity, &query);
    let n = q.load_i64(conn)?;
    let mut q = Sql::new(conn);
    q.push(&format!(
        "SELECT t.sourced_id AS t0 FROM {} t",
        entity.table()
    ));
    push_where(&mut q, entity, &query);
    q.push(" ORDER BY t.sourced_id LIMIT ").bind_limit(sample);
    let rows: Vec<DynRow> = q.load(conn)?;
    Ok((
        n,
        rows.into_iter()
            .filter_map(|r| r.0.first().and_then(Cell::text).map(str::to_string))
            .collect(),
    ))
}

/// One page of `entity` matching `query`, and the total number of matches.
pub fn query(
    conn: &mut DbConnection,
    entity: Entity,
    query: &Query<'_>,
) -> QueryResult<(Vec<Record>, i64)> {
    // The query's conditions, compiled once for the count, the checkpoints and the page.
    let mut conditions = Sql::new(conn);
    push_where(&mut conditions, entity, query);
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
