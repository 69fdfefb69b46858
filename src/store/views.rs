//! The named conditions every read is built from ([`Where`]): what a route shows (`/schools`
//! are orgs of type school, `/classes/{c}/students` the users enrolled there as students), ids,
//! changes after a savepoint, and per-app data sharing. Only here do they become SQL
//! ([`Where::cond`]: a static template with bound arguments); the layers above name them.
//!
//! **Per-app data sharing** ([`Where::VisibleTo`], a [`Visibility`]): which records a client
//! restricted by its sharing rules may see, ANDed with every read (so no `filter`, sort or by-id
//! path can widen them): what the orgs it shares whole show (below) OR what its class
//! selections show (`class_condition`: the selected classes, their courses, terms, schools,
//! enrollments, enrolled users and the students' agents, gradebook and resources).
//! A client sharing orgs O whole sees, with O* = O and all their descendant orgs:
//! - orgs in O*;
//! - users holding a role (any status) at an org in O*, and their demographics;
//! - classes whose school is in O*, and the enrollments of those classes;
//! - courses owned by an org in O* or taught by a class of O*;
//! - academic sessions used as a term by a class of O*, their parents (school years) and
//!   children (grading periods), and the school years of O*'s courses;
//! - resources linked to a class, a course or a user it can see that way;
//! - line items of classes of O*, their results and categories, and the score scales of O*
//!   or of those classes.
//!
//! Other entities (association rows) see nothing on their own.

use std::sync::Arc;

use diesel::QueryResult;

use crate::model::catalog::Entity;
use crate::store::records::{Arg, Cond};
use crate::store::sql::{Cell, DynRow, Sql};
use crate::store::DbConnection;

/// A condition of a read, by name; all of a read's conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// Active records only (not tombstones).
    Active,
    /// A single-valued catalogue field (1.2 name, or `sourcedId`) equals the value.
    Is(&'static str, String),
    /// The record's id is one of these (none: nothing matches).
    IdIn(Vec<String>),
    /// Changed (our `dateLastModified`) after this store timestamp.
    ChangedAfter(String),
    /// Changed after `after` (at or after it when `inclusive`), or entered `client`'s view
    /// then (`store::ledger`): a restricted app's delta read.
    ChangedOrEntered {
        client: String,
        after: String,
        inclusive: bool,
    },
    /// Users holding this role (active) at some org (`/students`, `/teachers`).
    HasRole(String),
    /// Users holding `role` (active) at `org` (`/schools/{s}/students`).
    HasRoleAt { org: String, role: String },
    /// Users actively enrolled in `class` as `role` (`/classes/{c}/students`).
    EnrolledIn { class: String, role: String },
    /// Classes `user` is actively enrolled in (with `role`, when given).
    ClassesOf { user: String, role: Option<String> },
    /// Classes taught in `term` (their `termSourcedIds` name it).
    ClassesInTerm(String),
    /// Sessions some class of `school` names as a term.
    TermsOfSchool(String),
    /// Resources named by an active row of `link` (class, course or user resources) whose
    /// owner (the class, course or user) is `owner`.
    ResourcesOf { link: Entity, owner: String },
    /// Categories of the active line items of this class.
    CategoriesOfClass(String),
    /// Results whose line item belongs to this class.
    ResultsOfClass(String),
    /// Score scales of this school (their org) or of its classes.
    ScoreScalesOfSchool(String),
    /// What a client restricted by sharing rules may see ([`Visibility`]).
    VisibleTo(Arc<Visibility>),
    /// In this client's sharing ledger (`store::ledger`: what it could see when it was taken
    /// under the rules whose digest is the second value; it is part of the statement's text, so
    /// that counts cached for one rule set are not served for the next). A correlated `EXISTS`
    /// (a probe of the ledger's key per row), not `IN`: SQLite would build the whole list of
    /// the app's ids for every page (7 ms for 40,000 users, against 0.07 ms).
    InLedger(String, String),
    /// The condition does not hold (a record it leaves out, NULLs included).
    Not(Box<Where>),
    /// Users whose family name, given name or e-mail starts with this text (any case), whose
    /// username starts with it, or whose identifier or sourcedId is it: the console's search,
    /// answered from indexes (migration 000011) instead of a scan of every user.
    UserNamed(String),
}

