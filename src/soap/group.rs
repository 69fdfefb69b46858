//! LIS Group ↔ OneRoster (LIS.md §4.9, §9; `docs/LIS-MAPPING.md`): a group is an org, and a
//! group of type TERM (the Banner and Blackboard convention) is an academic session. Both
//! directions, between the domain records and the GMS types generated from rosterbridge's own
//! `wsdl/lis-group.wsdl` (IMS published none).

use super::bind::Str;
use super::gen::gms::{
    Description, ExtensionField, Group, GroupRecord, GroupType, ImsExtension, Relationship,
    SourcedGuid, Text, TimeFrame, TypeValue, NAMESPACE,
};
use super::person::EXTENSION_VOCABULARY;
use crate::model::catalog::{Entity, ORG_TYPES, SESSION_TYPES};
use crate::model::record::{Record, Status};

fn text(s: impl Into<Str>) -> Text {
    Text {
        language: Str::Borrowed("en-US"),
        text_string: s.into(),
    }
}

/// Fields of an org or session the group's elements carry (the rest are extension fields).
const STRUCTURAL: &[&str] = &[
    "name",
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
];

/// The entity a group's type names: an academic session for `TERM` or a session type, an org
/// for an org type; `None` for anything else.
pub fn entity_of(group_type: &str) -> Option<(Entity, &'static str)> {
    let t = group_type.trim();
    if t.eq_ignore_ascii_case("term") {
        return Some((Entity::AcademicSessions, "term"));
    }
    if let Some(s) = SESSION_TYPES.iter().find(|s| s.eq_ignore_ascii_case(t)) {
        return Some((Entity::AcademicSessions, s));
    }
    ORG_TYPES
        .iter()
        .find(|o| o.eq_ignore_ascii_case(t))
        .map(|o| (Entity::Orgs, *o))
}

/// The LIS group of an org or an academic session. Sessions are of type `TERM`, their own
/// type in `typevalue/id`; orgs carry their type in both.
pub fn to_lis(rec: &Record) -> GroupRecord {
    let session = rec.entity == Entity::AcademicSessions;
    let ty = rec.get("type").unwrap_or("");
    let group_type = GroupType {
        scheme: Some(text("IMS-LIS2.0")),
        typevalue: TypeValue {
            id: Some(ty.to_string().into()),
            r#type: text(if session {
                "TERM".to_string()
            } else {
                ty.to_string()
            }),
            level: super::kept::kept(rec, "level"),
        },
    };
    let name = rec
        .get(if session { "title" } else { "name" })
        .unwrap_or("");
    let timeframe = session.then(|| TimeFrame {
        begin: rec
            .get("startDate")
            .map(|d| super::kept::date_time(d).into()),
        end: rec.get("endDate").map(|d| super::kept::date_time(d).into()),
        ..TimeFrame::default()
    });
    let mut relationship: Vec<Relationship> = Vec::new();
    if let Some(p) = rec.get("parentSourcedId") {
        relationship.push(Relationship {
            relation_id: None,
            relation: Str::Borrowed("Parent"),
            sourced_id: p.to_string().into(),
            label: None,
        });
    }
    let extension = ImsExtension {
        extension_name_vocabulary: EXTENSION_VOCABULARY.into(),
        extension_type_vocabulary: Str::Borrowed("String"),
        extension_field: super::kept::extension_fields(rec, STRUCTURAL)
            .into_iter()
            .map(|(n, v)| ExtensionField {
                field_name: n.into(),
                field_type: super::gen::gms::FieldType::String,
                field_value: v.into(),
            })
            .collect(),
    };
    GroupRecord {
        sourced_guid: SourcedGuid {
            ref_agent_instance_id: None,
            sourced_id: rec.sourced_id.clone().into(),
        },
        group: Group {
            group_type,
            email: super::kept::text(rec, "email"),
            url: super::kept::text(rec, "url"),
            timeframe,
            description: Some(Description {
                short_description: name.to_string().into(),
                long_description: super::kept::text(rec, "longDescription"),
                full_description: None,
            }),
            relationship,
            enroll_control: super::kept::kept(rec, "enrollControl"),
            data_source: super::kept::text(rec, "dataSource"),
            record_info: None,
            extension: Some(extension),
        },
    }
}

/// A group write that could not be mapped: `path` names the element.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct Invalid {
    pub path: String,
    pub message: String,
}

fn invalid(path: &str, message: impl Into<String>) -> Invalid {
    Invalid {
        path: path.to_string(),
        message: message.into(),
    }
}

