//! The Person and Membership operations over the roster service: `ops` answers the operation
//! families every object service has, from a table built on the generated operation lists,
//! for a `Kind` (`person_ops::Person`, `membership_ops::Membership`, each with its own extra
//! operations); reads go through `Roster::read` (the same visibility, scopes and records as
//! REST), writes through `Roster::write` (the write rule, then the importer's validation and
//! apply as one delta, so they stamp `dateLastModified` and tombstone exactly as a CSV delta
//! does; LIS.md §4, §10; docs/LIS-MAPPING.md).
//!
//! This module holds what every operation shares: the context (`Ctx`: a `Roster` and the
//! caller's read rights), replies and errors, authorisation and the write transaction (`run`),
//! and the store reads; `write` holds tombstones and identifier changes.

use super::bind::{Node, Out, Str, XmlValue};
use super::envelope::{Minor, Status};
use super::gen::{mms, pms};
use super::{membership, person};
use crate::model::catalog::Entity;
use crate::model::record::{Record, Status as RecStatus};
use crate::model::time;
use crate::roster::Where;
use crate::roster::{Need, ReadError, ReadSpec, Roster, WriteError};

mod association_ops;
mod course_ops;
mod group_ops;
mod membership_ops;
mod ops;
mod outcome_ops;
mod person_ops;
mod write;

pub use course_ops::course_management;
pub use group_ops::group;
pub use membership_ops::membership;
pub use outcome_ops::outcomes;
pub use person_ops::person;
use write::{change_identifier, tombstone, write_delta};

/// Most records one read returns (LIS has no paging): beyond, `overflowfail`.
pub const MAX_RECORDS: i64 = 1_000_000;

/// Most ids one batch read accepts.
pub const MAX_BATCH: usize = 10_000;

/// What an operation needs: the roster service for its caller, and what the caller's scopes
/// let it read.
pub struct Ctx<'a> {
    pub roster: Roster<'a>,
    /// The LIS read scopes (`roster.readonly` or `roster-core.readonly`, either version).
    pub may_read: bool,
    /// Demographics too (`roster-demographics.readonly` or `roster.readonly`).
    pub demographics: bool,
}

impl<'a> Ctx<'a> {
    /// The context of `roster`'s caller, its read rights taken from its scopes.
    pub fn new(roster: Roster<'a>) -> Ctx<'a> {
        let caller = roster.caller();
        let may_read = caller.holds(&READ_SCOPES);
        let demographics = caller.holds(&DEMOGRAPHICS_SCOPES);
        Ctx {
            roster,
            may_read,
            demographics,
        }
    }

    /// What a read of this operation requires of the caller: the read scopes for a read, the
    /// write scope for a write's own lookups.
    fn need(&self) -> Need<'static> {
        if self.may_read {
            Need::OneOf(&READ_SCOPES)
        } else {
            Need::Write
        }
    }
}

fn both_versions(short: &[&str]) -> Vec<String> {
    [crate::auth::scopes::V1P1, crate::auth::scopes::V1P2]
        .iter()
        .flat_map(|p| short.iter().map(move |s| format!("{p}{s}")))
        .collect()
}

/// The scopes of which a LIS read needs one.
static READ_SCOPES: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| both_versions(&["roster.readonly", "roster-core.readonly"]));

/// The scopes of which reading demographics needs one.
static DEMOGRAPHICS_SCOPES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    both_versions(&["roster-demographics.readonly", "roster.readonly"])
});

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
    #[error("write error: {0}")]
    Write(WriteError),
}

impl From<ReadError> for OpError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Db(d) => OpError::Db(d),
            ReadError::Forbidden => status(
                Minor::UnauthorizedRequest,
                "this operation needs the scope roster.readonly or roster-core.readonly",
            ),
            ReadError::Filter(f) => status(Minor::UnknownQuery, f.to_string()),
            e @ ReadError::Masked(_) => status(Minor::UnknownQuery, e.to_string()),
            ReadError::NoParent(_) => status(Minor::UnknownObject, "no such record"),
        }
    }
}

impl From<WriteError> for OpError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Forbidden(m) => status(Minor::UnauthorizedRequest, m),
            WriteError::Invalid(m) => status(Minor::InvalidData, m),
            WriteError::Db(d) => OpError::Db(d),
            other => OpError::Write(other),
        }
    }
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