impl Where {
    /// `sourcedId = id`.
    pub fn id(id: impl Into<String>) -> Where {
        Where::Is("sourcedId", id.into())
    }

    /// This condition as SQL over `entity`'s table (aliased `t`).
    pub(crate) fn cond(&self, entity: Entity) -> Cond {
        let one = |v: &String| Arg::One(v.clone());
        match self {
            Where::Active => Cond::active(),
            Where::Is(field, value) => match column(entity, field) {
                Some(c) => Cond::eq(c, value.clone()),
                None => {
                    debug_assert!(false, "{field} is no field of {}", entity.name());
                    Cond::new("1 = 0", Vec::new())
                }
            },
            Where::IdIn(ids) => Cond::new("t.sourced_id IN (?)", vec![Arg::Many(ids.clone())]),
            Where::ChangedAfter(t) => Cond::new("t.date_last_modified > ?", vec![one(t)]),
            Where::ChangedOrEntered {
                client,
                after,
                inclusive,
            } => Cond::new(
                if *inclusive {
                    CHANGED_OR_ENTERED_FROM
                } else {
                    CHANGED_OR_ENTERED_AFTER
                },
                vec![
                    one(after),
                    one(client),
                    Arg::One(entity.name().to_string()),
                    one(after),
                ],
            ),
            Where::HasRole(role) => Cond::new(HAS_ROLE, vec![one(role)]),
            Where::HasRoleAt { org, role } => Cond::new(HAS_ROLE_AT, vec![one(org), one(role)]),
            Where::EnrolledIn { class, role } => {
                Cond::new(ENROLLED_IN, vec![one(class), one(role)])
            }
            Where::ClassesOf { user, role: None } => Cond::new(CLASS_OF_USER, vec![one(user)]),
            Where::ClassesOf {
                user,
                role: Some(role),
            } => Cond::new(CLASS_OF_USER_AS, vec![one(user), one(role)]),
            Where::ClassesInTerm(term) => Cond::new(CLASS_IN_TERM, vec![one(term)]),
            Where::TermsOfSchool(school) => Cond::new(TERM_OF_SCHOOL, vec![one(school)]),
            Where::ResourcesOf { link, owner } => {
                let template = match link {
                    Entity::ClassResources => RESOURCES_OF_CLASS,
                    Entity::CourseResources => RESOURCES_OF_COURSE,
                    Entity::UserResources => RESOURCES_OF_USER,
                    _ => "1 = 0",
                };
                Cond::new(template, vec![one(owner)])
            }
            Where::CategoriesOfClass(class) => Cond::new(CATEGORIES_OF_CLASS, vec![one(class)]),
            Where::ResultsOfClass(class) => Cond::new(RESULTS_OF_CLASS, vec![one(class)]),
            Where::ScoreScalesOfSchool(school) => {
                Cond::new(SCALES_OF_SCHOOL, vec![one(school), one(school)])
            }
            Where::VisibleTo(vis) => vis.condition(entity),
            Where::InLedger(client, rules) => Cond {
                template: format!(
                    "EXISTS (SELECT 1 FROM share_view v WHERE v.client_id = ? \
                     AND v.entity = ? AND v.sourced_id = t.sourced_id) /* rules {} */",
                    rules
                        .chars()
                        .filter(char::is_ascii_hexdigit)
                        .collect::<String>()
                )
                .into(),
                args: vec![one(client), Arg::One(entity.name().to_string())],
            },
            Where::Not(inner) => {
                let c = inner.cond(entity);
                Cond {
                    template: format!("CASE WHEN ({}) THEN 0 ELSE 1 END = 1", c.template).into(),
                    args: c.args,
                }
            }
            Where::UserNamed(text) => {
                let lower = text.to_lowercase();
                let n = lower.chars().count().to_string();
                let upper = prefix_end(&lower);
                let mut args = Vec::new();
                for _ in 0..3 {
                    args.extend([one(&lower), one(&upper), one(&n), one(&lower)]);
                }
                args.extend([one(text), one(&prefix_end(text)), one(text), one(text)]);
                Cond::new(USER_NAMED, args)
            }
        }
    }
}

