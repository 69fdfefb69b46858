//! The sharing ledger: each restricted app's view as it last was (migration 000013), so that
//! its delta reads stay true when what it may see changes without the records changing (a rule
//! narrowed or widened, a date window ending, a student leaving the only shared class).
//!
//! * `share_view`: every (entity, id) the app could see at the last refresh, with when it
//!   entered the view (`NULL`: it was there at the app's first look);
//! * `share_departures`: what left the view, and when (removed again if it comes back);
//! * `share_state`: the store generation and the signature of the rules in force the view was
//!   taken under; `roster` refreshes the view when either differs ([`refresh`]).
//!
//! Only ids and timestamps: the records themselves stay in their tables.

use std::collections::{HashMap, HashSet};

use diesel::QueryResult;

use super::sql::{Cell, DynRow, Sql, P};
use super::DbConnection;
use crate::model::catalog::Entity;

/// The entities whose visibility the ledger follows (those a delta consumer reads).
pub const ENTITIES: &[Entity] = &[
    Entity::Orgs,
    Entity::AcademicSessions,
    Entity::Courses,
    Entity::Classes,
    Entity::Users,
    Entity::Demographics,
    Entity::Enrollments,
    Entity::Resources,
    Entity::Categories,
    Entity::LineItems,
    Entity::Results,
    Entity::ScoreScales,
    Entity::AssessmentLineItems,
    Entity::AssessmentResults,
];

/// Rows bound per statement (four parameters each).
const CHUNK: usize = 2_000;

fn texts(rows: Vec<DynRow>) -> Vec<Option<String>> {
    rows.into_iter()
        .map(|r| r.0.first().and_then(Cell::text).map(str::to_string))
        .collect()
}

/// The generation and rule signature of `client`'s view; `None` before its first refresh.
pub fn state(conn: &mut DbConnection, client: &str) -> QueryResult<Option<(i64, String)>> {
    let mut q = Sql::new(conn);
    q.cached()
        .push("SELECT CAST(generation AS TEXT) AS t0, signature AS t1 FROM share_state WHERE client_id = ")
        .bind_str(client);
    let rows: Vec<DynRow> = q.load(conn)?;
    Ok(rows.into_iter().next().and_then(|r| {
        let g = r.0.first()?.text()?.parse().ok()?;
        let s = r.0.get(1)?.text()?.to_string();
        Some((g, s))
    }))
}

/// Bring `client`'s view to what `visible` says it sees now, under `generation` and
/// `signature`: ids no longer visible become departures at `now`, new ones enter at `now`
/// (at the first refresh, they were simply there), returning ones lose their departure. Run it
/// in a transaction; concurrent refreshes of one client agree (`ON CONFLICT`).
pub fn refresh(
    conn: &mut DbConnection,
    client: &str,
    generation: i64,
    signature: &str,
    now: &str,
    mut visible: impl FnMut(&mut DbConnection, Entity) -> QueryResult<Vec<String>>,
) -> QueryResult<()> {
    let first = state(conn, client)?.is_none();
    for &entity in ENTITIES {
        let name = entity.name();
        let current: HashSet<String> = visible(conn, entity)?.into_iter().collect();
        let mut q = Sql::new(conn);
        q.push("SELECT sourced_id AS t0 FROM share_view WHERE client_id = ")
            .bind_str(client)
            .push(" AND entity = ")
            .bind_str(name);
        let before: HashSet<String> = texts(q.load(conn)?).into_iter().flatten().collect();
        // In id order: concurrent refreshes of one client touch rows in the same order.
        let mut gone: Vec<&String> = before.difference(&current).collect();
        let mut came: Vec<&String> = current.difference(&before).collect();
        gone.sort();
        came.sort();
        for chunk in gone.chunks(CHUNK) {
            delete(conn, "share_view", client, name, chunk)?;
            insert(
                conn,
                "share_departures",
                "left_at",
                client,
                name,
                chunk,
                Some(now),
                true,
            )?;
        }
        for chunk in came.chunks(CHUNK) {
            let entered = (!first).then_some(now);
            insert(
                conn,
                "share_view",
                "entered_at",
                client,
                name,
                chunk,
                entered,
                false,
            )?;
            delete(conn, "share_departures", client, name, chunk)?;
        }
    }
    let mut q = Sql::new(conn);
    q.push("DELETE FROM share_state WHERE client_id = ")
        .bind_str(client);
    q.execute(conn)?;
    let mut q = Sql::new(conn);
    q.push("INSERT INTO share_state (client_id, generation, signature, refreshed_at) VALUES (")
        .bind_str(client)
        .push(", ")
        .bind(P::Int(generation))
        .push(", ")
        .bind_str(signature)
        .push(", ")
        .bind_str(now)
        .push(") ON CONFLICT (client_id) DO NOTHING");
    q.execute(conn)?;
    Ok(())
}

