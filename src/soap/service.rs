//! The Person and Membership operations over the roster store: one function per service that
//! matches the operation, binds the request to its generated type, runs the same store reads
//! the REST API runs (the same visibility conditions, the same records), and answers with the
//! generated response type and an `imsx` status. Writes become a small OneRoster delta package
//! handed to the CSV importer, so they validate, stamp `dateLastModified` and tombstone exactly
//! as a CSV delta does (LIS.md §4, §10; docs/LIS-MAPPING.md).

use super::bind::{Node, Out, Str, XmlValue};
use super::envelope::{Minor, Status};
use super::gen::{mms, pms};
use super::{membership, person};
use crate::auth::{visibility, Bearer};
use crate::export::PackageWriter;
use crate::ingest::{self, ImportOptions, Mode};
use crate::model::catalog::{Entity, Version};
use crate::model::record::{Record, Status as RecStatus};
use crate::model::time;
use crate::store::records::{self, Arg, Cond, Query};
use crate::store::related;
use crate::store::{DbConnection, Store};

/// Most records one read returns (LIS has no paging): beyond, `overflowfail`.
pub const MAX_RECORDS: i64 = 1_000_000;

/// Most ids one batch read accepts.
pub const MAX_BATCH: usize = 10_000;

/// Most ids bound in one by-id statement (with the visibility conditions' org ids, well below
/// SQLite's 32,766 parameters).
const BY_IDS_CHUNK: usize = 5_000;

/// What an operation needs: the store, a connection, who is asking and what they may do.
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub conn: &'a mut DbConnection,
    pub bearer: &'a Bearer,
    /// The client's orgs and everything below them; `None`: unrestricted.
    pub orgs: Option<Vec<String>>,
    pub may_read: bool,
    pub may_write: bool,
    pub demographics: bool,
    /// Tables known to have no active rows (association loads skip them), when serving.
    pub empty: Option<&'a records::EmptyCache>,
}

/// Writes a response body element, given its name.
pub type BodyWriter = Box<dyn FnOnce(&mut Out, &str)>;

/// An operation's answer: status and the body element writer.
pub struct Reply {
    pub status: Status,
    pub body: BodyWriter,
}

impl Reply {
    fn with<T: XmlValue + 'static>(status: Status, value: T) -> Reply {
        Reply {
            status,
            body: Box::new(move |o, n| value.write_value(&super::bind::TagBuf::new(n).tag(), o)),
        }
    }
    pub fn fail(minor: Minor, description: impl Into<String>) -> Reply {
        Reply {
            status: Status::failure(minor, description),
            body: Box::new(|o, n| o.empty(&super::bind::TagBuf::new(n).tag())),
        }
    }
}