/// `f` in a transaction on `ctx`'s connection, after taking the import lock
/// ([`Roster::transaction`]). A refusal (`OpError::Status`: nothing was written but, for a
/// rejected write, its import-log row) commits; an internal error rolls back.
fn in_write_transaction(
    ctx: &mut Ctx<'_>,
    f: impl FnOnce(&mut Ctx<'_>) -> Result<Reply, OpError>,
) -> Result<Reply, OpError> {
    let (may_read, demographics) = (ctx.may_read, ctx.demographics);
    ctx.roster.transaction(|roster| {
        let mut inner = Ctx {
            roster: roster.reborrow(),
            may_read,
            demographics,
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
        (
            ctx.roster.caller().may_write(),
            crate::auth::scopes::ROSTER_WRITE,
        )
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

/// Records of `entity` by id (visible to the client; active only unless `tombstones`), in the
/// order of `ids`.
fn by_ids(
    ctx: &mut Ctx<'_>,
    entity: Entity,
    ids: &[String],
    tombstones: bool,
) -> Result<Vec<Record>, OpError> {
    let need = ctx.need();
    Ok(ctx.roster.by_ids(need, entity, ids, tombstones)?)
}

/// All records of `entity` matching `conds` (plus visibility), in id order or by
/// `dateLastModified`.
fn select(
    ctx: &mut Ctx<'_>,
    entity: Entity,
    conds: Vec<Where>,
    by_time: bool,
) -> Result<Vec<Record>, OpError> {
    let mut spec = ReadSpec::new(entity, ctx.need(), conds, MAX_RECORDS + 1);
    spec.sort = by_time.then_some(("date_last_modified", false));
    let page = ctx.roster.read(&spec)?;
    if page.total > MAX_RECORDS {
        return Err(status(
            Minor::OverflowFail,
            format!("more than {MAX_RECORDS} records; use the savepoint reads"),
        ));
    }
    Ok(page.records)
}

fn ids_of(rows: &[Record]) -> Vec<String> {
    rows.iter().map(|r| r.sourced_id.clone()).collect()
}

/// The ids of the active records of `entity` matching `conds` that the client sees, in id
/// order.
fn active_ids(
    ctx: &mut Ctx<'_>,
    entity: Entity,
    mut conds: Vec<Where>,
) -> Result<Vec<String>, OpError> {
    conds.push(Where::Active);
    Ok(ids_of(&select(ctx, entity, conds, false)?))
}

/// The records of `entities` changed after the savepoint `from` (tombstones too) that the
/// client sees, oldest first (then by id).
fn changed(ctx: &mut Ctx<'_>, entities: &[Entity], from: &str) -> Result<Vec<Record>, OpError> {
    let mut rows = Vec::new();
    for e in entities {
        rows.extend(select(
            ctx,
            *e,
            vec![Where::ChangedAfter(from.to_string())],
            true,
        )?);
    }
    if entities.len() > 1 {
        rows.sort_by(|a, b| {
            (&a.date_last_modified, &a.sourced_id).cmp(&(&b.date_last_modified, &b.sourced_id))
        });
    }
    Ok(rows)
}

/// The active record of `entity` with id `id`, whoever may see it (ids in use, what a
/// reference names).
fn stored(ctx: &mut Ctx<'_>, entity: Entity, id: &str) -> Result<Option<Record>, OpError> {
    Ok(by_ids(&mut unrestricted(ctx), entity, &[id.to_string()], false)?.pop())
}

/// Records by id where an id names a record of one of `entities` (memberships: enrollments
/// or role rows; groups: orgs or academic sessions), looked up in that order, visible to the
/// client, in the order of `ids`.
fn by_ids_in(
    ctx: &mut Ctx<'_>,
    entities: &[Entity],
    ids: &[String],
    tombstones: bool,
) -> Result<Vec<Record>, OpError> {
    let mut found: Vec<Record> = Vec::new();
    for e in entities {
        let rest: Vec<String> = ids
            .iter()
            .filter(|id| !found.iter().any(|r| &r.sourced_id == *id))
            .cloned()
            .collect();
        if rest.is_empty() {
            break;
        }
        found.extend(by_ids(ctx, *e, &rest, tombstones)?);
    }
    let mut by: std::collections::HashMap<String, Record> = found
        .into_iter()
        .map(|r| (r.sourced_id.clone(), r))
        .collect();
    Ok(ids.iter().filter_map(|id| by.remove(id)).collect())
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
    Ok(ctx.roster.newest_change(entity)?)
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
    let mut spec = ReadSpec::new(entity, ctx.need(), vec![Where::Active], MAX_RECORDS + 1);
    spec.filter = Some(&filter);
    let page = ctx.roster.read(&spec).map_err(|e| match e {
        ReadError::Filter(f) => status(Minor::UnknownQuery, format!("query '{q}': {f}")),
        other => other.into(),
    })?;
    if page.total > MAX_RECORDS {
        return Err(status(Minor::OverflowFail, "too many matches"));
    }
    Ok(ids_of(&page.records))
}

/// The active role rows or enrollments of `user` that the client can see (all of them for an
/// unrestricted client; for a restricted one, those at its orgs and their classes).
fn visible_active(ctx: &mut Ctx<'_>, entity: Entity, user: &str) -> Result<Vec<Record>, OpError> {
    select(
        ctx,
        entity,
        vec![Where::Is("userSourcedId", user.to_string()), Where::Active],
        false,
    )
}

/// `ctx` without the client's org restriction, for checks that must see every record (ids in
/// use, the owner of a record, where a membership's class is).
fn unrestricted<'b>(ctx: &'b mut Ctx<'_>) -> Ctx<'b> {
    Ctx {
        roster: ctx.roster.unrestricted(),
        may_read: ctx.may_read,
        demographics: ctx.demographics,
    }
}

/// A new id for `createByProxy*`.
fn new_id() -> String {
    super::envelope::message_id()
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
