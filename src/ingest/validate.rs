//! The validation pass: reads every declared file once, checks headers, cells, id uniqueness,
//! references (bulk rows against the package, delta rows against package plus store),
//! reference types and role rules. Memory holds only id hashes and a few small maps.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::diag::Diags;
use super::input::{FileRows, Input, Row};
use super::manifest::{Manifest, Mode};
use super::{bar, ImportError, PlannedFile};
use crate::model::catalog::{Entity, Target};
use crate::model::record::{id_hash, IdMap, IdSet, Status, Value};
use crate::store::{records, DbConnection};

/// What validation learnt, reused by the apply pass.
#[derive(Debug, Default)]
pub(crate) struct Known {
    pub ids: HashMap<Entity, IdSet>,
    pub org_types: HashMap<String, String>,
    pub session_types: HashMap<String, String>,
    pub rows: BTreeMap<Entity, u64>,
}

struct PendingRef {
    file: String,
    line: u64,
    column: &'static str,
    target: Entity,
    id: String,
}

impl PendingRef {
    fn error(&self, diags: &mut Diags, message: String) {
        diags.error(&self.file, self.line, self.column, "reference", message);
    }

    fn not_in_package(&self, diags: &mut Diags) {
        self.error(
            diags,
            format!("'{}' is not in {}.csv", self.id, self.target.name()),
        );
    }
}

/// (entity, column, required target type, or a forbidden type when `false`).
const TYPE_RULES: &[(Entity, &str, &str, bool)] = &[
    (Entity::Classes, "schoolSourcedId", "school", true),
    (Entity::Enrollments, "schoolSourcedId", "school", true),
    (Entity::LineItems, "schoolSourcedId", "school", true),
    (Entity::Courses, "schoolYearSourcedId", "schoolYear", true),
    (
        Entity::LineItems,
        "academicSessionSourcedId",
        "schoolYear",
        false,
    ),
];

