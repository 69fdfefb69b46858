//! The Membership Management Service (LIS.md §4) as a [`Kind`] of the common operations
//! (`ops`): course-section memberships are enrollments, group memberships a user's role rows
//! at an org.

use super::ops::{ids_answer, ids_reply, record_of, serve, table, Family, Kind, RecordWriter};
use super::*;
use crate::soap::bind::{tag, Tag};

// ---------------------------------------------------------------------------------------------
// Membership Management Service.

/// Memberships by id: enrollments first, then role rows (group memberships).
fn memberships_by_ids(
    ctx: &mut Ctx<'_>,
    ids: &[String],
    tombstones: bool,
) -> Result<Vec<Record>, OpError> {
    by_ids_in(ctx, &[Entity::Enrollments, Entity::Roles], ids, tombstones)
}

fn membership_ids(
    ctx: &mut Ctx<'_>,
    conds_enr: Vec<Where>,
    conds_role: Vec<Where>,
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

/// The Membership Management Service's object.
pub(super) struct Membership;

impl Kind for Membership {
    const NAME: &'static str = "Membership";
    const WHAT: &'static str = "membership";
    const RECORD: &'static Tag<'static> = tag!("membershipRecord");
    const RECORD_NAME: &'static str = "membershipRecord";
    const RECORD_SET: &'static Tag<'static> = tag!("membershipRecordSet");
    const HIGH_WATER: Entity = Entity::Enrollments;

    fn by_ids(ctx: &mut Ctx<'_>, ids: &[String], tombstones: bool) -> Result<Vec<Record>, OpError> {
        memberships_by_ids(ctx, ids, tombstones)
    }

    fn all_ids(ctx: &mut Ctx<'_>) -> Result<Vec<String>, OpError> {
        membership_ids(ctx, vec![Where::Active], vec![Where::Active])
    }

    fn discover(ctx: &mut Ctx<'_>, query: &str) -> Result<Vec<String>, OpError> {
        discover(ctx, Entity::Enrollments, query)
    }

    fn changed_since(ctx: &mut Ctx<'_>, from: &str) -> Result<Vec<Record>, OpError> {
        changed(ctx, &[Entity::Enrollments, Entity::Roles], from)
    }

    fn writer(_: &mut Ctx<'_>, _: &[Record]) -> Result<RecordWriter, OpError> {
        Ok(Box::new(|m, tag, o| {
            membership::to_lis(m).write_value(tag, o)
        }))
    }

    fn save(
        ctx: &mut Ctx<'_>,
        op: &str,
        id: &str,
        body: &Node,
        _partial: bool,
    ) -> Result<(), OpError> {
        let record: mms::MembershipRecord = record_of::<Membership, _>(body)?;
        save_membership(ctx, op, id, &record)
    }

    fn delete(ctx: &mut Ctx<'_>, op: &str, id: &str) -> Result<(), OpError> {
        let found = memberships_by_ids(ctx, &[id.to_string()], false)?;
        let Some(rec) = found.first() else {
            return Err(status(
                Minor::UnknownObject,
                format!("no membership with sourcedId '{id}'"),
            ));
        };
        tombstone(ctx, op, rec.entity, id)
    }

    fn change_id(ctx: &mut Ctx<'_>, op: &str, old: &str, new: &str) -> Result<(), OpError> {
        let entity = memberships_by_ids(ctx, &[old.to_string()], false)?
            .first()
            .map(|r| r.entity)
            .unwrap_or(Entity::Enrollments);
        change_identifier(ctx, op, entity, old, new)
    }

    fn special(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Option<Result<Reply, OpError>> {
        match op {
            "readMembershipIdsForPerson" | "readMembershipIdsForPersonWithRole" => {
                Some(ids_for_person(ctx, op, body))
            }
            "readMembershipIdsForCollection" => Some(ids_for_collection(ctx, body)),
            _ => None,
        }
    }
}

#[cfg(test)]
impl Membership {
    /// The record writer, without a context (memberships embed nothing).
    pub(super) fn writer_for_test() -> RecordWriter {
        Box::new(|m, tag, o| membership::to_lis(m).write_value(tag, o))
    }
}

/// `readMembershipIdsForPerson[WithRole]`: a person's enrollments and role rows (of a role).
fn ids_for_person(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Result<Reply, OpError> {
    let person = body.child_text("personSourcedId").unwrap_or("").to_string();
    let role = body
        .child_text("role")
        .map(str::to_string)
        .filter(|r| !r.is_empty());
    let mut enr = vec![Where::Active, Where::Is("userSourcedId", person.clone())];
    let mut rol = enr.clone();
    if let Some(r) = &role {
        // LIS role vocabulary or a OneRoster role name.
        let name = membership::enrollment_role(r)
            .map(str::to_string)
            .unwrap_or_else(|| r.clone());
        enr.push(Where::Is("role", name));
        let org_role = crate::soap::person::oneroster_role(r)
            .map(str::to_string)
            .unwrap_or_else(|| r.clone());
        rol.push(Where::Is("role", org_role));
    }
    let ids = membership_ids(ctx, enr, rol)?;
    let st = success_for(ids.len(), "memberships");
    // The draft WSDL gives the WithRole variant an empty response (its id set sits in the
    // request, LIS.md §4.11); output stays schema-valid, so the ids travel in
    // imsx_description, comma-separated.
    if op == "readMembershipIdsForPersonWithRole" {
        let st = Status {
            description: ids.join(","),
            ..st
        };
        return Ok(Reply::with(st, EmptyBody));
    }
    Ok(ids_reply(st, ids, None))
}

/// `readMembershipIdsForCollection`: the enrollments of a class or the role rows at an org.
fn ids_for_collection(ctx: &mut Ctx<'_>, body: &Node) -> Result<Reply, OpError> {
    let r: mms::ReadMembershipIdsForCollectionRequest = bind(body)?;
    let group = r.group_sourced_id.trim().to_string();
    let ids = match r.collection {
        mms::MembershipIdType::CourseSection => ids_of(&select(
            ctx,
            Entity::Enrollments,
            vec![Where::Active, Where::Is("classSourcedId", group)],
            false,
        )?),
        mms::MembershipIdType::Group => ids_of(&select(
            ctx,
            Entity::Roles,
            vec![Where::Active, Where::Is("orgSourcedId", group)],
            false,
        )?),
        _ => Vec::new(),
    };
    Ok(ids_answer(ids, "memberships"))
}

/// The Membership service's operations, from the generated list.
static TABLE: std::sync::LazyLock<Vec<(&'static str, Option<Family>)>> =
    std::sync::LazyLock::new(|| table::<Membership>(mms::OPERATIONS));

pub fn membership(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Reply {
    serve::<Membership>(ctx, &TABLE, op, body)
}
