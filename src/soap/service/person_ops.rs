//! The Person Management Service (LIS.md §4) as a [`Kind`] of the common operations (`ops`):
//! persons are users with their role rows and demographics; reads through the shared store
//! access, writes through the write door (`write`).

use super::ops::{record_of, serve, table, Family, Kind, RecordWriter};
use super::*;
use crate::soap::bind::{tag, Tag};

// ---------------------------------------------------------------------------------------------
// Person Management Service.

/// What building the LIS records of `users` needs besides them: their role rows and, when the
/// client may see them, their demographics (by user id).
struct PersonParts {
    related: crate::roster::Related,
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
    // shared user's roles elsewhere are neither reused nor tombstoned (`roster::write::guard` refuses
    // the write if the user is not visible at all).
    let roles = visible_active(ctx, Entity::Roles, id)?;
    // Where a person without roles yet gets its institution roles: the client's one org, else
    // the store's only school (a SOAP-only SIS sends no orgs with its persons).
    let mut defaults: Vec<String> = match &ctx.roster.caller().client_orgs {
        Some(o) if o.len() == 1 => o.clone(),
        _ => Vec::new(),
    };
    if defaults.is_empty() && roles.is_empty() {
        if let Some(s) = super::course_ops::sole_school(ctx)? {
            defaults.push(s.sourced_id);
        }
    }
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

/// The Person Management Service's object.
pub(super) struct Person;

impl Kind for Person {
    const NAME: &'static str = "Person";
    const WHAT: &'static str = "person";
    const RECORD: &'static Tag<'static> = tag!("personRecord");
    const RECORD_NAME: &'static str = "personRecord";
    const RECORD_SET: &'static Tag<'static> = tag!("personRecordSet");
    const HIGH_WATER: Entity = Entity::Users;

    fn by_ids(ctx: &mut Ctx<'_>, ids: &[String], tombstones: bool) -> Result<Vec<Record>, OpError> {
        by_ids(ctx, Entity::Users, ids, tombstones)
    }

    fn all_ids(ctx: &mut Ctx<'_>) -> Result<Vec<String>, OpError> {
        active_ids(ctx, Entity::Users, Vec::new())
    }

    fn discover(ctx: &mut Ctx<'_>, query: &str) -> Result<Vec<String>, OpError> {
        discover(ctx, Entity::Users, query)
    }

    fn changed_since(ctx: &mut Ctx<'_>, from: &str) -> Result<Vec<Record>, OpError> {
        changed(ctx, &[Entity::Users], from)
    }

    fn writer(ctx: &mut Ctx<'_>, records: &[Record]) -> Result<RecordWriter, OpError> {
        let parts = PersonParts::load(ctx, records)?;
        Ok(Box::new(move |u, tag, o| {
            parts.person(u).write_value(tag, o)
        }))
    }

    fn save(
        ctx: &mut Ctx<'_>,
        op: &str,
        id: &str,
        body: &Node,
        partial: bool,
    ) -> Result<(), OpError> {
        let record: pms::PersonRecord = record_of::<Person, _>(body)?;
        save_person(ctx, op, id, &record, partial)
    }

    fn delete(ctx: &mut Ctx<'_>, op: &str, id: &str) -> Result<(), OpError> {
        tombstone(ctx, op, Entity::Users, id)
    }

    fn change_id(ctx: &mut Ctx<'_>, op: &str, old: &str, new: &str) -> Result<(), OpError> {
        change_identifier(ctx, op, Entity::Users, old, new)
    }

    fn special(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Option<Result<Reply, OpError>> {
        match op {
            "readPersonCore" => Some(read_person_core(ctx, body)),
            _ => None,
        }
    }
}

/// `readPersonCore`: a person's core fields only.
fn read_person_core(ctx: &mut Ctx<'_>, body: &Node) -> Result<Reply, OpError> {
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

/// The Person service's operations, from the generated list.
static TABLE: std::sync::LazyLock<Vec<(&'static str, Option<Family>)>> =
    std::sync::LazyLock::new(|| table::<Person>(pms::OPERATIONS));

pub fn person(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Reply {
    serve::<Person>(ctx, &TABLE, op, body)
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
                    super::super::ops::set_body::<Person>(
                        users.clone(),
                        Box::new(|u, tag, o| person::to_lis(u, &[], None).write_value(tag, o)),
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
