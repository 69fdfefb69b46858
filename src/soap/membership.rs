//! LIS Membership ↔ OneRoster: a `courseSection` membership is an enrollment (1:1, same
//! sourcedId); a `group` membership is a user's role at an org (the stored role row, same
//! sourcedId). Mapping in `docs/LIS-MAPPING.md`; OneRoster values LIS cannot say exactly
//! travel as `oneroster.*` extension fields of the role, so replace-then-read round-trips.

use std::collections::BTreeMap;

use super::gen::mms::{
    ExtensionField, FieldType, ImsExtension, Member, Membership, MembershipIdType,
    MembershipRecord, Role, SourcedGuid, Status as LisStatus, TimeFrame,
};
use super::person::{Invalid, EXTENSION_VOCABULARY, ONEROSTER};
use crate::model::catalog::Entity;
use crate::model::record::{Record, Status};

/// OneRoster enrollment role → LIS membership roleType.
pub fn lis_role(role: &str) -> &'static str {
    match role {
        "student" => "Learner",
        "teacher" => "Instructor",
        "administrator" => "Administrator",
        "proctor" | "aide" => "TeachingAssistant",
        _ => "Member",
    }
}

/// LIS roleType (also the Moodle names Banner sends) → OneRoster enrollment role.
pub fn enrollment_role(role_type: &str) -> Option<&'static str> {
    Some(match role_type.trim().to_ascii_lowercase().as_str() {
        "learner" | "student" | "member" => "student",
        "instructor" | "teacher" | "editingteacher" | "contentdeveloper" | "manager" => "teacher",
        "administrator" => "administrator",
        "teachingassistant" | "proctor" => "proctor",
        _ => return None,
    })
}

fn field(name: &str, value: &str) -> ExtensionField {
    ExtensionField {
        field_name: name.to_string().into(),
        field_type: FieldType::String,
        field_value: value.to_string().into(),
    }
}

fn lis_status(s: Status) -> LisStatus {
    match s {
        Status::Active => LisStatus::Active,
        Status::ToBeDeleted => LisStatus::Inactive,
    }
}

/// The LIS view of an enrollment (`courseSection`) or a role row (`group`).
pub fn to_lis(rec: &Record) -> MembershipRecord {
    let mut ext = vec![field(&format!("{ONEROSTER}status"), rec.status.as_str())];
    if let Some(d) = &rec.date_last_modified {
        ext.push(field(&format!("{ONEROSTER}dateLastModified"), d));
    }
    let (collection, kind, role) = if rec.entity == Entity::Enrollments {
        let role = rec.get("role").unwrap_or("");
        ext.push(field(&format!("{ONEROSTER}role"), role));
        if let Some(s) = rec.get("schoolSourcedId") {
            ext.push(field(&format!("{ONEROSTER}school"), s));
        }
        if let Some(p) = rec.get("primary") {
            ext.push(field(&format!("{ONEROSTER}primary"), p));
        }
        (
            rec.get("classSourcedId").unwrap_or(""),
            MembershipIdType::CourseSection,
            lis_role(role),
        )
    } else {
        let role = rec.get("role").unwrap_or("");
        ext.push(field(&format!("{ONEROSTER}role"), role));
        ext.push(field(
            &format!("{ONEROSTER}roleType"),
            rec.get("roleType").unwrap_or(""),
        ));
        (
            rec.get("orgSourcedId").unwrap_or(""),
            MembershipIdType::Group,
            "Member",
        )
    };
    for (k, v) in &rec.metadata {
        ext.push(field(&format!("metadata.{k}"), v));
    }
    let (begin, end) = (rec.get("beginDate"), rec.get("endDate"));
    let time_frame = (begin.is_some() || end.is_some()).then(|| TimeFrame {
        begin: begin.map(|d| super::kept::date_time(d).into()),
        end: end.map(|d| super::kept::date_time(d).into()),
        ..TimeFrame::default()
    });
    MembershipRecord {
        sourced_guid: SourcedGuid {
            ref_agent_instance_id: None,
            sourced_id: rec.sourced_id.clone().into(),
        },
        membership: Membership {
            collection_sourced_id: collection.to_string().into(),
            membership_id_type: kind,
            member: Member {
                person_sourced_id: rec.get("userSourcedId").unwrap_or("").to_string().into(),
                role: vec![Role {
                    role_type: role.to_string().into(),
                    sub_role: (rec.get("primary") == Some("true")).then(|| "Primary".into()),
                    time_frame,
                    status: Some(lis_status(rec.status)),
                    extension: Some(ImsExtension {
                        extension_name_vocabulary: EXTENSION_VOCABULARY.into(),
                        extension_type_vocabulary: EXTENSION_VOCABULARY.into(),
                        extension_field: ext,
                    }),
                    ..Role::default()
                }],
            },
            data_source: None,
        },
    }
}

