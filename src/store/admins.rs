//! Console administrators and the audit log: rows in `admins` (passwords as argon2id PHC
//! strings only; hashing and verification live in `auth::admins`) and `audit_log` (who changed
//! what, when).

use diesel::prelude::*;

use super::connection::DbConnection;
use super::schema::{admins, audit_log};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = admins)]
pub struct AdminRow {
    pub name: String,
    pub password_hash: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

pub fn insert(conn: &mut DbConnection, a: &AdminRow) -> QueryResult<()> {
    diesel::insert_into(admins::table)
        .values(a)
        .execute(conn)
        .map(|_| ())
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<AdminRow>> {
    admins::table
        .order(admins::name)
        .select(AdminRow::as_select())
        .load(conn)
}

pub fn get(conn: &mut DbConnection, name: &str) -> QueryResult<Option<AdminRow>> {
    admins::table
        .find(name)
        .select(AdminRow::as_select())
        .first(conn)
        .optional()
}

/// Whether the administrator existed.
pub fn remove(conn: &mut DbConnection, name: &str) -> QueryResult<bool> {
    Ok(diesel::delete(admins::table.find(name)).execute(conn)? > 0)
}

/// Whether the administrator exists.
pub fn set_password(conn: &mut DbConnection, name: &str, hash: &str) -> QueryResult<bool> {
    Ok(diesel::update(admins::table.find(name))
        .set(admins::password_hash.eq(hash))
        .execute(conn)?
        > 0)
}

/// Record an administrative change.
pub fn audit(
    conn: &mut DbConnection,
    at: &str,
    actor: &str,
    action: &str,
    detail: &str,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(at),
            audit_log::actor.eq(actor),
            audit_log::action.eq(action),
            audit_log::detail.eq(detail),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The newest `limit` audit entries, newest first.
pub fn audit_entries(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<AuditRow>> {
    audit_log::table
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)
}
