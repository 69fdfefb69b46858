//! The write door of the LIS services: every write becomes records checked against the write
//! rule for restricted clients (`guard_write`) and imported as one delta, on the request's
//! connection, inside the operation's transaction (docs/ARCHITECTURE.md, "Writes and org
//! restrictions"); and the writes both services share (tombstones, identifier changes).

use std::collections::{HashMap, HashSet};

use super::*;

// ---------------------------------------------------------------------------------------------
// Writes: a delta package through the importer.

/// Import `records` (any entities) as one delta package; errors become `invaliddata`.
pub(super) fn write_delta(
    ctx: &mut Ctx<'_>,
    op: &str,
    records: Vec<Record>,
) -> Result<(), OpError> {
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
        let (stored, seen) = stored_and_seen(ctx, entity, &ids)?;
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
    let (stored_users, seen_users) = stored_and_seen(ctx, Entity::Users, &users)?;
    let stored_users: HashSet<String> = ids_of(&stored_users).into_iter().collect();
    let mut classes: Vec<String> = records
        .iter()
        .filter(|r| r.entity == Entity::Enrollments)
        .filter_map(|r| r.get("classSourcedId").map(str::to_string))
        .collect();
    classes.sort();
    classes.dedup();
    let school_of: HashMap<String, String> =
        by_ids(&mut unrestricted(ctx), Entity::Classes, &classes, true)?
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
            _ => false,
        };
        if !ok {
            return Err(deny(r));
        }
    }
    Ok(())
}

/// Tombstone a visible, active record of `entity` (for a person: with its roles and
/// enrollments the client can see; the person itself only when no active role elsewhere
/// remains).
pub(super) fn tombstone(
    ctx: &mut Ctx<'_>,
    op: &str,
    entity: Entity,
    id: &str,
) -> Result<(), OpError> {
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

/// `change*Identifier`: the record (and, for a person, its roles, enrollments and
/// demographics) under the new id, the old one tombstoned.
pub(super) fn change_identifier(
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

/// Those of `ids` stored in `entity` (any status), and the ids of those the client sees.
fn stored_and_seen(
    ctx: &mut Ctx<'_>,
    entity: Entity,
    ids: &[String],
) -> Result<(Vec<Record>, HashSet<String>), OpError> {
    let stored = by_ids(&mut unrestricted(ctx), entity, ids, true)?;
    let seen = if ctx.orgs.is_some() {
        ids_of(&by_ids(ctx, entity, ids, true)?)
            .into_iter()
            .collect()
    } else {
        ids_of(&stored).into_iter().collect()
    };
    Ok((stored, seen))
}
