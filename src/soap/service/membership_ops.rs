//! The Membership Management Service's operations (LIS.md §4): course-section memberships are
//! enrollments, group memberships a user's role rows at an org.

use super::*;

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
                let active = || vec![Where::Active];
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
                let after = || vec![Where::ChangedAfter(from.clone())];
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
