//! The real packages under ../shared/fixtures (run when RB_SHARED_FIXTURES is set, as .ci/run
//! does): each imports, or fails with the errors documented in docs/FIXTURES.md.

use std::path::PathBuf;

use rosterbridge::ingest::Outcome;

use crate::common::{Backend, TestDb};

fn shared(rel: &str) -> Option<PathBuf> {
    std::env::var_os("RB_SHARED_FIXTURES")?;
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(rel);
    assert!(
        p.exists(),
        "missing {}: ../shared must sit beside the project",
        p.display()
    );
    Some(p)
}

/// (package, outcome, rules every error must come from, one error that must be present)
type Located = (&'static str, u64, &'static str, &'static str);
const EXPECTED: &[(&str, Outcome, &[&str], Option<Located>)] = &[
    (
        "Ed-Fi-Exchange-OSS-LMS-Toolkit/oneroster-1.1",
        Outcome::Committed,
        &[],
        None,
    ),
    (
        "nicelion-oneroster-mocker/oneroster-example-csv",
        Outcome::Rejected,
        &["empty-file"],
        Some(("users.csv", 0, "", "empty-file")),
    ),
    (
        "catalyst-moodle-enrol_oneroster/oneroster_test_data.zip",
        Outcome::Committed,
        &[],
        None,
    ),
    (
        "Ed-Fi-Exchange-OSS-LMS-Toolkit/oneroster-1.0",
        Outcome::Rejected,
        &["manifest-missing"],
        Some(("manifest.csv", 0, "", "manifest-missing")),
    ),
    (
        "catalyst-moodle-enrol_oneroster/Test_minimal_data_set.zip",
        Outcome::Rejected,
        &["reference", "reference-type"],
        Some(("classes.csv", 2, "courseSourcedId", "reference")),
    ),
    (
        "catalyst-moodle-enrol_oneroster/Test_full_data_set.zip",
        Outcome::Rejected,
        &[
            "reference",
            "reference-type",
            "subject-count",
            "enrollment-class-deleted",
        ],
        Some(("orgs.csv", 2, "parentSourcedId", "reference")),
    ),
    (
        "catalyst-moodle-enrol_oneroster/v1p2_full_dataset.zip",
        Outcome::Rejected,
        &[
            "reference",
            "reference-type",
            "subject-count",
            "unknown-column",
            "header",
            "row-width",
            "enrollment-class-deleted",
        ],
        Some(("roles.csv", 1, "dataLastModified", "unknown-column")),
    ),
];

#[test]
fn real_packages_import_or_fail_with_the_documented_errors() {
    for (rel, outcome, rules, must) in EXPECTED {
        let Some(path) = shared(rel) else {
            eprintln!("skipping shared fixtures: RB_SHARED_FIXTURES is not set");
            return;
        };
        let db = TestDb::new(Backend::Sqlite).unwrap();
        let report = db.import(&path);
        assert_eq!(report.outcome, *outcome, "{rel}: {:#?}", report.diags.list);
        for d in report.diags.errors() {
            assert!(rules.contains(&d.rule), "{rel}: undocumented error {d}");
        }
        if let Some((file, line, column, rule)) = must {
            assert!(
                report.diags.errors().any(|d| d.file == *file
                    && d.line == *line
                    && d.column == *column
                    && d.rule == *rule),
                "{rel}: expected {file}:{line} {column} [{rule}]"
            );
        }
        if *outcome == Outcome::Committed {
            assert!(
                db.count(rosterbridge::model::catalog::Entity::Users).0 > 0,
                "{rel}: no users landed"
            );
        }
    }
}
