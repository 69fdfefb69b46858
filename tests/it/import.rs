//! Import semantics: bulk replace with change detection, tombstones, delta upserts, store-side
//! timestamps, 1.1 roles, SQL-queryable list values.

use diesel::sql_types::BigInt;
use diesel::RunQueryDsl;
use rosterbridge::ingest::Outcome;
use rosterbridge::model::catalog::{Entity, Version};
use rosterbridge::model::record::Value;
use rosterbridge::model::Status;
use rosterbridge::store::records::{self, Scan};

use crate::both;
use crate::common::{copy_fixture, delta_manifest, edit, fixture, TestDb};

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count_sql(db: &TestDb, sql: &str) -> i64 {
    let mut conn = db.store.conn().unwrap();
    let rows: Vec<N> = diesel::sql_query(sql).load(&mut *conn).unwrap();
    rows[0].n
}

both!(valid_1_2_package_lands_with_every_field, |db| {
    let report = db.import(&fixture("valid-1.2"));
    assert_eq!(
        report.outcome,
        Outcome::Committed,
        "{:?}",
        report.diags.list
    );
    assert_eq!(db.count(Entity::Users), (4, 0));
    assert_eq!(db.count(Entity::Roles), (5, 0));
    assert_eq!(db.count(Entity::Enrollments), (4, 0));
    assert_eq!(db.count(Entity::Results), (2, 0));
    // Every one of the 21 files landed (the assessment profile has no CSV file).
    for e in Entity::ALL
        .into_iter()
        .filter(|e| e.in_version(Version::V1_2))
    {
        assert!(db.count(e).0 > 0, "{} is empty", e.name());
    }
    let ss = db.get(Entity::ScoreScales, "ss1").unwrap();
    assert_eq!(
        ss.get("scoreScaleValue"),
        Some("{90-100:A},{80-89:B},{0-79:C}")
    );
    let u1 = db.get(Entity::Users, "u1").unwrap();
    assert_eq!(u1.get("familyName"), Some("García, Jr."));
    assert_eq!(u1.get("preferredGivenName"), Some("Pepe"));
    assert_eq!(u1.get("userIds"), Some("{LDAP:12}"));
    let u2 = db.get(Entity::Users, "u2").unwrap();
    assert_eq!(
        u2.get("enabledUser"),
        Some("true"),
        "TRUE is stored lower case"
    );
    let s1 = db.get(Entity::Orgs, "s1").unwrap();
    assert_eq!(s1.get("name"), Some("Roosevelt \"Rough Riders\" High"));
    let d1 = db.get(Entity::Orgs, "d1").unwrap();
    assert_eq!(
        d1.metadata.get("address").map(String::as_str),
        Some("1 Lake Rd, Lakeview")
    );
    let res1 = db.get(Entity::Results, "res1").unwrap();
    let score = res1.values[Entity::Results.field_index("score").unwrap()].clone();
    assert_eq!(score, Value::Float(87.5));
    let dlm = u1.date_last_modified.clone().unwrap();
    assert_eq!(
        Some(dlm.clone()),
        report.stamped_at,
        "changes carry the import's stamp"
    );
    assert_eq!(dlm.len(), 24, "millisecond UTC timestamp: {dlm}");
    // Multi-valued fields are SQL-queryable.
    assert_eq!(count_sql(&db, "SELECT COUNT(*) AS n FROM list_values WHERE entity = 'classes' AND field = 'termSourcedIds' AND value = 't2'"), 2);
    assert_eq!(count_sql(&db, "SELECT COUNT(*) AS n FROM courses c WHERE EXISTS (SELECT 1 FROM list_values lv WHERE lv.entity = 'courses' AND lv.owner = c.sourced_id AND lv.field = 'grades' AND lv.value = '10')"), 2);
    assert_eq!(count_sql(&db, "SELECT COUNT(*) AS n FROM users u WHERE EXISTS (SELECT 1 FROM user_roles r WHERE r.user_sourced_id = u.sourced_id AND r.role = 'teacher')"), 1);
});

both!(unchanged_bulk_reimport_changes_nothing, |db| {
    db.import(&fixture("valid-1.2"));
    let before = db.all(Entity::Users);
    let report = db.import(&fixture("valid-1.2"));
    assert_eq!(report.outcome, Outcome::Committed);
    for (e, c) in &report.counts {
        assert_eq!(
            c.changed(),
            0,
            "{} changed on an identical re-import: {c:?}",
            e.name()
        );
        assert!(c.unchanged > 0);
    }
    assert_eq!(
        db.all(Entity::Users),
        before,
        "dateLastModified must not move"
    );
});

