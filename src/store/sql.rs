//! Dynamic SQL with bound parameters, for the catalogue-driven store: SQL text with marked
//! parameter positions (Diesel writes each backend's placeholder), binds of the few portable
//! types the store uses, opt-in statement caching, and a positional row type. Values are never
//! spliced into SQL text; identifiers come only from the catalogue.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::row::NamedRow;
use diesel::serialize::ToSql;
use diesel::sql_types::HasSqlType;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Untyped};
use diesel::{QueryResult, QueryableByName, RunQueryDsl};

use super::connection::{Db, DbConnection};

/// A bound parameter.
#[derive(Debug, Clone)]
pub enum P<'a> {
    Text(Option<&'a str>),
    Owned(Option<String>),
    Float(Option<f64>),
    Int(i64),
}

/// SQL text plus its parameters. The text holds no placeholders: `marks` records where each
/// parameter goes, and Diesel's query builder writes the backend's placeholder there.
pub struct Sql<'a> {
    text: String,
    marks: Vec<usize>,
    params: Vec<P<'a>>,
    pg: bool,
    cache: bool,
    /// A [`Sql::bind_set`] list was too long to keep prepared.
    oversized: bool,
}

/// Longest value list [`Sql::bind_set`] pads so that its statement may be cached.
pub const CACHED_SET_MAX: usize = 1024;

impl<'a> Sql<'a> {
    pub fn new(conn: &DbConnection) -> Sql<'a> {
        Sql {
            text: String::with_capacity(256),
            marks: Vec::new(),
            params: Vec::new(),
            pg: matches!(conn, DbConnection::Postgres(_)),
            cache: false,
            oversized: false,
        }
    }

    /// Let the connection keep this statement prepared and reuse it for the same text (Diesel's
    /// statement cache, keyed by SQL). Only for statements whose text comes from a small, fixed
    /// set of shapes (the import's batched writes, reads built from code-written conditions
    /// with [`Sql::bind_set`] lists): the cache is unbounded, so text that varies with client
    /// input (filters, sort fields) must not be cached. A statement holding a set longer than
    /// [`CACHED_SET_MAX`] is not cached whatever this says.
    pub fn cached(&mut self) -> &mut Self {
        self.cache = true;
        self
    }

    /// Whether the SQL is for PostgreSQL (placeholders `$n`, collations named differently).
    pub fn is_postgres(&self) -> bool {
        self.pg
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Append `other`'s text and parameters (a fragment built once and used in several
    /// statements, such as a read's `WHERE` clause).
    pub fn append(&mut self, other: &Sql<'a>) -> &mut Self {
        let at = self.text.len();
        self.text.push_str(&other.text);
        self.marks.extend(other.marks.iter().map(|m| m + at));
        self.params.extend(other.params.iter().cloned());
        self.oversized |= other.oversized;
        self
    }

    /// Append a placeholder bound to `p`.
    pub fn bind(&mut self, p: P<'a>) -> &mut Self {
        self.params.push(p);
        self.marks.push(self.text.len());
        self
    }

    /// A `LIMIT` row count, bound. On SQLite it is written `+?`: SQLite reads a bare `?` there
    /// while planning (as a row estimate), which marks the statement to be planned again
    /// whenever that parameter is bound anew, so a cached page query was re-prepared on every
    /// request (4 % of a users page's instructions, 5 % of a SOAP readPersons'). The unary
    /// plus keeps the value out of planning; the count is applied at run time all the same.
    pub fn bind_limit(&mut self, n: i64) -> &mut Self {
        if !self.pg {
            self.text.push('+');
        }
        self.bind(P::Int(n))
    }

    pub fn bind_str(&mut self, s: &'a str) -> &mut Self {
        self.bind(P::Text(Some(s)))
    }

    /// `(?, ?, ?)` for a list of strings.
    pub fn bind_list(&mut self, items: impl IntoIterator<Item = &'a str>) -> &mut Self {
        self.text.push('(');
        for (i, s) in items.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind_str(s);
        }
        self.text.push(')');
        self
    }

    /// `(?, ?, …)` for ids tested with `IN`, padded like [`Sql::push_set`] (so the statement
    /// may be cached); an empty list is `(NULL)`.
    pub fn bind_ids(&mut self, ids: &[&'a str]) -> &mut Self {
        if ids.is_empty() {
            self.text.push_str("(NULL)");
            return self;
        }
        self.text.push('(');
        self.push_set(ids.len(), |i| P::Text(ids.get(i).copied()));
        self.text.push(')');
        self
    }

    /// `(?, ?, …)` for a set of strings tested with `IN` ([`Sql::push_set`]). An empty set is
    /// `(NULL)`, which matches nothing.
    pub fn bind_set(&mut self, items: &'a [String]) -> &mut Self {
        if items.is_empty() {
            self.text.push_str("(NULL)");
            return self;
        }
        self.text.push('(');
        self.push_set(items.len(), |i| P::Text(items.get(i).map(String::as_str)));
        self.text.push(')');
        self
    }

    /// `?, ?, …` for a non-empty set of `n` values tested with `IN`, the `i`-th bound to
    /// `value(i)`, padded by repeating the last value to one of a few lengths (powers of two up
    /// to [`CACHED_SET_MAX`]), so statements that differ only in a set's size share a handful
    /// of texts and can stay prepared. Repeats do not change what `IN` matches. A longer set is
    /// bound as it is and keeps the statement out of the cache.
    pub fn push_set(&mut self, n: usize, mut value: impl FnMut(usize) -> P<'a>) -> &mut Self {
        let len = if n <= CACHED_SET_MAX {
            n.next_power_of_two()
        } else {
            self.oversized = true;
            n
        };
        let last = n.saturating_sub(1);
        for i in 0..len {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value(i.min(last)));
        }
        self
    }

    /// The SQL text, where its parameters go, and their values, as a cache key.
    pub fn cache_key(&self) -> String {
        format!("{}|{:?}|{:?}", self.text, self.marks, self.params)
    }

    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    pub fn execute(self, conn: &mut DbConnection) -> QueryResult<usize> {
        match conn {
            DbConnection::Sqlite(c) => RunQueryDsl::execute(self, c),
            DbConnection::Postgres(c) => RunQueryDsl::execute(self, c),
        }
    }

    /// Run a query selecting one integer (as text, aliased `t0`); 0 when there is no row.
    pub fn load_i64(self, conn: &mut DbConnection) -> QueryResult<i64> {
        Ok(self
            .load::<DynRow>(conn)?
            .first()
            .and_then(|r| r.0.first())
            .and_then(Cell::text)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    pub fn load<T: QueryableByName<Db> + 'static>(
        self,
        conn: &mut DbConnection,
    ) -> QueryResult<Vec<T>> {
        RunQueryDsl::load(self, conn)
    }
}