/// The column of `entity`'s single-valued field `field` (`sourcedId` included).
fn column(entity: Entity, field: &str) -> Option<&'static str> {
    if field == "sourcedId" {
        return Some("sourced_id");
    }
    entity
        .fields()
        .iter()
        .find(|f| f.name == field && !f.kind.is_list())
        .map(|f| f.column)
}

// The route views' subqueries. Each is an `IN (subquery)`, not a correlated `EXISTS`: SQLite
// starts from the (small) parent side instead of probing every row of `t`.
/// The console's user search (see [`Where::UserNamed`]): each prefix is a range on an
/// expression index, rechecked exactly.
const USER_NAMED: &str = "(LOWER(t.family_name) >= ? AND LOWER(t.family_name) < ? \
     AND SUBSTR(LOWER(t.family_name), 1, CAST(? AS INTEGER)) = ?) \
     OR (LOWER(t.given_name) >= ? AND LOWER(t.given_name) < ? \
     AND SUBSTR(LOWER(t.given_name), 1, CAST(? AS INTEGER)) = ?) \
     OR (LOWER(t.email) >= ? AND LOWER(t.email) < ? \
     AND SUBSTR(LOWER(t.email), 1, CAST(? AS INTEGER)) = ?) \
     OR (t.username >= ? AND t.username < ?) OR t.identifier = ? OR t.sourced_id = ?";

/// The smallest text after every text starting with `prefix`: its last character moved one
/// code point on (a prefix ending in the last code point is dropped from the end instead).
fn prefix_end(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1) {
            chars.push(next);
            return chars.into_iter().collect();
        }
    }
    // Empty (or all last code points): nothing is after every text; an upper bound no text
    // reaches from below would be needed, and the caller never searches for the empty text.
    "\u{10FFFF}".to_string()
}

const CHANGED_OR_ENTERED_AFTER: &str = "t.date_last_modified > ? OR t.sourced_id IN \
     (SELECT v.sourced_id FROM share_view v WHERE v.client_id = ? AND v.entity = ? \
     AND v.entered_at > ?)";
const CHANGED_OR_ENTERED_FROM: &str = "t.date_last_modified >= ? OR t.sourced_id IN \
     (SELECT v.sourced_id FROM share_view v WHERE v.client_id = ? AND v.entity = ? \
     AND v.entered_at >= ?)";
const HAS_ROLE: &str = "t.sourced_id IN (SELECT r.user_sourced_id FROM user_roles r \
     WHERE r.role = ? AND r.status = 'active')";
const HAS_ROLE_AT: &str = "t.sourced_id IN (SELECT r.user_sourced_id FROM user_roles r \
     WHERE r.org_sourced_id = ? AND r.role = ? AND r.status = 'active')";
const ENROLLED_IN: &str = "t.sourced_id IN (SELECT e.user_sourced_id FROM enrollments e \
     WHERE e.class_sourced_id = ? AND e.role = ? AND e.status = 'active')";
const CLASS_OF_USER: &str = "t.sourced_id IN (SELECT e.class_sourced_id FROM enrollments e \
     WHERE e.user_sourced_id = ? AND e.status = 'active')";
const CLASS_OF_USER_AS: &str = "t.sourced_id IN (SELECT e.class_sourced_id FROM enrollments e \
     WHERE e.user_sourced_id = ? AND e.role = ? AND e.status = 'active')";
const CLASS_IN_TERM: &str = "t.sourced_id IN (SELECT lv.owner FROM list_values lv \
     WHERE lv.entity = 'classes' AND lv.field = 'termSourcedIds' AND lv.value = ?)";
const RESOURCES_OF_CLASS: &str = "t.sourced_id IN (SELECT l.resource_sourced_id \
     FROM class_resources l WHERE l.class_sourced_id = ? AND l.status = 'active')";
const RESOURCES_OF_COURSE: &str = "t.sourced_id IN (SELECT l.resource_sourced_id \
     FROM course_resources l WHERE l.course_sourced_id = ? AND l.status = 'active')";