/// Errors inside an operation, turned into a failure status.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("{1}")]
    Status(Minor, String),
    #[error("store error: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("store error: {0}")]
    Query(#[from] records::QueryError),
    #[error("import error: {0}")]
    Import(#[from] ingest::ImportError),
    #[error("export error: {0}")]
    Export(#[from] crate::export::ExportError),
}

impl From<super::bind::BindError> for OpError {
    fn from(e: super::bind::BindError) -> Self {
        OpError::Status(Minor::InvalidData, e.to_string())
    }
}

impl From<person::Invalid> for OpError {
    fn from(e: person::Invalid) -> Self {
        OpError::Status(Minor::InvalidData, e.to_string())
    }
}

fn status(minor: Minor, msg: impl Into<String>) -> OpError {
    OpError::Status(minor, msg.into())
}

fn bind<T: XmlValue>(body: &Node) -> Result<T, OpError> {
    Ok(T::read_value(body)?)
}

/// What a client is told of an internal failure (store, import or export error): the cause
/// is logged, never sent, as on REST.
pub const INTERNAL_FAILURE: &str =
    "the server could not complete the request (the cause is logged); retry later";

/// Log `e` and answer `targetisbusy` with the fixed [`INTERNAL_FAILURE`] description.
pub fn internal(e: &dyn std::fmt::Display) -> Reply {
    tracing::error!(error = %e, "LIS request failed");
    Reply::fail(Minor::TargetIsBusy, INTERNAL_FAILURE)
}

/// Run operation `op` (`f`) for `ctx`'s client, mapping its error to a failure reply (internal
/// errors: [`internal`]). A write runs whole in one transaction on the request's connection,
/// which first takes the import lock: its checks (ids in use, visibility, the write rule) see
/// the store as the write leaves it, concurrent writes queue on the lock instead of racing, and
/// the importer works on the same connection, so no write ever waits for a second one.
fn run(
    ctx: &mut Ctx<'_>,
    op: &str,
    f: impl FnOnce(&mut Ctx<'_>) -> Result<Reply, OpError>,
) -> Reply {
    let result = match authorise(ctx, op) {
        Err(e) => Err(e),
        Ok(()) if is_write(op) => in_write_transaction(ctx, f),
        Ok(()) => f(ctx),
    };
    match result {
        Ok(r) => r,
        Err(OpError::Status(minor, msg)) => Reply::fail(minor, msg),
        Err(e) => internal(&e),
    }
}

/// `f` in a transaction on `ctx`'s connection, after taking the import lock. A refusal
/// (`OpError::Status`: nothing was written but, for a rejected package, its import-log row)
/// commits; an internal error rolls back.
fn in_write_transaction(
    ctx: &mut Ctx<'_>,
    f: impl FnOnce(&mut Ctx<'_>) -> Result<Reply, OpError>,
) -> Result<Reply, OpError> {
    let (store, bearer, empty) = (ctx.store, ctx.bearer, ctx.empty);
    let (may_read, may_write, demographics) = (ctx.may_read, ctx.may_write, ctx.demographics);
    let orgs = ctx.orgs.clone();
    diesel::Connection::transaction(&mut *ctx.conn, |conn| {
        crate::store::imports::lock(conn, &time::now())?;
        let mut inner = Ctx {
            store,
            conn,
            bearer,
            orgs,
            may_read,
            may_write,
            demographics,
            empty,
        };
        match f(&mut inner) {
            Err(OpError::Status(minor, msg)) => Ok(Err(OpError::Status(minor, msg))),
            other => other.map(Ok),
        }
    })?
}

fn is_write(op: &str) -> bool {
    ["create", "replace", "update", "delete", "change"]
        .iter()
        .any(|p| op.starts_with(p))
}

fn authorise(ctx: &Ctx<'_>, op: &str) -> Result<(), OpError> {
    let (ok, need) = if is_write(op) {
        (ctx.may_write, crate::auth::scopes::ROSTER_WRITE)
    } else {
        (ctx.may_read, "roster.readonly or roster-core.readonly")
    };
    if ok {
        Ok(())
    } else {
        Err(status(
            Minor::UnauthorizedRequest,
            format!("{op} needs the scope {need}"),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Store access shared by both services.

fn visible(ctx: &Ctx<'_>, entity: Entity) -> Option<Cond> {
    ctx.orgs.as_ref().map(|o| visibility::condition(entity, o))
}

/// Records of `entity` by id (visible to the client; active only unless `tombstones`), in the
/// order of `ids`.
fn by_ids(
    ctx: &mut Ctx<'_>,
    entity: Entity,
    ids: &[String],
    tombstones: bool,
) -> Result<Vec<Record>, OpError> {
    let mut by: std::collections::HashMap<String, Record> = std::collections::HashMap::new();
    // In chunks: one statement binds at most BY_IDS_CHUNK ids (SQLite refuses more than 32,766
    // parameters, PostgreSQL 65,535), whatever the number asked for (a savepoint read of a
    // 100,000-person district loads that many demographics).
    for chunk in ids.chunks(BY_IDS_CHUNK) {
        let mut conds = vec![Cond::new(
            "t.sourced_id IN (?)",
            vec![Arg::Many(chunk.to_vec())],
        )];
        if !tombstones {
            conds.push(Cond::active());
        }
        conds.extend(visible(ctx, entity));
        let (rows, _) = records::query(
            ctx.conn,
            entity,
            &Query {
                conds,
                limit: chunk.len() as i64,
                skip_total: true,
                ..Query::default()
            },
        )?;
        by.extend(rows.into_iter().map(|r| (r.sourced_id.clone(), r)));
    }
    Ok(ids.iter().filter_map(|id| by.remove(id)).collect())
}

/// All records of `entity` matching `conds` (plus visibility), in id order or by
/// `dateLastModified`.
fn select(
    ctx: &mut Ctx<'_>,
    entity: Entity,
    mut conds: Vec<Cond>,
    by_time: bool,
) -> Result<Vec<Record>, OpError> {
    conds.extend(visible(ctx, entity));
    let (rows, total) = records::query(
        ctx.conn,
        entity,
        &Query {
            conds,
            sort: by_time.then_some(("date_last_modified", false)),
            limit: MAX_RECORDS + 1,
            skip_total: true,
            ..Query::default()
        },
    )?;
    if total > MAX_RECORDS {
        return Err(status(
            Minor::OverflowFail,
            format!("more than {MAX_RECORDS} records; use the savepoint reads"),
        ));
    }
    Ok(rows)
}

fn ids_of(rows: &[Record]) -> Vec<String> {
    rows.iter().map(|r| r.sourced_id.clone()).collect()
}

/// A savepoint from the request: an `xs:dateTime` (no zone: UTC), not in the future.
fn savepoint(s: &str) -> Result<String, OpError> {
    let t = time::parse_lenient(s.trim())
        .filter(|(_, bare)| !bare)
        .map(|(t, _)| t)
        .ok_or_else(|| {
            status(
                Minor::SavepointError,
                format!("'{s}' is not an xs:dateTime savepoint"),
            )
        })?;
    if t > time::format(chrono::Utc::now() + chrono::Duration::seconds(5)) {
        return Err(status(
            Minor::SavepointError,
            format!("savepoint {s} is in the future"),
        ));
    }
    Ok(t)
}

/// The savepoint to hand back: the newest change returned (so a change committed after this
/// read, which is stamped later, is in the next read), or the request's when nothing changed.
fn next_savepoint(rows: &[Record], from: &str) -> String {
    rows.iter()
        .filter_map(|r| r.date_last_modified.clone())
        .max()
        .unwrap_or_else(|| from.to_string())
}

/// The newest change of `entity` (the high-water mark batch reads return).
fn high_water(ctx: &mut Ctx<'_>, entity: Entity) -> Result<Option<String>, OpError> {
    Ok(records::newest_change(ctx.conn, entity)?)
}

fn id_set(ids: Vec<String>) -> pms::GuidSet {
    pms::GuidSet {
        sourced_id: ids.into_iter().map(Str::from).collect(),
    }
}

fn success_for(n: usize, what: &str) -> Status {
    if n == 0 {
        Status {
            minor: Minor::NoSourcedIds,
            ..Status::success(format!("no {what}"))
        }
    } else {
        Status::success(format!("{n} {what}"))
    }
}

/// `discover*Ids` queries: an e-mail address, `field=value` (email, username, identifier), or
/// a OneRoster filter expression over the entity.
fn discover(ctx: &mut Ctx<'_>, entity: Entity, q: &str) -> Result<Vec<String>, OpError> {
    let q = q.trim();
    // A OneRoster filter when it parses as one; else `field=value` with the value taken
    // literally (`familyName=O'Connor`: a quote inside a value does not make it a filter);
    // else an e-mail address.
    let quoted = |v: &str| format!("'{}'", v.trim().replace('\'', "''"));
    let filter = match crate::query::filter::parse(q) {
        Ok(f) => f,
        Err(e) => {
            let literal = if let Some((k, v)) = q.split_once('=') {
                Some(format!("{}={}", k.trim(), quoted(v)))
            } else if entity == Entity::Users && q.contains('@') {
                Some(format!("email={}", quoted(q)))
            } else {
                None
            };
            let Some(text) = literal.filter(|_| !q.is_empty()) else {
                return Err(status(
                    Minor::UnknownQuery,
                    format!("query '{q}' is not an e-mail address, field=value, or a OneRoster filter ({e})"),
                ));
            };
            crate::query::filter::parse(&text)
                .map_err(|e| status(Minor::UnknownQuery, format!("query '{q}': {e}")))?
        }
    };
    let mut conds = vec![Cond::active()];
    conds.extend(visible(ctx, entity));
    let (rows, total) = records::query(
        ctx.conn,
        entity,
        &Query {
            conds,
            filter: Some(&filter),
            limit: MAX_RECORDS + 1,
            skip_total: true,
            ..Query::default()
        },
    )
    .map_err(|e| match e {
        records::QueryError::Filter(f) => status(Minor::UnknownQuery, format!("query '{q}': {f}")),
        other => OpError::Query(other),
    })?;
    if total > MAX_RECORDS {
        return Err(status(Minor::OverflowFail, "too many matches"));
    }
    Ok(ids_of(&rows))
}

// ---------------------------------------------------------------------------------------------
// Writes: a delta package through the importer.

/// Import `records` (any entities) as one delta package; errors become `invaliddata`.
fn write_delta(ctx: &mut Ctx<'_>, op: &str, records: Vec<Record>) -> Result<(), OpError> {
    if records.is_empty() {
        // Nothing this client may change (a shared person without roles at its orgs).
        return Ok(());
    }
    guard_write(ctx, &records)?;
    let mut w = PackageWriter::memory(Version::V1_2);
    let stamp = time::now();
    for entity in Entity::ALL {
        let mut of: Vec<&Record> = records.iter().filter(|r| r.entity == entity).collect();
        if of.is_empty() {
            continue;
        }
        of.sort_by(|a, b| a.sourced_id.cmp(&b.sourced_id));
        let mut keys: Vec<String> = of.iter().flat_map(|r| r.metadata.keys().cloned()).collect();
        keys.sort();
        keys.dedup();
        let mut sink = w.file(entity, Mode::Delta, &keys)?;
        for r in of {
            let mut r = r.clone();
            r.date_last_modified = Some(stamp.clone());
            sink.write(&r, &[])?;
        }
        sink.finish()?;
    }
    let files = w.into_files()?;
    let report = ingest::import_files_on(
        ctx.conn,
        files,
        &format!("soap:{op}:{}", ctx.bearer.client_id),
        &ImportOptions::default(),
    )?;
    if report.outcome != ingest::Outcome::Committed {
        let problems: Vec<String> = report
            .diags
            .errors()
            .take(5)
            .map(|d| format!("{} ({}, {}): {}", d.column, d.file, d.rule, d.message))
            .collect();
        return Err(status(Minor::InvalidData, problems.join("; ")));
    }
    Ok(())
}

/// The write rule for a client restricted to orgs (docs/ARCHITECTURE.md, "Writes and org
/// restrictions"): every record a write stores must be visible to the client before the write,
/// when it exists (any status), and after it. After the write, a record is visible when:
/// - an org: it is one of the client's orgs (or below them);
/// - a role row: its org is, and its user was visible before (or is created by this write);
/// - a user or its demographics: it holds a role at one of the client's orgs, stored or
///   written here;
/// - an enrollment: its class is at one of the client's schools, its `schoolSourcedId` is that
///   class's school, and its user was visible before;
/// - anything else: never (restricted clients do not write other entities).
///
/// The operations keep the parts of a record the client cannot see out of what they write (a
/// shared user's roles and enrollments at other orgs), so this check refuses a write only when
/// the operation itself reaches outside the client's orgs.
fn guard_write(ctx: &mut Ctx<'_>, records: &[Record]) -> Result<(), OpError> {
    let Some(mine) = ctx.orgs.clone() else {
        return Ok(());
    };
    let at_mine = |org: Option<&str>| org.is_some_and(|o| mine.iter().any(|m| m == o));
    let deny = |r: &Record| {
        status(
            Minor::UnauthorizedRequest,
            format!(
                "{} '{}' is outside the orgs this client may change",
                r.entity.name(),
                r.sourced_id
            ),
        )
    };
    // Before: the stored version of every record written must be visible.
    for entity in Entity::ALL {
        let ids: Vec<String> = records
            .iter()
            .filter(|r| r.entity == entity)
            .map(|r| r.sourced_id.clone())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let stored = by_ids(&mut unrestricted(ctx), entity, &ids, true)?;
        let seen: std::collections::HashSet<String> = ids_of(&by_ids(ctx, entity, &ids, true)?)
            .into_iter()
            .collect();
        if let Some(hidden) = stored.iter().find(|r| !seen.contains(&r.sourced_id)) {
            return Err(deny(hidden));
        }
    }
    // After.
    let created = |user: &str| {
        records
            .iter()
            .any(|r| r.entity == Entity::Users && r.sourced_id == user)
    };
    for r in records {
        let user_of = match r.entity {
            Entity::Users | Entity::Demographics => Some(r.sourced_id.as_str()),
            Entity::Roles | Entity::Enrollments => r.get("userSourcedId"),
            _ => None,
        };
        // Whether the user exists (any status) and, if so, is visible to the client.
        let (user_stored, user_seen) = match user_of {
            Some(u) => {
                let id = [u.to_string()];
                let stored = !by_ids(&mut unrestricted(ctx), Entity::Users, &id, true)?.is_empty();
                (
                    stored,
                    stored && !by_ids(ctx, Entity::Users, &id, true)?.is_empty(),
                )
            }
            None => (false, false),
        };
        let user_ok = user_seen || user_of.is_some_and(|u| !user_stored && created(u));
        let ok = match r.entity {
            Entity::Orgs => at_mine(Some(&r.sourced_id)),
            Entity::Roles => at_mine(r.get("orgSourcedId")) && user_ok,
            Entity::Users | Entity::Demographics => {
                user_seen
                    || records.iter().any(|x| {
                        x.entity == Entity::Roles
                            && x.get("userSourcedId") == user_of
                            && at_mine(x.get("orgSourcedId"))
                    })
            }
            Entity::Enrollments => {
                let class = r.get("classSourcedId").unwrap_or("").to_string();
                let school = by_ids(&mut unrestricted(ctx), Entity::Classes, &[class], true)?
                    .pop()
                    .and_then(|c| c.get("schoolSourcedId").map(str::to_string));
                at_mine(school.as_deref())
                    && r.get("schoolSourcedId") == school.as_deref()
                    && user_ok
            }
            _ => false,
        };
        if !ok {
            return Err(deny(r));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Person Management Service.

/// What building the LIS records of `users` needs besides them: their role rows and, when the
/// client may see them, their demographics (by user id).
struct PersonParts {
    related: related::Related,
    demographics: std::collections::HashMap<String, Record>,
}

impl PersonParts {
    fn load(ctx: &mut Ctx<'_>, users: &[Record]) -> Result<PersonParts, OpError> {
        let ids = ids_of(users);
        let related = match ctx.empty {
            Some(empty) => {
                let generation = records::generation(ctx.conn)?;
                related::load_related_skipping(ctx.conn, Entity::Users, &ids, |c, child| {
                    empty.is_empty(c, child, generation)
                })?
            }
            None => related::load_related(ctx.conn, Entity::Users, &ids)?,
        };
        let demographics = if ctx.demographics {
            by_ids(ctx, Entity::Demographics, &ids, false)?
                .into_iter()
                .map(|d| (d.sourced_id.clone(), d))
                .collect()
        } else {
            Default::default()
        };
        Ok(PersonParts {
            related,
            demographics,
        })
    }

    fn person(&self, user: &Record) -> pms::PersonRecord {
        person::to_lis(
            user,
            self.related.of(Entity::Roles, &user.sourced_id),
            self.demographics.get(&user.sourced_id),
        )
    }
}

/// The body of a person record-set answer (`readPersons`, `readPersonsFromSavePoint`): the
/// response element, its `personRecordSet` with one `personRecord` per user, then `savePoint`,
/// as the generated writers of both responses put them (a test checks the bytes), but each
/// record is built just before it is written and dropped after, instead of all of them first:
/// the records of a 100-person answer then stay in cache (-14 % server CPU per `readPersons`).
fn person_set_body(
    users: Vec<Record>,
    person: impl Fn(&Record) -> pms::PersonRecord + 'static,
    save_point: Option<Str>,
) -> BodyWriter {
    use super::bind::{tag, write_complex, write_opt, TagBuf};
    Box::new(move |o, n| {
        let name = TagBuf::new(n);
        write_complex(&name.tag(), o, |o| {
            write_complex(tag!("personRecordSet"), o, |o| {
                for u in &users {
                    person(u).write_value(tag!("personRecord"), o);
                }
            });
            write_opt(&save_point, tag!("savePoint"), o);
        });
    })
}

/// The active role rows or enrollments of `user` that the client can see (all of them for an
/// unrestricted client; for a restricted one, those at its orgs and their classes).
fn visible_active(ctx: &mut Ctx<'_>, entity: Entity, user: &str) -> Result<Vec<Record>, OpError> {
    select(
        ctx,
        entity,
        vec![Cond::eq("user_sourced_id", user), Cond::active()],
        false,
    )
}

/// Write a person: the user, its demographics, and its roles (new set: the old rows not in
/// it are tombstoned; unchanged ones keep their ids and dates).
fn save_person(
    ctx: &mut Ctx<'_>,
    op: &str,
    id: &str,
    record: &pms::PersonRecord,
    partial: bool,
) -> Result<(), OpError> {
    let Some(p) = &record.person else {
        return Err(status(
            Minor::IncompleteData,
            "personRecord/person is missing",
        ));
    };
    let existing = by_ids(ctx, Entity::Users, &[id.to_string()], false)?
        .into_iter()
        .next();
    // The role rows this client may change: for a restricted client, those at its orgs; a
    // shared user's roles elsewhere are neither reused nor tombstoned (guard_write refuses
    // the write if the user is not visible at all).
    let roles = visible_active(ctx, Entity::Roles, id)?;
    let defaults: Vec<String> = match &ctx.bearer.orgs {
        Some(o) if o.len() == 1 => o.clone(),
        _ => Vec::new(),
    };
    let base = if partial { existing.as_ref() } else { None };
    let mut write = person::from_lis(id, p, base, &roles, &defaults)?;
    let mut out = vec![write.user.clone()];
    if let Some(set) = write.roles.take() {
        for (ty, role, org) in &set {
            let reuse = roles.iter().find(|r| {
                r.get("orgSourcedId") == Some(org.as_str()) && r.get("role") == Some(role.as_str())
            });
            let mut r = match reuse {
                Some(r) => r.clone(),
                None => Record::new(Entity::Roles, format!("{id}-{org}-{role}")),
            };
            r.status = RecStatus::Active;
            r.set("userSourcedId", id)
                .set("roleType", ty.as_str())
                .set("role", role.as_str())
                .set("orgSourcedId", org.as_str());
            out.push(r);
        }
        for old in &roles {
            let kept = set.iter().any(|(_, role, org)| {
                old.get("orgSourcedId") == Some(org.as_str())
                    && old.get("role") == Some(role.as_str())
            });
            if !kept {
                let mut t = old.clone();
                t.status = RecStatus::ToBeDeleted;
                out.push(t);
            }
        }
    }
    if let Some(d) = write.demographics.take() {
        out.push(d);
    }
    write_delta(ctx, op, out)
}

/// `ctx` without the client's org restriction, for checks that must see every record (ids in
/// use, the owner of a record, where a membership's class is).
fn unrestricted<'b>(ctx: &'b mut Ctx<'_>) -> Ctx<'b> {
    Ctx {
        store: ctx.store,
        conn: ctx.conn,
        bearer: ctx.bearer,
        orgs: None,
        may_read: ctx.may_read,
        may_write: ctx.may_write,
        demographics: ctx.demographics,
        empty: ctx.empty,
    }
}

/// Tombstone visible, active records of `entity` (and, for users, their roles).
fn tombstone(ctx: &mut Ctx<'_>, op: &str, entity: Entity, id: &str) -> Result<(), OpError> {
    let Some(mut rec) = by_ids(ctx, entity, &[id.to_string()], false)?
        .into_iter()
        .next()
    else {
        return Err(status(
            Minor::UnknownObject,
            format!("no {} with sourcedId '{id}'", entity.name()),
        ));
    };
    let mut out = Vec::new();
    if entity == Entity::Users {
        // A person's roles and enrollments go with it; for a restricted client only those it
        // can see, and the person itself only when no active role elsewhere remains (a shared
        // user stays for the other orgs).
        for child in [Entity::Roles, Entity::Enrollments] {
            for mut r in visible_active(ctx, child, id)? {
                r.status = RecStatus::ToBeDeleted;
                out.push(r);
            }
        }
        let all_roles = visible_active(&mut unrestricted(ctx), Entity::Roles, id)?;
        let elsewhere = all_roles
            .iter()
            .any(|r| !out.iter().any(|o| o.sourced_id == r.sourced_id));
        if elsewhere {
            return write_delta(ctx, op, out);
        }
    }
    rec.status = RecStatus::ToBeDeleted;
    out.insert(0, rec);
    write_delta(ctx, op, out)
}

/// A new id for `createByProxy*`.
fn new_id() -> String {
    super::envelope::message_id()
}

pub fn person(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Reply {
    run(ctx, op, |ctx| match op {
        "readPerson" => {
            let r: pms::ReadPersonRequest = bind(body)?;
            let id = r.sourced_id.trim().to_string();
            let users = by_ids(ctx, Entity::Users, std::slice::from_ref(&id), false)?;
            let parts = PersonParts::load(ctx, &users)?;
            match users.first().map(|u| parts.person(u)) {
                Some(rec) => Ok(Reply::with(
                    Status::success(format!("person {id}")),
                    pms::ReadPersonResponse {
                        person_record: Some(rec),
                    },
                )),
                None => Err(status(
                    Minor::UnknownObject,
                    format!("no person with sourcedId '{id}'"),
                )),
            }
        }
        "readPersonCore" => {
            let r: pms::ReadPersonCoreRequest = bind(body)?;
            let id = r.sourced_id.trim().to_string();
            match by_ids(ctx, Entity::Users, std::slice::from_ref(&id), false)?.first() {
                Some(u) => Ok(Reply::with(
                    Status::success(format!("person {id}")),
                    pms::ReadPersonCoreResponse {
                        person_core: Some(person::core(u)),
                    },
                )),
                None => Err(status(
                    Minor::UnknownObject,
                    format!("no person with sourcedId '{id}'"),
                )),
            }
        }
        "readPersons" => {
            let r: pms::ReadPersonsRequest = bind(body)?;
            let ids = batch_ids(&r.sourced_id_set.sourced_id)?;
            let users = by_ids(ctx, Entity::Users, &ids, false)?;
            let st = batch_status(&ids, &users, "person");
            let save = high_water(ctx, Entity::Users)?;
            let parts = PersonParts::load(ctx, &users)?;
            Ok(Reply {
                status: st,
                body: person_set_body(users, move |u| parts.person(u), save.map(Str::from)),
            })
        }
        "readAllPersonIds" => {
            let rows = select(ctx, Entity::Users, vec![Cond::active()], false)?;
            let ids = ids_of(&rows);
            Ok(Reply::with(
                success_for(ids.len(), "persons"),
                pms::ReadAllPersonIdsResponse {
                    sourced_id_set: Some(id_set(ids)),
                },
            ))
        }
        "discoverPersonIds" => {
            let r: pms::DiscoverPersonIdsRequest = bind(body)?;
            let ids = discover(ctx, Entity::Users, &r.query_object)?;
            Ok(Reply::with(
                success_for(ids.len(), "persons"),
                pms::DiscoverPersonIdsResponse {
                    sourced_id_set: Some(id_set(ids)),
                },
            ))
        }
        "readPersonIdsFromSavePoint" | "readPersonsFromSavePoint" => {
            let from = body.child_text("fromSavePoint").unwrap_or("");
            let from = savepoint(from)?;
            let rows = select(
                ctx,
                Entity::Users,
                vec![Cond::new(
                    "t.date_last_modified > ?",
                    vec![Arg::One(from.clone())],
                )],
                true,
            )?;
            let save = next_savepoint(&rows, &from);
            let st = success_for(rows.len(), "persons changed");
            if op == "readPersonIdsFromSavePoint" {
                Ok(Reply::with(
                    st,
                    pms::ReadPersonIdsFromSavePointResponse {
                        sourced_id_set: Some(id_set(ids_of(&rows))),
                        save_point: Some(save.into()),
                    },
                ))
            } else {
                let parts = PersonParts::load(ctx, &rows)?;
                Ok(Reply {
                    status: st,
                    body: person_set_body(rows, move |u| parts.person(u), Some(save.into())),
                })
            }
        }
        "createPerson" | "replacePerson" | "updatePerson" => {
            let (id, rec) = match op {
                "createPerson" => {
                    let r: pms::CreatePersonRequest = bind(body)?;
                    (r.sourced_id, r.person_record)
                }
                "replacePerson" => {
                    let r: pms::ReplacePersonRequest = bind(body)?;
                    (r.sourced_id, r.person_record)
                }
                _ => {
                    let r: pms::UpdatePersonRequest = bind(body)?;
                    (r.sourced_id, r.person_record)
                }
            };
            let id = id.trim().to_string();
            if id.is_empty() {
                return Err(status(Minor::InvalidData, "sourcedId is required"));
            }
            let exists = !by_ids(
                &mut unrestricted(ctx),
                Entity::Users,
                std::slice::from_ref(&id),
                false,
            )?
            .is_empty();
            if op == "createPerson" && exists {
                return Err(status(
                    Minor::IdAllocInUseFail,
                    format!("person {id} already exists"),
                ));
            }
            if op == "updatePerson" && !exists {
                return Err(status(
                    Minor::UnknownObject,
                    format!("no person with sourcedId '{id}'"),
                ));
            }
            save_person(ctx, op, &id, &rec, op == "updatePerson")?;
            Ok(Reply::with(
                Status::success(format!("person {id} stored")),
                EmptyBody,
            ))
        }
        "createByProxyPerson" => {
            let r: pms::CreateByProxyPersonRequest = bind(body)?;
            let id = new_id();
            save_person(ctx, op, &id, &r.person_record, false)?;
            Ok(Reply::with(
                Status::success(format!("person {id} created")),
                pms::CreateByProxyPersonResponse {
                    sourced_id: Some(id.into()),
                },
            ))
        }
        "deletePerson" => {
            let r: pms::DeletePersonRequest = bind(body)?;
            let id = r.sourced_id.trim().to_string();
            tombstone(ctx, op, Entity::Users, &id)?;
            Ok(Reply::with(
                Status::success(format!("person {id} deleted")),
                EmptyBody,
            ))
        }
        "changePersonIdentifier" => {
            let r: pms::ChangePersonIdentifierRequest = bind(body)?;
            let (old, new) = (
                r.sourced_id.trim().to_string(),
                r.new_sourced_id.trim().to_string(),
            );
            change_identifier(ctx, op, Entity::Users, &old, &new)?;
            Ok(Reply::with(
                Status::success(format!("person {old} is now {new}")),
                EmptyBody,
            ))
        }
        other => Err(status(
            Minor::UnsupportedOperation,
            format!("{other} is not a Person operation"),
        )),
    })
}

/// `change*Identifier`: the record (and, for a person, its roles, enrollments and
/// demographics) under the new id, the old one tombstoned.
fn change_identifier(
    ctx: &mut Ctx<'_>,
    op: &str,
    entity: Entity,
    old: &str,
    new: &str,
) -> Result<(), OpError> {
    if new.is_empty() {
        return Err(status(Minor::InvalidData, "newSourcedId is required"));
    }
    let Some(rec) = by_ids(ctx, entity, &[old.to_string()], false)?
        .into_iter()
        .next()
    else {
        return Err(status(
            Minor::UnknownObject,
            format!("no {} with sourcedId '{old}'", entity.name()),
        ));
    };
    if !by_ids(&mut unrestricted(ctx), entity, &[new.to_string()], true)?.is_empty() {
        return Err(status(
            Minor::IdAllocInUseFail,
            format!("sourcedId '{new}' is in use"),
        ));
    }
    let mut out = Vec::new();
    let mut moved = rec.clone();
    moved.sourced_id = new.to_string();
    let mut gone = rec;
    gone.status = RecStatus::ToBeDeleted;
    out.push(moved);
    out.push(gone);
    if entity == Entity::Users {
        for child in [Entity::Roles, Entity::Enrollments] {
            let rows = select(
                &mut unrestricted(ctx),
                child,
                vec![Cond::eq("user_sourced_id", old), Cond::active()],
                false,
            )?;
            for r in rows {
                let mut m = r.clone();
                m.sourced_id = format!("{}~{new}", r.sourced_id);
                m.set("userSourcedId", new);
                let mut t = r;
                t.status = RecStatus::ToBeDeleted;
                out.push(m);
                out.push(t);
            }
        }
        if let Some(d) = by_ids(
            &mut unrestricted(ctx),
            Entity::Demographics,
            &[old.to_string()],
            false,
        )?
        .pop()
        {
            let mut m = d.clone();
            m.sourced_id = new.to_string();
            let mut t = d;
            t.status = RecStatus::ToBeDeleted;
            out.push(m);
            out.push(t);
        }
    }
    write_delta(ctx, op, out)
}

/// The ids of a batch read, trimmed; more than [`MAX_BATCH`] is `overflowfail`.
fn batch_ids(set: &[Str]) -> Result<Vec<String>, OpError> {
    if set.len() > MAX_BATCH {
        return Err(status(
            Minor::OverflowFail,
            format!("at most {MAX_BATCH} ids per read"),
        ));
    }
    Ok(set.iter().map(|s| s.trim().to_string()).collect())
}

/// The status of a batch read of `ids` that found `found` (`what`: "person", "membership"):
/// all found, none (`unknownobject`), or some (`partialdatastorage`, naming the others).
fn batch_status(ids: &[String], found: &[Record], what: &str) -> Status {
    let found_ids: std::collections::HashSet<&str> =
        found.iter().map(|r| r.sourced_id.as_str()).collect();
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !found_ids.contains(id.as_str()))
        .collect();
    if missing.is_empty() {
        Status::success(format!("{} {what}s", found.len()))
    } else if found.is_empty() {
        Status::failure(
            Minor::UnknownObject,
            format!("no {what} with these sourcedIds: {}", join(&missing)),
        )
    } else {
        Status::warning(
            Minor::PartialDataStorage,
            format!("unknown sourcedIds: {}", join(&missing)),
        )
    }
}

fn join(ids: &[&String]) -> String {
    ids.iter()
        .take(20)
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The empty body of write responses.
#[derive(Debug, Default)]
struct EmptyBody;

impl XmlValue for EmptyBody {
    fn read_value(_: &Node) -> Result<Self, super::bind::BindError> {
        Ok(EmptyBody)
    }
    fn write_value(&self, tag: &super::bind::Tag<'_>, out: &mut Out) {
        out.empty(tag);
    }
}

// ---------------------------------------------------------------------------------------------
// Membership Management Service.

/// Memberships by id: enrollments first, then role rows (group memberships).
fn memberships_by_ids(
    ctx: &mut Ctx<'_>,
    ids: &[String],
    tombstones: bool,
) -> Result<Vec<Record>, OpError> {
    let mut found = by_ids(ctx, Entity::Enrollments, ids, tombstones)?;
    let rest: Vec<String> = ids
        .iter()
        .filter(|id| !found.iter().any(|r| &r.sourced_id == *id))
        .cloned()
        .collect();
    found.extend(by_ids(ctx, Entity::Roles, &rest, tombstones)?);
    let mut by: std::collections::HashMap<String, Record> = found
        .into_iter()
        .map(|r| (r.sourced_id.clone(), r))
        .collect();
    Ok(ids.iter().filter_map(|id| by.remove(id)).collect())
}

fn mms_set(ids: Vec<String>) -> mms::GuidSet {
    mms::GuidSet {
        sourced_id: ids.into_iter().map(Str::from).collect(),
    }
}

fn membership_ids(
    ctx: &mut Ctx<'_>,
    conds_enr: Vec<Cond>,
    conds_role: Vec<Cond>,
) -> Result<Vec<String>, OpError> {
    let mut ids = ids_of(&select(ctx, Entity::Enrollments, conds_enr, false)?);
    ids.extend(ids_of(&select(ctx, Entity::Roles, conds_role, false)?));
    Ok(ids)
}

fn save_membership(
    ctx: &mut Ctx<'_>,
    op: &str,
    id: &str,
    rec: &mms::MembershipRecord,
) -> Result<(), OpError> {
    let m = &rec.membership;
    let class = if m.membership_id_type == mms::MembershipIdType::CourseSection {
        // A class the client cannot see is refused before anything about it is told.
        let id = [m.collection_sourced_id.trim().to_string()];
        let class = by_ids(&mut unrestricted(ctx), Entity::Classes, &id, false)?.pop();
        if class.is_some() && by_ids(ctx, Entity::Classes, &id, false)?.is_empty() {
            return Err(status(
                Minor::UnauthorizedRequest,
                format!(
                    "class '{}' is outside the orgs this client may change",
                    id[0]
                ),
            ));
        }
        class
    } else {
        None
    };
    let school = class
        .as_ref()
        .and_then(|c| c.get("schoolSourcedId"))
        .map(str::to_string);
    let record = membership::from_lis(id, m, school.as_deref())?;
    // The same id may not switch between an enrollment and a role row.
    let other = if record.entity == Entity::Enrollments {
        Entity::Roles
    } else {
        Entity::Enrollments
    };
    if !by_ids(&mut unrestricted(ctx), other, &[id.to_string()], false)?.is_empty() {
        return Err(status(
            Minor::IdAllocInUseFail,
            format!("sourcedId '{id}' is a membership of another kind"),
        ));
    }
    write_delta(ctx, op, vec![record])
}

pub fn membership(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Reply {
    run(ctx, op, |ctx| {
        match op {
            "readMembership" => {
                let r: mms::ReadMembershipRequest = bind(body)?;
                let id = r.sourced_id.trim().to_string();
                match memberships_by_ids(ctx, std::slice::from_ref(&id), false)?.first() {
                    Some(m) => Ok(Reply::with(
                        Status::success(format!("membership {id}")),
                        mms::ReadMembershipResponse {
                            membership_record: Some(membership::to_lis(m)),
                        },
                    )),
                    None => Err(status(
                        Minor::UnknownObject,
                        format!("no membership with sourcedId '{id}'"),
                    )),
                }
            }
            "readMemberships" => {
                let r: mms::ReadMembershipsRequest = bind(body)?;
                let ids = batch_ids(&r.sourced_id_set.sourced_id)?;
                let found = memberships_by_ids(ctx, &ids, false)?;
                let st = batch_status(&ids, &found, "membership");
                let save = high_water(ctx, Entity::Enrollments)?;
                Ok(Reply::with(
                    st,
                    mms::ReadMembershipsResponse {
                        membership_record_set: Some(mms::MembershipRecordSet {
                            membership_record: found.iter().map(membership::to_lis).collect(),
                        }),
                        save_point: save.map(Str::from),
                    },
                ))
            }
            "readAllMembershipIds" => {
                let active = || vec![Cond::active()];
                let ids = membership_ids(ctx, active(), active())?;
                Ok(Reply::with(
                    success_for(ids.len(), "memberships"),
                    mms::ReadAllMembershipIdsResponse {
                        sourced_id_set: Some(mms_set(ids)),
                    },
                ))
            }
            "readMembershipIdsForPerson" | "readMembershipIdsForPersonWithRole" => {
                let person = body.child_text("personSourcedId").unwrap_or("").to_string();
                let role = body
                    .child_text("role")
                    .map(str::to_string)
                    .filter(|r| !r.is_empty());
                let mut enr = vec![Cond::active(), Cond::eq("user_sourced_id", person.clone())];
                let mut rol = enr.clone();
                if let Some(r) = &role {
                    // LIS role vocabulary or a OneRoster role name.
                    let name = membership::enrollment_role(r)
                        .map(str::to_string)
                        .unwrap_or_else(|| r.clone());
                    enr.push(Cond::eq("role", name));
                    let org_role = super::person::oneroster_role(r)
                        .map(str::to_string)
                        .unwrap_or_else(|| r.clone());
                    rol.push(Cond::eq("role", org_role));
                }
                let ids = membership_ids(ctx, enr, rol)?;
                let st = success_for(ids.len(), "memberships");
                // The draft WSDL gives the WithRole variant an empty response (its id set
                // sits in the request, LIS.md §4.11); output stays schema-valid, so the ids
                // travel in imsx_description, comma-separated.
                if op == "readMembershipIdsForPersonWithRole" {
                    let st = Status {
                        description: ids.join(","),
                        ..st
                    };
                    return Ok(Reply::with(st, EmptyBody));
                }
                Ok(Reply::with(
                    st,
                    mms::ReadMembershipIdsForPersonResponse {
                        sourced_id_set: Some(mms_set(ids)),
                    },
                ))
            }
            "readMembershipIdsForCollection" => {
                let r: mms::ReadMembershipIdsForCollectionRequest = bind(body)?;
                let group = r.group_sourced_id.trim().to_string();
                let ids = match r.collection {
                    mms::MembershipIdType::CourseSection => ids_of(&select(
                        ctx,
                        Entity::Enrollments,
                        vec![Cond::active(), Cond::eq("class_sourced_id", group)],
                        false,
                    )?),
                    mms::MembershipIdType::Group => ids_of(&select(
                        ctx,
                        Entity::Roles,
                        vec![Cond::active(), Cond::eq("org_sourced_id", group)],
                        false,
                    )?),
                    _ => Vec::new(),
                };
                Ok(Reply::with(
                    success_for(ids.len(), "memberships"),
                    mms::ReadMembershipIdsForCollectionResponse {
                        sourced_id_set: Some(mms_set(ids)),
                    },
                ))
            }
            "discoverMembershipIds" => {
                let r: mms::DiscoverMembershipIdsRequest = bind(body)?;
                let ids = discover(ctx, Entity::Enrollments, &r.query_object)?;
                Ok(Reply::with(
                    success_for(ids.len(), "memberships"),
                    mms::DiscoverMembershipIdsResponse {
                        sourced_id_set: Some(mms_set(ids)),
                    },
                ))
            }
            "readMembershipIdsFromSavePoint" | "readMembershipsFromSavePoint" => {
                let from = savepoint(body.child_text("fromSavePoint").unwrap_or(""))?;
                let after = || {
                    vec![Cond::new(
                        "t.date_last_modified > ?",
                        vec![Arg::One(from.clone())],
                    )]
                };
                let mut rows = select(ctx, Entity::Enrollments, after(), true)?;
                rows.extend(select(ctx, Entity::Roles, after(), true)?);
                rows.sort_by(|a, b| {
                    (&a.date_last_modified, &a.sourced_id)
                        .cmp(&(&b.date_last_modified, &b.sourced_id))
                });
                let save = next_savepoint(&rows, &from);
                let st = success_for(rows.len(), "memberships changed");
                if op == "readMembershipIdsFromSavePoint" {
                    Ok(Reply::with(
                        st,
                        mms::ReadMembershipIdsFromSavePointResponse {
                            sourced_id_set: Some(mms_set(ids_of(&rows))),
                            save_point: Some(save.into()),
                        },
                    ))
                } else {
                    Ok(Reply::with(
                        st,
                        mms::ReadMembershipsFromSavePointResponse {
                            membership_record_set: Some(mms::MembershipRecordSet {
                                membership_record: rows.iter().map(membership::to_lis).collect(),
                            }),
                            save_point: Some(save.into()),
                        },
                    ))
                }
            }
            "createMembership" | "replaceMembership" | "updateMembership" => {
                let (id, rec) = match op {
                    "createMembership" => {
                        let r: mms::CreateMembershipRequest = bind(body)?;
                        (r.sourced_id, r.membership_record)
                    }
                    "replaceMembership" => {
                        let r: mms::ReplaceMembershipRequest = bind(body)?;
                        (r.sourced_id, r.membership_record)
                    }
                    _ => {
                        let r: mms::UpdateMembershipRequest = bind(body)?;
                        (r.sourced_id, r.membership_record)
                    }
                };
                let id = id.trim().to_string();
                if id.is_empty() {
                    return Err(status(Minor::InvalidData, "sourcedId is required"));
                }
                let exists =
                    !memberships_by_ids(&mut unrestricted(ctx), std::slice::from_ref(&id), false)?
                        .is_empty();
                if op == "createMembership" && exists {
                    return Err(status(
                        Minor::IdAllocInUseFail,
                        format!("membership {id} already exists"),
                    ));
                }
                if op == "updateMembership" && !exists {
                    return Err(status(
                        Minor::UnknownObject,
                        format!("no membership with sourcedId '{id}'"),
                    ));
                }
                save_membership(ctx, op, &id, &rec)?;
                Ok(Reply::with(
                    Status::success(format!("membership {id} stored")),
                    EmptyBody,
                ))
            }
            "createByProxyMembership" => {
                let r: mms::CreateByProxyMembershipRequest = bind(body)?;
                let id = new_id();
                save_membership(ctx, op, &id, &r.membership_record)?;
                Ok(Reply::with(
                    Status::success(format!("membership {id} created")),
                    mms::CreateByProxyMembershipResponse {
                        sourced_id: Some(id.into()),
                    },
                ))
            }
            "deleteMembership" => {
                let r: mms::DeleteMembershipRequest = bind(body)?;
                let id = r.sourced_id.trim().to_string();
                let found = memberships_by_ids(ctx, std::slice::from_ref(&id), false)?;
                let Some(rec) = found.first() else {
                    return Err(status(
                        Minor::UnknownObject,
                        format!("no membership with sourcedId '{id}'"),
                    ));
                };
                tombstone(ctx, op, rec.entity, &id)?;
                Ok(Reply::with(
                    Status::success(format!("membership {id} deleted")),
                    EmptyBody,
                ))
            }
            "changeMembershipIdentifier" => {
                let r: mms::ChangeMembershipIdentifierRequest = bind(body)?;
                let (old, new) = (
                    r.sourced_id.trim().to_string(),
                    r.new_sourced_id.trim().to_string(),
                );
                let entity = memberships_by_ids(ctx, std::slice::from_ref(&old), false)?
                    .first()
                    .map(|r| r.entity)
                    .unwrap_or(Entity::Enrollments);
                change_identifier(ctx, op, entity, &old, &new)?;
                Ok(Reply::with(
                    Status::success(format!("membership {old} is now {new}")),
                    EmptyBody,
                ))
            }
            other => Err(status(
                Minor::UnsupportedOperation,
                format!("{other} is not a Membership operation"),
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<Record> {
        let mut a = Record::new(Entity::Users, "u1");
        a.set("givenName", "Ada")
            .set("familyName", "Lovelace & Co <1>")
            .set("username", "ada")
            .set("email", "ada@example.edu")
            .set("enabledUser", "true");
        a.date_last_modified = Some("2026-01-01T00:00:00.000Z".into());
        let mut b = Record::new(Entity::Users, "u2");
        b.set("givenName", "Grace").set("username", "grace");
        b.metadata.insert("house".into(), "blue".into());
        vec![a, b]
    }

    fn written(body: BodyWriter, name: &str) -> String {
        let mut out = Out::default();
        body(&mut out, name);
        out.into_string()
    }

    #[test]
    fn streamed_person_sets_are_the_generated_responses_bytes() {
        for users in [users(), Vec::new()] {
            for save in [None, Some(Str::from("2026-01-02T00:00:00.000Z"))] {
                let records = || {
                    users
                        .iter()
                        .map(|u| person::to_lis(u, &[], None))
                        .collect::<Vec<_>>()
                };
                let streamed = || {
                    person_set_body(
                        users.clone(),
                        |u| person::to_lis(u, &[], None),
                        save.clone(),
                    )
                };
                let set = || {
                    Some(pms::PersonRecordSet {
                        person_record: records(),
                    })
                };
                let generated: [(&str, BodyWriter); 2] = [
                    (
                        "readPersonsResponse",
                        Reply::with(
                            Status::success(""),
                            pms::ReadPersonsResponse {
                                person_record_set: set(),
                                save_point: save.clone(),
                            },
                        )
                        .body,
                    ),
                    (
                        "readPersonsFromSavePointResponse",
                        Reply::with(
                            Status::success(""),
                            pms::ReadPersonsFromSavePointResponse {
                                person_record_set: set(),
                                save_point: save.clone(),
                            },
                        )
                        .body,
                    ),
                ];
                for (name, body) in generated {
                    let ours = written(streamed(), name);
                    assert_eq!(ours, written(body, name), "{name}");
                    assert_eq!(ours.matches("<tns:personRecord>").count(), users.len());
                }
            }
        }
    }
}
