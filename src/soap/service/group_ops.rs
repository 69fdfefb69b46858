//! The Group Management Service (LIS.md §4.9; rosterbridge's own `wsdl/lis-group.wsdl`) as a
//! [`Kind`] of the common operations (`ops`): groups are orgs, groups of type TERM academic
//! sessions (`soap::group`). A group id names one or the other, never both.

use super::ops::{ids_answer, record_of, serve, table, Family, Kind, RecordWriter};
use super::*;
use crate::soap::bind::{tag, Tag};
use crate::soap::gen::gms;
use crate::soap::group;

const ENTITIES: [Entity; 2] = [Entity::Orgs, Entity::AcademicSessions];

/// Groups by id: orgs, then sessions, in the order of `ids`.
fn groups_by_ids(
    ctx: &mut Ctx<'_>,
    ids: &[String],
    tombstones: bool,
) -> Result<Vec<Record>, OpError> {
    by_ids_in(ctx, &ENTITIES, ids, tombstones)
}

/// The stored group of that id, whoever may see it (tombstones too).
fn stored_group(ctx: &mut Ctx<'_>, id: &str) -> Result<Option<Record>, OpError> {
    Ok(groups_by_ids(&mut unrestricted(ctx), &[id.to_string()], true)?.pop())
}

fn save_group(
    ctx: &mut Ctx<'_>,
    op: &str,
    id: &str,
    g: &gms::Group,
    partial: bool,
) -> Result<(), OpError> {
    let existing = stored_group(ctx, id)?;
    let base = if partial { existing.as_ref() } else { None };
    let (mut rec, parent) =
        group::from_lis(id, g, base).map_err(|e| status(Minor::InvalidData, e.to_string()))?;
    if let Some(old) = &existing {
        if old.entity != rec.entity {
            return Err(status(
                Minor::IdAllocInUseFail,
                format!(
                    "sourcedId '{id}' is an {} already; a group cannot change between org and academic session",
                    old.entity.name()
                ),
            ));
        }
    }
    // The parent a relationship names is kept when it is a stored group of the same kind;
    // otherwise (the Blackboard sample names a parent no message sends) it is kept in the
    // record's metadata only, and reads give it back.
    match parent {
        Some(p) => {
            let found = by_ids(
                &mut unrestricted(ctx),
                rec.entity,
                std::slice::from_ref(&p),
                false,
            )?;
            if found.is_empty() || p == id {
                rec.metadata.insert("lis.parent".into(), p);
            } else {
                rec.set("parentSourcedId", p);
                rec.metadata.remove("lis.parent");
            }
        }
        None if !partial => {
            rec.metadata.remove("lis.parent");
        }
        None => {}
    }
    write_delta(ctx, op, vec![rec])
}

pub(super) struct Group;

impl Kind for Group {
    const NAME: &'static str = "Group";
    const WHAT: &'static str = "group";
    const RECORD: &'static Tag<'static> = tag!("groupRecord");
    const RECORD_NAME: &'static str = "groupRecord";
    const RECORD_SET: &'static Tag<'static> = tag!("groupRecordSet");
    const HIGH_WATER: Entity = Entity::Orgs;