const RESOURCES_OF_USER: &str = "t.sourced_id IN (SELECT l.resource_sourced_id \
     FROM user_resources l WHERE l.user_sourced_id = ? AND l.status = 'active')";
const CATEGORIES_OF_CLASS: &str = "t.sourced_id IN (SELECT li.category_sourced_id \
     FROM line_items li WHERE li.class_sourced_id = ? AND li.status = 'active')";
const RESULTS_OF_CLASS: &str = "t.line_item_sourced_id IN (SELECT li.sourced_id \
     FROM line_items li WHERE li.class_sourced_id = ?)";
const SCALES_OF_SCHOOL: &str = "t.org_sourced_id = ? OR t.class_sourced_id IN \
     (SELECT c.sourced_id FROM classes c WHERE c.school_sourced_id = ?)";
const TERM_OF_SCHOOL: &str = "t.sourced_id IN (SELECT lv.value FROM classes c JOIN list_values lv \
     ON lv.entity = 'classes' AND lv.field = 'termSourcedIds' AND lv.owner = c.sourced_id \
     WHERE c.school_sourced_id = ?)";

/// `orgs` and every org below them (through `parentSourcedId`, any depth), never climbing: an
/// org that is an ancestor of one of `orgs` (possible only through a cycle, which the importer
/// refuses, `org-cycle`) is not taken, nor anything reached through it.
pub fn expand_orgs(conn: &mut DbConnection, orgs: &[String]) -> QueryResult<Vec<String>> {
    let mut q = Sql::new(conn);
    q.push("WITH RECURSIVE up(id) AS (SELECT parent_sourced_id FROM orgs WHERE sourced_id IN ");
    q.bind_list(orgs.iter().map(String::as_str));
    q.push(
        " UNION SELECT o.parent_sourced_id FROM orgs o JOIN up ON o.sourced_id = up.id), \
         sub(id) AS (SELECT sourced_id FROM orgs WHERE sourced_id IN ",
    );
    q.bind_list(orgs.iter().map(String::as_str));
    q.push(
        " UNION SELECT o.sourced_id FROM orgs o JOIN sub ON o.parent_sourced_id = sub.id \
         WHERE o.sourced_id NOT IN (SELECT id FROM up WHERE id IS NOT NULL)) \
         SELECT id AS t0 FROM sub ORDER BY id",
    );
    let rows: Vec<DynRow> = q.load(conn)?;
    let mut out: Vec<String> = rows
        .into_iter()
        .filter_map(|r| r.0.first().and_then(Cell::text).map(str::to_string))
        .collect();
    // Orgs not (yet) in the store still restrict to themselves.
    out.extend(orgs.iter().cloned());
    out.sort();
    out.dedup();
    Ok(out)
}

const ENROLLMENT_AT: &str = "t.class_sourced_id IN (SELECT vk.sourced_id FROM classes vk \
     WHERE vk.school_sourced_id IN (?))";
const USER_AT: &str = "t.sourced_id IN (SELECT vr.user_sourced_id FROM user_roles vr \
     WHERE vr.org_sourced_id IN (?))";
const COURSE_AT: &str = "t.org_sourced_id IN (?) OR t.sourced_id IN (SELECT vc.course_sourced_id \
     FROM classes vc WHERE vc.school_sourced_id IN (?))";
const SESSION_AT: &str = "EXISTS (SELECT 1 FROM list_values vl JOIN classes vc ON vc.sourced_id = vl.owner \
     WHERE vl.entity = 'classes' AND vl.field = 'termSourcedIds' AND vc.school_sourced_id IN (?) \
     AND (vl.value = t.sourced_id OR vl.value = t.parent_sourced_id OR EXISTS (SELECT 1 FROM \
     academic_sessions vs WHERE vs.sourced_id = vl.value AND vs.parent_sourced_id = t.sourced_id))) \
     OR EXISTS (SELECT 1 FROM courses vo WHERE vo.school_year_sourced_id = t.sourced_id \
     AND vo.org_sourced_id IN (?))";

