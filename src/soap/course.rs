//! LIS Course Management ↔ OneRoster (LIS.md §9.1 option A; `docs/LIS-MAPPING.md`): a course
//! template and a course offering are both the OneRoster course of the same `sourcedId` (an
//! offering's `parentTemplateId` is its own id, its `academicSession` the course's school
//! year); a course section is a class. Both directions, between the domain records and the
//! generated CMS types.
//!
//! OneRoster fields LIS has no element for travel as `oneroster.<field>` extension fields (one
//! rule over the catalogue, as for persons); LIS elements OneRoster has no field for
//! (catalogue descriptions, credits, category, enrolment control, notes, the org's name…) are
//! kept in the record's `metadata` under `lis.*`, so replace-then-read round-trips. Where a
//! section's references come from (the parent offering, the school, the terms) is decided by
//! the service (`service::course_ops`), which may have to find or create them.

use super::bind::{Str, XmlValue};
use super::gen::cms::{
    CourseOffering, CourseOfferingRecord, CourseSection, CourseSectionRecord, CourseTemplate,
    CourseTemplateRecord, ExtensionField, ImsExtension, Org, SourcedGuid, Text, TimeFrame,
    NAMESPACE,
};
use super::person::EXTENSION_VOCABULARY;
#[cfg(test)]
use super::person::ONEROSTER;
use crate::model::catalog::Entity;
use crate::model::record::{Record, Status};

/// A LIS record part a write could not map: `path` names the element.
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

fn text(s: impl Into<Str>) -> Text {
    Text {
        language: Str::Borrowed("en-US"),
        text_string: s.into(),
    }
}

fn opt_text(s: Option<&str>) -> Option<Text> {
    s.map(|s| text(s.to_string()))
}

