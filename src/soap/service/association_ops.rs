//! The Course Management Service's section associations (LIS.md §4.6: cross-listings, "meta
//! courses") as a [`Kind`]: OneRoster has no such object, so they are kept in their own table
//! (`Entity::SectionAssociations`: title, label, the sections' class ids; the rest of the LIS
//! record in `metadata`) only so that they round-trip over SOAP. The ids a replace carries are
//! kept as sent (Banner sends a cross-listing before all its sections); `addCourseSectionId`
//! checks that the section exists. No REST route shows them.
//! Restricted clients neither see nor write them (the store's visibility rule has no org for
//! them).

use super::ops::{record_of, Kind, RecordWriter};
use super::*;
use crate::soap::bind::{tag, Tag};
use crate::soap::gen::cms;

/// The association's own operations.
pub(super) const OWN: &[&str] = &["addCourseSectionId", "removeCourseSectionId"];

const ENTITY: Entity = Entity::SectionAssociations;

fn text(s: &str) -> cms::Text {
    cms::Text {
        language: Str::Borrowed("en-US"),
        text_string: s.to_string().into(),
    }
}

/// The LIS record of a stored association.
fn to_lis(rec: &Record) -> cms::SectionAssociationRecord {
    let ids: Vec<Str> = rec
        .get("classSourcedIds")
        .map(|l| {
            crate::model::record::list_items(l)
                .map(|s| Str::Owned(s.to_string()))
                .collect()
        })
        .unwrap_or_default();
    cms::SectionAssociationRecord {
        sourced_guid: cms::SourcedGuid {
            ref_agent_instance_id: None,
            sourced_id: rec.sourced_id.clone().into(),
        },
        section_association: cms::SectionAssociation {
            label: rec.get("label").map(text),
            title: rec.get("title").map(text),
            status: Some(Str::Borrowed(match rec.status {
                RecStatus::Active => "Active",
                RecStatus::ToBeDeleted => "Inactive",
            })),
            course_section_id_list: (!ids.is_empty()).then_some(cms::ListofCourseSectionIds {
                course_section_id: ids,
            }),
            data_source: crate::soap::kept::text(rec, "dataSource"),
            record_info: None,
            extension: None,
        },
    }
}

/// The stored record of a LIS association (`base`: the stored one, for an update).
fn from_lis(id: &str, a: &cms::SectionAssociation, base: Option<&Record>) -> Record {
    let mut rec = base.cloned().unwrap_or_else(|| Record::new(ENTITY, id));
    rec.status = RecStatus::Active;
    let t = |x: &Option<cms::Text>| crate::soap::course::text_of(x);
    if let Some(v) = t(&a.title) {
        rec.set("title", v);
    }
    if let Some(v) = t(&a.label) {
        rec.set("label", v);
    }
    if let Some(list) = &a.course_section_id_list {
        let ids: Vec<&str> = list
            .course_section_id
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        rec.set("classSourcedIds", ids.join(","));
    }
    // An update without one keeps the stored one.
    if a.data_source
        .as_deref()
        .is_some_and(|d| !d.trim().is_empty())
    {
        crate::soap::kept::store_text(&mut rec, "dataSource", a.data_source.as_deref());
    }
    rec
}

pub(super) struct SectionAssociation;

impl Kind for SectionAssociation {
    const NAME: &'static str = "SectionAssociation";
    const WHAT: &'static str = "section association";
    const RECORD: &'static Tag<'static> = tag!("sectionAssociationRecord");
    const RECORD_NAME: &'static str = "sectionAssociationRecord";
    const RECORD_SET: &'static Tag<'static> = tag!("sectionAssociationRecordSet");
    const HIGH_WATER: Entity = ENTITY;

    fn by_ids(ctx: &mut Ctx<'_>, ids: &[String], tombstones: bool) -> Result<Vec<Record>, OpError> {
        by_ids(ctx, ENTITY, ids, tombstones)
    }
    fn all_ids(ctx: &mut Ctx<'_>) -> Result<Vec<String>, OpError> {
        active_ids(ctx, ENTITY, Vec::new())
    }
    fn discover(ctx: &mut Ctx<'_>, query: &str) -> Result<Vec<String>, OpError> {
        discover(ctx, ENTITY, query)
    }
    fn changed_since(ctx: &mut Ctx<'_>, from: &str) -> Result<Vec<Record>, OpError> {
        changed(ctx, &[ENTITY], from)
    }
    fn writer(_: &mut Ctx<'_>, _: &[Record]) -> Result<RecordWriter, OpError> {
        Ok(Box::new(|r, tag, o| to_lis(r).write_value(tag, o)))
    }
    fn save(
        ctx: &mut Ctx<'_>,
        op: &str,
        id: &str,
        body: &Node,
        partial: bool,
    ) -> Result<(), OpError> {
        let record: cms::SectionAssociationRecord = record_of::<SectionAssociation, _>(body)?;
        let base = if partial {
            stored(ctx, ENTITY, id)?
        } else {
            None
        };
        let rec = from_lis(id, &record.section_association, base.as_ref());
        write_delta(ctx, op, vec![rec])
    }
    fn delete(ctx: &mut Ctx<'_>, op: &str, id: &str) -> Result<(), OpError> {
        tombstone(ctx, op, ENTITY, id)
    }
    fn change_id(ctx: &mut Ctx<'_>, op: &str, old: &str, new: &str) -> Result<(), OpError> {
        change_identifier(ctx, op, ENTITY, old, new)
    }
    fn special(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Option<Result<Reply, OpError>> {
        let add = match op {
            "addCourseSectionId" => true,
            "removeCourseSectionId" => false,
            _ => return None,
        };
        let id = body
            .child_text("sectionAssociationSourcedId")
            .unwrap_or("")
            .to_string();
        let section = body
            .child_text("courseSectionSourcedId")
            .unwrap_or("")
            .to_string();
        Some((|| {
            let Some(mut rec) = by_ids(ctx, ENTITY, std::slice::from_ref(&id), false)?.pop() else {
                return Err(status(
                    Minor::UnknownObject,
                    format!("no section association with sourcedId '{id}'"),
                ));
            };
            let mut ids: Vec<String> = rec
                .get("classSourcedIds")
                .map(|l| {
                    crate::model::record::list_items(l)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            if add
                && by_ids(ctx, Entity::Classes, std::slice::from_ref(&section), false)?.is_empty()
            {
                return Err(status(
                    Minor::InvalidData,
                    format!("courseSectionSourcedId: no course section '{section}'"),
                ));
            }
            let had = ids.contains(&section);
            if add && !had {
                ids.push(section.clone());
            } else if !add && had {
                ids.retain(|s| s != &section);
            } else {
                let why = if add {
                    "already holds"
                } else {
                    "does not hold"
                };
                return Err(status(
                    Minor::InvalidData,
                    format!("section association '{id}' {why} course section '{section}'"),
                ));
            }
            rec.set("classSourcedIds", ids.join(","));
            write_delta(ctx, op, vec![rec])?;
            Ok(Reply::with(
                Status::success(format!("section association {id} updated")),
                EmptyBody,
            ))
        })())
    }
}
