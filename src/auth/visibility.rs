//! Per-app data sharing: which records a client restricted to some orgs may see, as SQL
//! conditions ANDed with every read (so no `filter`, sort or by-id path can widen them).
//!
//! A client restricted to orgs O sees, with O* = O and all their descendant orgs:
//! - orgs in O*;
//! - users holding a role (any status) at an org in O*, and their demographics;
//! - classes whose school is in O*, and the enrollments of those classes;
//! - courses owned by an org in O* or taught by a class of O*;
//! - academic sessions used as a term by a class of O*, their parents (school years) and
//!   children (grading periods), and the school years of O*'s courses.
//!
//! Other entities (gradebook, resources) see nothing: no endpoint serves them to restricted
//! clients yet (the gradebook and resources issue gives them their rules).

use diesel::QueryResult;

use crate::model::catalog::Entity;
use crate::store::records::{Arg, Cond};
use crate::store::sql::{Cell, DynRow, Sql};
use crate::store::DbConnection;

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

/// The condition limiting `entity` to what a client restricted to `orgs` (already expanded)
/// may see.
pub fn condition(entity: Entity, orgs: &[String]) -> Cond {
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
        _ => Cond::new("1 = 0", Vec::new()),
    }
}
