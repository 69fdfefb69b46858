//! The operations every LIS object service has, written once over a [`Kind`] (Person,
//! Membership, Group, and the port types of Course Management and Outcomes, whose operations
//! [`Ports`] sends to their port's kind), and the dispatch table built from the generated
//! operation list: each operation name is read as one of the
//! [`Family`] patterns (`read<X>`, `read<X>s`, `readAll<X>Ids`, `discover<X>Ids`,
//! `read<X>IdsFromSavePoint`, `read<X>sFromSavePoint`, `create<X>`, `createByProxy<X>`,
//! `replace<X>`, `update<X>`, `delete<X>`, `change<X>Identifier`), else handed to the kind's
//! own operations ([`Kind::special`]). Tests check that every generated operation of every
//! service is answered.

use super::*;
use crate::soap::bind::{read_one, tag, write_complex, write_opt, Tag, TagBuf};

/// Writes one stored record as its LIS record element.
pub(super) type RecordWriter = Box<dyn Fn(&Record, &Tag<'_>, &mut Out)>;

/// One LIS object kind: what the common operations need to know about it.
pub(super) trait Kind {
    /// The name in operation names ("Person", "Membership").
    const NAME: &'static str;
    /// The name in messages ("person", "membership").
    const WHAT: &'static str;
    /// The record element of a single answer and of a request (`personRecord`).
    const RECORD: &'static Tag<'static>;
    /// Its name, to find it in a request.
    const RECORD_NAME: &'static str;
    /// The record-set element of a batch answer (`personRecordSet`).
    const RECORD_SET: &'static Tag<'static>;
    /// The entity whose newest change is a batch read's high-water mark.
    const HIGH_WATER: Entity;

    /// Visible records by id, active only unless `tombstones`, in the order of `ids`.
    fn by_ids(ctx: &mut Ctx<'_>, ids: &[String], tombstones: bool) -> Result<Vec<Record>, OpError>;
    /// The ids of every active record the client sees.
    fn all_ids(ctx: &mut Ctx<'_>) -> Result<Vec<String>, OpError>;
    /// `discover<X>Ids`.
    fn discover(ctx: &mut Ctx<'_>, query: &str) -> Result<Vec<String>, OpError>;
    /// Records changed after the savepoint `from` (any status), oldest first.
    fn changed_since(ctx: &mut Ctx<'_>, from: &str) -> Result<Vec<Record>, OpError>;
    /// A writer for `records` as LIS records (loading what they embed once for all).
    fn writer(ctx: &mut Ctx<'_>, records: &[Record]) -> Result<RecordWriter, OpError>;
    /// Store the request's record under `id` (`partial`: an update of the stored one).
    fn save(
        ctx: &mut Ctx<'_>,
        op: &str,
        id: &str,
        body: &Node,
        partial: bool,
    ) -> Result<(), OpError>;
    /// `delete<X>`.
    fn delete(ctx: &mut Ctx<'_>, op: &str, id: &str) -> Result<(), OpError>;
    /// `change<X>Identifier`.
    fn change_id(ctx: &mut Ctx<'_>, op: &str, old: &str, new: &str) -> Result<(), OpError>;
    /// This kind's own operations; `None` for an operation it does not have.
    fn special(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Option<Result<Reply, OpError>>;
}

/// The operation patterns every object service has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    ReadOne,
    ReadMany,
    ReadAllIds,
    DiscoverIds,
    IdsSince,
    RecordsSince,
    Create,
    CreateByProxy,
    Replace,
    Update,
    Delete,
    ChangeId,
}

impl Family {
    /// The family of operation `op` of the object `name`, if it is a common one.
    pub(super) fn of(name: &str, op: &str) -> Option<Family> {
        let patterns: [(&str, &str, Family); 12] = [
            ("read", "", Family::ReadOne),
            ("read", "s", Family::ReadMany),
            ("readAll", "Ids", Family::ReadAllIds),
            ("discover", "Ids", Family::DiscoverIds),
            ("read", "IdsFromSavePoint", Family::IdsSince),
            ("read", "sFromSavePoint", Family::RecordsSince),
            ("create", "", Family::Create),
            ("createByProxy", "", Family::CreateByProxy),
            ("replace", "", Family::Replace),
            ("update", "", Family::Update),
            ("delete", "", Family::Delete),
            ("change", "Identifier", Family::ChangeId),
        ];
        patterns
            .into_iter()
            .find(|(pre, post, _)| {
                op.strip_prefix(pre)
                    .and_then(|r| r.strip_suffix(post))
                    .is_some_and(|r| r == name)
            })
            .map(|(_, _, f)| f)
    }
}

/// The dispatch table of kind `K`: each operation of the generated list (`operations`) with
/// its family, `None` for the kind's own operations.
pub(super) fn table<K: Kind>(
    operations: &[(&'static str, &str)],
) -> Vec<(&'static str, Option<Family>)> {
    operations
        .iter()
        .map(|(op, _)| (*op, Family::of(K::NAME, op)))
        .collect()
}

/// One port type of a service whose WSDL has several (Course Management, Outcomes): the object
/// its operations name (`CourseSection`) and its kind's own operations.
pub(super) struct Port {
    pub name: &'static str,
    pub own: &'static [&'static str],
}

/// The dispatch tables of a service with several port types, one per port, in their order.
pub(super) struct Ports {
    ports: &'static [Port],
    tables: Vec<Vec<(&'static str, Option<Family>)>>,
}

impl Ports {
    /// The tables of `ports` over the generated operation list.
    pub(super) fn new(operations: &[(&'static str, &str)], ports: &'static [Port]) -> Ports {
        let mut me = Ports {
            ports,
            tables: Vec::new(),
        };
        me.tables = (0..ports.len())
            .map(|i| {
                operations
                    .iter()
                    .filter(|(op, _)| me.port_of(op) == Some(i))
                    .map(|(op, _)| (*op, Family::of(ports[i].name, op)))
                    .collect()
            })
            .collect();
        me
    }

    /// The port (its index) operation `op` belongs to: the first whose object a common family
    /// of `op` names, or that lists `op` as its own (so `ResultValue` must come before
    /// `Result`).
    pub(super) fn port_of(&self, op: &str) -> Option<usize> {
        self.ports
            .iter()
            .position(|p| Family::of(p.name, op).is_some() || p.own.contains(&op))
    }

    /// The dispatch table of port `i`.
    pub(super) fn table(&self, i: usize) -> &[(&'static str, Option<Family>)] {
        self.tables.get(i).map_or(&[], Vec::as_slice)
    }
}

/// Answer `op` of kind `K` from its `table`.
pub(super) fn serve<K: Kind>(
    ctx: &mut Ctx<'_>,
    table: &[(&'static str, Option<Family>)],
    op: &str,
    body: &Node,
) -> Reply {
    run(ctx, op, |ctx| match table.iter().find(|(o, _)| *o == op) {
        Some((_, Some(family))) => common::<K>(ctx, *family, op, body),
        Some((_, None)) => K::special(ctx, op, body).unwrap_or_else(|| unsupported::<K>(op)),
        None => unsupported::<K>(op),
    })
}

fn unsupported<K: Kind>(op: &str) -> Result<Reply, OpError> {
    Err(status(
        Minor::UnsupportedOperation,
        format!("{op} is not a {} operation", K::NAME),
    ))
}

/// The text of the request's child `name`, trimmed (empty when absent).
fn text(body: &Node, name: &str) -> String {
    body.child_text(name).unwrap_or("").to_string()
}

fn common<K: Kind>(
    ctx: &mut Ctx<'_>,
    family: Family,
    op: &str,
    body: &Node,
) -> Result<Reply, OpError> {
    let what = K::WHAT;
    match family {
        Family::ReadOne => {
            let id = text(body, "sourcedId");
            let found = K::by_ids(ctx, std::slice::from_ref(&id), false)?;
            let write = K::writer(ctx, &found)?;
            match found.into_iter().next() {
                Some(rec) => Ok(Reply {
                    status: Status::success(format!("{what} {id}")),
                    body: Box::new(move |o, n| {
                        write_complex(&TagBuf::new(n).tag(), o, |o| write(&rec, K::RECORD, o));
                    }),
                }),
                None => Err(status(
                    Minor::UnknownObject,
                    format!("no {what} with sourcedId '{id}'"),
                )),
            }
        }
        Family::ReadMany => {
            let set: pms::GuidSet = read_one(body, &["sourcedIdSet"])?;
            let ids = batch_ids(&set.sourced_id)?;
            let found = K::by_ids(ctx, &ids, false)?;
            let st = batch_status(&ids, &found, what);
            let save = high_water(ctx, K::HIGH_WATER)?;
            let write = K::writer(ctx, &found)?;
            Ok(Reply {
                status: st,
                body: set_body::<K>(found, write, save.map(Str::from)),
            })
        }
        Family::ReadAllIds => {
            let ids = K::all_ids(ctx)?;
            Ok(ids_reply(
                success_for(ids.len(), &format!("{what}s")),
                ids,
                None,
            ))
        }
        Family::DiscoverIds => {
            let ids = K::discover(ctx, &text(body, "queryObject"))?;
            Ok(ids_reply(
                success_for(ids.len(), &format!("{what}s")),
                ids,
                None,
            ))
        }
        Family::IdsSince | Family::RecordsSince => {
            let from = savepoint(&text(body, "fromSavePoint"))?;
            let rows = K::changed_since(ctx, &from)?;
            let save = next_savepoint(&rows, &from);
            let st = success_for(rows.len(), &format!("{what}s changed"));
            if family == Family::IdsSince {
                Ok(ids_reply(st, ids_of(&rows), Some(save)))
            } else {
                let write = K::writer(ctx, &rows)?;
                Ok(Reply {
                    status: st,
                    body: set_body::<K>(rows, write, Some(save.into())),
                })
            }
        }
        Family::Create | Family::Replace | Family::Update => {
            let id = text(body, "sourcedId");
            if id.is_empty() {
                return Err(status(Minor::InvalidData, "sourcedId is required"));
            }
            let exists =
                !K::by_ids(&mut unrestricted(ctx), std::slice::from_ref(&id), false)?.is_empty();
            if family == Family::Create && exists {
                return Err(status(
                    Minor::IdAllocInUseFail,
                    format!("{what} {id} already exists"),
                ));
            }
            if family == Family::Update && !exists {
                return Err(status(
                    Minor::UnknownObject,
                    format!("no {what} with sourcedId '{id}'"),
                ));
            }
            K::save(ctx, op, &id, body, family == Family::Update)?;
            Ok(Reply::with(
                Status::success(format!("{what} {id} stored")),
                EmptyBody,
            ))
        }
        Family::CreateByProxy => {
            let id = new_id();
            K::save(ctx, op, &id, body, false)?;
            Ok(Reply::with(
                Status::success(format!("{what} {id} created")),
                IdBody(Some(id.into())),
            ))
        }
        Family::Delete => {
            let id = text(body, "sourcedId");
            K::delete(ctx, op, &id)?;
            Ok(Reply::with(
                Status::success(format!("{what} {id} deleted")),
                EmptyBody,
            ))
        }
        Family::ChangeId => {
            let (old, new) = (text(body, "sourcedId"), text(body, "newSourcedId"));
            K::change_id(ctx, op, &old, &new)?;
            Ok(Reply::with(
                Status::success(format!("{what} {old} is now {new}")),
                EmptyBody,
            ))
        }
    }
}

/// The request's record element of kind `K` (an empty one when absent, as the generated
/// request types read it).
pub(super) fn record_of<K: Kind, T: XmlValue>(body: &Node) -> Result<T, OpError> {
    Ok(read_one(body, &[K::RECORD_NAME])?)
}

/// The body of a record-set answer (`read<X>s`, `read<X>sFromSavePoint`): the response
/// element, its record set with one record per stored record, then `savePoint`, as the
/// generated writers of those responses put them (a test checks the bytes), each record built
/// just before it is written and dropped after, instead of all of them first (the records of a
/// 100-person answer then stay in cache: -14 % server CPU per `readPersons`).
pub(super) fn set_body<K: Kind>(
    records: Vec<Record>,
    write: RecordWriter,
    save_point: Option<Str>,
) -> BodyWriter {
    Box::new(move |o, n| {
        let name = TagBuf::new(n);
        write_complex(&name.tag(), o, |o| {
            write_complex(K::RECORD_SET, o, |o| {
                for r in &records {
                    write(r, K::RECORD, o);
                }
            });
            write_opt(&save_point, tag!("savePoint"), o);
        });
    })
}

/// An answer carrying ids (and a savepoint): the shape of every `…Ids…Response` of both
/// services.
pub(super) fn ids_reply(status: Status, ids: Vec<String>, save_point: Option<String>) -> Reply {
    Reply::with(
        status,
        IdsBody {
            sourced_id_set: Some(id_set(ids)),
            save_point: save_point.map(Str::from),
        },
    )
}

/// The answer of an id read without a savepoint: the ids, and `nosourcedids` when none.
pub(super) fn ids_answer(ids: Vec<String>, what: &str) -> Reply {
    ids_reply(success_for(ids.len(), what), ids, None)
}

/// `<sourcedIdSet>` then `<savePoint>`, as the generated id answers write them.
#[derive(Debug, Default)]
pub(super) struct IdsBody {
    sourced_id_set: Option<pms::GuidSet>,
    save_point: Option<Str>,
}

impl XmlValue for IdsBody {
    fn read_value(_: &Node) -> Result<Self, crate::soap::bind::BindError> {
        Ok(IdsBody::default())
    }
    fn write_value(&self, tag: &Tag<'_>, out: &mut Out) {
        write_complex(tag, out, |o| {
            write_opt(&self.sourced_id_set, tag!("sourcedIdSet"), o);
            write_opt(&self.save_point, tag!("savePoint"), o);
        });
    }
}

/// `<sourcedId>`: the answer of `createByProxy<X>`.
#[derive(Debug, Default)]
pub(super) struct IdBody(Option<Str>);

impl XmlValue for IdBody {
    fn read_value(_: &Node) -> Result<Self, crate::soap::bind::BindError> {
        Ok(IdBody::default())
    }
    fn write_value(&self, tag: &Tag<'_>, out: &mut Out) {
        write_complex(tag, out, |o| write_opt(&self.0, tag!("sourcedId"), o));
    }
}

#[cfg(test)]
mod tests {
    use super::super::membership_ops::Membership;
    use super::super::person_ops::Person;
    use super::*;

    fn written(body: BodyWriter, name: &str) -> String {
        let mut out = Out::default();
        body(&mut out, name);
        out.into_string()
    }

    fn with<T: XmlValue + 'static>(v: T) -> BodyWriter {
        Reply::with(Status::success(""), v).body
    }

    /// Every operation of the generated lists is answered: each common family once per
    /// service, and the rest by the kind's own operations.
    #[test]
    fn the_tables_cover_every_generated_operation() {
        let check = |table: Vec<(&str, Option<Family>)>, special: &[&str]| {
            let mut families: Vec<Family> = table.iter().filter_map(|(_, f)| *f).collect();
            families.dedup();
            assert_eq!(families.len(), 12, "{table:?}");
            let mut own: Vec<&str> = table
                .iter()
                .filter(|(_, f)| f.is_none())
                .map(|(o, _)| *o)
                .collect();
            own.sort();
            assert_eq!(own, special);
        };
        check(table::<Person>(pms::OPERATIONS), &["readPersonCore"]);
        check(
            table::<Membership>(mms::OPERATIONS),
            &[
                "readMembershipIdsForCollection",
                "readMembershipIdsForPerson",
                "readMembershipIdsForPersonWithRole",
            ],
        );
        assert_eq!(
            Family::of("Person", "readPersonsFromSavePoint"),
            Some(Family::RecordsSince)
        );
        assert_eq!(Family::of("Person", "readPersonCore"), None);
        assert_eq!(Family::of("Person", "readMembership"), None);
    }

    /// The common answers write exactly what the generated response types write.
    #[test]
    fn common_answers_are_the_generated_responses_bytes() {
        let ids = || vec!["a1".to_string(), "b&2".to_string()];
        let save = Some(Str::from("2026-01-02T00:00:00.000Z"));
        let pset = |ids: Vec<String>| {
            Some(pms::GuidSet {
                sourced_id: ids.into_iter().map(Str::from).collect(),
            })
        };
        let mset = |ids: Vec<String>| {
            Some(mms::GuidSet {
                sourced_id: ids.into_iter().map(Str::from).collect(),
            })
        };
        let ours = |save: Option<String>| ids_reply(Status::success(""), ids(), save).body;
        for (name, theirs, save_point) in [
            (
                "readAllPersonIdsResponse",
                with(pms::ReadAllPersonIdsResponse {
                    sourced_id_set: pset(ids()),
                }),
                None,
            ),
            (
                "readPersonIdsFromSavePointResponse",
                with(pms::ReadPersonIdsFromSavePointResponse {
                    sourced_id_set: pset(ids()),
                    save_point: save.clone(),
                }),
                save.clone(),
            ),
            (
                "readMembershipIdsForPersonResponse",
                with(mms::ReadMembershipIdsForPersonResponse {
                    sourced_id_set: mset(ids()),
                }),
                None,
            ),
            (
                "readMembershipIdsFromSavePointResponse",
                with(mms::ReadMembershipIdsFromSavePointResponse {
                    sourced_id_set: mset(ids()),
                    save_point: save.clone(),
                }),
                save.clone(),
            ),
        ] {
            let mine = ours(save_point.map(|s| s.to_string()));
            assert_eq!(written(mine, name), written(theirs, name), "{name}");
        }
        assert_eq!(
            written(with(IdBody(Some("p1".into()))), "x"),
            written(
                with(mms::CreateByProxyMembershipResponse {
                    sourced_id: Some("p1".into())
                }),
                "x"
            )
        );
        // One record and record sets, memberships (persons: person_ops' test).
        let mut m = Record::new(Entity::Enrollments, "e1");
        m.set("classSourcedId", "c1")
            .set("userSourcedId", "u1")
            .set("role", "student");
        let single = {
            let m = m.clone();
            let write = Membership::writer_for_test();
            Box::new(move |o: &mut Out, n: &str| {
                write_complex(&TagBuf::new(n).tag(), o, |o| {
                    write(&m, Membership::RECORD, o)
                })
            }) as BodyWriter
        };
        assert_eq!(
            written(single, "readMembershipResponse"),
            written(
                with(mms::ReadMembershipResponse {
                    membership_record: Some(membership::to_lis(&m))
                }),
                "readMembershipResponse"
            )
        );
        for records in [vec![m.clone()], Vec::new()] {
            let set = set_body::<Membership>(
                records.clone(),
                Membership::writer_for_test(),
                save.clone(),
            );
            let theirs = with(mms::ReadMembershipsResponse {
                membership_record_set: Some(mms::MembershipRecordSet {
                    membership_record: records.iter().map(membership::to_lis).collect(),
                }),
                save_point: save.clone(),
            });
            assert_eq!(
                written(set, "readMembershipsResponse"),
                written(theirs, "readMembershipsResponse")
            );
        }
    }
}