/// Delete `client`'s rows of `entity` with these ids from `table`.
fn delete(
    conn: &mut DbConnection,
    table: &str,
    client: &str,
    entity: &str,
    ids: &[&String],
) -> QueryResult<()> {
    let mut q = Sql::new(conn);
    q.push(&format!("DELETE FROM {table} WHERE client_id = "))
        .bind_str(client)
        .push(" AND entity = ")
        .bind_str(entity)
        .push(" AND sourced_id IN ")
        .bind_list(ids.iter().map(|s| s.as_str()));
    q.execute(conn)?;
    Ok(())
}

/// Insert (client, entity, id, stamp) rows into `table`; on a conflict keep the row, or take
/// the new stamp when `replace`.
#[allow(clippy::too_many_arguments)]
fn insert(
    conn: &mut DbConnection,
    table: &str,
    stamp_column: &str,
    client: &str,
    entity: &str,
    ids: &[&String],
    stamp: Option<&str>,
    replace: bool,
) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new(conn);
    q.push(&format!(
        "INSERT INTO {table} (client_id, entity, sourced_id, {stamp_column}) VALUES "
    ));
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push("(")
            .bind_str(client)
            .push(", ")
            .bind_str(entity)
            .push(", ")
            .bind_str(id)
            .push(", ")
            .bind(P::Text(stamp))
            .push(")");
    }
    if replace {
        q.push(&format!(
            " ON CONFLICT (client_id, entity, sourced_id) DO UPDATE SET {stamp_column} = excluded.{stamp_column}"
        ));
    } else {
        q.push(" ON CONFLICT (client_id, entity, sourced_id) DO NOTHING");
    }
    q.execute(conn)?;
    Ok(())
}

/// When each of `ids` entered `client`'s view (only those that entered after its first look).
pub fn entered(
    conn: &mut DbConnection,
    client: &str,
    entity: Entity,
    ids: &[String],
) -> QueryResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let mut q = Sql::new(conn);
        q.push("SELECT sourced_id AS t0, entered_at AS t1 FROM share_view WHERE client_id = ")
            .bind_str(client)
            .push(" AND entity = ")
            .bind_str(entity.name())
            .push(" AND entered_at IS NOT NULL AND sourced_id IN ")
            .bind_list(chunk.iter().map(String::as_str));
        let rows: Vec<DynRow> = q.load(conn)?;
        for r in rows {
            if let (Some(id), Some(at)) = (
                r.0.first().and_then(Cell::text),
                r.0.get(1).and_then(Cell::text),
            ) {
                out.insert(id.to_string(), at.to_string());
            }
        }
    }
    Ok(out)
}

/// What left `client`'s view of `entity` after `after` (at or after it when `inclusive`): the
/// total, and `limit` of them from `offset`, as (id, when it left), by id.
pub fn departures(
    conn: &mut DbConnection,
    client: &str,
    entity: Entity,
    after: &str,
    inclusive: bool,
    limit: i64,
    offset: i64,
) -> QueryResult<(i64, Vec<(String, String)>)> {
    let op = if inclusive { ">=" } else { ">" };
    let push_where = |q: &mut Sql<'_>| {
        q.push(" FROM share_departures WHERE client_id = ")
            .bind(P::Owned(Some(client.to_string())))
            .push(" AND entity = ")
            .bind(P::Owned(Some(entity.name().to_string())))
            .push(&format!(" AND left_at {op} "))
            .bind(P::Owned(Some(after.to_string())));
    };
    let mut q = Sql::new(conn);
    q.push("SELECT CAST(COUNT(*) AS TEXT) AS t0");
    push_where(&mut q);
    let total = q.load_i64(conn)?;
    if limit <= 0 || offset >= total {
        return Ok((total, Vec::new()));
    }
    let mut q = Sql::new(conn);
    q.push("SELECT sourced_id AS t0, left_at AS t1");
    push_where(&mut q);
    q.push(" ORDER BY sourced_id LIMIT ")
        .bind_limit(limit)
        .push(" OFFSET ")
        .bind_limit(offset);
    let rows: Vec<DynRow> = q.load(conn)?;
    Ok((
        total,
        rows.into_iter()
            .filter_map(|r| {
                Some((
                    r.0.first()?.text()?.to_string(),
                    r.0.get(1)?.text()?.to_string(),
                ))
            })
            .collect(),
    ))
}

/// Whether an import after `generation` changed a table the users' visibility under class
/// selections depends on (enrollments, classes, courses, users: `store::changes`).
pub fn rostering_changed_since(conn: &mut DbConnection, generation: i64) -> QueryResult<bool> {
    let mut q = Sql::new(conn);
    q.cached()
        .push("SELECT 'x' AS t0 FROM import_changes WHERE import_id > ")
        .bind(P::Int(generation))
        .push(" AND entity IN ('enrollments', 'classes', 'courses', 'users') LIMIT 1");
    let rows: Vec<DynRow> = q.load(conn)?;
    Ok(!rows.is_empty())
}

/// Forget `client`'s ledger (the app was removed).
pub fn forget(conn: &mut DbConnection, client: &str) -> QueryResult<()> {
    for table in ["share_view", "share_departures", "share_state"] {
        let mut q = Sql::new(conn);
        q.push(&format!("DELETE FROM {table} WHERE client_id = "))
            .bind_str(client);
        q.execute(conn)?;
    }
    Ok(())
}
