//! Filter AST → SQL `WHERE` fragment with bound parameters, for one entity's table aliased `t`.
//! Values are always bound, never spliced; identifiers come only from the field catalogue.

use super::fields::{resolve, Access, ValueKind};
use super::filter::{Clause, Filter, FilterError, Logical, Op};
use crate::model::catalog::Entity;
use crate::model::time;
use crate::store::sql::{Sql, P};

/// A clause's value, checked and converted for its field.
enum Bound {
    Text(String),
    Float(f64),
}

fn convert(c: &Clause, kind: ValueKind) -> Result<Bound, FilterError> {
    let err = |m: &str| FilterError::Value {
        field: c.field(),
        message: m.to_string(),
    };
    match kind {
        ValueKind::Text => Ok(Bound::Text(c.value.clone())),
        ValueKind::Date if c.op == Op::Contains => Ok(Bound::Text(c.value.clone())),
        ValueKind::Date => time::parse_date(&c.value)
            .map(|_| Bound::Text(c.value.clone()))
            .ok_or_else(|| err("expected a date YYYY-MM-DD")),
        ValueKind::DateTime => time::parse_lenient(&c.value)
            .map(|(t, _)| Bound::Text(t))
            .ok_or_else(|| err("expected a date or a date-time (YYYY-MM-DDTHH:MM:SS.sssZ)")),
        ValueKind::Float if c.op == Op::Contains => Err(err("~ does not apply to numbers")),
        ValueKind::Float => match c.value.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Bound::Float(x)),
            _ => Err(err("expected a number")),
        },
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

/// `<lhs> <op> ?` with the value bound (case-insensitive substring for `~`).
fn push_compare(q: &mut Sql<'_>, lhs: &str, op: Op, value: Bound) {
    match (op, value) {
        (Op::Contains, Bound::Text(v)) => {
            q.push(&format!("LOWER({lhs}) LIKE "));
            q.bind(P::Owned(Some(like_pattern(&v))));
            q.push(" ESCAPE '\\'");
        }
        (op, Bound::Text(v)) => {
            q.push(&format!("{lhs} {} ", op.sql()));
            q.bind(P::Owned(Some(v)));
        }
        (op, Bound::Float(x)) => {
            q.push(&format!("{lhs} {} ", op.sql()));
            q.bind(P::Float(Some(x)));
        }
    }
}

/// Append `(clause AND|OR clause …)` for `filter` on `entity` (table alias `t`).
pub fn push_filter(q: &mut Sql<'_>, entity: Entity, filter: &Filter) -> Result<(), FilterError> {
    let joiner = match filter.logical {
        Logical::And => " AND ",
        Logical::Or => " OR ",
    };
    q.push("(");
    for (i, c) in filter.clauses.iter().enumerate() {
        if i > 0 {
            q.push(joiner);
        }
        let access =
            resolve(entity, &c.path).ok_or_else(|| FilterError::UnknownField(c.field()))?;
        // `!=` on a multi-valued field means "no item equals".
        let (negate, op) = match (&access, c.op) {
            (Access::ListItem { .. } | Access::Child { .. }, Op::Ne) => (true, Op::Eq),
            (_, op) => (false, op),
        };
        match access {
            Access::Column { column, kind } => {
                let value = convert(c, kind)?;
                if op == Op::Ne {
                    // A missing value is "not equal" too.
                    q.push(&format!("(t.{column} IS NULL OR "));
                    push_compare(q, &format!("t.{column}"), op, value);
                    q.push(")");
                } else {
                    push_compare(q, &format!("t.{column}"), op, value);
                }
            }
            Access::ListItem { field } => {
                let value = convert(c, ValueKind::Text)?;
                q.push(if negate { "NOT EXISTS" } else { "EXISTS" });
                q.push(" (SELECT 1 FROM list_values lv WHERE lv.entity = ");
                q.bind_str(entity.name());
                q.push(" AND lv.owner = t.sourced_id AND lv.field = ");
                q.bind_str(field);
                q.push(" AND ");
                push_compare(q, "lv.value", op, value);
                q.push(")");
            }
            Access::Child {
                table,
                fk,
                column,
                kind,
            } => {
                let value = convert(c, kind)?;
                q.push(if negate { "NOT EXISTS" } else { "EXISTS" });
                q.push(&format!(" (SELECT 1 FROM {table} c WHERE c.{fk} = t.sourced_id AND c.status = 'active' AND "));
                push_compare(q, &format!("c.{column}"), op, value);
                q.push(")");
            }
        }
    }
    q.push(")");
    Ok(())
}
