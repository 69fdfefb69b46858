//! Which JSON field paths of an entity can be filtered and sorted on, and where each lives in
//! the store: a column of the entity's table, an item of a multi-valued field in
//! `list_values`, or a row of a child table (a user's roles). Names follow the JSON bindings
//! (`school.sourcedId`, `terms.sourcedId`, `preferredFirstName`), not the CSV columns.

use crate::model::catalog::{Entity, Field, Kind};

/// How a filter value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    /// `YYYY-MM-DD`
    Date,
    /// Store timestamps; filter values may be a date or a date-time.
    DateTime,
    Float,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A column of the entity's own table.
    Column {
        column: &'static str,
        kind: ValueKind,
    },
    /// Any item of a multi-valued field (`list_values.field`).
    ListItem { field: &'static str },
    /// Any active row of a child table pointing at the record.
    Child {
        table: &'static str,
        fk: &'static str,
        column: &'static str,
        kind: ValueKind,
    },
}

/// The JSON name of a stored field.
pub fn json_name(f: &Field) -> String {
    match f.name {
        "preferredGivenName" => "preferredFirstName".into(),
        "preferredFamilyName" => "preferredLastName".into(),
        "primary" => "primary".into(),
        n => match f.kind {
            Kind::Ref(_) => n.trim_end_matches("SourcedId").to_string(),
            Kind::RefList(_) => format!("{}s", n.trim_end_matches("SourcedIds")),
            _ => n.to_string(),
        },
    }
}

fn kind_of(k: Kind) -> ValueKind {
    match k {
        Kind::Date => ValueKind::Date,
        Kind::Float => ValueKind::Float,
        _ => ValueKind::Text,
    }
}

/// Resolve a dotted field path of `entity`, or `None` when the entity has no such field.
pub fn resolve(entity: Entity, path: &[String]) -> Option<Access> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let col = |column: &'static str, kind| Some(Access::Column { column, kind });
    match p.as_slice() {
        ["sourcedId"] => return col("sourced_id", ValueKind::Text),
        ["status"] => return col("status", ValueKind::Text),
        ["dateLastModified"] => return col("date_last_modified", ValueKind::DateTime),
        _ => {}
    }
    if entity == Entity::Users {
        let role = |column: &'static str, kind| {
            Some(Access::Child {
                table: "user_roles",
                fk: "user_sourced_id",
                column,
                kind,
            })
        };
        match p.as_slice() {
            ["roles", "role"] | ["role"] => return role("role", ValueKind::Text),
            ["roles", "roleType"] => return role("role_type", ValueKind::Text),
            ["roles", "org", "sourcedId"] | ["orgs", "sourcedId"] => {
                return role("org_sourced_id", ValueKind::Text)
            }
            ["roles", "beginDate"] => return role("begin_date", ValueKind::Date),
            ["roles", "endDate"] => return role("end_date", ValueKind::Date),
            _ => {}
        }
    }
    for f in entity.fields() {
        let name = json_name(f);
        match (f.kind, p.as_slice()) {
            (Kind::Ref(_), [n, "sourcedId"]) if *n == name => {
                return col(f.column, ValueKind::Text)
            }
            (Kind::RefList(_), [n, "sourcedId"]) if *n == name => {
                return Some(Access::ListItem { field: f.name })
            }
            (Kind::List | Kind::EnumList(..) | Kind::UserIds, [n]) if *n == name => {
                return Some(Access::ListItem { field: f.name })
            }
            (Kind::Ref(_) | Kind::RefList(_) | Kind::ScoreScaleValue, _) => {}
            (k, [n]) if *n == name && !k.is_list() => return col(f.column, kind_of(k)),
            _ => {}
        }
    }
    None
}

/// The column to sort on for a field path: scalar fields only (including `school.sourcedId`).
pub fn sort_column(entity: Entity, path: &[String]) -> Option<&'static str> {
    match resolve(entity, path)? {
        Access::Column { column, .. } => Some(column),
        _ => None,
    }
}