/// Resources linked (actively) to a class of their schools, a course owned by or taught at
/// them, or a user holding a role at them.
const RESOURCE_AT: &str = "t.sourced_id IN (SELECT l.resource_sourced_id FROM class_resources l \
     JOIN classes c ON c.sourced_id = l.class_sourced_id WHERE l.status = 'active' \
     AND c.school_sourced_id IN (?)) \
     OR t.sourced_id IN (SELECT l.resource_sourced_id FROM course_resources l \
     WHERE l.status = 'active' AND (l.course_sourced_id IN (SELECT o.sourced_id FROM courses o \
     WHERE o.org_sourced_id IN (?)) OR l.course_sourced_id IN (SELECT c.course_sourced_id \
     FROM classes c WHERE c.school_sourced_id IN (?)))) \
     OR t.sourced_id IN (SELECT l.resource_sourced_id FROM user_resources l \
     JOIN user_roles r ON r.user_sourced_id = l.user_sourced_id WHERE l.status = 'active' \
     AND r.org_sourced_id IN (?))";

/// Gradebook: line items (and assessment line items) of classes at their schools, those line
/// items' results and categories, score scales of their orgs or of those classes.
const LINE_ITEM_AT: &str = "t.class_sourced_id IN (SELECT c.sourced_id FROM classes c \
     WHERE c.school_sourced_id IN (?))";
const RESULT_AT: &str = "t.line_item_sourced_id IN (SELECT li.sourced_id FROM line_items li \
     JOIN classes c ON c.sourced_id = li.class_sourced_id WHERE c.school_sourced_id IN (?))";
const CATEGORY_AT: &str = "t.sourced_id IN (SELECT li.category_sourced_id FROM line_items li \
     JOIN classes c ON c.sourced_id = li.class_sourced_id WHERE c.school_sourced_id IN (?))";
/// Assessment line items: as line items (by their class); their results likewise.
const ASSESSMENT_RESULT_AT: &str = "t.assessment_line_item_sourced_id IN (SELECT a.sourced_id \
     FROM assessment_line_items a JOIN classes c ON c.sourced_id = a.class_sourced_id \
     WHERE c.school_sourced_id IN (?))";
const SCALE_AT: &str = "t.org_sourced_id IN (?) OR t.class_sourced_id IN (SELECT c.sourced_id \
     FROM classes c WHERE c.school_sourced_id IN (?))";

/// What a client restricted by its sharing rules in force may see (`model::sharing`): orgs
/// shared whole, and classes selected by rules with a class part. Built by `roster::Caller`
/// with every org expanded ([`expand_orgs`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visibility {
    /// Orgs shared whole, with every org below them.
    pub orgs: Vec<String>,
    /// The class-selecting rules (OR-ed).
    pub classes: Vec<ClassSel>,
}

/// One rule's class selection: every non-empty part must hold (values OR-ed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassSel {
    /// The class's school is one of these (the rule's orgs, expanded).
    pub schools: Vec<String>,
    pub courses: Vec<String>,
    pub classes: Vec<String>,
    /// One of the class's grades, or of its course's when the class lists none.
    pub grades: Vec<String>,
    pub class_types: Vec<String>,
}

impl Visibility {
    /// The condition limiting `entity` to what the client may see: the whole-org part and the
    /// class part, OR-ed (nothing when both are empty).
    fn condition(&self, entity: Entity) -> Cond {
        let mut parts = Vec::new();
        if !self.orgs.is_empty() {
            parts.push(condition(entity, &self.orgs));
        }
        if !self.classes.is_empty() {
            parts.push(class_condition(entity, &self.classes));
        }
        match parts.len() {
            0 => Cond::new("1 = 0", Vec::new()),
            1 => parts.remove(0),
            _ => {
                let mut template = String::new();
                let mut args = Vec::new();
                for (i, p) in parts.into_iter().enumerate() {
                    if i > 0 {
                        template.push_str(" OR ");
                    }
                    template.push('(');
                    template.push_str(&p.template);
                    template.push(')');
                    args.extend(p.args);
                }
                Cond {
                    template: template.into(),
                    args,
                }
            }
        }
    }
}

