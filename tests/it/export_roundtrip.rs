//! Export → import round trips: importing an export into an empty store gives the same store;
//! delta exports carry exactly the changes.

use proptest::prelude::*;
use rosterbridge::export::{export, ExportOptions};
use rosterbridge::generate::{generate, generate_delta, GenerateOptions};
use rosterbridge::ingest::Outcome;
use rosterbridge::model::catalog::{Entity, Version};

use crate::both;
use crate::common::{fixture, Backend, TestDb};

fn round_trip(db: &TestDb, version: Version, zip: bool) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(if zip { "out.zip" } else { "out" });
    export(
        &db.store,
        &out,
        &ExportOptions {
            version,
            since: None,
        },
    )
    .unwrap();
    let other = TestDb::new(Backend::Sqlite).unwrap();
    let report = other.import(&out);
    assert_eq!(
        report.outcome,
        Outcome::Committed,
        "{:#?}",
        report.diags.list
    );
    assert_eq!(
        report.diags.warnings, 0,
        "an export is clean: {:#?}",
        report.diags.list
    );
    assert_eq!(other.snapshot(true), db.snapshot(true));
}

both!(fixture_store_round_trips_through_its_export, |db| {
    assert_eq!(db.import(&fixture("valid-1.2")).outcome, Outcome::Committed);
    round_trip(&db, Version::V1_2, true);
});

both!(
    delta_export_carries_changes_and_tombstones_with_status,
    |db| {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.zip");
        let delta = dir.path().join("delta");
        let o = GenerateOptions {
            schools: 1,
            students_per_school: 50,
            seed: 5,
            version: Version::V1_2,
        };
        generate(&base, &o).unwrap();
        let first = db.import(&base);
        generate_delta(&base, &delta, &o).unwrap();
        let second = db.import(&delta);
        assert_eq!(second.outcome, Outcome::Committed);
        let out = dir.path().join("since");
        export(
            &db.store,
            &out,
            &ExportOptions {
                version: Version::V1_2,
                since: first.stamped_at.clone(),
            },
        )
        .unwrap();
        let enr = std::fs::read_to_string(out.join("enrollments.csv")).unwrap();
        let changed = second.counts[&Entity::Enrollments];
        assert_eq!(enr.lines().count() as u64 - 1, changed.changed());
        assert_eq!(
            enr.matches(",tobedeleted,").count() as u64,
            changed.tombstoned
        );
        let stamp = second.stamped_at.unwrap();
        assert!(
            enr.lines().skip(1).all(|l| l.contains(&stamp)),
            "delta rows carry the store's dateLastModified"
        );
        assert!(!out.join("orgs.csv").exists(), "unchanged files are absent");
        let manifest = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
        assert!(
            manifest.contains("file.enrollments,delta") && manifest.contains("file.orgs,absent"),
            "{manifest}"
        );
        // Applying that delta to a copy of the first state gives the current state.
        let copy = TestDb::new(Backend::Sqlite).unwrap();
        copy.import(&base);
        assert_eq!(copy.import(&out).outcome, Outcome::Committed);
        assert_eq!(copy.snapshot(false), db.snapshot(false));
    }
);

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn generated_districts_round_trip(seed in 0u64..1000, schools in 1u32..3, students in 1u32..40, v12 in any::<bool>(), zip in any::<bool>()) {
        let version = if v12 { Version::V1_2 } else { Version::V1_1 };
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("d.zip");
        generate(&pkg, &GenerateOptions { schools, students_per_school: students, seed, version }).unwrap();
        let db = TestDb::new(Backend::Sqlite).unwrap();
        prop_assert_eq!(db.import(&pkg).outcome, Outcome::Committed);
        round_trip(&db, version, zip);
    }
}
