//! Undo an import (`rosterbridge imports undo ID`, the console's Undo button): every record the
//! import changed goes back to its state before it, as recorded in `store::changes` (a record
//! it created becomes a tombstone), applied as one delta through the importer's own validation
//! and stamped now, so delta consumers receive the correction (reactivations and
//! re-tombstones). Refused, naming them, when later imports changed the same records; the undo
//! is an import of its own (and can itself be undone).

use diesel::Connection;

use super::{import_records_on, ImportError, ImportOptions, ImportReport};
use crate::model::catalog::Entity;
use crate::model::record::{Record, Status};
use crate::store::views::Where;
use crate::store::{changes, imports, records, Store};

#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    #[error("no import {0}")]
    NotFound(i64),
    #[error("import {0} was not committed ({1}): there is nothing to undo")]
    NotCommitted(i64, String),
    #[error("import {0} recorded no changes to undo (it changed nothing, or ran before rosterbridge kept a change log)")]
    NoLog(i64),
    /// Later imports changed records this one changed: (import id, source, records, example).
    #[error("later imports changed the same records: {}", later.iter().map(|(id, src, n, ex)| format!("import {id} ({src}): {n} record(s), e.g. {ex}")).collect::<Vec<_>>().join("; "))]
    Later {
        later: Vec<(i64, String, i64, String)>,
    },
    #[error("a recorded change could not be read: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("database error (nothing was changed): {0}")]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Undo import `id` (see the module documentation); the undo's own report.
pub fn undo(store: &Store, id: i64) -> Result<ImportReport, UndoError> {
    let mut conn = store.conn()?;
    conn.transaction(|conn| {
        imports::lock(conn, &crate::model::time::now())?;
        let run = imports::get(conn, id)?.ok_or(UndoError::NotFound(id))?;
        if run.outcome != "committed" {
            return Err(UndoError::NotCommitted(id, run.outcome));
        }
        let logged = changes::of_import(conn, id)?;
        if logged.is_empty() {
            return Err(UndoError::NoLog(id));
        }
        // Later imports that touched the same records, but for an import and its own undo
        // after it, which cancel out (in id order, so an undo of an undo counts again).
        let mut named: Vec<(i64, String, i64, String)> = Vec::new();
        for (other, n, example) in changes::later_overlaps(conn, id)? {
            let source = imports::get(conn, other)?
                .map(|r| r.source)
                .unwrap_or_default();
            let undoes = source
                .strip_prefix("undo:")
                .and_then(|x| x.parse::<i64>().ok());
            match undoes.and_then(|y| named.iter().position(|(i, ..)| *i == y)) {
                Some(at) => {
                    named.remove(at);
                }
                None => named.push((other, source, n, example)),
            }
        }
        if !named.is_empty() {
            return Err(UndoError::Later { later: named });
        }
        let mut restore: Vec<Record> = Vec::new();
        for (name, sourced_id, prior) in logged {
            let entity =
                Entity::from_name(&name).ok_or_else(|| UndoError::Unreadable(name.clone()))?;
            match prior {
                None if sourced_id == changes::EVERY => {
                    for id in records::ids_where(conn, entity, &[Where::Active])? {
                        restore.push(tombstone(entity, id));
                    }
                }
                None => restore.push(tombstone(entity, sourced_id)),
                Some(text) => restore.push(
                    changes::from_json(entity, &sourced_id, &text)
                        .ok_or_else(|| UndoError::Unreadable(format!("{name} {sourced_id}")))?,
                ),
            }
        }
        let report = import_records_on(
            conn,
            restore,
            &format!("undo:{id}"),
            &ImportOptions::default(),
        )?;
        Ok(report)
    })
}

fn tombstone(entity: Entity, id: String) -> Record {
    let mut r = Record::new(entity, id);
    r.status = Status::ToBeDeleted;
    r
}
