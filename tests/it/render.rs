//! 1.2 JSON rendering checked against the official OneRoster 1.2 rostering OpenAPI schemas
//! (read from ../shared): every rendered record of the fixture district validates.

use rosterbridge::http::rest::render::{load_related, Renderer};
use rosterbridge::model::catalog::Entity;
use serde_json::Value;

use crate::both;
use crate::common::fixture;

fn openapi() -> Value {
    official("onerosterv1p2rostersservice_openapi3_v1p0.json")
}

/// One of the official 1.2 OpenAPI files in ../shared.
pub(crate) fn official(file: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/spec/oneroster/v1p2/openapi")
        .join(file);
    let text =
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{} is required: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// A small JSON Schema (OpenAPI 3.0 subset) checker: $ref, type, enum, required, properties,
/// additionalProperties: false, items, and anyOf/oneOf/allOf.
pub(crate) fn check(doc: &Value, schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        return check(doc, &doc["components"]["schemas"][name], v, path, errors);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let ok = alts.iter().any(|a| {
                let mut e = Vec::new();
                check(doc, a, v, path, &mut e);
                e.is_empty()
            });
            if !ok {
                errors.push(format!("{path}: matches no alternative of {key}"));
            }
            return;
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for a in all {
            check(doc, a, v, path, errors);
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        if !values.contains(v) {
            // Extensible vocabularies are declared as anyOf(enum, pattern); plain enums are strict.
            errors.push(format!("{path}: {v} not in enum"));
        }
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        if pattern.starts_with("(ext:)") && !v.as_str().is_some_and(|s| s.starts_with("ext:")) {
            errors.push(format!("{path}: {v} does not match {pattern}"));
        }
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let Some(obj) = v.as_object() else {
                return errors.push(format!("{path}: not an object"));
            };
            let props = schema.get("properties").and_then(Value::as_object);
            for req in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let req = req.as_str().unwrap_or("");
                if !obj.contains_key(req) {
                    errors.push(format!("{path}: missing required '{req}'"));
                }
            }
            for (k, val) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => check(doc, s, val, &format!("{path}.{k}"), errors),
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        errors.push(format!("{path}: unexpected property '{k}'"))
                    }
                    None => {}
                }
            }
        }
        Some("array") => match v.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(doc, &schema["items"], item, &format!("{path}[{i}]"), errors);
                }
            }
            None => errors.push(format!("{path}: not an array")),
        },
        Some("string") if !v.is_string() => errors.push(format!("{path}: not a string: {v}")),
        Some("number") | Some("integer") if !v.is_number() => {
            errors.push(format!("{path}: not a number"))
        }
        _ => {}
    }
}

both!(
    rendered_1_2_records_validate_against_the_official_openapi,
    |db| {
        db.import(&fixture("valid-1.2"));
        let r = Renderer {
            base_url: "https://rb.example.org",
        };
        let checked = validate_store(&db);
        let mut conn = db.store.conn().unwrap();
        assert_eq!(checked, 3 + 4 + 2 + 2 + 4 + 4 + 2);
        // Spot checks of the shape.
        let users = db.all(Entity::Users);
        let ids: Vec<String> = users.iter().map(|u| u.sourced_id.clone()).collect();
        let related = load_related(&mut conn, Entity::Users, &ids).unwrap();
        let t = r.v1p2(
            users.iter().find(|u| u.sourced_id == "t1u").unwrap(),
            &related,
        );
        assert_eq!(t["roles"].as_array().unwrap().len(), 2);
        assert_eq!(
            t["roles"][1]["org"]["href"],
            "https://rb.example.org/ims/oneroster/rostering/v1p2/orgs/s2"
        );
        let u1 = r.v1p2(
            users.iter().find(|u| u.sourced_id == "u1").unwrap(),
            &related,
        );
        assert_eq!(
            u1["userIds"][0],
            serde_json::json!({"type": "LDAP", "identifier": "12"})
        );
        assert_eq!(u1["preferredFirstName"], "Pepe");
        assert_eq!(u1["agents"][0]["type"], "user");
        assert_eq!(
            u1["userProfiles"][0]["credentials"][0]["username"],
            "jose.garcia"
        );
        assert_eq!(u1["resources"][0]["sourcedId"], "rs1");
        assert_eq!(u1["enabledUser"], "true");
        // The checker itself catches what the schema forbids.
        let doc = openapi();
        let user_schema = &doc["components"]["schemas"]["UserDType"];
        for (what, mutate) in [
            (
                "extra property",
                Box::new(|v: &mut Value| v["shoeSize"] = 9.into()) as Box<dyn Fn(&mut Value)>,
            ),
            (
                "missing roles",
                Box::new(|v: &mut Value| drop(v.as_object_mut().unwrap().remove("roles"))),
            ),
            (
                "boolean as JSON bool",
                Box::new(|v: &mut Value| v["enabledUser"] = true.into()),
            ),
            (
                "bad roleType",
                Box::new(|v: &mut Value| v["roles"][0]["roleType"] = "tertiary".into()),
            ),
        ] {
            let mut bad = u1.clone();
            mutate(&mut bad);
            let mut errors = Vec::new();
            check(&doc, user_schema, &bad, "user", &mut errors);
            assert!(!errors.is_empty(), "the schema check missed: {what}");
        }
        let d1 = r.v1p2(
            &db.get(Entity::Orgs, "d1").unwrap(),
            &load_related(&mut conn, Entity::Orgs, &["d1".into()]).unwrap(),
        );
        assert_eq!(d1["children"].as_array().unwrap().len(), 2);
        assert_eq!(d1["metadata"]["address"], "1 Lake Rd, Lakeview");
    }
);