pub(crate) fn validate(
    conn: &mut DbConnection,
    input: &mut Input,
    manifest: &Manifest,
    files: &[PlannedFile],
    diags: &mut Diags,
    opts: &super::ImportOptions,
) -> Result<Known, ImportError> {
    let progress = opts.progress;
    let mut known = Known::default();
    let mut pending: Vec<PendingRef> = Vec::new();
    // userProfile id → its user, for "a role's profile belongs to the same user".
    let mut profile_user: IdMap<u128> = IdMap::default();
    // Bulk users' primaryOrgSourcedId, checked against the bulk roles file once it is read.
    let mut primary_orgs: Vec<(u128, u64, String)> = Vec::new();
    // (user, org) pairs of the roles file, when it is bulk and without errors.
    let mut role_pairs: Option<IdSet> = None;
    let pair = |user: &str, org: &str| id_hash(&format!("{user}\u{1f}{org}"));
    // The package's orgs (id, parent, line, active), for the cycle rule.
    let mut org_rows: Vec<(String, Option<String>, u64, bool)> = Vec::new();
    let mut orgs_file: Option<(String, Mode)> = None;
    // The package's classes: id → (school, active), for the enrollment rules.
    let mut class_school: IdMap<(u128, bool)> = IdMap::default();
    // Enrollments whose class is not in the package, checked against the store.
    let mut store_classes: Vec<EnrollmentClass> = Vec::new();
    for pf in files {
        let errors_before = diags.errors;
        let mut ids = IdSet::default();
        let mut self_refs: Vec<PendingRef> = Vec::new();
        // (user, org) → (primary count, first line), for the roles rule.
        let mut primaries: IdMap<(u32, u64)> = IdMap::default();
        let Some((mut rows, parser)) = FileRows::open(input, pf, manifest.version, diags)? else {
            continue;
        };
        let refcols: Vec<_> = parser.reference_columns().collect();
        let pb = bar(progress, 0, format!("validating {}", pf.name));
        let mut n: u64 = 0;
        while let Some(row) = rows.next(&parser, pf.mode, diags) {
            n += 1;
            if n % 8192 == 0 {
                pb.set_position(n);
                opts.count_rows(8192);
            }
            let (line, parsed) = match row {
                Row::Parsed(line, parsed) => (line, parsed),
                Row::Refused(held) => {
                    for id in held {
                        ids.insert(id_hash(&id));
                    }
                    continue;
                }
            };
            let rec = &parsed.record;
            if !ids.insert(id_hash(&rec.sourced_id)) {
                diags.error(
                    &pf.name,
                    line,
                    "sourcedId",
                    "duplicate-id",
                    format!("'{}' appears more than once in this file", rec.sourced_id),
                );
            }
            for (column, target, slot) in &refcols {
                // Iterated in place (collecting them cost 10 % of the validation pass).
                let field = match slot {
                    Target::Field(i) => rec.values.get(*i).and_then(Value::as_str),
                    Target::V11OrgSourcedIds | Target::V11Role => None,
                };
                let v11_orgs: &[String] = if *slot == Target::V11OrgSourcedIds {
                    &parsed.v11_orgs
                } else {
                    &[]
                };
                let values = field
                    .into_iter()
                    .flat_map(|s| s.split(','))
                    .chain(v11_orgs.iter().map(String::as_str));
                if *slot == Target::V11OrgSourcedIds {
                    let distinct: HashSet<&String> = v11_orgs.iter().collect();
                    if distinct.len() != v11_orgs.len() {
                        diags.error(
                            &pf.name,
                            line,
                            column,
                            "duplicate-list-item",
                            "an org appears twice",
                        );
                    }
                }
                for id in values {
                    // The common case, found in the package: no allocation.
                    if *target != pf.entity
                        && known
                            .ids
                            .get(target)
                            .is_some_and(|s| s.contains(&id_hash(id)))
                    {
                        continue;
                    }
                    let p = PendingRef {
                        file: pf.name.clone(),
                        line,
                        column,
                        target: *target,
                        id: id.to_string(),
                    };
                    if *target == pf.entity {
                        self_refs.push(p);
                        continue;
                    }
                    check_ref(manifest, pf.mode, &known, p, diags, &mut pending);
                }
            }
            match pf.entity {
                Entity::Classes => {
                    class_school.insert(
                        id_hash(&rec.sourced_id),
                        (
                            id_hash(rec.get("schoolSourcedId").unwrap_or("")),
                            rec.status == Status::Active,
                        ),
                    );
                }
                Entity::Enrollments => {
                    let e = EnrollmentClass {
                        file: pf.name.clone(),
                        line,
                        class: rec.get("classSourcedId").unwrap_or("").to_string(),
                        school: rec.get("schoolSourcedId").unwrap_or("").to_string(),
                        active: rec.status == Status::Active,
                    };
                    match class_school.get(&id_hash(&e.class)) {
                        Some(&(school, active)) => {
                            if school != id_hash(&e.school) {
                                e.wrong_school(diags, None);
                            }
                            if e.active && !active {
                                e.class_deleted(diags);
                            }
                        }
                        None => store_classes.push(e),
                    }
                }
                Entity::Orgs => {
                    orgs_file.get_or_insert((pf.name.clone(), pf.mode));
                    org_rows.push((
                        rec.sourced_id.clone(),
                        rec.get("parentSourcedId").map(str::to_string),
                        line,
                        rec.status == Status::Active,
                    ));
                    if let Some(t) = rec.get("type") {
                        known
                            .org_types
                            .insert(rec.sourced_id.clone(), t.to_string());
                    }
                }
                Entity::AcademicSessions => {
                    if let Some(t) = rec.get("type") {
                        known
                            .session_types
                            .insert(rec.sourced_id.clone(), t.to_string());
                    }
                }
                Entity::Roles if rec.status == Status::Active => {
                    let user = rec.get("userSourcedId").unwrap_or("");
                    let key = pair(user, rec.get("orgSourcedId").unwrap_or(""));
                    let e = primaries.entry(key).or_insert((0, line));
                    if rec.get("roleType") == Some("primary") {
                        e.0 += 1;
                    }
                    if let Some(profile) = rec.get("userProfileSourcedId") {
                        let owner = profile_user.get(&id_hash(profile));
                        if owner.is_some_and(|o| *o != id_hash(user)) {
                            diags.error(
                                &pf.name,
                                line,
                                "userProfileSourcedId",
                                "profile-user",
                                format!("'{profile}' is a profile of another user"),
                            );
                        }
                    }
                }
                Entity::UserProfiles => {
                    profile_user.insert(
                        id_hash(&rec.sourced_id),
                        id_hash(rec.get("userSourcedId").unwrap_or("")),
                    );
                }
                Entity::Users if pf.mode == Mode::Bulk && rec.status == Status::Active => {
                    if let Some(org) = rec.get("primaryOrgSourcedId") {
                        primary_orgs.push((pair(&rec.sourced_id, org), line, org.to_string()));
                    }
                }
                Entity::LineItems => {
                    let num = |f: &str| {
                        rec.entity
                            .field_index(f)
                            .and_then(|i| match rec.values.get(i) {
                                Some(Value::Float(x)) => Some(*x),
                                _ => None,
                            })
                    };
                    if let (Some(lo), Some(hi)) = (num("resultValueMin"), num("resultValueMax")) {
                        if lo > hi {
                            diags.error(
                                &pf.name,
                                line,
                                "resultValueMax",
                                "value-range",
                                format!("resultValueMin {lo} > resultValueMax {hi}"),
                            );
                        }
                    }
                }
                _ => {}
            }
            for (entity, column, ty, must) in TYPE_RULES {
                if *entity != pf.entity {
                    continue;
                }
                let Some(target) = rec.get(column) else {
                    continue;
                };
                let types = if *column == "schoolSourcedId" {
                    &known.org_types
                } else {
                    &known.session_types
                };
                if let Some(actual) = types.get(target) {
                    if (actual == ty) != *must {
                        let want = if *must {
                            format!("must be of type {ty}")
                        } else {
                            format!("must not be of type {ty}")
                        };
                        diags.error(
                            &pf.name,
                            line,
                            column,
                            "reference-type",
                            format!("'{target}' is a {actual}; the reference {want}"),
                        );
                    }
                }
            }
        }
        pb.finish_and_clear();
        for p in self_refs {
            if !ids.contains(&id_hash(&p.id)) {
                if pf.mode == Mode::Delta {
                    pending.push(p);
                } else {
                    p.not_in_package(diags);
                }
            }
        }
        let primaries_keys: IdSet = primaries.keys().copied().collect();
        for (_, (count, line)) in primaries {
            let bad = if pf.mode == Mode::Bulk {
                count != 1
            } else {
                count > 1
            };
            if bad {
                diags.error(
                    &pf.name,
                    line,
                    "roleType",
                    "primary-role",
                    format!("{count} primary roles for one (user, org); exactly one is required"),
                );
            }
        }
        if n == 0 {
            diags.error(&pf.name, 0, "", "empty-file", format!(
                "declared {} in manifest.csv but has no data rows (declare it absent; an empty bulk file would delete every record)",
                pf.mode.as_str()
            ));
        }
        if pf.entity == Entity::Roles && pf.mode == Mode::Bulk && diags.errors == errors_before {
            role_pairs = Some(primaries_keys);
        }
        known.rows.insert(pf.entity, n);
        known.ids.insert(pf.entity, ids);
    }
    if let (Some(pairs), Some(users)) = (
        &role_pairs,
        files.iter().find(|f| f.entity == Entity::Users),
    ) {
        for (key, line, org) in &primary_orgs {
            if !pairs.contains(key) {
                diags.error(
                    &users.name,
                    *line,
                    "primaryOrgSourcedId",
                    "primary-org",
                    format!("'{org}' is not backed by a roles.csv row for this user"),
                );
            }
        }
    }
    resolve_in_store(conn, pending, diags)?;
    if let Some((file, mode)) = orgs_file {
        check_org_cycles(conn, &file, mode, &org_rows, diags)?;
    }
    check_store_classes(conn, store_classes, diags)?;
    // The id sets are only needed for validation: free them before the apply pass.
    known.ids = HashMap::new();
    Ok(known)
}

