//! [`Roster::write`]: the write door. A batch of domain records is checked against the write
//! rule for restricted clients ([`guard`]) and then validated and applied by the importer's own
//! passes as one delta (`ingest::import_records_on`), on the caller's connection and inside
//! the caller's transaction: the same rules as a CSV delta (errors name the column, the file
//! the record belongs to and the rule), the same change detection, `dateLastModified` stamped
//! at commit, tombstones for `tobedeleted` records, an entry in the import log (so the store
//! generation and the serving caches move), and the gradebook records it changed queued for
//! the grade push (`store::upstream`'s outbox, in the same transaction).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{Need, ReadError, Roster};
use crate::ingest::{self, ImportOptions};
use crate::model::catalog::Entity;
use crate::model::record::Record;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The caller may not make this write (no write scope, or a record outside its orgs).
    #[error("{0}")]
    Forbidden(String),
    /// The records break an import rule; nothing was written. The first few problems.
    #[error("{0}")]
    Invalid(String),
    #[error("store error: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("import error: {0}")]
    Import(#[from] ingest::ImportError),
}

impl From<ReadError> for WriteError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Db(d) => WriteError::Db(d),
            other => WriteError::Forbidden(other.to_string()),
        }
    }
}

impl Roster<'_> {
    /// Write `records` (any entities, `tobedeleted` ones tombstoned) as one delta labelled
    /// `label` in the import log. Run it inside a transaction holding the import lock when
    /// the write's own checks must see the store as it leaves it (the LIS operations do).
    ///
    /// `need`: the scopes the write needs ([`Need::Write`]: rosterbridge's write scope; a
    /// binding's own write scopes with [`Need::OneOf`]). The records other than the rostering
    /// ones `guard` rules on are checked after they are applied, in a savepoint: each must be
    /// visible to the caller then, and so must every record it references; otherwise the
    /// savepoint is rolled back and the write is [`WriteError::Forbidden`].
    pub fn write(
        &mut self,
        label: &str,
        need: Need<'_>,
        records: Vec<Record>,
    ) -> Result<(), WriteError> {
        if !self.caller.allows(need) {
            let scopes = match need {
                Need::OneOf(s) => s.join(" "),
                Need::Write => crate::auth::scopes::ROSTER_WRITE.to_string(),
            };
            return Err(WriteError::Forbidden(format!(
                "writing needs one of the scopes: {scopes}"
            )));
        }
        if records.is_empty() {
            return Ok(());
        }
        // The write's checks see the tables as they are, never the sharing ledger.
        let was_live = std::mem::replace(&mut self.live, true);
        let checked = guard(self, need, &records);
        self.live = was_live;
        checked?;
        self.generation = None;
        let label = format!("{label}:{}", self.caller.client_id);
        let after: Vec<(Entity, String)> = match self.caller.sharing {
            Some(_) => checked_after(&records),
            None => Vec::new(),
        };
        let caller = &*self.caller;
        let outbox = grade_outbox(&records);
        let report = diesel::Connection::transaction(&mut *self.conn, |conn| {
            let report =
                ingest::import_records_on(conn, records, &label, &ImportOptions::default())?;
            if report.outcome == ingest::Outcome::Committed && !after.is_empty() {
                let mut roster = Roster::new(conn, caller, None);
                visible_after(&mut roster, need, &after)?;
            }
            if report.outcome == ingest::Outcome::Committed {
                queue_outbox(conn, &outbox)?;
            }
            Ok::<_, WriteError>(report)
        })?;
        if report.outcome != ingest::Outcome::Committed {
            let problems: Vec<String> = report
                .diags
                .errors()
                .take(5)
                .map(|d| format!("{} ({}, {}): {}", d.column, d.file, d.rule, d.message))
                .collect();
            return Err(WriteError::Invalid(problems.join("; ")));
        }
        Ok(())
    }
}

/// The rostering entities [`guard`] rules on by itself; every other record is checked after
/// it is applied ([`visible_after`]).
fn ruled_before(entity: Entity) -> bool {
    matches!(
        entity,
        Entity::Orgs | Entity::Roles | Entity::Users | Entity::Demographics | Entity::Enrollments
    )
}

