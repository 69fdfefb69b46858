//! Filter AST → a [`Plan`] for one entity: each clause resolved to where its field lives
//! ([`Access`]) with its value checked and converted for the field. The store turns a plan into
//! SQL (`store::records::reads`); nothing here writes SQL.

use super::fields::{resolve, Access, ValueKind};
use super::filter::{Clause, Filter, FilterError, Logical, Op};
use crate::model::catalog::Entity;
use crate::model::time;

/// A clause's value, checked and converted for its field.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Text(String),
    Float(f64),
}

/// One resolved clause: `<access> <op> <value>`, or, when `negate`, "no item of the
/// multi-valued field satisfies `<op> <value>`" (`!=` on a list means no item equals).
#[derive(Debug, Clone, PartialEq)]
pub struct Pred {
    pub access: Access,
    pub op: Op,
    pub negate: bool,
    pub value: Bound,
}

/// A compiled filter: its clauses joined by one logical operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub logical: Logical,
    pub preds: Vec<Pred>,
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

/// Resolve every clause of `filter` on `entity`: an unknown field or a value of the wrong form
/// is an error naming the clause.
pub fn plan(entity: Entity, filter: &Filter) -> Result<Plan, FilterError> {
    let mut preds = Vec::with_capacity(filter.clauses.len());
    for c in &filter.clauses {
        let access =
            resolve(entity, &c.path).ok_or_else(|| FilterError::UnknownField(c.field()))?;
        let (negate, op) = match (&access, c.op) {
            (Access::ListItem { .. } | Access::Child { .. }, Op::Ne) => (true, Op::Eq),
            (_, op) => (false, op),
        };
        let kind = match &access {
            Access::Column { kind, .. } | Access::Child { kind, .. } => *kind,
            Access::ListItem { .. } => ValueKind::Text,
        };
        let value = convert(c, kind)?;
        preds.push(Pred {
            access,
            op,
            negate,
            value,
        });
    }
    Ok(Plan {
        logical: filter.logical,
        preds,
    })
}
