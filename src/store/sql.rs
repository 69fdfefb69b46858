//! Dynamic SQL with bound parameters, for the catalogue-driven store: placeholders in each
//! backend's syntax, binds of the few portable types the store uses, and a by-name row type.
//! Values are never spliced into SQL text; identifiers come only from the catalogue.

use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::row::NamedRow;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
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

/// SQL text plus its parameters.
pub struct Sql<'a> {
    pub text: String,
    params: Vec<P<'a>>,
    pg: bool,
}

impl<'a> Sql<'a> {
    pub fn new(conn: &DbConnection) -> Sql<'a> {
        Sql {
            text: String::with_capacity(256),
            params: Vec::new(),
            pg: matches!(conn, DbConnection::Postgres(_)),
        }
    }

    /// Whether the SQL is for PostgreSQL (placeholders `$n`, collations named differently).
    pub fn is_postgres(&self) -> bool {
        self.pg
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Append a placeholder bound to `p`.
    pub fn bind(&mut self, p: P<'a>) -> &mut Self {
        self.params.push(p);
        if self.pg {
            self.text.push('$');
            self.text.push_str(&self.params.len().to_string());
        } else {
            self.text.push('?');
        }
        self
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

    /// The SQL text and its parameters, as a cache key.
    pub fn cache_key(&self) -> String {
        format!("{}|{:?}", self.text, self.params)
    }

    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    fn query(self) -> BoxedSqlQuery<'a, Db, SqlQuery> {
        let mut q = diesel::sql_query(self.text).into_boxed::<Db>();
        for p in self.params {
            q = match p {
                P::Text(v) => q.bind::<Nullable<Text>, _>(v),
                P::Owned(v) => q.bind::<Nullable<Text>, _>(v),
                P::Float(v) => q.bind::<Nullable<Double>, _>(v),
                P::Int(v) => q.bind::<BigInt, _>(v),
            };
        }
        q
    }

    pub fn execute(self, conn: &mut DbConnection) -> QueryResult<usize> {
        self.query().execute(conn)
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
        self.query().load(conn)
    }
}

/// A row read by column name: text columns aliased `t0, t1, …` and float columns `f0, f1, …`
/// (the digit is the position). Lets one type read any catalogue table.
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
