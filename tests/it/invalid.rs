//! One invalid package per validation rule (each derived from tests/fixtures/valid-1.2 by one
//! edit): the expected error names file, line, column and rule, and the store is unchanged.

use rosterbridge::ingest::{Outcome, Severity};
use rosterbridge::model::catalog::Entity;

use crate::both;
use crate::common::{copy_fixture, edit, fixture};

/// (what, file, from, to, expected file, line, column, rule)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u64,
    &'static str,
    &'static str,
);

const CASES: &[Case] = &[
    (
        "unterminated quote",
        "users.csv",
        "\"García, Jr.\"",
        "\"García, Jr.",
        "users.csv",
        2,
        "familyName",
        "unterminated-quote",
    ),
    (
        "NUL byte in a cell",
        "users.csv",
        "Zoë,O'Connor",
        "Zo\u{0}ë,O'Connor",
        "users.csv",
        3,
        "givenName",
        "nul-byte",
    ),
    (
        "org is its own parent",
        "orgs.csv",
        "0600002,d1,",
        "0600002,s1,",
        "orgs.csv",
        3,
        "parentSourcedId",
        "org-self-parent",
    ),
    (
        "org cycle: the district's parent is one of its schools",
        "orgs.csv",
        "district,0600001,,",
        "district,0600001,s2,",
        "orgs.csv",
        2,
        "parentSourcedId",
        "org-cycle",
    ),
    (
        "enrollment at another school than its class's",
        "enrollments.csv",
        "e2,,,k1,s1,u2",
        "e2,,,k1,s2,u2",
        "enrollments.csv",
        3,
        "schoolSourcedId",
        "enrollment-school",
    ),
    (
        "active enrollment of a deleted class",
        "classes.csv",
        "k2,,,Biology",
        "k2,tobedeleted,,Biology",
        "enrollments.csv",
        5,
        "classSourcedId",
        "enrollment-class-deleted",
    ),
    (
        "misspelt header",
        "users.csv",
        ",givenName,",
        ",givenNme,",
        "users.csv",
        1,
        "givenName",
        "header",
    ),
    (
        "unknown 1.2 column",
        "users.csv",
        ",pronouns\n",
        ",pronouns,shoeSize\n",
        "users.csv",
        1,
        "shoeSize",
        "unknown-column",
    ),
    (
        "row too wide",
        "enrollments.csv",
        "e2,,,k1,s1,u2,student,,,",
        "e2,,,k1,s1,u2,student,,,,x",
        "enrollments.csv",
        3,
        "",
        "row-width",
    ),
    (
        "blank required cell",
        "courses.csv",
        "c1,,,sy,Algebra I,",
        "c1,,,sy,,",
        "courses.csv",
        2,
        "title",
        "required",
    ),
    (
        "enum value",
        "classes.csv",
        "MAT101-1,scheduled",
        "MAT101-1,lecture",
        "classes.csv",
        2,
        "classType",
        "enum",
    ),
    (
        "malformed ext: value",
        "orgs.csv",
        "High\",school,",
        "High\",ext:,",
        "orgs.csv",
        3,
        "type",
        "enum",
    ),
    (
        "date",
        "academicSessions.csv",
        "t1,,,Fall,term,2025-08-18",
        "t1,,,Fall,term,2025-13-18",
        "academicSessions.csv",
        3,
        "startDate",
        "date",
    ),
    (
        "year",
        "academicSessions.csv",
        "Q1,gradingPeriod,2025-08-18,2025-10-25,t1,2026",
        "Q1,gradingPeriod,2025-08-18,2025-10-25,t1,26",
        "academicSessions.csv",
        5,
        "schoolYear",
        "year",
    ),
    (
        "boolean",
        "users.csv",
        "g1,,,false,",
        "g1,,,nope,",
        "users.csv",
        5,
        "enabledUser",
        "boolean",
    ),
    (
        "float",
        "categories.csv",
        "Exams,0.5",
        "Exams,heavy",
        "categories.csv",
        2,
        "weight",
        "float",
    ),
    (
        "list syntax",
        "courses.csv",
        "\"09,10\"",
        "\"09,,10\"",
        "courses.csv",
        2,
        "grades",
        "list",
    ),
    (
        "userIds item",
        "users.csv",
        "{LDAP:12}",
        "{LDAP12}",
        "users.csv",
        2,
        "userIds",
        "list-item",
    ),
    (
        "subjects vs subjectCodes",
        "courses.csv",
        "\"SCI,BIO\"",
        "SCI",
        "courses.csv",
        3,
        "subjectCodes",
        "subject-count",
    ),
    (
        "duplicate sourcedId",
        "categories.csv",
        "cat1,,,Exams,0.5\n",
        "cat1,,,Exams,0.5\ncat1,,,Quizzes,0.2\n",
        "categories.csv",
        3,
        "sourcedId",
        "duplicate-id",
    ),
    (
        "reference",
        "enrollments.csv",
        "e4,,,k2,s1,u2",
        "e4,,,k2,s1,ghost",
        "enrollments.csv",
        5,
        "userSourcedId",
        "reference",
    ),
    (
        "reference type",
        "classes.csv",
        "Lab 2,s1,t2",
        "Lab 2,d1,t2",
        "classes.csv",
        3,
        "schoolSourcedId",
        "reference-type",
    ),
    (
        "reference into an absent file",
        "manifest.csv",
        "file.categories,bulk",
        "file.categories,absent",
        "lineItems.csv",
        2,
        "categorySourcedId",
        "reference",
    ),
    (
        "declared file missing",
        "resources.csv",
        "",
        "",
        "resources.csv",
        0,
        "",
        "manifest-mismatch",
    ),
    (
        "two primary roles",
        "roles.csv",
        "r5,,,g1,primary,guardian,,,s1,",
        "r5,,,g1,primary,guardian,,,s1,\nr7,,,g1,primary,parent,,,s1,",
        "roles.csv",
        6,
        "roleType",
        "primary-role",
    ),
    (
        "min above max",
        "lineItems.csv",
        "gp1,0,100",
        "gp1,200,100",
        "lineItems.csv",
        2,
        "resultValueMax",
        "value-range",
    ),
    (
        "declared file without rows",
        "categories.csv",
        "cat1,,,Exams,0.5\n",
        "",
        "categories.csv",
        0,
        "",
        "empty-file",
    ),
    (
        "oneroster.version",
        "manifest.csv",
        "oneroster.version,1.2",
        "oneroster.version,2.0",
        "manifest.csv",
        3,
        "value",
        "oneroster-version",
    ),
    (
        "lifecycle in delta",
        "manifest.csv",
        "file.categories,bulk",
        "file.categories,delta",
        "categories.csv",
        2,
        "status",
        "required",
    ),
    (
        "non-ISO delta timestamp",
        "categories.csv",
        "cat1,,,Exams",
        "cat1,active,1/05/2023,Exams",
        "categories.csv",
        2,
        "dateLastModified",
        "datetime",
    ),
];