/// The records (entity, id) a restricted caller's write must see once applied: each record
/// `guard` does not rule on (for an association row, the record it belongs to) and every
/// record it references.
fn checked_after(records: &[Record]) -> Vec<(Entity, String)> {
    let mut out: Vec<(Entity, String)> = Vec::new();
    for r in records.iter().filter(|r| !ruled_before(r.entity)) {
        match r.entity.parent() {
            Some((parent, _)) => {
                let field = r.entity.parent_field().map(|(_, f)| f);
                if let Some(id) = field.and_then(|f| r.get(f.name)) {
                    out.push((parent, id.to_string()));
                }
            }
            None => out.push((r.entity, r.sourced_id.clone())),
        }
        for (f, v) in r.entity.fields().iter().zip(&r.values) {
            let (Some(target), Some(text)) = (f.kind.target(), v.as_str()) else {
                continue;
            };
            for id in crate::model::record::list_items(text) {
                out.push((target, id.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every record of `wanted` is visible to the caller (any status).
fn visible_after(
    roster: &mut Roster<'_>,
    need: Need<'_>,
    wanted: &[(Entity, String)],
) -> Result<(), WriteError> {
    for entity in Entity::ALL {
        let ids: Vec<String> = wanted
            .iter()
            .filter(|(e, _)| *e == entity)
            .map(|(_, id)| id.clone())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let seen: HashSet<String> = roster
            .by_ids(need, entity, &ids, true)?
            .into_iter()
            .map(|r| r.sourced_id)
            .collect();
        if let Some(hidden) = ids.iter().find(|id| !seen.contains(*id)) {
            return Err(WriteError::Forbidden(format!(
                "{} '{hidden}' is outside the orgs this client may change",
                entity.name()
            )));
        }
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
/// - anything else (gradebook, resources): checked after it is applied, by the read
///   visibility rules ([`visible_after`]): the record (or the record an association row
///   belongs to) and everything it references must be visible.
///
/// The operations keep the parts of a record the client cannot see out of what they write (a
/// shared user's roles and enrollments at other orgs), so this check refuses a write only when
/// the operation itself reaches outside the client's orgs.
fn guard(roster: &mut Roster<'_>, need: Need<'_>, records: &[Record]) -> Result<(), WriteError> {
    // Rostering records are ruled on by the orgs the client shares whole; a client whose
    // rules only select classes may change none (its gradebook and resources writes are
    // checked after they are applied, by what it sees).
    let Some(mine) = roster.caller.sharing.as_ref().map(|s| s.orgs.clone()) else {
        return Ok(());
    };
    let at_mine = |org: Option<&str>| org.is_some_and(|o| mine.iter().any(|m| m == o));
    let deny = |r: &Record| {
        WriteError::Forbidden(format!(
            "{} '{}' is outside the orgs this client may change",
            r.entity.name(),
            r.sourced_id
        ))
    };
    // Before: the stored version of every record written must be visible (for a gradebook
    // association row, which has no visibility of its own, the record it belongs to; a
    // rostering one is ruled on below).
    for entity in Entity::ALL {
        let of_entity = records.iter().filter(|r| r.entity == entity);
        let (target, ids): (Entity, Vec<String>) = match entity.parent() {
            Some((parent, _)) if !ruled_before(parent) => {
                let field = entity.parent_field().map(|(_, f)| f);
                let mut stored_parents = Vec::new();
                let ids: Vec<String> = of_entity.map(|r| r.sourced_id.clone()).collect();
                for r in roster.unrestricted().by_ids(need, entity, &ids, true)? {
                    if let Some(p) = field.and_then(|f| r.get(f.name)) {
                        stored_parents.push(p.to_string());
                    }
                }
                (parent, stored_parents)
            }
            _ => (entity, of_entity.map(|r| r.sourced_id.clone()).collect()),
        };
        let (stored, seen) = stored_and_seen(roster, need, target, &ids)?;
        if let Some(hidden) = stored.iter().find(|r| !seen.contains(&r.sourced_id)) {
            return Err(deny(hidden));
        }
    }
    // After. The users and classes the records name, each looked up once.
    let user_of = |r: &Record| match r.entity {
        Entity::Users | Entity::Demographics => Some(r.sourced_id.clone()),
        Entity::Roles | Entity::Enrollments => r.get("userSourcedId").map(str::to_string),
        _ => None,
    };
    let mut users: Vec<String> = records.iter().filter_map(user_of).collect();
    users.sort();
    users.dedup();
    let (stored_users, seen_users) = stored_and_seen(roster, need, Entity::Users, &users)?;
    let stored_users: HashSet<String> = stored_users.into_iter().map(|r| r.sourced_id).collect();
    let mut classes: Vec<String> = records
        .iter()
        .filter(|r| r.entity == Entity::Enrollments)
        .filter_map(|r| r.get("classSourcedId").map(str::to_string))
        .collect();
    classes.sort();
    classes.dedup();
    let school_of: HashMap<String, String> = roster
        .unrestricted()
        .by_ids(need, Entity::Classes, &classes, true)?
        .into_iter()
        .filter_map(|c| {
            let school = c.get("schoolSourcedId")?.to_string();
            Some((c.sourced_id, school))
        })
        .collect();
    let created = |user: &str| {
        records
            .iter()
            .any(|r| r.entity == Entity::Users && r.sourced_id == user)
    };
    for r in records {
        let user = user_of(r);
        // The user was visible before, or this write creates it.
        let user_seen = user.as_ref().is_some_and(|u| seen_users.contains(u));
        let user_ok = user_seen
            || user
                .as_ref()
                .is_some_and(|u| !stored_users.contains(u) && created(u));
        let ok = match r.entity {
            Entity::Orgs => at_mine(Some(&r.sourced_id)),
            Entity::Roles => at_mine(r.get("orgSourcedId")) && user_ok,
            Entity::Users | Entity::Demographics => {
                user_seen
                    || records.iter().any(|x| {
                        x.entity == Entity::Roles
                            && x.get("userSourcedId") == user.as_deref()
                            && at_mine(x.get("orgSourcedId"))
                    })
            }
            Entity::Enrollments => {
                let school = r
                    .get("classSourcedId")
                    .and_then(|c| school_of.get(c))
                    .map(String::as_str);
                at_mine(school) && r.get("schoolSourcedId") == school && user_ok
            }
            _ => true,
        };
        if !ok {
            return Err(deny(r));
        }
    }
    Ok(())
}

/// Those of `ids` stored in `entity` (any status), and the ids of those the caller sees.
fn stored_and_seen(
    roster: &mut Roster<'_>,
    need: Need<'_>,
    entity: Entity,
    ids: &[String],
) -> Result<(Vec<Record>, HashSet<String>), WriteError> {
    let stored = roster.unrestricted().by_ids(need, entity, ids, true)?;
    let seen = if roster.caller.sharing.is_some() {
        roster
            .by_ids(need, entity, ids, true)?
            .into_iter()
            .map(|r| r.sourced_id)
            .collect()
    } else {
        stored.iter().map(|r| r.sourced_id.clone()).collect()
    };
    Ok((stored, seen))
}

/// The gradebook records an app's write changes, for the grade push's outbox
/// (`store::upstream`): categories, score scales, line items and results, and for an
/// association row (a line item's score scale or learning objective) the record it belongs to.
pub(super) fn grade_outbox(records: &[Record]) -> BTreeMap<Entity, BTreeSet<String>> {
    let mut out: BTreeMap<Entity, BTreeSet<String>> = BTreeMap::new();
    for r in records {
        let (entity, id) = match r.entity {
            Entity::Categories | Entity::ScoreScales | Entity::LineItems | Entity::Results => {
                (r.entity, r.sourced_id.clone())
            }
            e => match e.parent_field() {
                Some((p @ (Entity::LineItems | Entity::Results), f)) => match r.get(f.name) {
                    Some(id) => (p, id.to_string()),
                    None => continue,
                },
                _ => continue,
            },
        };
        out.entry(entity).or_default().insert(id);
    }
    out
}

/// Queue `outbox` ([`grade_outbox`]) for the grade push, in the write's transaction.
pub(super) fn queue_outbox(
    conn: &mut crate::store::DbConnection,
    outbox: &BTreeMap<Entity, BTreeSet<String>>,
) -> diesel::QueryResult<()> {
    let now = crate::model::time::now();
    for (entity, ids) in outbox {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        crate::store::upstream::queue(conn, *entity, &ids, &now)?;
    }
    Ok(())
}