/// Diesel runs [`Sql`] directly (rather than through `sql_query`, which is never cached), so
/// that [`Sql::cached`] statements are prepared once per connection. Generic over the backend:
/// [`Sql::execute`] hands it to the concrete connection, skipping the multi-connection wrapper
/// (which walks a query several more times per execution: measurable on 10,000-parameter
/// import batches).
impl<DB> QueryFragment<DB> for Sql<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Double> + HasSqlType<BigInt>,
    str: ToSql<Text, DB>,
    String: ToSql<Text, DB>,
    f64: ToSql<Double, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if !self.cache || self.oversized {
            out.unsafe_to_cache_prepared();
        }
        let mut from = 0;
        for (&at, p) in self.marks.iter().zip(&self.params) {
            out.push_sql(self.text.get(from..at).unwrap_or_default());
            from = at;
            match p {
                P::Text(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                P::Owned(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                P::Float(v) => out.push_bind_param::<Nullable<Double>, _>(v)?,
                P::Int(v) => out.push_bind_param::<BigInt, _>(v)?,
            }
        }
        out.push_sql(self.text.get(from..).unwrap_or_default());
        Ok(())
    }
}

impl QueryId for Sql<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Sql<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Sql<'_> {}

/// A row of any catalogue table, read by position: text columns aliased `t0, t1, …` and float
/// columns `f0, f1, …` (the alias's letter says how to read the cell).
#[derive(Debug, Default)]
pub struct DynRow(pub Vec<Cell>);

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    Float(Option<f64>),
}

impl Cell {
    pub fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(t) => t.as_deref(),
            Cell::Float(_) => None,
        }
    }
}

impl QueryableByName<Db> for DynRow {
    /// Cells by position (the aliases number them in order; `f…` marks a float column):
    /// looking each alias up by name cost a scan of the column names per cell.
    fn build<'a>(row: &impl NamedRow<'a, Db>) -> diesel::deserialize::Result<Self> {
        use diesel::deserialize::FromSql;
        use diesel::row::{Field, Row};
        let n = row.field_count();
        let mut cells = Vec::with_capacity(n);
        for i in 0..n {
            let Some(field) = Row::get(row, i) else {
                break;
            };
            let float = field.field_name().is_some_and(|name| name.starts_with('f'));
            let raw = field.value();
            cells.push(if float {
                Cell::Float(<Option<f64> as FromSql<Nullable<Double>, Db>>::from_nullable_sql(raw)?)
            } else {
                Cell::Text(<Option<String> as FromSql<Nullable<Text>, Db>>::from_nullable_sql(raw)?)
            });
        }
        Ok(DynRow(cells))
    }
}