both!(
    every_invalid_package_is_rejected_with_a_precise_error_and_changes_nothing,
    |db| {
        let first = db.import(&fixture("valid-1.2"));
        assert_eq!(first.outcome, Outcome::Committed);
        let before = db.snapshot(false);
        for (what, file, from, to, efile, eline, ecol, erule) in CASES {
            let pkg = copy_fixture("valid-1.2");
            // Every package also changes a valid row, to prove nothing lands.
            edit(
                pkg.path(),
                "users.csv",
                "zoe@example.org",
                "zoe.changed@example.org",
            );
            if *erule == "datetime" {
                edit(
                    pkg.path(),
                    "manifest.csv",
                    "file.categories,bulk",
                    "file.categories,delta",
                );
            }
            if from.is_empty() {
                std::fs::remove_file(pkg.path().join(file)).unwrap();
            } else {
                edit(pkg.path(), file, from, to);
            }
            let report = db.import(pkg.path());
            assert_eq!(
                report.outcome,
                Outcome::Rejected,
                "{what}: {:?}",
                report.diags.list
            );
            assert!(
                report
                    .diags
                    .list
                    .iter()
                    .any(|d| d.severity == Severity::Error
                        && d.file == *efile
                        && d.line == *eline
                        && d.column == *ecol
                        && d.rule == *erule),
                "{what}: expected {efile}:{eline} {ecol} [{erule}], got {:#?}",
                report.diags.errors().collect::<Vec<_>>()
            );
            assert_eq!(db.snapshot(false), before, "{what}: the store changed");
        }
        let mut conn = db.store.conn().unwrap();
        let runs = rosterbridge::store::imports::list(&mut conn, 100).unwrap();
        assert_eq!(runs.len(), CASES.len() + 1);
        assert!(runs
            .iter()
            .take(CASES.len())
            .all(|r| r.outcome == "rejected" && r.error_count > 0));
        assert!(
            runs[0].errors.contains("\"rule\""),
            "errors are logged with their rule"
        );
    }
);

