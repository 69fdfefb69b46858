//! The query language compiled to SQL, on both backends: every operator on string, date,
//! date-time, number, enum, dotted, multi-valued and child-table fields; AND/OR chains;
//! base conditions that no filter can widen; sort and paging.

use rosterbridge::model::catalog::Entity;
use rosterbridge::query::{filter, plan, FilterError};
use rosterbridge::store::records::{self, Query};
use rosterbridge::store::views::Where;

use crate::both;
use crate::common::{fixture, TestDb};

fn ids(db: &TestDb, entity: Entity, f: &str) -> Vec<String> {
    let parsed = filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
    let parsed = plan::plan(entity, &parsed).unwrap_or_else(|e| panic!("{f}: {e}"));
    let q = Query {
        filter: Some(&parsed),
        limit: 100,
        ..Query::default()
    };
    let (rows, total) = records::query(&mut db.store.conn().unwrap(), entity, &q)
        .unwrap_or_else(|e| panic!("{f}: {e}"));
    assert_eq!(total as usize, rows.len(), "{f}: X-Total-Count");
    rows.into_iter().map(|r| r.sourced_id).collect()
}

fn error(_db: &TestDb, entity: Entity, f: &str) -> FilterError {
    let parsed = filter::parse(f).unwrap();
    match plan::plan(entity, &parsed) {
        Err(e) => e,
        other => panic!("{f}: expected a filter error, got {other:?}"),
    }
}

both!(filters_compile_to_sql_with_oneroster_semantics, |db| {
    let stamp = db.import(&fixture("valid-1.2")).stamped_at.unwrap();
    let u = Entity::Users;
    // strings: = != ~ (case-insensitive substring), quotes escaped by doubling
    assert_eq!(ids(&db, u, "familyName='García, Jr.'"), ["u1"]);
    assert_eq!(ids(&db, u, "familyName='O''Connor'"), ["u2"]);
    assert_eq!(ids(&db, u, "givenName~'ZO'"), ["u2"]);
    assert_eq!(
        ids(&db, u, "middleName!='Ann'"),
        ["g1", "t1u", "u1"],
        "missing values are 'not equal'"
    );
    assert_eq!(
        ids(&db, u, "username>'parent' AND username<'zz'"),
        ["g1", "u2"]
    );
    // LIKE wildcards in values are literal
    assert!(ids(&db, u, "email~'%'").is_empty());
    assert!(ids(&db, u, "email~'_'").is_empty());
    // an injection attempt is just a value
    assert!(ids(&db, u, "sourcedId='x'' OR ''1''=''1'").is_empty());
    // booleans and enums are strings
    assert_eq!(ids(&db, u, "enabledUser='false'"), ["g1"]);
    assert_eq!(
        ids(&db, Entity::Classes, "classType='scheduled'"),
        ["k1", "k2"]
    );
    // dateLastModified: bare dates and full date-times, compared as times
    assert_eq!(ids(&db, u, "dateLastModified>'2000-01-01'").len(), 4);
    assert_eq!(
        ids(&db, u, &format!("dateLastModified>='{stamp}'")).len(),
        4
    );
    assert!(ids(&db, u, &format!("dateLastModified>'{stamp}'")).is_empty());
    assert!(ids(&db, u, "dateLastModified>'2999-01-01T00:00:00Z'").is_empty());
    // dates and numbers
    assert_eq!(
        ids(&db, Entity::AcademicSessions, "startDate>='2026-01-01'"),
        ["t2"]
    );
    assert_eq!(
        ids(&db, Entity::AcademicSessions, "endDate<'2025-12-31'"),
        ["gp1"]
    );
    assert_eq!(ids(&db, Entity::Results, "score>'80'"), ["res1"]);
    assert_eq!(ids(&db, Entity::Results, "score<='87.5'"), ["res1"]);
    assert!(ids(&db, Entity::Results, "score<'87.5'").is_empty());
    assert_eq!(
        ids(&db, Entity::Results, "scoreStatus='fully graded'"),
        ["res1"]
    );
    // dotted GUIDRef fields
    assert_eq!(
        ids(
            &db,
            Entity::Classes,
            "school.sourcedId='s1' AND course.sourcedId='c2'"
        ),
        ["k2"]
    );
    assert_eq!(ids(&db, u, "primaryOrg.sourcedId='s1'").len(), 4);
    assert_eq!(
        ids(
            &db,
            Entity::Enrollments,
            "user.sourcedId='u2' OR class.sourcedId='k2'"
        ),
        ["e2", "e4"]
    );
    // multi-valued fields: any element
    assert_eq!(ids(&db, Entity::Classes, "terms.sourcedId='t1'"), ["k1"]);
    assert_eq!(
        ids(&db, Entity::Classes, "terms.sourcedId='t2'"),
        ["k1", "k2"]
    );
    assert_eq!(ids(&db, Entity::Courses, "grades='10'"), ["c1", "c2"]);
    assert_eq!(
        ids(&db, Entity::Courses, "grades!='09'"),
        ["c2"],
        "!= on a list: no item equals"
    );
    assert_eq!(ids(&db, Entity::Courses, "subjects~'bio'"), ["c2"]);
    assert_eq!(ids(&db, u, "agents.sourcedId='g1'"), ["u1"]);
    assert_eq!(ids(&db, u, "grades='09'"), ["u1"]);
    // the user's roles (1.2 roles[], 1.1 role/orgs)
    assert_eq!(ids(&db, u, "roles.role='teacher'"), ["t1u"]);
    assert_eq!(ids(&db, u, "role='guardian'"), ["g1"]);
    assert_eq!(ids(&db, u, "roles.org.sourcedId='s2'"), ["t1u"]);
    assert_eq!(
        ids(
            &db,
            u,
            "roles.role='student' AND roles.beginDate='2025-08-18'"
        ),
        ["u1"]
    );
    // errors
    assert_eq!(
        error(&db, u, "shoeSize='9'"),
        FilterError::UnknownField("shoeSize".into())
    );
    assert_eq!(
        error(&db, u, "school.sourcedId='s1'"),
        FilterError::UnknownField("school.sourcedId".into())
    );
    assert!(matches!(
        error(&db, u, "dateLastModified>'yesterday'"),
        FilterError::Value { .. }
    ));
    assert!(matches!(
        error(&db, Entity::Results, "score>'lots'"),
        FilterError::Value { .. }
    ));
    assert!(matches!(
        error(&db, Entity::AcademicSessions, "startDate>'1/1/2025'"),
        FilterError::Value { .. }
    ));
});

