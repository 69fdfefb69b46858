//! The writes both LIS services share (tombstones, identifier changes), and `write_delta`, the
//! way every LIS write reaches the roster service's write door (`Roster::write`: the write
//! rule for restricted clients, then the importer's validation and apply as one delta, on the
//! request's connection, inside the operation's transaction).

use super::*;

/// Write `records` (any entities) through the roster service's write door (the write rule,
/// then the importer's validation and apply as one delta); refusals become `invaliddata` or
/// `unauthorizedrequest`.
pub(super) fn write_delta(
    ctx: &mut Ctx<'_>,
    op: &str,
    records: Vec<Record>,
) -> Result<(), OpError> {
    Ok(ctx
        .roster
        .write(&format!("soap:{op}"), crate::roster::Need::Write, records)?)
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

/// What refers to a record of `entity` and follows it to a new id in place (same ids):
/// a section's enrollments, line items and results, a course's sections.
fn referrers(entity: Entity) -> &'static [(Entity, &'static str)] {
    match entity {
        Entity::Classes => &[
            (Entity::Enrollments, "classSourcedId"),
            (Entity::LineItems, "classSourcedId"),
            (Entity::Results, "classSourcedId"),
        ],
        Entity::Courses => &[(Entity::Classes, "courseSourcedId")],
        _ => &[],
    }
}

/// `change*Identifier`: the record (and, for a person, its roles, enrollments and
/// demographics) under the new id, the old one tombstoned; a section's enrollments and line
/// items and a course's sections follow it (`referrers`).
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
    // Records that refer to a section or a course keep their ids and follow it.
    for (child, field) in referrers(entity) {
        let rows = select(
            &mut unrestricted(ctx),
            *child,
            vec![Where::Is(field, old.to_string()), Where::Active],
            false,
        )?;
        for mut r in rows {
            r.set(field, new);
            out.push(r);
        }
    }
    if entity == Entity::Users {
        for child in [Entity::Roles, Entity::Enrollments] {
            let rows = select(
                &mut unrestricted(ctx),
                child,
                vec![Where::Is("userSourcedId", old.to_string()), Where::Active],
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
