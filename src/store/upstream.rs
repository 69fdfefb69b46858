//! The upstream pull's and the grade push's bookkeeping (migration 000015): `sync_state`, one
//! row per upstream base URL (the high-water mark of its last successful sync), and
//! `grade_outbox`, the gradebook records apps wrote that the upstream has not accepted yet.

use diesel::prelude::*;

use super::connection::DbConnection;
use super::schema::{grade_outbox, sync_state};
use crate::model::catalog::Entity;

/// What the store remembers of one upstream.
#[derive(Debug, Clone, Default, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sync_state)]
pub struct SyncState {
    pub upstream: String,
    /// The largest `dateLastModified` the last successful sync received (the upstream's clock).
    pub high_water: Option<String>,
    pub last_sync_at: Option<String>,
    pub last_full_at: Option<String>,
}

/// The state of `upstream` (`None`: never synced).
pub fn state(conn: &mut DbConnection, upstream: &str) -> QueryResult<Option<SyncState>> {
    sync_state::table
        .find(upstream)
        .select(SyncState::as_select())
        .first(conn)
        .optional()
}

/// Record `st` (insert or replace).
pub fn save_state(conn: &mut DbConnection, st: &SyncState) -> QueryResult<()> {
    let n = diesel::update(sync_state::table.find(&st.upstream))
        .set(st)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(sync_state::table)
            .values(st)
            .execute(conn)?;
    }
    Ok(())
}

/// One queued record of the grade push.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = grade_outbox)]
pub struct Queued {
    pub entity: String,
    pub sourced_id: String,
    pub queued_at: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// Queue `ids` of `entity` (again: a later write re-queues with its time and clears the error).
pub fn queue(conn: &mut DbConnection, entity: Entity, ids: &[&str], now: &str) -> QueryResult<()> {
    for id in ids {
        let n = diesel::update(grade_outbox::table.find((entity.name(), *id)))
            .set((
                grade_outbox::queued_at.eq(now),
                grade_outbox::attempts.eq(0),
                grade_outbox::last_error.eq(None::<String>),
            ))
            .execute(conn)?;
        if n == 0 {
            diesel::insert_into(grade_outbox::table)
                .values((
                    grade_outbox::entity.eq(entity.name()),
                    grade_outbox::sourced_id.eq(*id),
                    grade_outbox::queued_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Everything queued, oldest first.
pub fn queued(conn: &mut DbConnection) -> QueryResult<Vec<Queued>> {
    grade_outbox::table
        .order((
            grade_outbox::queued_at.asc(),
            grade_outbox::sourced_id.asc(),
        ))
        .select(Queued::as_select())
        .load(conn)
}

/// The upstream accepted `q`: drop it, unless it was queued again meanwhile.
pub fn done(conn: &mut DbConnection, q: &Queued) -> QueryResult<()> {
    diesel::delete(
        grade_outbox::table
            .find((&q.entity, &q.sourced_id))
            .filter(grade_outbox::queued_at.eq(&q.queued_at)),
    )
    .execute(conn)
    .map(|_| ())
}

/// The upstream refused `q` (or could not be reached): keep it with the error.
pub fn failed(conn: &mut DbConnection, q: &Queued, error: &str) -> QueryResult<()> {
    diesel::update(grade_outbox::table.find((&q.entity, &q.sourced_id)))
        .set((
            grade_outbox::attempts.eq(grade_outbox::attempts + 1),
            grade_outbox::last_error.eq(error),
        ))
        .execute(conn)
        .map(|_| ())
}
