//! References a record may leave out because its class implies them: a line item's school
//! (1.1 CSV has no such column, and 1.2 JSON requires it) and a score scale's org and course
//! (the 1.2 CSV requires them, the JSON has no org). They are filled from the class (one in
//! the same write first, else the stored one) before validation and change detection, so
//! every binding reads the same value and an unchanged record stays unchanged.

use std::collections::HashMap;

use diesel::QueryResult;

use crate::model::catalog::Entity;
use crate::model::record::Record;
use crate::store::connection::DbConnection;
use crate::store::records;

/// (entity, field filled when empty, the class's field it is taken from).
const DERIVED: &[(Entity, &str, &str)] = &[
    (Entity::LineItems, "schoolSourcedId", "schoolSourcedId"),
    (Entity::ScoreScales, "orgSourcedId", "schoolSourcedId"),
    (Entity::ScoreScales, "courseSourcedId", "courseSourcedId"),
];

/// Whether `entity`'s `field` is one a class implies.
pub fn is_derived(entity: Entity, field: &str) -> bool {
    DERIVED.iter().any(|(e, f, _)| *e == entity && *f == field)
}

/// The class field's SQL column.
fn class_column(field: &str) -> Option<&'static str> {
    Entity::Classes
        .fields()
        .iter()
        .find(|f| f.name == field)
        .map(|f| f.column)
}

/// Fill the derived references of `records` (any entities) that are empty, from the classes
/// among `records` or else the store's.
pub fn fill(conn: &mut DbConnection, records: &mut [Record]) -> QueryResult<()> {
    let classes: HashMap<String, Record> = records
        .iter()
        .filter(|r| r.entity == Entity::Classes)
        .map(|r| (r.sourced_id.clone(), r.clone()))
        .collect();
    for (entity, field, from) in DERIVED {
        let wanting: Vec<usize> = (0..records.len())
            .filter(|&i| {
                let r = &records[i];
                r.entity == *entity && r.get(field).is_none() && r.get("classSourcedId").is_some()
            })
            .collect();
        if wanting.is_empty() {
            continue;
        }
        let mut ids: Vec<&str> = wanting
            .iter()
            .filter_map(|&i| records[i].get("classSourcedId"))
            .filter(|c| !classes.contains_key(*c))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let stored = match class_column(from) {
            Some(column) if !ids.is_empty() => {
                records::column_by_ids(conn, Entity::Classes, column, &ids)?
            }
            _ => HashMap::new(),
        };
        for i in wanting {
            let class = records[i]
                .get("classSourcedId")
                .unwrap_or_default()
                .to_string();
            let value = match classes.get(&class) {
                Some(c) => c.get(from).map(str::to_string),
                None => stored.get(&class).and_then(|(_, v)| v.clone()),
            };
            if let Some(v) = value {
                records[i].set(field, v);
            }
        }
    }
    Ok(())
}