fn check_ref(
    manifest: &Manifest,
    row_mode: Mode,
    known: &Known,
    p: PendingRef,
    diags: &mut Diags,
    pending: &mut Vec<PendingRef>,
) {
    if known
        .ids
        .get(&p.target)
        .is_some_and(|s| s.contains(&id_hash(&p.id)))
    {
        return;
    }
    let target_mode = manifest.mode(p.target);
    if row_mode == Mode::Bulk && target_mode == Mode::Absent {
        p.error(
            diags,
            format!(
                "'{}': reference target file {}.csv is not supplied by the package",
                p.id,
                p.target.name()
            ),
        );
    } else if row_mode == Mode::Delta || target_mode == Mode::Delta {
        pending.push(p);
    } else {
        p.not_in_package(diags);
    }
}

/// Delta references not found in the package must exist in the store.
fn resolve_in_store(
    conn: &mut DbConnection,
    pending: Vec<PendingRef>,
    diags: &mut Diags,
) -> Result<(), ImportError> {
    if pending.is_empty() {
        return Ok(());
    }
    let mut by_target: BTreeMap<Entity, Vec<PendingRef>> = BTreeMap::new();
    for p in pending {
        by_target.entry(p.target).or_default().push(p);
    }
    for (target, refs) in by_target {
        let ids: Vec<&str> = refs
            .iter()
            .map(|p| p.id.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let found = records::existing_ids(conn, target, &ids)?;
        for p in refs.iter().filter(|p| !found.contains(&p.id)) {
            p.error(
                diags,
                format!(
                    "'{}' is neither in {}.csv nor in the store",
                    p.id,
                    target.name()
                ),
            );
        }
    }
    Ok(())
}

/// An enrollment row whose class the enrollment rules check.
struct EnrollmentClass {
    file: String,
    line: u64,
    class: String,
    school: String,
    active: bool,
}

impl EnrollmentClass {
    fn wrong_school(&self, diags: &mut Diags, actual: Option<&str>) {
        let of = actual.map(|a| format!(" ({a})")).unwrap_or_default();
        diags.error(
            &self.file,
            self.line,
            "schoolSourcedId",
            "enrollment-school",
            format!(
                "'{}' is not the school of class '{}'{of}: an enrollment's school must be its class's school",
                self.school, self.class
            ),
        );
    }

    fn class_deleted(&self, diags: &mut Diags) {
        diags.error(
            &self.file,
            self.line,
            "classSourcedId",
            "enrollment-class-deleted",
            format!(
                "class '{}' is tobedeleted: an active enrollment needs an active class",
                self.class
            ),
        );
    }
}

/// Enrollments whose class is only in the store: the same rules against the stored class (a
/// class in neither is a reference error already).
fn check_store_classes(
    conn: &mut DbConnection,
    rows: Vec<EnrollmentClass>,
    diags: &mut Diags,
) -> Result<(), ImportError> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r.class.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let stored = records::column_by_ids(conn, Entity::Classes, "school_sourced_id", &ids)?;
    for r in &rows {
        let Some((status, school)) = stored.get(&r.class) else {
            continue;
        };
        if school.as_deref() != Some(r.school.as_str()) {
            r.wrong_school(diags, school.as_deref());
        }
        if r.active && status != "active" {
            r.class_deleted(diags);
        }
    }
    Ok(())
}

