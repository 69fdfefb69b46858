//! Console sessions: rows in `console_sessions`, keyed by the SHA-256 digest of the cookie's
//! token (the token itself is never stored). Expiry rules live in `console::session`.

use diesel::prelude::*;

use super::connection::DbConnection;
use super::schema::console_sessions;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = console_sessions)]
pub struct SessionRow {
    pub token_hash: String,
    pub admin: String,
    pub created_at: String,
    pub last_seen: String,
}

pub fn insert(conn: &mut DbConnection, s: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(console_sessions::table)
        .values(s)
        .execute(conn)
        .map(|_| ())
}

pub fn get(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<SessionRow>> {
    console_sessions::table
        .find(token_hash)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

pub fn touch(conn: &mut DbConnection, token_hash: &str, now: &str) -> QueryResult<()> {
    diesel::update(console_sessions::table.find(token_hash))
        .set(console_sessions::last_seen.eq(now))
        .execute(conn)
        .map(|_| ())
}

pub fn remove(conn: &mut DbConnection, token_hash: &str) -> QueryResult<bool> {
    Ok(diesel::delete(console_sessions::table.find(token_hash)).execute(conn)? > 0)
}

/// End every session of `admin` (removed, or given a new password).
pub fn remove_of(conn: &mut DbConnection, admin: &str) -> QueryResult<usize> {
    diesel::delete(console_sessions::table.filter(console_sessions::admin.eq(admin))).execute(conn)
}

/// Delete sessions idle since before `idle_before` or created before `created_before`.
pub fn purge(
    conn: &mut DbConnection,
    idle_before: &str,
    created_before: &str,
) -> QueryResult<usize> {
    diesel::delete(
        console_sessions::table.filter(
            console_sessions::last_seen
                .lt(idle_before)
                .or(console_sessions::created_at.lt(created_before)),
        ),
    )
    .execute(conn)
}