    fn by_ids(ctx: &mut Ctx<'_>, ids: &[String], tombstones: bool) -> Result<Vec<Record>, OpError> {
        groups_by_ids(ctx, ids, tombstones)
    }
    fn all_ids(ctx: &mut Ctx<'_>) -> Result<Vec<String>, OpError> {
        let mut ids = Vec::new();
        for e in ENTITIES {
            ids.extend(active_ids(ctx, e, Vec::new())?);
        }
        Ok(ids)
    }
    /// A query over orgs and over sessions; one whose fields only one of them has finds those.
    fn discover(ctx: &mut Ctx<'_>, query: &str) -> Result<Vec<String>, OpError> {
        let mut ids = Vec::new();
        let mut last = None;
        for e in ENTITIES {
            match discover(ctx, e, query) {
                Ok(found) => ids.extend(found),
                Err(err) => last = Some(err),
            }
        }
        match last {
            Some(err) if ids.is_empty() => Err(err),
            _ => Ok(ids),
        }
    }
    fn changed_since(ctx: &mut Ctx<'_>, from: &str) -> Result<Vec<Record>, OpError> {
        changed(ctx, &ENTITIES, from)
    }
    fn writer(_: &mut Ctx<'_>, _: &[Record]) -> Result<RecordWriter, OpError> {
        Ok(Box::new(|r, tag, o| group::to_lis(r).write_value(tag, o)))
    }
    fn save(
        ctx: &mut Ctx<'_>,
        op: &str,
        id: &str,
        body: &Node,
        partial: bool,
    ) -> Result<(), OpError> {
        let record: gms::GroupRecord = record_of::<Group, _>(body)?;
        save_group(ctx, op, id, &record.group, partial)
    }
    fn delete(ctx: &mut Ctx<'_>, op: &str, id: &str) -> Result<(), OpError> {
        let entity = groups_by_ids(ctx, &[id.to_string()], false)?
            .first()
            .map(|r| r.entity)
            .unwrap_or(Entity::Orgs);
        tombstone(ctx, op, entity, id)
    }
    fn change_id(ctx: &mut Ctx<'_>, op: &str, old: &str, new: &str) -> Result<(), OpError> {
        let entity = groups_by_ids(ctx, &[old.to_string()], false)?
            .first()
            .map(|r| r.entity)
            .unwrap_or(Entity::Orgs);
        change_identifier(ctx, op, entity, old, new)
    }
    fn special(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Option<Result<Reply, OpError>> {
        Some(match op {
            // The orgs the person has an active role at.
            "readGroupIdsForPerson" => {
                let person = body.child_text("personSourcedId").unwrap_or("").to_string();
                select(
                    ctx,
                    Entity::Roles,
                    vec![Where::Active, Where::Is("userSourcedId", person)],
                    false,
                )
                .map(|roles| {
                    let mut ids: Vec<String> = roles
                        .iter()
                        .filter_map(|r| r.get("orgSourcedId").map(str::to_string))
                        .collect();
                    ids.sort();
                    ids.dedup();
                    ids_answer(ids, "groups")
                })
            }
            "addGroupRelationship" => relationship(ctx, op, body, true),
            "removeGroupRelationship" => relationship(ctx, op, body, false),
            _ => return None,
        })
    }
}

/// `addGroupRelationship` (a `Parent` relation sets the group's parent, a `Child` relation the
/// other group's) and `removeGroupRelationship` (`relationId`: the related group's id, or
/// `Parent`; the parent link is removed).
fn relationship(ctx: &mut Ctx<'_>, op: &str, body: &Node, add: bool) -> Result<Reply, OpError> {
    let id = body.child_text("sourcedId").unwrap_or("").to_string();
    let Some(mut rec) = groups_by_ids(ctx, std::slice::from_ref(&id), false)?.pop() else {
        return Err(status(
            Minor::UnknownObject,
            format!("no group with sourcedId '{id}'"),
        ));
    };
    if add {
        let r: gms::Relationship = crate::soap::bind::read_one(body, &["relationship"])?;
        let other = r.sourced_id.trim().to_string();
        let Some(mut related) = groups_by_ids(ctx, std::slice::from_ref(&other), false)?.pop()
        else {
            return Err(status(
                Minor::InvalidData,
                format!("relationship/sourcedId: no group '{other}'"),
            ));
        };
        if related.entity != rec.entity {
            return Err(status(
                Minor::InvalidData,
                "an org and an academic session cannot be related",
            ));
        }
        let out = match r.relation.trim().to_ascii_lowercase().as_str() {
            "parent" => {
                rec.set("parentSourcedId", other.as_str());
                rec
            }
            "child" => {
                related.set("parentSourcedId", id.as_str());
                related
            }
            other => {
                return Err(status(
                    Minor::InvalidData,
                    format!("relationship/relation: '{other}' is not Parent or Child"),
                ))
            }
        };
        write_delta(ctx, op, vec![out])?;
    } else {
        let rel = body.child_text("relationId").unwrap_or("").to_string();
        let parent = rec.get("parentSourcedId").map(str::to_string);
        if parent.is_none()
            || !(rel.eq_ignore_ascii_case("parent") || Some(&rel) == parent.as_ref())
        {
            return Err(status(
                Minor::UnknownObject,
                format!("group '{id}' has no relationship '{rel}'"),
            ));
        }
        rec.set("parentSourcedId", "");
        write_delta(ctx, op, vec![rec])?;
    }
    Ok(Reply::with(
        Status::success(format!("group {id} relationships updated")),
        EmptyBody,
    ))
}

/// The Group service's operations, from the generated list.
static TABLE: std::sync::LazyLock<Vec<(&'static str, Option<Family>)>> =
    std::sync::LazyLock::new(|| table::<Group>(gms::OPERATIONS));

pub fn group(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Reply {
    serve::<Group>(ctx, &TABLE, op, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_table_covers_every_operation() {
        assert_eq!(gms::OPERATIONS.len(), 15);
        let mut own: Vec<&str> = TABLE
            .iter()
            .filter(|(_, f)| f.is_none())
            .map(|(o, _)| *o)
            .collect();
        own.sort();
        assert_eq!(
            own,
            [
                "addGroupRelationship",
                "readGroupIdsForPerson",
                "removeGroupRelationship"
            ]
        );
    }
}
