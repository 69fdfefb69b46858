//! Generates the roster tables' DDL from the entity catalogue, per backend. The checked-in
//! migrations `migrations/*/2026-11-23-000001_roster_store/up.sql` (the initial entities) and
//! `…000006_assessments` (the assessment results profile) and `…000007_assessment_objectives`
//! (its learning-objective rows) and `…000008_section_associations` are this output; a test keeps them
//! identical, so the catalogue and the tables cannot drift apart.

use crate::model::catalog::{Entity, Kind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The secondary index on `list_values` (item lookups such as "classes of term t1").
pub const LIST_VALUES_INDEX: &str =
    "CREATE INDEX list_values_value_idx ON list_values (entity, field, value)";
pub const LIST_VALUES_INDEX_NAME: &str = "list_values_value_idx";

/// Name suffix of the `date_last_modified` index of each table.
pub const DLM_INDEX_SUFFIX: &str = "_dlm_idx";

/// Secondary indexes of `entity`'s table: (name, `CREATE INDEX` statement). Change tracking
/// (`date_last_modified`, `status`), the fields consumers filter on, and every single-valued
/// reference; list references are indexed through `list_values`.
pub fn indexes(e: Entity) -> Vec<(String, String)> {
    let t = e.table();
    let mut cols = vec!["date_last_modified", "status"];
    for f in e.fields() {
        if f.indexed || (f.kind.target().is_some() && !f.kind.is_list()) {
            cols.push(f.column);
        }
    }
    cols.into_iter()
        .map(|c| {
            let name = if c == "date_last_modified" {
                format!("{t}{DLM_INDEX_SUFFIX}")
            } else {
                format!("{t}_{c}_idx")
            };
            // `status = 'active'` matches nearly every row, so an index helps only to find
            // tombstones: a partial index holds just those, and costs nothing on active rows.
            let partial = if c == "status" {
                " WHERE status = 'tobedeleted'"
            } else {
                ""
            };
            let create = format!("CREATE INDEX {name} ON {t} ({c}){partial}");
            (name, create)
        })
        .collect()
}

/// `CREATE TABLE` / `CREATE INDEX` statements for every entity plus `list_values` and the
/// bookkeeping tables.
pub fn initial_up(d: Dialect) -> String {
    // Byte order for ids on PostgreSQL too (its default collation is locale-aware), so keyset
    // pages and "order by sourcedId" agree across backends and the primary key serves them.
    let id_collate = match d {
        Dialect::Sqlite => "",
        Dialect::Postgres => " COLLATE \"C\"",
    };
    // SQLite: the key is the whole row, so store it once (no rowid table beside the key).
    let list_values_options = match d {
        Dialect::Sqlite => " WITHOUT ROWID",
        Dialect::Postgres => "",
    };
    let mut out = String::from(
        "-- Generated from src/model/catalog.rs by src/store/ddl.rs; a test checks they agree.\n\
         -- Timestamps are TEXT 'YYYY-MM-DDTHH:MM:SS.sssZ' (UTC, fixed width: text order = time order).\n\n",
    );
    out.push_str(&tables(d, Entity::INITIAL, false));
    out.push_str(&format!(
        "-- Multi-valued fields (grades, subjects, terms, agents, userIds, ...), one row per item, so\n\
         -- filters such as grades~'09' or terms.sourcedId='t1' compile to EXISTS subqueries.\n\
         CREATE TABLE list_values (\n    entity TEXT NOT NULL,\n    owner TEXT{id_collate} NOT NULL,\n    field TEXT NOT NULL,\n    position INTEGER NOT NULL,\n    value TEXT NOT NULL,\n    PRIMARY KEY (entity, owner, field, position)\n){list_values_options};\n\
         {LIST_VALUES_INDEX};\n\n"
    ));
    let id = match d {
        Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
    };
    out.push_str(&format!(
        "-- One row per import run (committed, rejected, dry-run or failed).\n\
         CREATE TABLE imports (\n    id {id},\n    started_at TEXT NOT NULL,\n    finished_at TEXT NOT NULL,\n    source TEXT NOT NULL,\n    oneroster_version TEXT,\n    outcome TEXT NOT NULL,\n    summary TEXT NOT NULL,\n    errors TEXT NOT NULL,\n    error_count BIGINT NOT NULL,\n    warning_count BIGINT NOT NULL\n);\n\n\
         -- A single row every import updates first: imports are serialised on both backends.\n\
         CREATE TABLE import_lock (\n    id INTEGER PRIMARY KEY NOT NULL,\n    held_at TEXT\n);\n\
         INSERT INTO import_lock (id, held_at) VALUES (1, NULL);\n"
    ));
    out
}

/// `CREATE TABLE` and `CREATE INDEX` statements of `entities`' tables; `id_refs`: references
/// in the ids' collation too (PostgreSQL).
pub fn tables(d: Dialect, entities: &[Entity], id_refs: bool) -> String {
    let float = match d {
        Dialect::Sqlite => "REAL",
        Dialect::Postgres => "DOUBLE PRECISION",
    };
    let id_collate = match d {
        Dialect::Sqlite => "",
        Dialect::Postgres => " COLLATE \"C\"",
    };
    let mut out = String::new();
    for &e in entities {
        let t = e.table();
        out.push_str(&format!("CREATE TABLE {t} (\n"));
        out.push_str(&format!(
            "    sourced_id TEXT{id_collate} PRIMARY KEY NOT NULL,\n"
        ));
        out.push_str("    status TEXT NOT NULL,\n");
        out.push_str("    date_last_modified TEXT NOT NULL,\n");
        out.push_str("    sis_date_last_modified TEXT,\n");
        out.push_str("    content_hash TEXT NOT NULL,\n");
        out.push_str("    metadata TEXT");
        for f in e.fields() {
            let ty = if f.kind == Kind::Float { float } else { "TEXT" };
            let collate = match f.kind {
                Kind::Ref(_) if id_refs => id_collate,
                _ => "",
            };
            out.push_str(&format!(",\n    {} {ty}{collate}", f.column));
        }
        out.push_str("\n);\n");
        for (_, create) in indexes(e) {
            out.push_str(&create);
            out.push_str(";\n");
        }
        out.push('\n');
    }
    out
}

/// Migration 000006: the assessment results profile's tables (references in the ids'
/// collation on PostgreSQL, as migration 000005 made them for the initial tables).
pub fn assessments_up(d: Dialect) -> String {
    format!(
        "-- Generated from src/model/catalog.rs by src/store/ddl.rs; a test checks they agree.\n\n{}",
        tables(d, &[Entity::AssessmentLineItems, Entity::AssessmentResults], true)
    )
}

pub fn assessments_down() -> String {
    "DROP TABLE assessment_results;\nDROP TABLE assessment_line_items;\n".to_string()
}

/// Migration 000007: the learning-objective rows of assessment line items and results.
pub fn assessment_objectives_up(d: Dialect) -> String {
    format!(
        "-- Generated from src/model/catalog.rs by src/store/ddl.rs; a test checks they agree.\n\n{}",
        tables(
            d,
            &[
                Entity::AssessmentLineItemLearningObjectiveIds,
                Entity::AssessmentResultLearningObjectiveIds
            ],
            true
        )
    )
}

pub fn assessment_objectives_down() -> String {
    "DROP TABLE assessment_result_learning_objective_ids;\n\
     DROP TABLE assessment_line_item_learning_objective_ids;\n"
        .to_string()
}

/// Migration 000008: LIS section associations.
pub fn section_associations_up(d: Dialect) -> String {
    format!(
        "-- Generated from src/model/catalog.rs by src/store/ddl.rs; a test checks they agree.\n\n{}",
        tables(d, &[Entity::SectionAssociations], true)
    )
}

pub fn section_associations_down() -> String {
    "DROP TABLE section_associations;\n".to_string()
}

pub fn initial_down() -> String {
    let mut out =
        String::from("DROP TABLE import_lock;\nDROP TABLE imports;\nDROP TABLE list_values;\n");
    for e in Entity::INITIAL.iter().rev() {
        out.push_str(&format!("DROP TABLE {};\n", e.table()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated migrations: directory name, `up.sql`, `down.sql`.
    type Generated = (&'static str, fn(Dialect) -> String, fn() -> String);
    const GENERATED: &[Generated] = &[
        ("2026-11-23-000001_roster_store", initial_up, initial_down),
        (
            "2026-12-03-000006_assessments",
            assessments_up,
            assessments_down,
        ),
        (
            "2026-12-03-000007_assessment_objectives",
            assessment_objectives_up,
            assessment_objectives_down,
        ),
        (
            "2026-12-03-000008_section_associations",
            section_associations_up,
            section_associations_down,
        ),
    ];

    /// The checked-in generated migrations equal the generator's output. Run with
    /// `RB_WRITE_MIGRATIONS=1` to rewrite them after changing the catalogue.
    #[test]
    fn checked_in_migrations_match_the_catalogue() {
        let root = env!("CARGO_MANIFEST_DIR");
        for (d, sub) in [(Dialect::Sqlite, "sqlite"), (Dialect::Postgres, "postgres")] {
            for (name, up, down) in GENERATED {
                let dir = format!("{root}/migrations/{sub}/{name}");
                let (up, down) = (up(d), down());
                if std::env::var_os("RB_WRITE_MIGRATIONS").is_some() {
                    std::fs::create_dir_all(&dir).expect("create migration dir");
                    std::fs::write(format!("{dir}/up.sql"), &up).expect("write up.sql");
                    std::fs::write(format!("{dir}/down.sql"), &down).expect("write down.sql");
                }
                let on_disk = std::fs::read_to_string(format!("{dir}/up.sql")).unwrap_or_default();
                assert_eq!(
                    on_disk, up,
                    "{dir}/up.sql differs from the catalogue; see the test's doc"
                );
                let on_disk =
                    std::fs::read_to_string(format!("{dir}/down.sql")).unwrap_or_default();
                assert_eq!(on_disk, down, "{dir}/down.sql differs from the catalogue");
            }
        }
    }
}
