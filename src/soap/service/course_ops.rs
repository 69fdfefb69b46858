//! The Course Management Service (LIS.md §4.3–4.5) as [`Kind`]s of the common operations
//! (`ops`): course templates and course offerings are courses (option A: the same record),
//! course sections are classes. One endpoint serves the WSDL's port types; each operation
//! belongs to the kind its name says (`ops::Ports`).
//!
//! A section names its course offering, its org and its term the way an SIS knows them, which
//! need not be records the store has yet (a SOAP-only SIS sends no schools, and sections of
//! terms it sent as groups, or of none). [`resolve_section`] decides, in a documented order
//! (`docs/LIS-MAPPING.md`), which stored records they are, and creates the course, the school
//! or the term when nothing matches, so that the pushes of real SIS land.

use super::ops::{ids_answer, record_of, serve, Kind, Port, Ports, RecordWriter};
use super::*;
use crate::soap::bind::{tag, Tag};
use crate::soap::course::{self, CourseRefs, SectionRefs};
use crate::soap::gen::cms;

// ---------------------------------------------------------------------------------------------
// Shared by the three kinds.

/// The school an org is or belongs to: itself when a school, else the nearest school among its
/// parents.
fn school_of(ctx: &mut Ctx<'_>, org: Record) -> Result<Option<Record>, OpError> {
    let mut org = org;
    for _ in 0..16 {
        if org.get("type") == Some("school") {
            return Ok(Some(org));
        }
        let Some(parent) = org.get("parentSourcedId").map(str::to_string) else {
            return Ok(None);
        };
        match stored(ctx, Entity::Orgs, &parent)? {
            Some(p) => org = p,
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// The org a record's `org` element names: by `id`, else by name.
fn named_org(
    ctx: &mut Ctx<'_>,
    id: Option<&str>,
    name: Option<&str>,
) -> Result<Option<Record>, OpError> {
    if let Some(id) = id {
        if let Some(o) = stored(ctx, Entity::Orgs, id)? {
            return Ok(Some(o));
        }
    }
    if let Some(name) = name {
        let found = select(
            &mut unrestricted(ctx),
            Entity::Orgs,
            vec![Where::Active, Where::Is("name", name.to_string())],
            false,
        )?;
        if found.len() == 1 {
            return Ok(found.into_iter().next());
        }
    }
    Ok(None)
}

/// A new school org for an org element that names none the store has (a SOAP-only SIS sends
/// no schools): its id the element's `id` (else its name), its name the element's name.
fn new_school(id: Option<&str>, name: Option<&str>) -> Option<Record> {
    let sid = id.or(name)?;
    let mut org = Record::new(Entity::Orgs, sid);
    org.set("name", name.unwrap_or(sid)).set("type", "school");
    Some(org)
}

/// The only active school the client sees, if there is exactly one.
pub(super) fn sole_school(ctx: &mut Ctx<'_>) -> Result<Option<Record>, OpError> {
    let mut spec = ReadSpec::new(
        Entity::Orgs,
        ctx.need(),
        vec![Where::Active, Where::Is("type", "school".to_string())],
        2,
    );
    spec.sort = None;
    let page = ctx.roster.read(&spec)?;
    Ok(if page.records.len() == 1 {
        page.records.into_iter().next()
    } else {
        None
    })
}

/// The org of a course write: the org named (or the school it is in), the stored course's,
/// else the only school, else a new school from the element; the records to create first.
fn resolve_course_org(
    ctx: &mut Ctx<'_>,
    course: &mut Record,
    refs: &CourseRefs,
    path: &str,
) -> Result<Vec<Record>, OpError> {
    if let Some(org) = named_org(ctx, refs.org_id.as_deref(), refs.org_name.as_deref())? {
        course.set("orgSourcedId", org.sourced_id);
        return Ok(Vec::new());
    }
    if course.get("orgSourcedId").is_some() {
        return Ok(Vec::new());
    }
    if let Some(s) = sole_school(ctx)? {
        course.set("orgSourcedId", s.sourced_id);
        return Ok(Vec::new());
    }
    match new_school(refs.org_id.as_deref(), refs.org_name.as_deref()) {
        Some(org) => {
            course.set("orgSourcedId", org.sourced_id.clone());
            Ok(vec![org])
        }
        None => Err(status(
            Minor::InvalidData,
            format!("{path}/org: no org is named and the store has no single school to use"),
        )),
    }
}

/// An offering's academic session: the course's school year when it names one; any other
/// value (a term, or a session the store lacks) stays in the course's metadata.
fn resolve_school_year(
    ctx: &mut Ctx<'_>,
    course: &mut Record,
    refs: &CourseRefs,
) -> Result<(), OpError> {
    let Some(s) = &refs.academic_session else {
        return Ok(());
    };
    match stored(ctx, Entity::AcademicSessions, s)? {
        Some(session) if session.get("type") == Some("schoolYear") => {
            course.set("schoolYearSourcedId", s.as_str());
            course.metadata.remove("lis.academicSession");
        }
        _ => {
            course
                .metadata
                .insert("lis.academicSession".into(), s.clone());
        }
    }
    Ok(())
}

/// The references of a section write, resolved in the documented order; the records to create
/// with the class (course, school, term) come first in the answer.
fn resolve_section(
    ctx: &mut Ctx<'_>,
    class: &mut Record,
    refs: &SectionRefs,
) -> Result<Vec<Record>, OpError> {
    let mut created = Vec::new();
    // What the store lacks, all said in one refusal.
    let mut problems: Vec<String> = Vec::new();
    // The school: the org named (or the school it is in), the stored class's, the course's
    // school, the only school, else a new school from the org element.
    let named = named_org(ctx, refs.org_id.as_deref(), refs.org_name.as_deref())?;
    // Said with a refusal below, so one answer names every reference the store lacks.
    let unknown_org = match (&named, &refs.org_id) {
        (None, Some(id)) => format!("; its org '{id}' is no org the store has either"),
        _ => String::new(),
    };
    let mut school = match named {
        Some(o) => school_of(ctx, o)?.map(|s| s.sourced_id),
        None => None,
    };
    if school.is_none() {
        school = class.get("schoolSourcedId").map(str::to_string);
    }
    let offering = match &refs.offering {
        Some(id) => stored(ctx, Entity::Courses, id)?,
        None => None,
    };
    if school.is_none() {
        if let Some(org) = offering.as_ref().and_then(|c| c.get("orgSourcedId")) {
            if let Some(o) = stored(ctx, Entity::Orgs, org)? {
                school = school_of(ctx, o)?.map(|s| s.sourced_id);
            }
        }
    }
    if school.is_none() {
        school = sole_school(ctx)?.map(|s| s.sourced_id);
    }
    let school = match school {
        Some(s) => s,
        None => match new_school(refs.org_id.as_deref(), refs.org_name.as_deref()) {
            Some(org) if stored(ctx, Entity::Orgs, &org.sourced_id)?.is_none() => {
                let id = org.sourced_id.clone();
                created.push(org);
                id
            }
            _ => {
                return Err(status(
                    Minor::InvalidData,
                    "courseSection/org: names no school the store has, and the store has no single school to use",
                ))
            }
        },
    };
    class.set("schoolSourcedId", school.as_str());
    // The course offering: the one named, the stored class's, else a new course of that id.
    match (&refs.offering, offering) {
        (Some(id), Some(_)) => {
            class.set("courseSourcedId", id.as_str());
        }
        (Some(id), None) => {
            let mut c = Record::new(Entity::Courses, id.as_str());
            c.set("title", class.get("title").unwrap_or(id))
                .set("orgSourcedId", school.as_str());
            created.push(c);
            class.set("courseSourcedId", id.as_str());
        }
        (None, _) if class.get("courseSourcedId").is_some() => {}
        (None, _) => problems
            .push("courseSection/parentOfferingId: a new section needs its course offering".into()),
    }
    // The terms: the academic session named (it must exist), a session with the time frame's
    // dates (else a new term of those dates), the stored class's, the course's school year.
    let named = match (&refs.academic_session, &refs.admin_period) {
        (Some(s), _) => Some(("academicSession", s)),
        (None, Some(s)) => Some(("timeFrame/adminPeriod", s)),
        (None, None) => None,
    };
    if let Some((path, s)) = named {
        if stored(ctx, Entity::AcademicSessions, s)?.is_none() {
            problems.push(format!("courseSection/{path}: no academic session '{s}' (send it first, as a Group of type TERM){unknown_org}"));
        }
        class.set("termSourcedIds", s.as_str());
    } else if let (Some(begin), Some(end)) = (&refs.begin, &refs.end) {
        let same = select(
            &mut unrestricted(ctx),
            Entity::AcademicSessions,
            vec![
                Where::Active,
                Where::Is("startDate", begin.clone()),
                Where::Is("endDate", end.clone()),
            ],
            false,
        )?;
        let term = match same
            .into_iter()
            .find(|s| s.get("type") != Some("schoolYear"))
        {
            Some(t) => t.sourced_id,
            None => {
                let id = format!("term-{begin}-{end}");
                if stored(ctx, Entity::AcademicSessions, &id)?.is_none() {
                    let mut t = Record::new(Entity::AcademicSessions, id.as_str());
                    t.set("title", format!("{begin} to {end}"))
                        .set("type", "term")
                        .set("startDate", begin.as_str())
                        .set("endDate", end.as_str())
                        .set("schoolYear", end.get(..4).unwrap_or(""));
                    created.push(t);
                }
                id
            }
        };
        class.set("termSourcedIds", term);
    } else if class.get("termSourcedIds").is_none() {
        let year = match class.get("courseSourcedId").map(str::to_string) {
            Some(c) => stored(ctx, Entity::Courses, &c)?
                .and_then(|c| c.get("schoolYearSourcedId").map(str::to_string)),
            None => None,
        };
        match year {
            Some(y) => {
                class.set("termSourcedIds", y);
            }
            None => problems.push(
                "courseSection: no academicSession, no timeFrame and no school year of its course to take its term from".into(),
            ),
        }
    }
    if !problems.is_empty() {
        return Err(status(Minor::InvalidData, problems.join("; ")));
    }
    Ok(created)
}

/// `deleteCourseSection`, and `updateCourseSectionStatus` to Inactive: the class and its
/// active enrollments become tombstones.
fn delete_class(ctx: &mut Ctx<'_>, op: &str, id: &str) -> Result<(), OpError> {
    let Some(mut class) = by_ids(ctx, Entity::Classes, &[id.to_string()], false)?.pop() else {
        return Err(status(
            Minor::UnknownObject,
            format!("no course section with sourcedId '{id}'"),
        ));
    };
    class.status = RecStatus::ToBeDeleted;
    let mut out = vec![class];
    for mut e in select(
        &mut unrestricted(ctx),
        Entity::Enrollments,
        vec![Where::Active, Where::Is("classSourcedId", id.to_string())],
        false,
    )? {
        e.status = RecStatus::ToBeDeleted;
        out.push(e);
    }
    write_delta(ctx, op, out)
}

/// `deleteCourseOffering` / `deleteCourseTemplate`: refused while active sections remain.
fn delete_course(ctx: &mut Ctx<'_>, op: &str, id: &str) -> Result<(), OpError> {
    let sections = active_ids(
        &mut unrestricted(ctx),
        Entity::Classes,
        vec![Where::Is("courseSourcedId", id.to_string())],
    )?;
    if !sections.is_empty() {
        return Err(status(
            Minor::DeleteFailure,
            format!(
                "course '{id}' still has {} active section(s) ({}); delete them first",
                sections.len(),
                sections
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    tombstone(ctx, op, Entity::Courses, id)
}

/// A tombstoned record written active again (`update…Status` to Active).
fn reactivate(ctx: &mut Ctx<'_>, op: &str, entity: Entity, id: &str) -> Result<(), OpError> {
    let found = by_ids(ctx, entity, &[id.to_string()], true)?;
    let Some(mut rec) = found.into_iter().next() else {
        return Err(status(
            Minor::UnknownObject,
            format!("no {} with sourcedId '{id}'", entity.name()),
        ));
    };
    if rec.status == RecStatus::Active {
        return Ok(());
    }
    rec.status = RecStatus::Active;
    write_delta(ctx, op, vec![rec])
}

/// `update…Status`: `Active` or `Inactive` (any case).
fn update_status(
    ctx: &mut Ctx<'_>,
    op: &str,
    body: &Node,
    entity: Entity,
) -> Result<Reply, OpError> {
    let id = body.child_text("sourcedId").unwrap_or("").to_string();
    let st = body.child_text("status").unwrap_or("");
    match st.to_ascii_lowercase().as_str() {
        "active" => reactivate(ctx, op, entity, &id)?,
        "inactive" if entity == Entity::Classes => delete_class(ctx, op, &id)?,
        "inactive" => delete_course(ctx, op, &id)?,
        _ => {
            return Err(status(
                Minor::InvalidData,
                format!("status '{st}' is not Active or Inactive"),
            ))
        }
    }
    Ok(Reply::with(
        Status::success(format!("{id} is {st}")),
        EmptyBody,
    ))
}

/// `create…From…`: a copy of a record under `newSourcedId`, in another academic session.
fn copy_into_session(
    ctx: &mut Ctx<'_>,
    op: &str,
    body: &Node,
    entity: Entity,
) -> Result<Reply, OpError> {
    let id = body.child_text("sourcedId").unwrap_or("").to_string();
    let new = body.child_text("newSourcedId").unwrap_or("").to_string();
    let session = body.child_text("academicSession").unwrap_or("").to_string();
    if new.is_empty() {
        return Err(status(Minor::InvalidData, "newSourcedId is required"));
    }
    let Some(mut rec) = by_ids(ctx, entity, std::slice::from_ref(&id), false)?.pop() else {
        return Err(status(
            Minor::UnknownObject,
            format!("no {} with sourcedId '{id}'", entity.name()),
        ));
    };
    if !by_ids(
        &mut unrestricted(ctx),
        entity,
        std::slice::from_ref(&new),
        true,
    )?
    .is_empty()
    {
        return Err(status(
            Minor::IdAllocInUseFail,
            format!("sourcedId '{new}' is in use"),
        ));
    }
    rec.sourced_id = new.clone();
    rec.date_last_modified = None;
    if !session.is_empty() {
        if entity == Entity::Classes {
            if stored(ctx, Entity::AcademicSessions, &session)?.is_none() {
                return Err(status(
                    Minor::InvalidData,
                    format!("academicSession: no academic session '{session}'"),
                ));
            }
            rec.set("termSourcedIds", session.as_str());
        } else {
            resolve_school_year(
                ctx,
                &mut rec,
                &CourseRefs {
                    academic_session: Some(session.clone()),
                    ..CourseRefs::default()
                },
            )?;
        }
    }
    write_delta(ctx, op, vec![rec])?;
    Ok(Reply::with(
        Status::success(format!("{id} copied to {new}")),
        EmptyBody,
    ))
}

// ---------------------------------------------------------------------------------------------
// Course templates and offerings: courses.

/// A course write from a template or an offering: the course, and any org it needs first.
fn save_course(
    ctx: &mut Ctx<'_>,
    op: &str,
    id: &str,
    partial: bool,
    map: impl FnOnce(Option<&Record>) -> Result<(Record, CourseRefs), course::Invalid>,
    path: &str,
) -> Result<(), OpError> {
    let existing = stored(ctx, Entity::Courses, id)?;
    let base = if partial { existing.as_ref() } else { None };
    let (mut c, refs) = map(base).map_err(|e| status(Minor::InvalidData, e.to_string()))?;
    if !partial {
        // A replace keeps the references LIS elements cannot carry when none is sent.
        if let (Some(old), None) = (&existing, &refs.org_id) {
            if let Some(org) = old.get("orgSourcedId") {
                c.set("orgSourcedId", org);
            }
        }
    }
    let mut out = resolve_course_org(ctx, &mut c, &refs, path)?;
    resolve_school_year(ctx, &mut c, &refs)?;
    out.push(c);
    write_delta(ctx, op, out)
}

macro_rules! course_kind {
    ($kind:ident, $name:literal, $what:literal, $record:literal, $set:literal, $to_lis:path,
     $rec_ty:ty, $field:ident, $from:path, $path:literal) => {
        pub(super) struct $kind;

        impl Kind for $kind {
            const NAME: &'static str = $name;
            const WHAT: &'static str = $what;
            const RECORD: &'static Tag<'static> = tag!($record);
            const RECORD_NAME: &'static str = $record;
            const RECORD_SET: &'static Tag<'static> = tag!($set);
            const HIGH_WATER: Entity = Entity::Courses;

            fn by_ids(
                ctx: &mut Ctx<'_>,
                ids: &[String],
                tombstones: bool,
            ) -> Result<Vec<Record>, OpError> {
                by_ids(ctx, Entity::Courses, ids, tombstones)
            }
            fn all_ids(ctx: &mut Ctx<'_>) -> Result<Vec<String>, OpError> {
                active_ids(ctx, Entity::Courses, Vec::new())
            }
            fn discover(ctx: &mut Ctx<'_>, query: &str) -> Result<Vec<String>, OpError> {
                discover(ctx, Entity::Courses, query)
            }
            fn changed_since(ctx: &mut Ctx<'_>, from: &str) -> Result<Vec<Record>, OpError> {
                changed(ctx, &[Entity::Courses], from)
            }
            fn writer(_: &mut Ctx<'_>, _: &[Record]) -> Result<RecordWriter, OpError> {
                Ok(Box::new(|c, tag, o| $to_lis(c).write_value(tag, o)))
            }
            fn save(
                ctx: &mut Ctx<'_>,
                op: &str,
                id: &str,
                body: &Node,
                partial: bool,
            ) -> Result<(), OpError> {
                let record: $rec_ty = record_of::<$kind, _>(body)?;
                save_course(
                    ctx,
                    op,
                    id,
                    partial,
                    |base| $from(id, &record.$field, base),
                    $path,
                )
            }
            fn delete(ctx: &mut Ctx<'_>, op: &str, id: &str) -> Result<(), OpError> {
                delete_course(ctx, op, id)
            }
            fn change_id(ctx: &mut Ctx<'_>, op: &str, old: &str, new: &str) -> Result<(), OpError> {
                change_identifier(ctx, op, Entity::Courses, old, new)
            }
            fn special(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Option<Result<Reply, OpError>> {
                course_special(ctx, op, body)
            }
        }
    };
}

course_kind!(
    CourseTemplate,
    "CourseTemplate",
    "course template",
    "courseTemplateRecord",
    "courseTemplateRecordSet",
    course::template_to_lis,
    cms::CourseTemplateRecord,
    course_template,
    course::course_from_template,
    "courseTemplate"
);

course_kind!(
    CourseOffering,
    "CourseOffering",
    "course offering",
    "courseOfferingRecord",
    "courseOfferingRecordSet",
    course::offering_to_lis,
    cms::CourseOfferingRecord,
    course_offering,
    course::course_from_offering,
    "courseOffering"
);

/// The template's and the offering's own operations.
fn course_special(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Option<Result<Reply, OpError>> {
    let id = || body.child_text("sourcedId").unwrap_or("").to_string();
    Some(match op {
        // Option A: a template's one offering is the course itself.
        "readCourseOfferingIdsForCourseTemplate" => {
            let id = id();
            by_ids(ctx, Entity::Courses, std::slice::from_ref(&id), false).and_then(|found| {
                if found.is_empty() {
                    Err(status(
                        Minor::UnknownObject,
                        format!("no course template with sourcedId '{id}'"),
                    ))
                } else {
                    Ok(ids_answer(vec![id], "course offerings"))
                }
            })
        }
        "readCourseSectionIdsForCourseOffering" => active_ids(
            ctx,
            Entity::Classes,
            vec![Where::Is("courseSourcedId", id())],
        )
        .map(|ids| ids_answer(ids, "course sections")),
        // The courses of that school year, and the courses of the classes of that session.
        "readAllActiveCourseOfferingIdsForAcademicSession" => {
            let s = body.child_text("academicSession").unwrap_or("").to_string();
            (|| {
                let mut ids = active_ids(
                    ctx,
                    Entity::Courses,
                    vec![Where::Is("schoolYearSourcedId", s.clone())],
                )?;
                let classes = select(
                    ctx,
                    Entity::Classes,
                    vec![Where::Active, Where::ClassesInTerm(s.clone())],
                    false,
                )?;
                ids.extend(
                    classes
                        .iter()
                        .filter_map(|c| c.get("courseSourcedId").map(str::to_string)),
                );
                ids.sort();
                ids.dedup();
                let visible = by_ids(ctx, Entity::Courses, &ids, false)?;
                let ids = ids_of(&visible);
                Ok(ids_answer(ids, "course offerings"))
            })()
        }
        "updateCourseOfferingStatus" => update_status(ctx, op, body, Entity::Courses),
        "createCourseOfferingFromCourseOffering" => {
            copy_into_session(ctx, op, body, Entity::Courses)
        }
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Course sections: classes.

pub(super) struct CourseSection;

impl Kind for CourseSection {
    const NAME: &'static str = "CourseSection";
    const WHAT: &'static str = "course section";
    const RECORD: &'static Tag<'static> = tag!("courseSectionRecord");
    const RECORD_NAME: &'static str = "courseSectionRecord";
    const RECORD_SET: &'static Tag<'static> = tag!("courseSectionRecordSet");
    const HIGH_WATER: Entity = Entity::Classes;

    fn by_ids(ctx: &mut Ctx<'_>, ids: &[String], tombstones: bool) -> Result<Vec<Record>, OpError> {
        by_ids(ctx, Entity::Classes, ids, tombstones)
    }
    fn all_ids(ctx: &mut Ctx<'_>) -> Result<Vec<String>, OpError> {
        active_ids(ctx, Entity::Classes, Vec::new())
    }
    fn discover(ctx: &mut Ctx<'_>, query: &str) -> Result<Vec<String>, OpError> {
        discover(ctx, Entity::Classes, query)
    }
    fn changed_since(ctx: &mut Ctx<'_>, from: &str) -> Result<Vec<Record>, OpError> {
        changed(ctx, &[Entity::Classes], from)
    }
    /// Each section's time frame is its first term's dates: those terms are read once.
    fn writer(ctx: &mut Ctx<'_>, records: &[Record]) -> Result<RecordWriter, OpError> {
        let mut terms: Vec<String> = records
            .iter()
            .filter_map(|c| c.get("termSourcedIds"))
            .filter_map(|t| crate::model::record::list_items(t).next())
            .map(str::to_string)
            .collect();
        terms.sort();
        terms.dedup();
        let found = by_ids(
            &mut unrestricted(ctx),
            Entity::AcademicSessions,
            &terms,
            true,
        )?;
        let by_id: std::collections::HashMap<String, Record> = found
            .into_iter()
            .map(|t| (t.sourced_id.clone(), t))
            .collect();
        Ok(Box::new(move |c, tag, o| {
            let first = c
                .get("termSourcedIds")
                .and_then(|t| crate::model::record::list_items(t).next())
                .and_then(|t| by_id.get(t));
            course::section_to_lis(c, first).write_value(tag, o)
        }))
    }
    fn save(
        ctx: &mut Ctx<'_>,
        op: &str,
        id: &str,
        body: &Node,
        partial: bool,
    ) -> Result<(), OpError> {
        let record: cms::CourseSectionRecord = record_of::<CourseSection, _>(body)?;
        // The final release's academicSession (not in the 2010 schema): Text or plain.
        let session = body
            .child(&["courseSectionRecord"])
            .and_then(|r| r.child(&["courseSection"]))
            .and_then(|s| s.child(&["academicSession"]))
            .map(|a| {
                a.child_text("textString")
                    .unwrap_or(a.text.trim())
                    .to_string()
            })
            .filter(|s| !s.is_empty());
        let existing = stored(ctx, Entity::Classes, id)?;
        let (mut class, refs) =
            course::class_from_section(id, &record.course_section, session, existing.as_ref())
                .map_err(|e| status(Minor::InvalidData, e.to_string()))?;
        if !partial {
            // A replace sends the whole section: what it leaves out goes, except the
            // references, which the resolution below keeps when nothing else is named.
            if let Some(old) = &existing {
                for f in ["classCode", "location", "periods"] {
                    if old.get(f).is_some() && class.get(f) == old.get(f) {
                        let sent = match f {
                            "classCode" => record.course_section.label.is_some(),
                            "location" => record.course_section.location.is_some(),
                            _ => record.course_section.meeting.is_some(),
                        };
                        if !sent {
                            class.set(f, "");
                        }
                    }
                }
            }
        }
        let mut out = resolve_section(ctx, &mut class, &refs)?;
        out.push(class);
        write_delta(ctx, op, out)
    }
    fn delete(ctx: &mut Ctx<'_>, op: &str, id: &str) -> Result<(), OpError> {
        delete_class(ctx, op, id)
    }
    fn change_id(ctx: &mut Ctx<'_>, op: &str, old: &str, new: &str) -> Result<(), OpError> {
        change_identifier(ctx, op, Entity::Classes, old, new)
    }
    fn special(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Option<Result<Reply, OpError>> {
        Some(match op {
            "updateCourseSectionStatus" => update_status(ctx, op, body, Entity::Classes),
            "createCourseSectionFromCourseSection" => {
                copy_into_session(ctx, op, body, Entity::Classes)
            }
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Dispatch.

/// The kinds' own operations (the rest are the common families).
const TEMPLATE_OWN: &[&str] = &["readCourseOfferingIdsForCourseTemplate"];
const OFFERING_OWN: &[&str] = &[
    "createCourseOfferingFromCourseOffering",
    "readAllActiveCourseOfferingIdsForAcademicSession",
    "readCourseSectionIdsForCourseOffering",
    "updateCourseOfferingStatus",
];
const SECTION_OWN: &[&str] = &[
    "createCourseSectionFromCourseSection",
    "updateCourseSectionStatus",
];

/// The four port types, in the order `course_management` matches them.
const PORTS: &[Port] = &[
    Port {
        name: "CourseTemplate",
        own: TEMPLATE_OWN,
    },
    Port {
        name: "CourseOffering",
        own: OFFERING_OWN,
    },
    Port {
        name: "CourseSection",
        own: SECTION_OWN,
    },
    Port {
        name: "SectionAssociation",
        own: super::association_ops::OWN,
    },
];

static TABLES: std::sync::LazyLock<Ports> =
    std::sync::LazyLock::new(|| Ports::new(cms::OPERATIONS, PORTS));

/// The Course Management Service: each operation to its port's kind.
pub fn course_management(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Reply {
    let t = &*TABLES;
    match t.port_of(op) {
        Some(i @ 0) => serve::<CourseTemplate>(ctx, t.table(i), op, body),
        Some(i @ 1) => serve::<CourseOffering>(ctx, t.table(i), op, body),
        Some(i @ 2) => serve::<CourseSection>(ctx, t.table(i), op, body),
        Some(i @ 3) => {
            serve::<super::association_ops::SectionAssociation>(ctx, t.table(i), op, body)
        }
        _ => Reply::fail(
            Minor::UnsupportedOperation,
            format!("{op} is not a Course Management operation"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation of the CMS WSDL belongs to exactly one port, and each port's table has
    /// the twelve common families (less those the port type lacks) and its own operations.
    #[test]
    fn every_cms_operation_has_a_port() {
        assert_eq!(cms::OPERATIONS.len(), 57);
        for (op, _) in cms::OPERATIONS {
            assert!(TABLES.port_of(op).is_some(), "{op}");
        }
        let count = |i: usize| TABLES.table(i).len();
        assert_eq!(count(0), 13);
        assert_eq!(count(1), 16);
        assert_eq!(count(2), 14);
        assert_eq!(count(3), 14);
        for (table, own) in [
            (TABLES.table(0), TEMPLATE_OWN),
            (TABLES.table(1), OFFERING_OWN),
            (TABLES.table(2), SECTION_OWN),
            (TABLES.table(3), super::super::association_ops::OWN),
        ] {
            let mut none: Vec<&str> = table
                .iter()
                .filter(|(_, f)| f.is_none())
                .map(|(o, _)| *o)
                .collect();
            none.sort();
            let mut own = own.to_vec();
            own.sort();
            assert_eq!(none, own);
        }
    }
}