both!(
    bulk_file_tombstones_missing_records_and_revives_returning_ones,
    |db| {
        db.import(&fixture("valid-1.2"));
        let e1_before = db.get(Entity::Enrollments, "e1").unwrap();
        let pkg = copy_fixture("valid-1.2");
        edit(
            pkg.path(),
            "enrollments.csv",
            "e4,,,k2,s1,u2,student,,,\n",
            "",
        );
        edit(
            pkg.path(),
            "enrollments.csv",
            "e2,,,k1,s1,u2,student,,,",
            "e2,,,k1,s1,u2,student,,2025-09-01,",
        );
        let report = db.import(pkg.path());
        let c = report.counts[&Entity::Enrollments];
        assert_eq!(
            (c.inserted, c.updated, c.unchanged, c.tombstoned),
            (0, 1, 2, 1)
        );
        let e4 = db.get(Entity::Enrollments, "e4").unwrap();
        assert_eq!(e4.status, Status::ToBeDeleted);
        assert_eq!(
            e4.date_last_modified, report.stamped_at,
            "a tombstone gets a fresh dateLastModified"
        );
        assert_eq!(
            e4.get("userSourcedId"),
            Some("u2"),
            "tombstones keep their content"
        );
        assert_eq!(
            db.get(Entity::Enrollments, "e1").unwrap(),
            e1_before,
            "untouched rows keep their stamp"
        );
        // The record comes back: active again, stamped anew.
        let report = db.import(&fixture("valid-1.2"));
        let e4 = db.get(Entity::Enrollments, "e4").unwrap();
        assert_eq!(e4.status, Status::Active);
        assert_eq!(e4.date_last_modified, report.stamped_at);
        assert_eq!(report.counts[&Entity::Enrollments].updated, 2);
    }
);

both!(delta_upserts_tombstones_and_stamps_the_store_time, |db| {
    let first = db.import(&fixture("valid-1.2"));
    let t1 = first.stamped_at.unwrap();
    let pkg = tempfile::tempdir().unwrap();
    let p = pkg.path();
    delta_manifest(p, "1.2", &["users", "enrollments", "roles"]);
    // The SIS's timestamps are years old: the store must still stamp these changes now.
    std::fs::write(p.join("users.csv"), "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n\
u2,active,2020-01-01T00:00:00.000Z,true,zoe.oconnor,\"{LDAP:13},{Fed:99}\",Zoë,O'Connor,Ann,1002,zoe.new@example.org,,,,10,,,,,,s1,\n\
u5,active,2020-01-01T00:00:00.000Z,true,new.kid,,New,Kid,,1005,new@example.org,,,,09,,,,,,s2,\n").unwrap();
    std::fs::write(p.join("roles.csv"), "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\nr6,active,2020-01-01T00:00:00.000Z,u5,primary,student,,,s2,\n").unwrap();
    // e4 is deleted with only its id; e5 references u5 (in this package) and k2 (in the store).
    std::fs::write(p.join("enrollments.csv"), "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n\
e4,tobedeleted,2020-01-01T00:00:00.000Z,,,,,,,\n\
e5,active,2020-01-01T00:00:00.000Z,k2,s1,u5,student,,,\n\
e1,active,2020-01-01T00:00:00.000Z,k1,s1,u1,student,false,2025-08-18,\n").unwrap();
    let report = db.import(p);
    assert_eq!(
        report.outcome,
        Outcome::Committed,
        "{:?}",
        report.diags.list
    );
    let t2 = report.stamped_at.clone().unwrap();
    assert!(t2 > t1);
    let u = report.counts[&Entity::Users];
    assert_eq!((u.inserted, u.updated), (1, 1));
    let e = report.counts[&Entity::Enrollments];
    assert_eq!(
        (e.inserted, e.updated, e.unchanged, e.tombstoned),
        (1, 0, 1, 1)
    );
    let u2 = db.get(Entity::Users, "u2").unwrap();
    assert_eq!(u2.get("email"), Some("zoe.new@example.org"));
    assert_eq!(u2.date_last_modified.as_deref(), Some(t2.as_str()));
    assert_eq!(
        u2.sis_date_last_modified.as_deref(),
        Some("2020-01-01T00:00:00.000Z")
    );
    let e4 = db.get(Entity::Enrollments, "e4").unwrap();
    assert_eq!(
        (e4.status, e4.get("classSourcedId")),
        (Status::ToBeDeleted, Some("k2"))
    );
    // dateLastModified>'<first sync>' returns exactly the real changes, deletions included.
    let mut changed: Vec<String> = Vec::new();
    let mut conn = db.store.conn().unwrap();
    for ent in Entity::ALL {
        let scan = Scan {
            since: Some(t1.clone()),
            ..Scan::default()
        };
        records::scan(&mut conn, ent, &scan, |_, page| {
            changed.extend(
                page.into_iter()
                    .map(|r| format!("{}:{}", ent.name(), r.sourced_id)),
            );
            Ok(())
        })
        .unwrap();
    }
    changed.sort();
    assert_eq!(
        changed,
        [
            "enrollments:e4",
            "enrollments:e5",
            "roles:r6",
            "users:u2",
            "users:u5"
        ]
    );
});