/// The org or session of a group write, over `base` (the stored record, for an update), and
/// the parent its `Parent` relationship names (the service keeps it only when it exists).
pub fn from_lis(
    id: &str,
    g: &Group,
    base: Option<&Record>,
) -> Result<(Record, Option<String>), Invalid> {
    let ty = g.group_type.typevalue.r#type.text_string.trim();
    let (entity, mut kind) = entity_of(ty).ok_or_else(|| {
        invalid(
            "group/groupType/typevalue/type",
            format!(
                "'{ty}' is neither TERM, a session type ({}) nor an org type ({})",
                SESSION_TYPES.join(", "),
                ORG_TYPES.join(", ")
            ),
        )
    })?;
    // A TERM group's own session type may ride in typevalue/id (how rosterbridge writes it).
    if entity == Entity::AcademicSessions {
        if let Some(s) = g.group_type.typevalue.id.as_deref().and_then(|id| {
            SESSION_TYPES
                .iter()
                .find(|s| s.eq_ignore_ascii_case(id.trim()))
        }) {
            kind = s;
        }
    }
    let mut rec = match base {
        Some(b) if b.entity == entity => b.clone(),
        _ => Record::new(entity, id),
    };
    rec.sourced_id = id.to_string();
    rec.status = Status::Active;
    rec.set("type", kind);
    let name = g
        .description
        .as_ref()
        .map(|d| d.short_description.trim().to_string())
        .filter(|s| !s.is_empty());
    let name_field = if entity == Entity::Orgs {
        "name"
    } else {
        "title"
    };
    match name {
        Some(n) => {
            rec.set(name_field, n);
        }
        None if rec.get(name_field).is_none() => {
            rec.set(name_field, id);
        }
        None => {}
    }
    super::kept::store_text(
        &mut rec,
        "longDescription",
        g.description
            .as_ref()
            .and_then(|d| d.long_description.as_deref()),
    );
    super::kept::store_text(&mut rec, "email", g.email.as_deref());
    super::kept::store_text(&mut rec, "url", g.url.as_deref());
    super::kept::store_text(&mut rec, "dataSource", g.data_source.as_deref());
    super::kept::store(NAMESPACE, &mut rec, "level", &g.group_type.typevalue.level);
    super::kept::store(NAMESPACE, &mut rec, "enrollControl", &g.enroll_control);
    if entity == Entity::AcademicSessions {
        let frame = g.timeframe.as_ref();
        let date = |s: Option<&str>| s.and_then(super::course::date_of);
        let begin = date(frame.and_then(|f| f.begin.as_deref()));
        let end = date(frame.and_then(|f| f.end.as_deref()));
        match (begin, end) {
            (Some(b), Some(e)) => {
                rec.set("startDate", b);
                rec.set("endDate", e.as_str());
                if rec.get("schoolYear").is_none() {
                    rec.set("schoolYear", e.get(..4).unwrap_or(""));
                }
            }
            _ if rec.get("startDate").is_some() && rec.get("endDate").is_some() => {}
            _ => {
                return Err(invalid(
                    "group/timeframe",
                    "a TERM group needs its begin and end dates",
                ))
            }
        }
    }
    if let Some(ext) = &g.extension {
        let pairs = ext
            .extension_field
            .iter()
            .map(|f| (f.field_name.as_ref(), f.field_value.as_ref()));
        super::kept::apply_fields(&mut rec, pairs, STRUCTURAL)
            .map_err(|m| invalid("group/extension/extensionField", m))?;
    }
    let parent = g
        .relationship
        .iter()
        .find(|r| r.relation.trim().eq_ignore_ascii_case("parent"))
        .map(|r| r.sourced_id.trim().to_string())
        .filter(|p| !p.is_empty());
    Ok((rec, parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orgs_and_sessions_round_trip_through_groups() {
        let mut org = Record::new(Entity::Orgs, "s1");
        org.set("name", "North High")
            .set("type", "school")
            .set("identifier", "NH")
            .set("parentSourcedId", "d1");
        let lis = to_lis(&org);
        let (back, parent) = from_lis("s1", &lis.group, None).expect("maps");
        assert_eq!(parent.as_deref(), Some("d1"));
        for f in ["name", "type", "identifier"] {
            assert_eq!(back.get(f), org.get(f), "{f}");
        }
        let mut term = Record::new(Entity::AcademicSessions, "t1");
        term.set("title", "Fall")
            .set("type", "semester")
            .set("startDate", "2026-08-20")
            .set("endDate", "2026-12-20")
            .set("schoolYear", "2027");
        let lis = to_lis(&term);
        assert_eq!(lis.group.group_type.typevalue.r#type.text_string, "TERM");
        let (back, _) = from_lis("t1", &lis.group, None).expect("maps");
        assert_eq!(back.entity, Entity::AcademicSessions);
        for f in ["title", "type", "startDate", "endDate", "schoolYear"] {
            assert_eq!(back.get(f), term.get(f), "{f}");
        }
        let mut bad = lis.group.clone();
        bad.group_type.typevalue.r#type = text("College");
        let err = from_lis("x", &bad, None).expect_err("refused");
        assert!(err.to_string().contains("College"), "{err}");
    }
}