/// The record a membership write stores: an enrollment (`courseSection`) or a role row
/// (`group`). `school_of_class`: the school of the collection's class, when it exists. A
/// membership whose role status is `Inactive` comes back as a tombstone.
pub fn from_lis(
    id: &str,
    m: &Membership,
    school_of_class: Option<&str>,
) -> Result<Record, Invalid> {
    let role = m
        .member
        .role
        .first()
        .ok_or_else(|| Invalid::new("membership/member/role", "a role is required"))?;
    let ext: BTreeMap<String, String> = role
        .extension
        .iter()
        .flat_map(|e| &e.extension_field)
        .map(|f| {
            (
                f.field_name.trim().to_string(),
                f.field_value.trim().to_string(),
            )
        })
        .collect();
    let get = |k: &str| ext.get(&format!("{ONEROSTER}{k}")).map(String::as_str);
    let person = m.member.person_sourced_id.trim();
    if person.is_empty() {
        return Err(Invalid::new(
            "membership/member/personSourcedId",
            "a person is required",
        ));
    }
    let collection = m.collection_sourced_id.trim();
    if collection.is_empty() {
        return Err(Invalid::new(
            "membership/collectionSourcedId",
            "a collection is required",
        ));
    }
    let mut rec = match m.membership_id_type {
        MembershipIdType::CourseSection => {
            let mut rec = Record::new(Entity::Enrollments, id);
            let role_name = match get("role") {
                Some(r) => r.to_string(),
                None => enrollment_role(&role.role_type)
                    .ok_or_else(|| {
                        Invalid::new(
                            "membership/member/role/roleType",
                            format!(
                                "'{}' has no OneRoster enrollment role (Learner, Instructor, Administrator, TeachingAssistant)",
                                role.role_type
                            ),
                        )
                    })?
                    .to_string(),
            };
            // An enrollment's school is its class's school (the extension, which reads
            // echo back, may only repeat it).
            let school = school_of_class.ok_or_else(|| {
                Invalid::new(
                    "membership/collectionSourcedId",
                    format!("no class '{collection}' to enroll in"),
                )
            })?;
            if let Some(sent) = get("school").filter(|s| *s != school) {
                return Err(Invalid::new(
                    "membership/member/role/extension[oneroster.school]",
                    format!(
                        "'{sent}' is not the school of class '{collection}' ({school}): an enrollment's school is its class's school"
                    ),
                ));
            }
            rec.set("classSourcedId", collection)
                .set("schoolSourcedId", school)
                .set("userSourcedId", person)
                .set("role", role_name);
            let primary = get("primary").map(str::to_string).or_else(|| {
                role.sub_role
                    .as_deref()
                    .map(|s| (s.trim().eq_ignore_ascii_case("primary")).to_string())
            });
            if let Some(p) = primary {
                rec.set("primary", p);
            }
            rec
        }
        MembershipIdType::Group => {
            let mut rec = Record::new(Entity::Roles, id);
            let role_name = match get("role") {
                Some(r) => r.to_string(),
                None => super::person::oneroster_role(&role.role_type)
                    .unwrap_or("student")
                    .to_string(),
            };
            rec.set("userSourcedId", person)
                .set("orgSourcedId", collection)
                .set("role", role_name)
                .set("roleType", get("roleType").unwrap_or("secondary"));
            rec
        }
        other => {
            return Err(Invalid::new(
                "membership/membershipIdType",
                format!(
                    "'{}' memberships have no OneRoster equivalent (courseSection and group do)",
                    other.as_str()
                ),
            ))
        }
    };
    if let Some(tf) = &role.time_frame {
        for (f, v) in [("beginDate", &tf.begin), ("endDate", &tf.end)] {
            if let Some(v) = v {
                rec.set(f, v.trim().get(..10).unwrap_or(v.trim()));
            }
        }
    }
    for (k, v) in &ext {
        if let Some(key) = k.strip_prefix("metadata.") {
            rec.metadata.insert(key.to_string(), v.clone());
        }
    }
    if role.status == Some(LisStatus::Inactive) {
        rec.status = Status::ToBeDeleted;
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrollments_and_roles_round_trip() {
        let mut e = Record::new(Entity::Enrollments, "e1");
        e.set("classSourcedId", "c1")
            .set("schoolSourcedId", "s1")
            .set("userSourcedId", "u1")
            .set("role", "teacher")
            .set("primary", "true")
            .set("beginDate", "2026-09-01");
        let lis = to_lis(&e);
        assert_eq!(lis.membership.member.role[0].role_type, "Instructor");
        assert_eq!(
            lis.membership.member.role[0]
                .time_frame
                .as_ref()
                .and_then(|t| t.begin.as_deref()),
            Some("2026-09-01T00:00:00Z")
        );
        let back = from_lis("e1", &lis.membership, Some("s1")).expect("maps back");
        assert_eq!(back, e);
        // The extension may repeat the class's school, never name another.
        let e2 = from_lis("e1", &lis.membership, Some("s2")).expect_err("another school");
        assert!(e2.to_string().contains("class's school"), "{e2}");

        let mut r = Record::new(Entity::Roles, "r1");
        r.set("userSourcedId", "u1")
            .set("orgSourcedId", "s1")
            .set("role", "aide")
            .set("roleType", "primary");
        let lis = to_lis(&r);
        assert_eq!(lis.membership.membership_id_type, MembershipIdType::Group);
        assert_eq!(from_lis("r1", &lis.membership, None).expect("back"), r);
    }

    #[test]
    fn banner_roles_map_and_strangers_are_invalid() {
        let mut m = Membership {
            collection_sourced_id: "c1".into(),
            membership_id_type: MembershipIdType::CourseSection,
            member: Member {
                person_sourced_id: "u1".into(),
                role: vec![Role {
                    role_type: "editingteacher".into(),
                    status: Some(LisStatus::Active),
                    ..Role::default()
                }],
            },
            data_source: None,
        };
        let rec = from_lis("e9", &m, Some("s1")).expect("Banner membership");
        assert_eq!(rec.get("role"), Some("teacher"));
        assert_eq!(rec.get("schoolSourcedId"), Some("s1"));
        assert!(from_lis("e9", &m, None).is_err(), "no class, no school");
        m.member.role[0].role_type = "Wizard".into();
        let e = from_lis("e9", &m, Some("s1")).expect_err("unknown role");
        assert!(e.path.ends_with("roleType"), "{e}");
    }
}
