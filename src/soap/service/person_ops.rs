//! The Person Management Service's operations (LIS.md §4): reads through the shared store
//! access, writes through the write door (`write`).

use super::*;

// ---------------------------------------------------------------------------------------------
// Person Management Service.

/// What building the LIS records of `users` needs besides them: their role rows and, when the
/// client may see them, their demographics (by user id).
struct PersonParts {
    related: crate::store::related::Related,
    demographics: std::collections::HashMap<String, Record>,
}

impl PersonParts {
    fn load(ctx: &mut Ctx<'_>, users: &[Record]) -> Result<PersonParts, OpError> {
        let ids = ids_of(users);
        let related = ctx.roster.related(Entity::Users, users)?;
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
    use crate::soap::bind::{tag, write_complex, write_opt, TagBuf};
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
    let defaults: Vec<String> = match &ctx.roster.caller().client_orgs {
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
            let rows = select(ctx, Entity::Users, vec![Where::Active], false)?;
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
                vec![Where::ChangedAfter(from.clone())],
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