/// The ids of the classes `sels` select: a subquery over `classes vk`.
fn selected_classes(sels: &[ClassSel]) -> (String, Vec<Arg>) {
    let mut sql = String::from("SELECT vk.sourced_id FROM classes vk WHERE ");
    let mut args = Vec::new();
    for (i, sel) in sels.iter().enumerate() {
        if i > 0 {
            sql.push_str(" OR ");
        }
        let mut parts: Vec<&str> = Vec::new();
        for (values, part) in [
            (&sel.schools, "vk.school_sourced_id IN (?)"),
            (&sel.courses, "vk.course_sourced_id IN (?)"),
            (&sel.classes, "vk.sourced_id IN (?)"),
            (&sel.class_types, "vk.class_type IN (?)"),
        ] {
            if !values.is_empty() {
                parts.push(part);
                args.push(Arg::Many(values.clone()));
            }
        }
        if !sel.grades.is_empty() {
            parts.push(GRADES_OF_CLASS);
            args.push(Arg::Many(sel.grades.clone()));
            args.push(Arg::Many(sel.grades.clone()));
        }
        if parts.is_empty() {
            parts.push("1 = 1");
        }
        sql.push('(');
        sql.push_str(&parts.join(" AND "));
        sql.push(')');
    }
    (sql, args)
}

/// A class's grades meet the rule's, or its course's do when the class lists none.
const GRADES_OF_CLASS: &str = "(EXISTS (SELECT 1 FROM list_values vg WHERE vg.entity = 'classes'      AND vg.field = 'grades' AND vg.owner = vk.sourced_id AND vg.value IN (?))      OR (NOT EXISTS (SELECT 1 FROM list_values vg WHERE vg.entity = 'classes'      AND vg.field = 'grades' AND vg.owner = vk.sourced_id)      AND EXISTS (SELECT 1 FROM list_values vg WHERE vg.entity = 'courses'      AND vg.field = 'grades' AND vg.owner = vk.course_sourced_id AND vg.value IN (?))))";

// What a class selection shares; `{VC}` stands for the selected classes' subquery.
const SEL_CLASS: &str = "t.sourced_id IN ({VC})";
const SEL_BY_CLASS: &str = "t.class_sourced_id IN ({VC})";
const SEL_COURSE: &str = "t.sourced_id IN (SELECT vc.course_sourced_id FROM classes vc      WHERE vc.sourced_id IN ({VC}))";
const SEL_ORG: &str = "t.sourced_id IN (SELECT vc.school_sourced_id FROM classes vc      WHERE vc.sourced_id IN ({VC}))";
const SEL_SESSION: &str = "EXISTS (SELECT 1 FROM list_values vl WHERE vl.entity = 'classes'      AND vl.field = 'termSourcedIds' AND vl.owner IN ({VC}) AND (vl.value = t.sourced_id      OR vl.value = t.parent_sourced_id OR EXISTS (SELECT 1 FROM academic_sessions vs      WHERE vs.sourced_id = vl.value AND vs.parent_sourced_id = t.sourced_id)))";
/// Users actively enrolled in a selected class, and the agents of those enrolled as students.
const SEL_USER: &str = "t.sourced_id IN (SELECT ve.user_sourced_id FROM enrollments ve      WHERE ve.status = 'active' AND ve.class_sourced_id IN ({VC}))      OR t.sourced_id IN (SELECT va.value FROM list_values va WHERE va.entity = 'users'      AND va.field = 'agentSourcedIds' AND va.owner IN (SELECT ve.user_sourced_id      FROM enrollments ve WHERE ve.status = 'active' AND ve.role = 'student'      AND ve.class_sourced_id IN ({VC})))";
/// Role rows of enrolled users at the selected classes' schools.
const SEL_ROLE: &str = "t.org_sourced_id IN (SELECT vc.school_sourced_id FROM classes vc      WHERE vc.sourced_id IN ({VC})) AND t.user_sourced_id IN (SELECT ve.user_sourced_id      FROM enrollments ve WHERE ve.status = 'active' AND ve.class_sourced_id IN ({VC}))";
const SEL_RESOURCE: &str = "t.sourced_id IN (SELECT l.resource_sourced_id FROM class_resources l      WHERE l.status = 'active' AND l.class_sourced_id IN ({VC}))      OR t.sourced_id IN (SELECT l.resource_sourced_id FROM course_resources l      WHERE l.status = 'active' AND l.course_sourced_id IN (SELECT vc.course_sourced_id      FROM classes vc WHERE vc.sourced_id IN ({VC})))      OR t.sourced_id IN (SELECT l.resource_sourced_id FROM user_resources l      WHERE l.status = 'active' AND l.user_sourced_id IN (SELECT ve.user_sourced_id      FROM enrollments ve WHERE ve.status = 'active' AND ve.class_sourced_id IN ({VC})))";
const SEL_RESULT: &str = "t.line_item_sourced_id IN (SELECT li.sourced_id FROM line_items li      WHERE li.class_sourced_id IN ({VC}))";
const SEL_CATEGORY: &str = "t.sourced_id IN (SELECT li.category_sourced_id FROM line_items li      WHERE li.class_sourced_id IN ({VC}))";
const SEL_ASSESSMENT_RESULT: &str = "t.assessment_line_item_sourced_id IN (SELECT a.sourced_id      FROM assessment_line_items a WHERE a.class_sourced_id IN ({VC}))";