both!(
    base_conditions_cannot_be_widened_by_a_filter_and_pages_are_stable,
    |db| {
        db.import(&fixture("valid-1.2"));
        let f = filter::parse("sourcedId='d1' OR sourcedId!=''").unwrap();
        let f = plan::plan(Entity::Orgs, &f).unwrap();
        let q = Query {
            conds: vec![Where::Is("type", "school".into())],
            filter: Some(&f),
            limit: 100,
            ..Query::default()
        };
        let (rows, total) =
            records::query(&mut db.store.conn().unwrap(), Entity::Orgs, &q).unwrap();
        assert_eq!(total, 2);
        assert!(
            rows.iter().all(|r| r.get("type") == Some("school")),
            "the district must not leak through OR"
        );
        // sort both ways, sourcedId breaking ties, then paging over the same order
        let page = |sort, limit, offset| {
            let q = Query {
                sort,
                limit,
                offset,
                ..Query::default()
            };
            let (rows, total) =
                records::query(&mut db.store.conn().unwrap(), Entity::Users, &q).unwrap();
            (
                rows.into_iter().map(|r| r.sourced_id).collect::<Vec<_>>(),
                total,
            )
        };
        assert_eq!(page(None, 100, 0).0, ["g1", "t1u", "u1", "u2"]);
        assert_eq!(
            page(Some(("username", true)), 100, 0).0,
            ["u2", "g1", "t1u", "u1"]
        );
        assert_eq!(
            page(Some(("username", false)), 2, 1),
            (vec!["t1u".to_string(), "g1".to_string()], 4)
        );
        let all: Vec<String> = (0..4)
            .flat_map(|o| page(Some(("primary_org_sourced_id", false)), 1, o).0)
            .collect();
        assert_eq!(
            all,
            ["g1", "t1u", "u1", "u2"],
            "equal sort keys fall back to sourcedId: no overlap, no gap"
        );
    }
);