/// The trimmed text of an optional `Text`, `None` when absent or blank.
pub fn text_of(t: &Option<Text>) -> Option<String> {
    t.as_ref()
        .map(|t| t.text_string.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// `Active` / `Inactive`, as course management records say a status.
fn lis_status(s: Status) -> Str {
    Str::Borrowed(match s {
        Status::Active => "Active",
        Status::ToBeDeleted => "Inactive",
    })
}

/// The date part of an `xs:dateTime` or date, when it is one.
pub fn date_of(s: &str) -> Option<String> {
    let d = s.trim().get(..10)?;
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
    Some(d.to_string())
}

fn kept<T: XmlValue>(rec: &Record, name: &str) -> Option<T> {
    super::kept::kept(rec, name)
}

fn store_kept<T: XmlValue>(rec: &mut Record, name: &str, value: &Option<T>) {
    super::kept::store(NAMESPACE, rec, name, value)
}

/// The extension of a course or class ([`super::kept::extension_fields`]).
fn extension(rec: &Record, structural: &[&str]) -> ImsExtension {
    ImsExtension {
        extension_name_vocabulary: EXTENSION_VOCABULARY.into(),
        extension_value_type: Str::Borrowed("String"),
        extension_field: super::kept::extension_fields(rec, structural)
            .into_iter()
            .map(|(n, v)| field(n, &v))
            .collect(),
    }
}

fn field(name: String, value: &str) -> ExtensionField {
    ExtensionField {
        field_name: name.into(),
        field_type: Str::Borrowed("String"),
        field_value: value.to_string().into(),
    }
}

/// Apply a request's extension fields to `rec` ([`super::kept::apply_fields`]).
fn apply_extension(
    rec: &mut Record,
    ext: &Option<ImsExtension>,
    structural: &[&str],
    path: &str,
) -> Result<(), Invalid> {
    let Some(ext) = ext else {
        return Ok(());
    };
    let pairs = ext
        .extension_field
        .iter()
        .map(|f| (f.field_name.as_ref(), f.field_value.as_ref()));
    super::kept::apply_fields(rec, pairs, structural)
        .map_err(|m| invalid(&format!("{path}/extension/extensionField"), m))
}

/// The org element: the reference as `id`, the rest of what the client sent kept.
fn org_of(rec: &Record, reference: &str) -> Option<Org> {
    let mut org: Org = kept(rec, "org").unwrap_or_default();
    if let Some(id) = rec.get(reference) {
        org.id = Some(text(id.to_string()));
    }
    (org.id.is_some() || org.org_name.is_some() || org.org_unit.is_some()).then_some(org)
}

// ---------------------------------------------------------------------------------------------
// Courses: templates and offerings.

/// Course fields a template's or an offering's elements carry.
const COURSE_STRUCTURAL: &[&str] = &["title", "courseCode", "orgSourcedId"];

/// The LIS course template of a course.
pub fn template_to_lis(course: &Record) -> CourseTemplateRecord {
    let code = course.get("courseCode");
    CourseTemplateRecord {
        sourced_guid: guid(course),
        course_template: CourseTemplate {
            label: opt_text(code),
            title: opt_text(course.get("title")),
            catalog_description: kept(course, "catalogDescription"),
            course_number: opt_text(code),
            status: Some(lis_status(course.status)),
            default_credits: kept(course, "defaultCredits"),
            org: org_of(course, "orgSourcedId"),
            listof_topics: kept(course, "listofTopics"),
            listof_prerequisites: kept(course, "listofPrerequisites"),
            data_source: super::kept::text(course, "dataSource"),
            record_info: kept(course, "recordInfo"),
            extension: Some(extension(course, COURSE_STRUCTURAL)),
        },
    }
}

/// The LIS course offering of a course (option A: the course itself; its parent template is
/// the same course, its academic session the school year).
pub fn offering_to_lis(course: &Record) -> CourseOfferingRecord {
    CourseOfferingRecord {
        sourced_guid: guid(course),
        course_offering: CourseOffering {
            label: opt_text(course.get("courseCode")),
            title: opt_text(course.get("title")),
            parent_template_id: Some(course.sourced_id.clone().into()),
            catalog_description: kept(course, "catalogDescription"),
            status: Some(lis_status(course.status)),
            default_credits: kept(course, "defaultCredits"),
            academic_session: opt_text(course.get("schoolYearSourcedId"))
                .or_else(|| kept(course, "academicSession")),
            org: org_of(course, "orgSourcedId"),
            time_frame: kept::<TimeFrame>(course, "timeFrame").into_iter().collect(),
            enroll_control: kept(course, "enrollControl"),
            data_source: super::kept::text(course, "dataSource"),
            record_info: kept(course, "recordInfo"),
            extension: Some(extension(course, COURSE_STRUCTURAL)),
        },
    }
}

fn guid(rec: &Record) -> SourcedGuid {
    SourcedGuid {
        ref_agent_instance_id: None,
        sourced_id: rec.sourced_id.clone().into(),
    }
}

/// What a course write says about references the service resolves: the org (`org/id`, else
/// the org's name) and, for an offering, its academic session.
#[derive(Debug, Default, Clone)]
pub struct CourseRefs {
    pub org_id: Option<String>,
    pub org_name: Option<String>,
    pub academic_session: Option<String>,
}

fn org_refs(org: &Option<Org>) -> (Option<String>, Option<String>) {
    match org {
        Some(o) => (
            text_of(&o.id),
            text_of(&o.org_name).or_else(|| text_of(&o.org_unit)),
        ),
        None => (None, None),
    }
}

/// A course from a template, over `base` (the stored course, for an update or a replace that
/// keeps what LIS cannot say). The org is left to the service (`CourseRefs`).
pub fn course_from_template(
    id: &str,
    t: &CourseTemplate,
    base: Option<&Record>,
) -> Result<(Record, CourseRefs), Invalid> {
    let mut c = base
        .cloned()
        .unwrap_or_else(|| Record::new(Entity::Courses, id));
    c.sourced_id = id.to_string();
    c.status = Status::Active;
    let title = text_of(&t.title).or_else(|| text_of(&t.label));
    match title {
        Some(x) => {
            c.set("title", x);
        }
        None if c.get("title").is_none() => {
            return Err(invalid("courseTemplate/title", "a course needs a title"))
        }
        None => {}
    }
    if let Some(code) = text_of(&t.course_number).or_else(|| text_of(&t.label)) {
        c.set("courseCode", code);
    }
    store_kept(&mut c, "catalogDescription", &t.catalog_description);
    store_kept(&mut c, "defaultCredits", &t.default_credits);
    store_kept(&mut c, "listofTopics", &t.listof_topics);
    store_kept(&mut c, "listofPrerequisites", &t.listof_prerequisites);
    store_kept(&mut c, "recordInfo", &t.record_info);
    store_kept(&mut c, "org", &t.org);
    super::kept::store_text(&mut c, "dataSource", t.data_source.as_deref());
    apply_extension(&mut c, &t.extension, COURSE_STRUCTURAL, "courseTemplate")?;
    let (org_id, org_name) = org_refs(&t.org);
    Ok((
        c,
        CourseRefs {
            org_id,
            org_name,
            academic_session: None,
        },
    ))
}

/// A course from an offering (option A), over `base` as for templates.
pub fn course_from_offering(
    id: &str,
    o: &CourseOffering,
    base: Option<&Record>,
) -> Result<(Record, CourseRefs), Invalid> {
    let mut c = base
        .cloned()
        .unwrap_or_else(|| Record::new(Entity::Courses, id));
    c.sourced_id = id.to_string();
    c.status = Status::Active;
    match text_of(&o.title).or_else(|| text_of(&o.label)) {
        Some(x) => {
            c.set("title", x);
        }
        None if c.get("title").is_none() => {
            return Err(invalid("courseOffering/title", "a course needs a title"))
        }
        None => {}
    }
    if let Some(code) = text_of(&o.label) {
        c.set("courseCode", code);
    }
    if let Some(parent) = o.parent_template_id.as_deref().map(str::trim) {
        if !parent.is_empty() && parent != id {
            c.metadata
                .insert("lis.parentTemplateId".into(), parent.to_string());
        }
    }
    store_kept(&mut c, "catalogDescription", &o.catalog_description);
    store_kept(&mut c, "defaultCredits", &o.default_credits);
    store_kept(&mut c, "enrollControl", &o.enroll_control);
    store_kept(&mut c, "recordInfo", &o.record_info);
    store_kept(&mut c, "org", &o.org);
    store_kept(&mut c, "timeFrame", &o.time_frame.first().cloned());
    super::kept::store_text(&mut c, "dataSource", o.data_source.as_deref());
    apply_extension(&mut c, &o.extension, COURSE_STRUCTURAL, "courseOffering")?;
    let (org_id, org_name) = org_refs(&o.org);
    Ok((
        c,
        CourseRefs {
            org_id,
            org_name,
            academic_session: text_of(&o.academic_session),
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Course sections: classes.

/// Class fields a section's elements carry.
const CLASS_STRUCTURAL: &[&str] = &[
    "title",
    "classCode",
    "courseSourcedId",
    "schoolSourcedId",
    "location",
    "periods",
];

/// The LIS course section of a class; `term`: its first term (for the time frame).
pub fn section_to_lis(class: &Record, term: Option<&Record>) -> CourseSectionRecord {
    let time_frame = match term {
        Some(t) if t.get("startDate").is_some() || t.get("endDate").is_some() => vec![TimeFrame {
            begin: t.get("startDate").map(|d| super::kept::date_time(d).into()),
            end: t.get("endDate").map(|d| super::kept::date_time(d).into()),
            ..TimeFrame::default()
        }],
        _ => kept::<TimeFrame>(class, "timeFrame").into_iter().collect(),
    };
    CourseSectionRecord {
        sourced_guid: guid(class),
        course_section: CourseSection {
            label: opt_text(class.get("classCode")),
            title: opt_text(class.get("title")),
            parent_offering_id: class.get("courseSourcedId").map(|c| c.to_string().into()),
            catalog_description: kept(class, "catalogDescription"),
            status: Some(lis_status(class.status)),
            default_credits: kept(class, "defaultCredits"),
            category: kept(class, "category"),
            max_numberof_students: super::kept::text(class, "maxNumberofStudents"),
            numberof_students: super::kept::text(class, "numberofStudents"),
            org: org_of(class, "schoolSourcedId"),
            time_frame,
            enroll_control: kept(class, "enrollControl"),
            location: opt_text(class.get("location")),
            notes: kept(class, "notes"),
            meeting: opt_text(class.get("periods")),
            data_source: super::kept::text(class, "dataSource"),
            record_info: kept(class, "recordInfo"),
            extension: Some(extension(class, CLASS_STRUCTURAL)),
        },
    }
}

/// What a section write says about the references the service resolves.
#[derive(Debug, Default, Clone)]
pub struct SectionRefs {
    pub offering: Option<String>,
    pub org_id: Option<String>,
    pub org_name: Option<String>,
    /// The final release's `academicSession` element.
    pub academic_session: Option<String>,
    /// The time frame's `adminPeriod`: Blackboard's bulk files name the term's sourcedId there.
    pub admin_period: Option<String>,
    /// The first time frame's dates.
    pub begin: Option<String>,
    pub end: Option<String>,
}

/// A class from a section, over `base` as for courses. `academic_session`: the final
/// release's element (not in the 2010 schema the types come from), read from the request.
pub fn class_from_section(
    id: &str,
    s: &CourseSection,
    academic_session: Option<String>,
    base: Option<&Record>,
) -> Result<(Record, SectionRefs), Invalid> {
    let mut c = base
        .cloned()
        .unwrap_or_else(|| Record::new(Entity::Classes, id));
    c.sourced_id = id.to_string();
    c.status = Status::Active;
    match text_of(&s.title).or_else(|| text_of(&s.label)) {
        Some(x) => {
            c.set("title", x);
        }
        None if c.get("title").is_none() => {
            return Err(invalid("courseSection/title", "a section needs a title"))
        }
        None => {}
    }
    if let Some(code) = text_of(&s.label) {
        c.set("classCode", code);
    }
    if let Some(l) = text_of(&s.location) {
        c.set("location", l);
    }
    if let Some(m) = text_of(&s.meeting) {
        let periods: Vec<&str> = m
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        c.set("periods", periods.join(","));
    }
    if c.get("classType").is_none() {
        c.set("classType", "scheduled");
    }
    store_kept(&mut c, "catalogDescription", &s.catalog_description);
    store_kept(&mut c, "defaultCredits", &s.default_credits);
    store_kept(&mut c, "category", &s.category);
    store_kept(&mut c, "enrollControl", &s.enroll_control);
    store_kept(&mut c, "notes", &s.notes);
    store_kept(&mut c, "recordInfo", &s.record_info);
    store_kept(&mut c, "org", &s.org);
    store_kept(&mut c, "timeFrame", &s.time_frame.first().cloned());
    super::kept::store_text(
        &mut c,
        "maxNumberofStudents",
        s.max_numberof_students.as_deref(),
    );
    super::kept::store_text(&mut c, "numberofStudents", s.numberof_students.as_deref());
    super::kept::store_text(&mut c, "dataSource", s.data_source.as_deref());
    apply_extension(&mut c, &s.extension, CLASS_STRUCTURAL, "courseSection")?;
    let (org_id, org_name) = org_refs(&s.org);
    let frame = s.time_frame.first();
    Ok((
        c,
        SectionRefs {
            offering: s
                .parent_offering_id
                .as_deref()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty()),
            org_id,
            org_name,
            academic_session,
            admin_period: frame
                .and_then(|f| f.admin_period.as_deref())
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty()),
            begin: frame.and_then(|f| f.begin.as_deref()).and_then(date_of),
            end: frame.and_then(|f| f.end.as_deref()).and_then(date_of),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_round_trips_through_its_section() {
        let mut c = Record::new(Entity::Classes, "k1");
        c.set("title", "Art 1")
            .set("classCode", "ART-1")
            .set("courseSourcedId", "c1")
            .set("schoolSourcedId", "s1")
            .set("classType", "homeroom")
            .set("termSourcedIds", "t1,t2")
            .set("periods", "1,2")
            .set("location", "Room 4");
        c.metadata.insert("color".into(), "blue".into());
        let lis = section_to_lis(&c, None);
        let (back, refs) = class_from_section("k1", &lis.course_section, None, None).expect("maps");
        assert_eq!(refs.offering.as_deref(), Some("c1"));
        assert_eq!(refs.org_id.as_deref(), Some("s1"));
        for f in [
            "title",
            "classCode",
            "classType",
            "termSourcedIds",
            "periods",
            "location",
        ] {
            assert_eq!(back.get(f), c.get(f), "{f}");
        }
        assert_eq!(back.metadata.get("color").map(String::as_str), Some("blue"));
    }

    #[test]
    fn a_course_round_trips_through_its_template_and_offering() {
        let mut c = Record::new(Entity::Courses, "c1");
        c.set("title", "Biology")
            .set("courseCode", "BIO-1")
            .set("orgSourcedId", "d1")
            .set("schoolYearSourcedId", "y2026")
            .set("grades", "09,10");
        let t = template_to_lis(&c);
        let (back, refs) = course_from_template("c1", &t.course_template, None).expect("maps");
        assert_eq!(refs.org_id.as_deref(), Some("d1"));
        for f in ["title", "courseCode", "grades", "schoolYearSourcedId"] {
            assert_eq!(back.get(f), c.get(f), "{f}");
        }
        let o = offering_to_lis(&c);
        assert_eq!(o.course_offering.parent_template_id.as_deref(), Some("c1"));
        let (_, refs) = course_from_offering("c1", &o.course_offering, None).expect("maps");
        assert_eq!(refs.academic_session.as_deref(), Some("y2026"));
        // A field that is not a course field is refused, naming it.
        let mut bad = t.course_template.clone();
        if let Some(e) = bad.extension.as_mut() {
            e.extension_field
                .push(field(format!("{ONEROSTER}colour"), "red"));
        }
        let err = course_from_template("c1", &bad, None).expect_err("refused");
        assert!(err.to_string().contains("oneroster.colour"), "{err}");
    }
}