both!(v1_1_users_carry_one_role_and_orgs_with_1_1_hrefs, |db| {
    db.import(&fixture("valid-1.1"));
    let r = Renderer {
        base_url: "https://rb.example.org",
    };
    let mut conn = db.store.conn().unwrap();
    let ids = vec!["t1u".to_string(), "a1".to_string()];
    let related = load_related(&mut conn, Entity::Users, &ids).unwrap();
    let t = r.v1p1(&db.get(Entity::Users, "t1u").unwrap(), &related);
    assert_eq!(t["role"], "teacher");
    let orgs: Vec<&str> = t["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["sourcedId"].as_str().unwrap())
        .collect();
    assert_eq!(orgs, ["s1", "s2"], "primary org first");
    assert_eq!(
        t["orgs"][0]["href"],
        "https://rb.example.org/ims/oneroster/v1p1/orgs/s1"
    );
    for absent in [
        "roles",
        "primaryOrg",
        "userProfiles",
        "preferredFirstName",
        "pronouns",
        "userMasterIdentifier",
    ] {
        assert!(t.get(absent).is_none(), "1.1 users have no {absent}");
    }
    let a = r.v1p1(&db.get(Entity::Users, "a1").unwrap(), &related);
    assert_eq!(
        a["role"], "administrator",
        "1.2 admin roles render as 1.1 administrator"
    );
    let k1 = r.v1p1(
        &db.get(Entity::Classes, "k1").unwrap(),
        &load_related(&mut conn, Entity::Classes, &["k1".into()]).unwrap(),
    );
    assert_eq!(
        k1["course"]["href"],
        "https://rb.example.org/ims/oneroster/v1p1/courses/c1"
    );
    assert_eq!(
        k1["terms"][1]["href"],
        "https://rb.example.org/ims/oneroster/v1p1/academicSessions/t2"
    );
});

/// Render every record of the store as 1.2 JSON and check it against the official schema;
/// the number of records checked.
fn validate_store(db: &crate::common::TestDb) -> usize {
    let doc = openapi();
    let r = Renderer {
        base_url: "https://rb.example.org",
    };
    let mut conn = db.store.conn().unwrap();
    let mut checked = 0;
    for (entity, schema) in [
        (Entity::Orgs, "OrgDType"),
        (Entity::AcademicSessions, "AcademicSessionDType"),
        (Entity::Courses, "CourseDType"),
        (Entity::Classes, "ClassDType"),
        (Entity::Users, "UserDType"),
        (Entity::Enrollments, "EnrollmentDType"),
        (Entity::Demographics, "DemographicsDType"),
    ] {
        let recs = db.all(entity);
        let ids: Vec<String> = recs.iter().map(|r| r.sourced_id.clone()).collect();
        let related = load_related(&mut conn, entity, &ids).unwrap();
        for rec in &recs {
            let json = r.v1p2(rec, &related);
            let mut errors = Vec::new();
            check(
                &doc,
                &doc["components"]["schemas"][schema],
                &json,
                &format!("{}:{}", entity.name(), rec.sourced_id),
                &mut errors,
            );
            assert!(errors.is_empty(), "{errors:#?}\n{json:#}");
            checked += 1;
        }
    }
    checked
}

both!(one_one_values_are_served_as_1_2_values_over_rest, |db| {
    // A 1.1 package whose enrollments carry the 1.1-only roles aide and guardian, and a
    // user whose 1.1 role is administrator.
    let pkg = crate::common::copy_fixture("valid-1.1");
    crate::common::edit(
        pkg.path(),
        "enrollments.csv",
        "e2,,,k1,s1,u2,student",
        "e2,,,k1,s1,u2,aide",
    );
    crate::common::edit(
        pkg.path(),
        "enrollments.csv",
        "e4,,,k2,s1,u2,student",
        "e4,,,k2,s1,u2,guardian",
    );
    let report = db.import(pkg.path());
    assert_eq!(
        report.outcome,
        rosterbridge::ingest::Outcome::Committed,
        "{:?}",
        report.diags.list
    );
    assert!(validate_store(&db) > 10, "every 1.2 rendering validates");
    let s = crate::http::Server::start(db, rosterbridge::http::server::Settings::default());
    let token = s.token(&[], &[]);
    let v12 = s
        .get("/ims/oneroster/rostering/v1p2/enrollments/e2", &token)
        .json();
    assert_eq!(v12["enrollment"]["role"], "ext:aide");
    let all = s
        .get("/ims/oneroster/rostering/v1p2/enrollments", &token)
        .json();
    let roles: Vec<&str> = all["enrollments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["role"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"ext:guardian"), "{roles:?}");
    assert!(roles.iter().all(
        |r| ["administrator", "proctor", "student", "teacher"].contains(r) || r.starts_with("ext:")
    ));
    // 1.1 keeps its own vocabulary.
    let v11 = s.get("/ims/oneroster/v1p1/enrollments/e2", &token).json();
    assert_eq!(v11["enrollment"]["role"], "aide");
});