/// No org may be its own parent or ancestor: the org tree (the package's rows over the store's,
/// for a delta) must have no cycle, or a client restricted to a school would see everything
/// "below" it, its district included.
fn check_org_cycles(
    conn: &mut DbConnection,
    file: &str,
    mode: Mode,
    rows: &[(String, Option<String>, u64, bool)],
    diags: &mut Diags,
) -> Result<(), ImportError> {
    let mut parent: HashMap<String, String> = HashMap::new();
    if mode == Mode::Delta {
        let scan = records::Scan {
            active_only: true,
            ..records::Scan::default()
        };
        records::scan(conn, Entity::Orgs, &scan, |_, page| {
            for o in page {
                if let Some(p) = o.get("parentSourcedId") {
                    parent.insert(o.sourced_id.clone(), p.to_string());
                }
            }
            Ok(())
        })?;
    }
    for (id, p, _, active) in rows {
        match p {
            Some(p) if *active => parent.insert(id.clone(), p.clone()),
            _ => parent.remove(id),
        };
    }
    for (id, p, line, active) in rows {
        if !active {
            continue;
        }
        if p.as_deref() == Some(id.as_str()) {
            diags.error(
                file,
                *line,
                "parentSourcedId",
                "org-self-parent",
                format!("org '{id}' names itself as its parent"),
            );
            continue;
        }
        // Climb at most as many steps as there are orgs: a longer climb is a loop.
        let mut at = id.as_str();
        let mut path = vec![id.as_str()];
        for _ in 0..parent.len() {
            let Some(next) = parent.get(at) else { break };
            if next == id {
                path.push(next);
                diags.error(
                    file,
                    *line,
                    "parentSourcedId",
                    "org-cycle",
                    format!(
                        "org '{id}' is its own ancestor ({}): the org tree must have no cycle",
                        path.join(" -> ")
                    ),
                );
                break;
            }
            path.push(next);
            at = next;
        }
    }
    Ok(())
}

/// The cell of `row` a quote left open swallowed rows into, and how many line breaks it holds:
/// a cell with line breaks, when the row has not the header's `width` or the lines after the
/// first break carry as many commas as a row would. `None` for a genuine multi-line value.
pub(super) fn unterminated_quote(row: &csv::StringRecord, width: usize) -> Option<(usize, usize)> {
    let (cell, text) = row
        .iter()
        .enumerate()
        .filter(|(_, c)| c.contains('\n'))
        .max_by_key(|(_, c)| c.matches('\n').count())?;
    let breaks = text.matches('\n').count();
    let looks_like_rows = text
        .split('\n')
        .skip(1)
        .any(|l| l.matches(',').count() + 1 >= width.max(2));
    (row.len() != width || looks_like_rows).then_some((cell, breaks))
}