both!(
    delta_reference_missing_from_package_and_store_is_an_error,
    |db| {
        db.import(&fixture("valid-1.2"));
        let before = db.snapshot(false);
        let pkg = tempfile::tempdir().unwrap();
        let p = pkg.path();
        delta_manifest(p, "1.2", &["enrollments"]);
        std::fs::write(p.join("enrollments.csv"), "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\ne9,active,2026-01-01T00:00:00.000Z,k2,s1,ghost,student,,,\n").unwrap();
        let report = db.import(p);
        assert_eq!(report.outcome, Outcome::Rejected);
        let d = report.diags.errors().next().unwrap();
        assert_eq!(
            (d.file.as_str(), d.line, d.column.as_str(), d.rule),
            ("enrollments.csv", 2, "userSourcedId", "reference")
        );
        assert_eq!(db.snapshot(false), before);
    }
);

both!(v1_1_users_become_roles_and_export_back, |db| {
    let report = db.import(&fixture("valid-1.1"));
    assert_eq!(
        report.outcome,
        Outcome::Committed,
        "{:?}",
        report.diags.list
    );
    for e in Entity::ALL
        .into_iter()
        .filter(|e| e.in_version(rosterbridge::model::Version::V1_1))
    {
        assert!(db.count(e).0 > 0, "1.1 file {} did not land", e.name());
    }
    let roles = db.all(Entity::Roles);
    let ids: Vec<&str> = roles.iter().map(|r| r.sourced_id.as_str()).collect();
    assert_eq!(ids, ["a1:d1", "t1u:s1", "t1u:s2", "u1:s1", "u2:s1"]);
    assert_eq!(
        roles[0].get("role"),
        Some("districtAdministrator"),
        "1.1 administrator at a district"
    );
    assert!(
        roles.iter().all(|r| r.get("roleType") == Some("primary")),
        "one primary role per (user, org)"
    );
    assert_eq!(
        db.get(Entity::Users, "t1u")
            .unwrap()
            .get("primaryOrgSourcedId"),
        Some("s1")
    );
    // A delta moves the teacher to s2 only: the s1 role is retired.
    let pkg = tempfile::tempdir().unwrap();
    let p = pkg.path();
    delta_manifest(p, "1.1", &["users"]);
    std::fs::write(p.join("users.csv"), "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\nt1u,active,2026-01-01T00:00:00.000Z,true,s2,teacher,mr.nguyen,,Ngọc,Nguyễn,,2001,nguyen@example.org,,,,,\n").unwrap();
    let report = db.import(p);
    assert_eq!(
        report.outcome,
        Outcome::Committed,
        "{:?}",
        report.diags.list
    );
    assert_eq!(
        db.get(Entity::Roles, "t1u:s1").unwrap().status,
        Status::ToBeDeleted
    );
    assert_eq!(
        db.get(Entity::Roles, "t1u:s2").unwrap().status,
        Status::Active
    );
    // 1.1 export writes role and orgSourcedIds back.
    let out = tempfile::tempdir().unwrap();
    let opts = rosterbridge::export::ExportOptions {
        version: rosterbridge::model::Version::V1_1,
        since: None,
    };
    rosterbridge::export::export(&db.store, out.path(), &opts).unwrap();
    let users = std::fs::read_to_string(out.path().join("users.csv")).unwrap();
    assert!(
        users.contains("a1,,,true,d1,administrator,the.boss"),
        "{users}"
    );
    assert!(users.contains("t1u,,,true,s2,teacher,mr.nguyen"), "{users}");
});

both!(
    changing_an_embedded_association_moves_its_parents_timestamp,
    |db| {
        let first = db.import(&fixture("valid-1.2"));
        let t1 = first.stamped_at.unwrap();
        let pkg = tempfile::tempdir().unwrap();
        let p = pkg.path();
        delta_manifest(p, "1.2", &["roles"]);
        // u2 gains an end date on its role: the user's roles[] changes, so the user changed.
        std::fs::write(p.join("roles.csv"), "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\nr2,active,2026-01-01T00:00:00.000Z,u2,primary,student,,2026-06-13,s1,\n").unwrap();
        let report = db.import(p);
        assert_eq!(
            report.outcome,
            Outcome::Committed,
            "{:?}",
            report.diags.list
        );
        let t2 = report.stamped_at.unwrap();
        assert_eq!(
            db.get(Entity::Roles, "r2")
                .unwrap()
                .date_last_modified
                .as_deref(),
            Some(t2.as_str())
        );
        assert_eq!(
            db.get(Entity::Users, "u2")
                .unwrap()
                .date_last_modified
                .as_deref(),
            Some(t2.as_str())
        );
        assert_eq!(
            db.get(Entity::Users, "u1")
                .unwrap()
                .date_last_modified
                .as_deref(),
            Some(t1.as_str())
        );
        assert_eq!(report.counts[&Entity::Roles].updated, 1);
        assert!(
            !report.counts.contains_key(&Entity::Users),
            "the user itself was not in the package"
        );
    }
);