/// The condition limiting `entity` to what the class selections `sels` share.
fn class_condition(entity: Entity, sels: &[ClassSel]) -> Cond {
    let template = match entity {
        Entity::Classes => SEL_CLASS,
        Entity::Enrollments
        | Entity::LineItems
        | Entity::AssessmentLineItems
        | Entity::ScoreScales => SEL_BY_CLASS,
        Entity::Courses => SEL_COURSE,
        Entity::Orgs => SEL_ORG,
        Entity::AcademicSessions => SEL_SESSION,
        Entity::Users | Entity::Demographics => SEL_USER,
        Entity::Roles => SEL_ROLE,
        Entity::Resources => SEL_RESOURCE,
        Entity::Results => SEL_RESULT,
        Entity::Categories => SEL_CATEGORY,
        Entity::AssessmentResults => SEL_ASSESSMENT_RESULT,
        _ => return Cond::new("1 = 0", Vec::new()),
    };
    let (vc, vc_args) = selected_classes(sels);
    let times = template.matches("{VC}").count();
    Cond {
        template: template.replace("{VC}", &vc).into(),
        args: (0..times).flat_map(|_| vc_args.iter().cloned()).collect(),
    }
}

/// The condition limiting `entity` to what a client sharing `orgs` (already expanded) whole
/// may see.
fn condition(entity: Entity, orgs: &[String]) -> Cond {
    let set = || Arg::Many(orgs.to_vec());
    match entity {
        Entity::Orgs => Cond::new("t.sourced_id IN (?)", vec![set()]),
        // A user's role at an org (LIS group memberships): the org must be visible.
        Entity::Roles => Cond::new("t.org_sourced_id IN (?)", vec![set()]),
        Entity::Users | Entity::Demographics => Cond::new(USER_AT, vec![set()]),
        Entity::Classes => Cond::new("t.school_sourced_id IN (?)", vec![set()]),
        // By the class's school, not the enrollment's own column (which the importer holds
        // equal to it, but a record must never be seen through a column it sets itself).
        Entity::Enrollments => Cond::new(ENROLLMENT_AT, vec![set()]),
        Entity::Courses => Cond::new(COURSE_AT, vec![set(), set()]),
        Entity::AcademicSessions => Cond::new(SESSION_AT, vec![set(), set()]),
        Entity::Resources => Cond::new(RESOURCE_AT, vec![set(), set(), set(), set()]),
        Entity::LineItems => Cond::new(LINE_ITEM_AT, vec![set()]),
        Entity::Results => Cond::new(RESULT_AT, vec![set()]),
        Entity::Categories => Cond::new(CATEGORY_AT, vec![set()]),
        Entity::ScoreScales => Cond::new(SCALE_AT, vec![set(), set()]),
        Entity::AssessmentLineItems => Cond::new(LINE_ITEM_AT, vec![set()]),
        Entity::AssessmentResults => Cond::new(ASSESSMENT_RESULT_AT, vec![set()]),
        _ => Cond::new("1 = 0", Vec::new()),
    }
}