both!(all_errors_are_reported_not_just_the_first, |db| {
    let pkg = copy_fixture("valid-1.2");
    edit(
        pkg.path(),
        "classes.csv",
        "MAT101-1,scheduled",
        "MAT101-1,lecture",
    );
    edit(pkg.path(), "users.csv", "g1,,,false,", "g1,,,nope,");
    edit(
        pkg.path(),
        "enrollments.csv",
        "e4,,,k2,s1,u2",
        "e4,,,k2,s1,ghost",
    );
    let report = db.import(pkg.path());
    assert_eq!(report.diags.errors, 3, "{:#?}", report.diags.list);
    assert_eq!(db.count(Entity::Orgs), (0, 0));
});

both!(lenient_inputs_are_accepted_with_warnings, |db| {
    let pkg = copy_fixture("valid-1.2");
    let p = pkg.path();
    edit(
        p,
        "manifest.csv",
        "manifest.version,1.0",
        "manifest.version,1",
    );
    edit(p, "manifest.csv", "file.roles,bulk", "file.roles*,bulk");
    edit(p, "classes.csv", "MAT101-1,scheduled", "MAT101-1,Scheduled");
    edit(
        p,
        "orgs.csv",
        "Élémentaire,school,",
        "Élémentaire,ext:charter,",
    );
    edit(
        p,
        "users.csv",
        ",preferredGivenName,",
        ",prefferedGivenName,",
    );
    edit(
        p,
        "categories.csv",
        "cat1,,,Exams",
        "cat1,active,2023-05-01T00:00:00.000Z,Exams",
    );
    let bom = format!(
        "\u{feff}{}",
        std::fs::read_to_string(p.join("orgs.csv")).unwrap()
    );
    std::fs::write(p.join("orgs.csv"), bom).unwrap();
    std::fs::rename(p.join("userProfiles.csv"), p.join("userprofiles.csv")).unwrap();
    let report = db.import(p);
    assert_eq!(
        report.outcome,
        Outcome::Committed,
        "{:#?}",
        report.diags.list
    );
    let rules: Vec<&str> = report.diags.list.iter().map(|d| d.rule).collect();
    for r in [
        "lenient-manifest-version",
        "lenient-starred-key",
        "lenient-enum-case",
        "lenient-header",
        "lifecycle-in-bulk",
        "lenient-file-name",
    ] {
        assert!(rules.contains(&r), "missing warning {r}: {rules:?}");
    }
    assert_eq!(
        db.get(Entity::Classes, "k1").unwrap().get("classType"),
        Some("scheduled")
    );
    assert_eq!(
        db.get(Entity::Users, "u1")
            .unwrap()
            .get("preferredGivenName"),
        Some("Pepe")
    );
    assert_eq!(
        db.get(Entity::Orgs, "d1").unwrap().get("name"),
        Some("Lakeview District")
    );
    assert_eq!(
        db.get(Entity::Orgs, "s2").unwrap().get("type"),
        Some("ext:charter")
    );
    assert_eq!(db.count(Entity::UserProfiles), (1, 0));
});

both!(every_warning_is_listed_up_to_the_cap, |db| {
    // Five rows of one lenient rule (status filled in a bulk file): all five are listed (the
    // listing used to keep 3 of a rule).
    let pkg = copy_fixture("valid-1.2");
    for r in ["r1", "r2", "r3", "r4", "r5"] {
        edit(
            pkg.path(),
            "roles.csv",
            &format!("{r},,,"),
            &format!("{r},active,,"),
        );
    }
    let report = db.import(pkg.path());
    assert_eq!(
        report.outcome,
        Outcome::Committed,
        "{:?}",
        report.diags.list
    );
    let listed = report
        .diags
        .list
        .iter()
        .filter(|d| d.severity == Severity::Warning && d.file == "roles.csv")
        .count();
    assert_eq!(listed, 5, "{:#?}", report.diags.list);
    assert!(report.diags.warnings >= 5);
});

both!(
    an_unterminated_quote_is_reported_as_such_not_as_its_consequences,
    |db| {
        let pkg = copy_fixture("valid-1.2");
        edit(pkg.path(), "users.csv", "\"García, Jr.\"", "\"García, Jr.");
        let report = db.import(pkg.path());
        assert_eq!(report.outcome, Outcome::Rejected);
        let errors: Vec<String> = report.diags.errors().map(|d| d.to_string()).collect();
        assert!(
            report
                .diags
                .errors()
                .next()
                .is_some_and(|d| d.rule == "unterminated-quote" && d.line == 2),
            "{errors:#?}"
        );
        // The rows it swallowed are not reported missing elsewhere.
        assert!(
            !report
                .diags
                .errors()
                .any(|d| d.rule == "reference" && d.message.contains("'u2'")),
            "{errors:#?}"
        );
    }
);
