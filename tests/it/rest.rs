//! The OneRoster REST server over real HTTP on loopback, on both backends: every rostering
//! operation of 1.1 and 1.2, shapes and wrapper keys, paging headers, the query language,
//! field selection, the error table, OAuth 2 tokens and scopes, org restrictions.

use rosterbridge::http::rest::routes::{Api, View, ROSTERING};
use rosterbridge::http::server::Settings;
use serde_json::Value as Json;

use crate::both;
use crate::common::fixture;
use crate::http::{enc, send, Server};

const V11: &str = "/ims/oneroster/v1p1";
const V12: &str = "/ims/oneroster/rostering/v1p2";

fn fixture_server(db: crate::common::TestDb) -> Server {
    db.import(&fixture("valid-1.2"));
    Server::start(db, Settings::default())
}

/// What each operation returns on the fixture, path ids filled in: (path, ids expected).
fn expected() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    vec![
        (
            "getAllAcademicSessions",
            "/academicSessions",
            vec!["gp1", "sy", "t1", "t2"],
        ),
        ("getAcademicSession", "/academicSessions/t1", vec!["t1"]),
        ("getAllClasses", "/classes", vec!["k1", "k2"]),
        ("getClass", "/classes/k2", vec!["k2"]),
        (
            "getStudentsForClass",
            "/classes/k1/students",
            vec!["u1", "u2"],
        ),
        ("getTeachersForClass", "/classes/k1/teachers", vec!["t1u"]),
        ("getAllCourses", "/courses", vec!["c1", "c2"]),
        ("getCourse", "/courses/c1", vec!["c1"]),
        ("getClassesForCourse", "/courses/c2/classes", vec!["k2"]),
        ("getAllDemographics", "/demographics", vec!["u1", "u2"]),
        ("getDemographics", "/demographics/u2", vec!["u2"]),
        (
            "getAllEnrollments",
            "/enrollments",
            vec!["e1", "e2", "e3", "e4"],
        ),
        ("getEnrollment", "/enrollments/e3", vec!["e3"]),
        ("getAllGradingPeriods", "/gradingPeriods", vec!["gp1"]),
        ("getGradingPeriod", "/gradingPeriods/gp1", vec!["gp1"]),
        ("getAllOrgs", "/orgs", vec!["d1", "s1", "s2"]),
        ("getOrg", "/orgs/d1", vec!["d1"]),
        ("getAllSchools", "/schools", vec!["s1", "s2"]),
        ("getSchool", "/schools/s2", vec!["s2"]),
        (
            "getClassesForSchool",
            "/schools/s1/classes",
            vec!["k1", "k2"],
        ),
        (
            "getEnrollmentsForClassInSchool",
            "/schools/s1/classes/k1/enrollments",
            vec!["e1", "e2", "e3"],
        ),
        (
            "getStudentsForClassInSchool",
            "/schools/s1/classes/k2/students",
            vec!["u2"],
        ),
        (
            "getTeachersForClassInSchool",
            "/schools/s1/classes/k1/teachers",
            vec!["t1u"],
        ),
        (
            "getCoursesForSchool",
            "/schools/s1/courses",
            vec!["c1", "c2"],
        ),
        (
            "getEnrollmentsForSchool",
            "/schools/s1/enrollments",
            vec!["e1", "e2", "e3", "e4"],
        ),
        (
            "getStudentsForSchool",
            "/schools/s1/students",
            vec!["u1", "u2"],
        ),
        ("getTeachersForSchool", "/schools/s2/teachers", vec!["t1u"]),
        ("getTermsForSchool", "/schools/s1/terms", vec!["t1", "t2"]),
        ("getAllStudents", "/students", vec!["u1", "u2"]),
        ("getStudent", "/students/u1", vec!["u1"]),
        (
            "getClassesForStudent",
            "/students/u2/classes",
            vec!["k1", "k2"],
        ),
        ("getAllTeachers", "/teachers", vec!["t1u"]),
        ("getTeacher", "/teachers/t1u", vec!["t1u"]),
        ("getClassesForTeacher", "/teachers/t1u/classes", vec!["k1"]),
        ("getAllTerms", "/terms", vec!["t1", "t2"]),
        ("getTerm", "/terms/t2", vec!["t2"]),
        ("getClassesForTerm", "/terms/t1/classes", vec!["k1"]),
        (
            "getGradingPeriodsForTerm",
            "/terms/t1/gradingPeriods",
            vec!["gp1"],
        ),
        ("getAllUsers", "/users", vec!["g1", "t1u", "u1", "u2"]),
        ("getUser", "/users/g1", vec!["g1"]),
        ("getClassesForUser", "/users/t1u/classes", vec!["k1"]),
    ]
}

both!(every_rostering_operation_of_both_versions, |db| {
    let s = fixture_server(db);
    let token = s.token(&[], &[]);
    let cases = expected();
    assert_eq!(cases.len(), ROSTERING.len(), "one case per operation");
    for route in ROSTERING {
        let (_, path, want) = cases
            .iter()
            .find(|(op, _, _)| *op == route.operation)
            .unwrap_or_else(|| panic!("no case for {}", route.operation));
        for (api, base) in [(Api::V1p1, V11), (Api::V1p2, V12)] {
            let r = s.get(&format!("{base}{path}"), &token);
            assert_eq!(r.status, 200, "{base}{path}: {}", r.text);
            assert_eq!(r.header("content-type"), Some("application/json"));
            let j = r.json();
            let got: Vec<String> = if route.single {
                assert_eq!(r.header("x-total-count"), Some("1"));
                vec![j[route.key]["sourcedId"].as_str().unwrap().to_string()]
            } else {
                let ids = r.ids(route.key);
                assert_eq!(
                    r.header("x-total-count"),
                    Some(ids.len().to_string().as_str()),
                    "{base}{path}"
                );
                assert!(r.header("link").unwrap().contains("rel=\"first\""));
                ids
            };
            assert_eq!(got, *want, "{api:?} {path}");
            // every GUIDRef points at this server, at the version's own base path (1.2: the
            // base of the service that serves the record; resources have their own)
            for href in hrefs(&j) {
                let resources = format!("{}/ims/oneroster/resources/v1p2/resources/", s.base);
                assert!(
                    href.starts_with(&format!("{}{base}/", s.base))
                        || (api == Api::V1p2 && href.starts_with(&resources)),
                    "{path}: {href}"
                );
            }
        }
    }
});

fn hrefs(j: &Json) -> Vec<String> {
    let mut out = Vec::new();
    match j {
        Json::Object(o) => {
            for (k, v) in o {
                match v {
                    Json::String(h) if k == "href" => out.push(h.clone()),
                    _ => out.extend(hrefs(v)),
                }
            }
        }
        Json::Array(a) => a.iter().for_each(|v| out.extend(hrefs(v))),
        _ => {}
    }
    out
}

both!(version_shapes_unknown_ids_and_parents, |db| {
    let s = fixture_server(db);
    let token = s.token(&[], &[]);
    // 1.1 user: role + orgs, no roles[]; 1.2: roles[] with org GUIDRefs, userProfiles
    let u11 = s.get(&format!("{V11}/users/t1u"), &token).json();
    assert_eq!(u11["user"]["role"], "teacher");
    let orgs: Vec<&str> = u11["user"]["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["sourcedId"].as_str().unwrap())
        .collect();
    assert_eq!(orgs, ["s1", "s2"]);
    assert!(u11["user"].get("roles").is_none());
    let u12 = s.get(&format!("{V12}/users/u1"), &token).json();
    assert_eq!(u12["user"]["roles"][0]["role"], "student");
    assert_eq!(u12["user"]["roles"][0]["org"]["type"], "org");
    assert_eq!(u12["user"]["userProfiles"][0]["profileId"], "p1");
    assert_eq!(u12["user"]["primaryOrg"]["sourcedId"], "s1");
    assert!(u12["user"].get("role").is_none());
    // the demographics single read uses the plural key
    let d = s.get(&format!("{V12}/demographics/u1"), &token).json();
    assert_eq!(d["demographics"]["sex"], "male");

    for base in [V11, V12] {
        // unknown id, and an id of the wrong kind, are 404 unknownobject
        for path in [
            "/users/nobody",
            "/schools/d1",
            "/students/t1u",
            "/terms/gp1",
        ] {
            let r = s.get(&format!("{base}{path}"), &token);
            assert_eq!(r.status, 404, "{base}{path}");
            assert_eq!(r.code_minor(), "unknownobject");
            assert_eq!(r.json()["imsx_codeMajor"], "failure");
        }
    }
    // unknown parent: 1.2 404, 1.1 200 with an empty list (Microsoft SDS)
    for path in ["/classes/nope/students", "/schools/s2/classes/k1/students"] {
        let r = s.get(&format!("{V12}{path}"), &token);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.code_minor(), "unknownobject");
        let r = s.get(&format!("{V11}{path}"), &token);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.ids("users"), Vec::<String>::new());
        assert_eq!(r.header("x-total-count"), Some("0"));
    }
    // unknown endpoint
    let r = s.get(&format!("{V12}/nothing"), &token);
    assert_eq!((r.status, r.code_minor().as_str()), (404, "unknownobject"));
});

both!(tombstones_stay_visible, |db| {
    db.import(&fixture("valid-1.2"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("enrollments.csv"),
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n\
         e4,tobedeleted,2025-01-01T00:00:00.000Z,,,,,,,\n",
    )
    .unwrap();
    crate::common::delta_manifest(dir.path(), "1.2", &["enrollments"]);
    let report = db.import(dir.path());
    assert_eq!(
        report.outcome,
        rosterbridge::ingest::Outcome::Committed,
        "{:?}",
        report.diags.list
    );
    let s = Server::start(db, Settings::default());
    let token = s.token(&[], &[]);
    let r = s.get(&format!("{V12}/enrollments/e4"), &token);
    assert_eq!(r.json()["enrollment"]["status"], "tobedeleted");
    let r = s.get(
        &format!("{V12}/enrollments?filter={}", enc("status='tobedeleted'")),
        &token,
    );
    assert_eq!(r.ids("enrollments"), ["e4"]);
    // a deleted enrollment no longer puts the student in the class
    let r = s.get(&format!("{V12}/classes/k2/students"), &token);
    assert_eq!(r.ids("users"), Vec::<String>::new());
});

/// Parse a Link header into rel → URL.
fn links(h: &str) -> std::collections::BTreeMap<String, String> {
    h.split(", <")
        .map(|part| {
            let part = part.trim_start_matches('<');
            let (url, rel) = part.split_once(">; rel=\"").unwrap();
            (rel.trim_end_matches('"').to_string(), url.to_string())
        })
        .collect()
}

both!(paging_headers_and_stable_pages, |db| {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("d.zip");
    rosterbridge::generate::generate(
        &pkg,
        &rosterbridge::generate::GenerateOptions {
            schools: 2,
            students_per_school: 15,
            seed: 3,
            version: rosterbridge::model::catalog::Version::V1_2,
        },
    )
    .unwrap();
    db.import(&pkg);
    let s = Server::start(db, Settings::default());
    let token = s.token(&[], &[]);
    let all = s.get(&format!("{V12}/users?limit=1000"), &token);
    let total: usize = all.header("x-total-count").unwrap().parse().unwrap();
    let all_ids = all.ids("users");
    assert_eq!(all_ids.len(), total);
    assert!(total > 30);
    let mut sorted = all_ids.clone();
    sorted.sort();
    assert_eq!(all_ids, sorted, "default order is sourcedId");
    // walk the pages through the `next` links, keeping the filter
    let filter = enc("status='active'");
    let mut url = format!("{V12}/users?filter={filter}&limit=7");
    let mut walked = Vec::new();
    let mut pages = 0;
    loop {
        let r = s.get(&url, &token);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-total-count"), Some(total.to_string().as_str()));
        let l = links(r.header("link").unwrap());
        assert!(l["first"].contains("offset=0"));
        assert!(l["last"].contains(&format!("offset={}", ((total - 1) / 7) * 7)));
        assert!(
            l["first"].contains("filter=status%3D%27active%27"),
            "{}",
            l["first"]
        );
        assert_eq!(l.contains_key("prev"), pages > 0);
        walked.extend(r.ids("users"));
        pages += 1;
        match l.get("next") {
            Some(next) => url = next.strip_prefix(&s.base).unwrap().to_string(),
            None => break,
        }
    }
    assert_eq!(walked, all_ids, "pages neither overlap nor skip");
    assert_eq!(pages, total.div_ceil(7));
    // offset=2&limit=1 is a different, non-empty record (SDS's check)
    let r = s.get(&format!("{V12}/users?offset=2&limit=1"), &token);
    assert_eq!(r.ids("users"), [all_ids[2].clone()]);
    // an oversized limit is clamped, not rejected
    let s2 = s.get(&format!("{V12}/users?limit=99999999"), &token);
    assert_eq!(s2.status, 200);
    // malformed, zero, negative and repeated paging values
    for q in [
        "limit=0",
        "limit=-3",
        "limit=ten",
        "limit=1e3",
        "offset=-1",
        "limit=5&limit=6",
        "offset=1&offset=2",
        "filter=a&filter=b",
        "orderBy=sideways",
    ] {
        let r = s.get(&format!("{V12}/users?{q}"), &token);
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.code_minor(), "invaliddata", "{q}");
    }
});

fn q(s: &Server, token: &str, base: &str, path: &str, filter: &str) -> Vec<String> {
    let r = s.get(&format!("{base}{path}?filter={}", enc(filter)), token);
    assert_eq!(r.status, 200, "{path} {filter}: {}", r.text);
    let key = path.trim_start_matches('/').split('/').next().unwrap();
    let key = match key {
        "schools" => "orgs",
        "students" | "teachers" => "users",
        "terms" | "gradingPeriods" => "academicSessions",
        k => k,
    };
    r.ids(key)
}

both!(filters_compile_to_sql_over_http, |db| {
    let s = fixture_server(db);
    let t = s.token(&[], &[]);
    for base in [V11, V12] {
        // strings, every operator
        assert_eq!(q(&s, &t, base, "/users", "familyName='Nguyễn'"), ["t1u"]);
        assert_eq!(
            q(&s, &t, base, "/users", "givenName!='Ana'"),
            ["t1u", "u1", "u2"]
        );
        assert_eq!(
            q(&s, &t, base, "/users", "username>'parent.garcia'"),
            ["u2"]
        );
        assert_eq!(
            q(&s, &t, base, "/users", "username>='parent.garcia'"),
            ["g1", "u2"]
        );
        assert_eq!(q(&s, &t, base, "/users", "username<'mr.nguyen'"), ["u1"]);
        assert_eq!(
            q(&s, &t, base, "/users", "username<='mr.nguyen'"),
            ["t1u", "u1"]
        );
        assert_eq!(q(&s, &t, base, "/users", "email~'ZOE@'"), ["u2"]);
        // quotes inside values, spaces
        assert_eq!(q(&s, &t, base, "/users", "familyName='O''Connor'"), ["u2"]);
        assert_eq!(
            q(&s, &t, base, "/courses", "title='Biology, Honors'"),
            ["c2"]
        );
        // dates: a date field and dateLastModified with a date or a date-time
        assert_eq!(
            q(&s, &t, base, "/academicSessions", "startDate>='2026-01-01'"),
            ["t2"]
        );
        assert_eq!(
            q(&s, &t, base, "/users", "dateLastModified>'2000-01-01'").len(),
            4
        );
        assert_eq!(
            q(
                &s,
                &t,
                base,
                "/users",
                "dateLastModified>'2999-01-01T00:00:00.000Z'"
            )
            .len(),
            0
        );
        // enum, dotted and array fields (any element)
        assert_eq!(q(&s, &t, base, "/orgs", "type='district'"), ["d1"]);
        assert_eq!(q(&s, &t, base, "/classes", "course.sourcedId='c2'"), ["k2"]);
        assert_eq!(q(&s, &t, base, "/classes", "terms.sourcedId='t1'"), ["k1"]);
        assert_eq!(q(&s, &t, base, "/courses", "grades='09'"), ["c1"]);
        assert_eq!(q(&s, &t, base, "/courses", "subjects~'bio'"), ["c2"]);
        assert_eq!(q(&s, &t, base, "/users", "roles.role='teacher'"), ["t1u"]);
        // chains
        assert_eq!(
            q(
                &s,
                &t,
                base,
                "/users",
                "roles.role='student' AND familyName~'garc'"
            ),
            ["u1"]
        );
        assert_eq!(
            q(
                &s,
                &t,
                base,
                "/users",
                "username='mr.nguyen' OR email~'zoe'"
            ),
            ["t1u", "u2"]
        );
        // the endpoint's own condition holds whatever the filter
        assert_eq!(
            q(&s, &t, base, "/schools", "sourcedId='d1' OR type!=''"),
            ["s1", "s2"]
        );
        // errors name the problem
        for (f, needle) in [
            ("colour='red'", "colour"),
            ("givenName='x", "quote"),
            ("givenName=='x'", ""),
            ("dateLastModified>'soon'", "date"),
        ] {
            let r = s.get(&format!("{base}/users?filter={}", enc(f)), &t);
            assert_eq!(r.status, 400, "{f}");
            assert_eq!(r.code_minor(), "invalid_filter_field", "{f}");
            assert!(
                r.json()["imsx_description"]
                    .as_str()
                    .unwrap()
                    .contains(needle),
                "{f}: {}",
                r.text
            );
        }
    }
    // 1.1 role filter
    assert_eq!(q(&s, &t, V11, "/users", "role='guardian'"), ["g1"]);
});

both!(sort_and_fields, |db| {
    let s = fixture_server(db);
    let t = s.token(&[], &[]);
    for base in [V11, V12] {
        let r = s.get(&format!("{base}/users?sort=familyName"), &t);
        assert_eq!(
            r.ids("users"),
            ["g1", "u1", "t1u", "u2"],
            "García < García, Jr."
        );
        let r = s.get(&format!("{base}/users?sort=familyName&orderBy=desc"), &t);
        assert_eq!(r.ids("users"), ["u2", "t1u", "u1", "g1"]);
        let r = s.get(&format!("{base}/users?orderBy=desc"), &t);
        assert_eq!(
            r.ids("users"),
            ["g1", "t1u", "u1", "u2"],
            "orderBy alone: sourcedId"
        );
        let r = s.get(
            &format!("{base}/enrollments?sort=class.sourcedId&orderBy=desc"),
            &t,
        );
        assert_eq!(r.ids("enrollments"), ["e4", "e1", "e2", "e3"]);
        // projection, collections and single reads
        let r = s.get(&format!("{base}/users?fields=sourcedId,givenName"), &t);
        for u in r.json()["users"].as_array().unwrap() {
            let keys: Vec<&String> = u.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["sourcedId", "givenName"]);
        }
        let r = s.get(&format!("{base}/classes/k1?fields=title"), &t);
        assert_eq!(
            r.json(),
            serde_json::json!({"class": {"title": "Algebra I - 1"}})
        );
        // blank selection
        let r = s.get(&format!("{base}/users?fields=sourcedId,,givenName"), &t);
        assert_eq!(r.status, 400);
        let minor = if base == V11 {
            "invalid_blank_selection_field"
        } else {
            "invalid_selection_field"
        };
        assert_eq!(r.code_minor(), minor);
    }
    // unknown field: 1.2 400, 1.1 200 with every field and a warning
    let r = s.get(&format!("{V12}/users?fields=sourcedId,shoeSize"), &t);
    assert_eq!(
        (r.status, r.code_minor().as_str()),
        (400, "invalid_selection_field")
    );
    let r = s.get(&format!("{V11}/users?fields=sourcedId,shoeSize"), &t);
    assert_eq!(r.status, 200);
    let j = r.json();
    assert!(
        j["users"][0].get("givenName").is_some(),
        "all fields returned"
    );
    let w = &j["statusInfoSet"][0];
    assert_eq!(w["imsx_severity"], "warning");
    assert!(w["imsx_description"].as_str().unwrap().contains("shoeSize"));
    // unknown sort field: default order; 1.1 says so in a warning, 1.2 stays silent
    let r = s.get(&format!("{V11}/users?sort=shoeSize"), &t);
    assert_eq!(r.ids("users"), ["g1", "t1u", "u1", "u2"]);
    assert_eq!(
        r.json()["statusInfoSet"][0]["imsx_CodeMinor"]["imsx_codeMinorField"][0]
            ["imsx_codeMinorFieldValue"],
        "invalid_sort_field"
    );
    let r = s.get(&format!("{V12}/users?sort=shoeSize"), &t);
    assert_eq!(r.status, 200);
    assert!(r.json().get("statusInfoSet").is_none());
});

both!(token_endpoint_and_scopes, |db| {
    let s = fixture_server(db);
    let (id, secret) = s.client(
        &["roster-core.readonly", "roster-demographics.readonly"],
        &[],
    );
    // HTTP Basic, no scope: every scope of the client
    let r = s.post_token(Some((&id, &secret)), "grant_type=client_credentials");
    assert_eq!(r.status, 200, "{}", r.text);
    let j = r.json();
    assert_eq!(j["token_type"], "bearer");
    assert_eq!(j["expires_in"], 3600);
    assert_eq!(j["scope"].as_str().unwrap().split(' ').count(), 4);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let first = j["access_token"].as_str().unwrap().to_string();
    // form fields, requested scopes intersected (short names tolerated, unknown dropped)
    let form = format!(
        "grant_type=client_credentials&client_id={id}&client_secret={secret}&scope={}",
        enc("https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly roster.readonly")
    );
    let r = s.post_token(None, &form);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["scope"],
        "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
    );
    let core12 = r.json()["access_token"].as_str().unwrap().to_string();
    // JSON body
    let r = send(
        ureq::post(&format!("{}/oauth/token", s.base)).set("Content-Type", "application/json"),
        Some(
            &serde_json::json!({"grant_type": "client_credentials", "client_id": id,
                "client_secret": secret, "scope": "roster-demographics.readonly"})
            .to_string(),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let demo = r.json()["access_token"].as_str().unwrap().to_string();
    // RFC 6749 errors
    let r = s.post_token(Some((&id, "wrong")), "grant_type=client_credentials");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    let r = s.post_token(Some((&id, &secret)), "grant_type=password");
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    let r = s.post_token(Some((&id, &secret)), "");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let r = s.post_token(
        Some((&id, &secret)),
        "grant_type=client_credentials&scope=gradebook.readonly",
    );
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let r = s.post_token(None, "grant_type=client_credentials");
    assert_eq!(r.status, 401);

    // the first token still works after others were issued
    assert_eq!(s.get(&format!("{V12}/users"), &first).status, 200);
    // tokens are stored hashed: the raw token is nowhere in the table
    let mut conn = s.db.store.conn().unwrap();
    let stored = rosterbridge::store::clients::find_token(
        &mut conn,
        &first,
        &rosterbridge::model::time::now(),
    )
    .unwrap();
    assert!(stored.is_none(), "a token must not be stored in clear");
    drop(conn);

    // scopes: core covers top-level reads, not nested ones, not demographics, not 1.1
    assert_eq!(s.get(&format!("{V12}/classes"), &core12).status, 200);
    for path in [
        format!("{V12}/classes/k1/students"),
        format!("{V12}/demographics"),
        format!("{V11}/classes"),
    ] {
        let r = s.get(&path, &core12);
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.code_minor(), "forbidden");
        assert!(r
            .header("www-authenticate")
            .unwrap()
            .contains("insufficient_scope"));
    }
    assert_eq!(s.get(&format!("{V12}/demographics"), &demo).status, 200);
    assert_eq!(s.get(&format!("{V12}/users"), &demo).status, 403);
    // no, bad and malformed credentials
    let r = s.get_anon(&format!("{V12}/users"));
    assert_eq!(
        (r.status, r.code_minor().as_str()),
        (401, "unauthorisedrequest")
    );
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    let r = s.get(&format!("{V12}/users"), "not-a-token");
    assert_eq!(r.status, 401);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("invalid_token"));
    let r = send(
        ureq::get(&format!("{}{V12}/users", s.base)).set("Authorization", "Digest x"),
        None,
    );
    assert_eq!(r.status, 401);
});

both!(org_restricted_clients_see_only_their_orgs, |db| {
    let s = fixture_server(db);
    let only_s2 = s.token(&[], &["s2"]);
    let district = s.token(&[], &["d1"]);
    let only_s1 = s.token(&[], &["s1"]);
    for base in [V11, V12] {
        let ids = |tok: &str, path: &str, key: &str| s.get(&format!("{base}{path}"), tok).ids(key);
        assert_eq!(ids(&only_s2, "/orgs", "orgs"), ["s2"]);
        assert_eq!(ids(&only_s2, "/users", "users"), ["t1u"]);
        assert_eq!(ids(&only_s2, "/classes", "classes"), Vec::<String>::new());
        assert_eq!(
            ids(&only_s2, "/enrollments", "enrollments"),
            Vec::<String>::new()
        );
        assert_eq!(
            ids(&only_s2, "/academicSessions", "academicSessions"),
            Vec::<String>::new()
        );
        assert_eq!(ids(&only_s2, "/courses", "courses"), Vec::<String>::new());
        // an org restriction covers the orgs below it
        assert_eq!(ids(&district, "/orgs", "orgs"), ["d1", "s1", "s2"]);
        assert_eq!(ids(&district, "/users", "users").len(), 4);
        assert_eq!(
            ids(&only_s1, "/academicSessions", "academicSessions"),
            ["gp1", "sy", "t1", "t2"]
        );
        assert_eq!(ids(&only_s1, "/courses", "courses"), ["c1", "c2"]);
        assert_eq!(ids(&only_s1, "/orgs", "orgs"), ["s1"]);
        // no filter widens it
        for f in [
            "sourcedId='x' OR sourcedId!=''",
            "sourcedId!='' OR status='active' OR status='tobedeleted'",
        ] {
            let r = s.get(&format!("{base}/users?filter={}", enc(f)), &only_s2);
            assert_eq!(r.ids("users"), ["t1u"], "{f}");
            assert_eq!(r.header("x-total-count"), Some("1"));
        }
        // by-id reads of others' records are 404, nested reads under them too
        for path in [
            "/users/u1",
            "/classes/k1",
            "/orgs/s1",
            "/orgs/d1",
            "/enrollments/e1",
        ] {
            let r = s.get(&format!("{base}{path}"), &only_s2);
            assert_eq!(r.status, 404, "{path}");
        }
        assert_eq!(s.get(&format!("{base}/users/t1u"), &only_s2).status, 200);
        let r = s.get(&format!("{base}/schools/s1/students"), &only_s2);
        if base == V12 {
            assert_eq!(r.status, 404);
        } else {
            assert_eq!(r.ids("users"), Vec::<String>::new());
        }
    }
    // demographics of visible users only
    let r = s.get(&format!("{V12}/demographics"), &only_s1);
    assert_eq!(r.ids("demographics"), ["u1", "u2"]);
    let r = s.get(&format!("{V12}/demographics"), &only_s2);
    assert_eq!(r.ids("demographics"), Vec::<String>::new());
});

both!(rate_limit_answers_429_with_retry_after, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(
        db,
        Settings {
            rate_limit: Some(0.2),
            ..Settings::default()
        },
    );
    let t = s.token(&[], &[]);
    let other = s.token(&[], &[]);
    // one request per 5 s, burst 1: the second request at once is refused
    assert_eq!(s.get(&format!("{V12}/orgs"), &t).status, 200);
    let r = s.get(&format!("{V12}/orgs"), &t);
    assert_eq!((r.status, r.code_minor().as_str()), (429, "server_busy"));
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(
        s.get(&format!("{V12}/orgs"), &other).status,
        200,
        "per client"
    );
});

both!(health_metrics_and_discovery, |db| {
    let s = fixture_server(db);
    let t = s.token(&[], &[]);
    assert_eq!(s.get_anon("/healthz").json()["status"], "ok");
    s.get(&format!("{V12}/users"), &t);
    s.get(&format!("{V12}/users/nobody"), &t);
    let m = s.get_anon("/metrics");
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    assert!(m.text.contains(
        "rosterbridge_http_requests_total{route=\"/ims/oneroster/rostering/v1p2/users\",status=\"200\"} 1"
    ));
    assert!(m.text.contains(
        "rosterbridge_http_requests_total{route=\"/ims/oneroster/rostering/v1p2/users/{sourcedId}\",status=\"404\"} 1"
    ));
    assert!(m
        .text
        .contains("rosterbridge_http_request_duration_seconds_bucket"));
    assert!(m.text.contains("rosterbridge_db_pool_connections "));
    for file in [
        "onerosterv1p2rostersservice_openapi3_v1p0.json",
        "imsorv1p2_rostering_openapi3_v1p0.json",
    ] {
        let d = s.get_anon(&format!("{V12}/discovery/{file}"));
        assert_eq!(d.status, 200, "discovery is public");
        let j = d.json();
        assert_eq!(j["servers"][0]["url"], format!("{}{V12}", s.base));
        assert_eq!(
            j["components"]["securitySchemes"]["OAuth2CC"]["flows"]["clientCredentials"]
                ["tokenUrl"],
            format!("{}/oauth/token", s.base)
        );
        assert!(j["paths"]["/users"].is_object());
    }
    assert_eq!(
        s.get_anon(&format!("{V12}/discovery/other.json")).status,
        404
    );
    // every operation of the official OpenAPI is in the route table with its wrapper key
    let doc = s
        .get_anon(&format!(
            "{V12}/discovery/imsorv1p2_rostering_openapi3_v1p0.json"
        ))
        .json();
    let mut n = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let op = item["get"]["operationId"].as_str().unwrap();
        let route = ROSTERING
            .iter()
            .find(|r| r.operation == op)
            .unwrap_or_else(|| panic!("{op} missing"));
        let norm = |p: &str| {
            p.split('/')
                .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
                .collect::<Vec<_>>()
                .join("/")
        };
        assert_eq!(norm(path), norm(route.path), "{op}");
        let schema = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            ["$ref"]
            .as_str()
            .unwrap();
        let name = schema.rsplit('/').next().unwrap();
        let props = &doc["components"]["schemas"][name]["properties"];
        assert!(props.get(route.key).is_some(), "{op}: key {}", route.key);
        assert_eq!(
            matches!(route.view, View::Nested(_)),
            norm(path).matches("{}").count() > usize::from(route.single)
        );
        n += 1;
    }
    assert_eq!(n, 41);
});

/// Sign `GET base+path_and_query` as OAuth 1.0a; returns the oauth parameters with the
/// signature.
fn oauth1_params(
    s: &Server,
    path: &str,
    query: &[(&str, &str)],
    key: (&str, &str),
    method: &str,
    ts: i64,
    nonce: &str,
) -> Vec<(String, String)> {
    use rosterbridge::auth::oauth1;
    let mut oauth: Vec<(String, String)> = vec![
        ("oauth_consumer_key".into(), key.0.into()),
        ("oauth_signature_method".into(), method.into()),
        ("oauth_timestamp".into(), ts.to_string()),
        ("oauth_nonce".into(), nonce.into()),
        ("oauth_version".into(), "1.0".into()),
    ];
    let mut all: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.extend(oauth.clone());
    let base = oauth1::base_string("GET", &format!("{}{path}", s.base), &all);
    let sig = match oauth1::Method::parse(method) {
        Some(m) => oauth1::sign(m, key.1, &base),
        None => "c2lnbmF0dXJl".into(),
    };
    oauth.push(("oauth_signature".into(), sig));
    oauth
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// GET with the OAuth parameters in the Authorization header.
fn get_oauth1_header(
    s: &Server,
    path: &str,
    query: &[(&str, &str)],
    oauth: &[(String, String)],
) -> crate::http::Resp {
    let header = oauth
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", enc(v)))
        .collect::<Vec<_>>()
        .join(", ");
    let qs = query_string(query);
    let url = if qs.is_empty() {
        format!("{}{path}", s.base)
    } else {
        format!("{}{path}?{qs}", s.base)
    };
    send(
        ureq::get(&url).set("Authorization", &format!("OAuth realm=\"x\", {header}")),
        None,
    )
}

both!(oauth1_signed_requests_on_the_1_1_endpoints, |db| {
    let s = fixture_server(db);
    let (id, secret) = s.client(&[], &[]);
    let now = chrono::Utc::now().timestamp();
    let path = format!("{V11}/courses");
    // HMAC-SHA256 in the header, a filter with quotes, a comma and spaces
    let query = [
        ("filter", "title='Biology, Honors' OR title='O''Brien'"),
        ("limit", "5"),
    ];
    let p = oauth1_params(&s, &path, &query, (&id, &secret), "HMAC-SHA256", now, "n-1");
    let r = get_oauth1_header(&s, &path, &query, &p);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.ids("courses"), ["c2"]);
    // the same nonce again is a replay
    let r = get_oauth1_header(&s, &path, &query, &p);
    assert_eq!(
        (r.status, r.code_minor().as_str()),
        (401, "unauthorisedrequest")
    );
    assert!(r.json()["imsx_description"]
        .as_str()
        .unwrap()
        .contains("nonce"));
    // HMAC-SHA1 with every parameter in the query string
    let query = [("filter", "familyName~'garc'"), ("sort", "sourcedId")];
    let p = oauth1_params(
        &s,
        &format!("{V11}/users"),
        &query,
        (&id, &secret),
        "HMAC-SHA1",
        now,
        "n-2",
    );
    let mut all: Vec<(&str, &str)> = query.to_vec();
    all.extend(p.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let r = s.get_anon(&format!("{V11}/users?{}", query_string(&all)));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.ids("users"), ["g1", "u1"]);
    // wrong secret, stale and future timestamps, unknown key, tampered query
    let bad = [
        oauth1_params(&s, &path, &[], (&id, "wrong"), "HMAC-SHA256", now, "n-3"),
        oauth1_params(
            &s,
            &path,
            &[],
            (&id, &secret),
            "HMAC-SHA256",
            now - 3600,
            "n-4",
        ),
        oauth1_params(
            &s,
            &path,
            &[],
            (&id, &secret),
            "HMAC-SHA256",
            now + 3600,
            "n-5",
        ),
        oauth1_params(
            &s,
            &path,
            &[],
            ("nobody", &secret),
            "HMAC-SHA256",
            now,
            "n-6",
        ),
    ];
    for p in &bad {
        let r = get_oauth1_header(&s, &path, &[], p);
        assert_eq!(
            (r.status, r.code_minor().as_str()),
            (401, "unauthorisedrequest")
        );
    }
    let p = oauth1_params(
        &s,
        &path,
        &[("limit", "1")],
        (&id, &secret),
        "HMAC-SHA256",
        now,
        "n-7",
    );
    let r = get_oauth1_header(&s, &path, &[("limit", "2")], &p);
    assert_eq!(r.status, 401, "a changed query breaks the signature");
    let p = oauth1_params(&s, &path, &[], (&id, &secret), "PLAINTEXT", now, "n-8");
    assert_eq!(get_oauth1_header(&s, &path, &[], &p).status, 401);
    // 1.2 endpoints take OAuth 2 only
    let p12 = format!("{V12}/courses");
    let p = oauth1_params(&s, &p12, &[], (&id, &secret), "HMAC-SHA256", now, "n-9");
    assert_eq!(get_oauth1_header(&s, &p12, &[], &p).status, 401);
    // an org-restricted client is restricted under OAuth 1.0a too
    let (rid, rsecret) = s.client(&[], &["s2"]);
    let p = oauth1_params(
        &s,
        &format!("{V11}/users"),
        &[],
        (&rid, &rsecret),
        "HMAC-SHA256",
        now,
        "n-10",
    );
    let r = get_oauth1_header(&s, &format!("{V11}/users"), &[], &p);
    assert_eq!(r.ids("users"), ["t1u"]);
});

/// The `oauth2` crate as a real OAuth 2 client, over a plain-HTTP ureq transport.
#[test]
fn oauth2_crate_client_obtains_a_working_token() {
    use oauth2::{AuthUrl, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
    let db = crate::common::TestDb::new(crate::common::Backend::Sqlite).unwrap();
    let s = fixture_server(db);
    let (id, secret) = s.client(&["roster.readonly"], &[]);
    let client = oauth2::basic::BasicClient::new(ClientId::new(id))
        .set_client_secret(ClientSecret::new(secret))
        .set_auth_uri(AuthUrl::new(format!("{}/unused", s.base)).unwrap())
        .set_token_uri(TokenUrl::new(format!("{}/oauth/token", s.base)).unwrap());
    let http = |req: oauth2::HttpRequest| -> Result<oauth2::HttpResponse, std::io::Error> {
        let mut r = ureq::request(req.method().as_str(), &req.uri().to_string());
        for (k, v) in req.headers() {
            r = r.set(k.as_str(), v.to_str().unwrap());
        }
        let resp = match r.send_bytes(req.body()) {
            Ok(x) => x,
            Err(ureq::Error::Status(_, x)) => x,
            Err(e) => return Err(std::io::Error::other(e.to_string())),
        };
        let status = resp.status();
        let ct = resp.header("content-type").unwrap_or("").to_string();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut body)?;
        Ok(oauth2::http::Response::builder()
            .status(status)
            .header("content-type", ct)
            .body(body)
            .unwrap())
    };
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new(
            "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly".into(),
        ))
        .request(&http)
        .unwrap();
    assert_eq!(
        token.expires_in(),
        Some(std::time::Duration::from_secs(3600))
    );
    let granted: Vec<String> = token
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        granted,
        ["https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly"]
    );
    let r = s.get(
        &format!("{V12}/classes/k1/students"),
        token.access_token().secret(),
    );
    assert_eq!(r.ids("users"), ["u1", "u2"]);
}

// Sequential pages continue after the last id of the page before (cached per store
// generation); after an import that adds a record ahead of them, the same offsets must give the
// new order, not continue from the old boundaries.
both!(sequential_pages_follow_the_store_after_an_import, |db| {
    let s = fixture_server(db);
    let t = s.token(&[], &[]);
    let page = |s: &Server, offset: usize, filter: &str| -> Vec<String> {
        let r = s.get(&format!("{V12}/users?limit=1&offset={offset}{filter}"), &t);
        assert_eq!(r.status, 200);
        r.ids("users")
    };
    let forward = |s: &Server, filter: &str| -> Vec<String> {
        (0..8).flat_map(|offset| page(s, offset, filter)).collect()
    };
    // From the last offset back to the first, so each page uses the boundary an earlier walk
    // stored (going forward, each is stored afresh just before it is used).
    let backward = |s: &Server, filter: &str| -> Vec<String> {
        let mut ids = Vec::new();
        for offset in (0..8).rev() {
            ids.splice(0..0, page(s, offset, filter));
        }
        ids
    };
    let all = |s: &Server| s.get(&format!("{V12}/users?limit=100"), &t).ids("users");
    let before = all(&s);
    assert_eq!(before.len(), 4);
    let active = format!("&filter={}", enc("status='active'"));
    for filter in ["", active.as_str()] {
        assert_eq!(forward(&s, filter), before);
        assert_eq!(backward(&s, filter), before, "from the stored boundaries");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    crate::common::delta_manifest(p, "1.2", &["users"]);
    std::fs::write(p.join("users.csv"), "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n\
u0,active,2020-01-01T00:00:00.000Z,true,first.kid,,First,Kid,,1000,first@example.org,,,,09,,,,,,s2,\n").unwrap();
    let report = s.db.import(p);
    assert_eq!(report.outcome, rosterbridge::ingest::Outcome::Committed);
    let after = all(&s);
    assert_eq!(after.len(), 5);
    // u0 sorts ahead of records the first walk saw at later offsets.
    let at = after.iter().position(|i| i == "u0").unwrap();
    assert!(at + 2 < after.len(), "{after:?}");
    for filter in ["", active.as_str()] {
        assert_eq!(
            backward(&s, filter),
            after,
            "boundaries from before the import are not used"
        );
        assert_eq!(forward(&s, filter), after);
    }
});

// Deep offsets in the default order start from checkpoints every 1,024 records (read once per
// query and store generation) instead of stepping over every row before them. Pages at offsets
// around and between checkpoints, past the end, with and without a filter, in an order no
// sequential walk would take, must be the slices of the full list, before and after an import
// that puts new records ahead of all checkpoints.
both!(
    deep_offsets_read_from_checkpoints_match_the_full_list,
    |db| {
        db.import_generated(3, 800, 3);
        let s = Server::start(db, Settings::default());
        let t = s.token(&[], &[]);
        let filter = format!("&filter={}", enc("familyName>='J'"));
        let check = |s: &Server| {
            for f in ["", filter.as_str()] {
                let all = s
                    .get(&format!("{V12}/users?limit=10000{f}"), &t)
                    .ids("users");
                let n = all.len();
                assert!(n > 2 * 1024 + 100, "{n} users{f}: need two checkpoints");
                for offset in [
                    2500,
                    1024,
                    1023,
                    2049,
                    1025,
                    2048,
                    2047,
                    1500,
                    n - 3,
                    n - 1,
                    n,
                    n + 7,
                    3000,
                ] {
                    let page = s
                        .get(&format!("{V12}/users?limit=5&offset={offset}{f}"), &t)
                        .ids("users");
                    let want: Vec<String> = all.iter().skip(offset).take(5).cloned().collect();
                    assert_eq!(page, want, "offset {offset}{f}");
                }
            }
        };
        check(&s);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        crate::common::delta_manifest(p, "1.2", &["users"]);
        let mut csv = String::from("sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n");
        for i in 0..40 {
            csv.push_str(&format!(
            "aaa-new-{i:02},active,2020-01-01T00:00:00.000Z,true,new.kid{i},,New,Kid,,9{i:03},new{i}@example.org,,,,09,,,,,,,\n"
        ));
        }
        std::fs::write(p.join("users.csv"), csv).unwrap();
        let report = s.db.import(p);
        assert_eq!(
            report.outcome,
            rosterbridge::ingest::Outcome::Committed,
            "{report:?}"
        );
        check(&s);
    }
);

both!(totals_follow_the_store_after_an_import, |db| {
    let s = fixture_server(db);
    let t = s.token(&[], &[]);
    let total = |s: &Server| {
        let r = s.get(&format!("{V12}/users?limit=1&offset=1"), &t);
        r.header("x-total-count").unwrap().to_string()
    };
    assert_eq!(total(&s), "4");
    assert_eq!(total(&s), "4", "served again (from the count cache)");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    crate::common::delta_manifest(p, "1.2", &["users", "roles"]);
    std::fs::write(p.join("users.csv"), "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n\
u5,active,2020-01-01T00:00:00.000Z,true,new.kid,,New,Kid,,1005,new@example.org,,,,09,,,,,,s2,\n").unwrap();
    std::fs::write(p.join("roles.csv"), "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\nr6,active,2020-01-01T00:00:00.000Z,u5,primary,student,,,s2,\n").unwrap();
    let report = s.db.import(p);
    assert_eq!(report.outcome, rosterbridge::ingest::Outcome::Committed);
    assert_eq!(
        total(&s),
        "5",
        "a committed import invalidates cached totals"
    );
});

#[test]
fn lis_wsdls_are_served_with_this_servers_address() {
    let db = crate::common::TestDb::new(crate::common::Backend::Sqlite).unwrap();
    let s = Server::start(db, Settings::default());
    for (path, file) in [
        ("/lis/v2p0/PersonManagementService", "lis-person.wsdl"),
        (
            "/lis/v2p0/MembershipManagementService",
            "lis-membership.wsdl",
        ),
    ] {
        let r = s.get_anon(&format!("{path}?wsdl"));
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-type").unwrap().starts_with("text/xml"));
        let url = format!("{}{path}", s.base);
        assert!(r.text.contains(&format!("location=\"{url}\"")), "{path}");
        let published = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("wsdl")
                .join(file),
        )
        .unwrap();
        let original = published
            .split("location=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap();
        assert_eq!(
            r.text.replace(&url, original),
            published,
            "{path}: only the address changes"
        );
        assert_eq!(s.get_anon(path).status, 404);
    }
}

/// `wsdl/` holds the LIS WSDLs exactly as published (their notice allows unchanged copies only),
/// beside rosterbridge's own Group WSDL (IMS published none), which says so.
#[test]
fn wsdl_copies_are_byte_for_byte_the_published_files() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let published = root.join("../shared/spec/lis/wsdl11");
    if !published.is_dir() {
        assert!(
            std::env::var_os("RB_SHARED_FIXTURES").is_none(),
            "../shared/spec/lis/wsdl11 is missing"
        );
        return;
    }
    let mut n = 0;
    for e in std::fs::read_dir(root.join("wsdl")).unwrap() {
        let e = e.unwrap();
        let ours = std::fs::read(e.path()).unwrap();
        if e.file_name() == "lis-group.wsdl" {
            let text = String::from_utf8(ours).unwrap();
            assert!(text.contains("rosterbridge (NOT an IMS publication)"));
            assert!(!published.join("lis-group.wsdl").exists());
            continue;
        }
        let theirs = std::fs::read(published.join(e.file_name())).unwrap();
        assert!(
            ours == theirs,
            "{:?} differs from the published file",
            e.file_name()
        );
        n += 1;
    }
    assert_eq!(n, 4);
}

/// Every real LIS message under ../shared passes the untrusted-XML guard (no false refusals).
#[test]
fn real_lis_messages_pass_the_untrusted_xml_guard() {
    use rosterbridge::soap::{bind::parse, xml::Limits};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/lis/examples");
    if !root.is_dir() {
        assert!(
            std::env::var_os("RB_SHARED_FIXTURES").is_none(),
            "{root:?} is missing"
        );
        return;
    }
    let mut stack = vec![root];
    let mut n = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xml") {
                let body = std::fs::read(&p).unwrap();
                assert!(parse(&body, Limits::default()).is_ok(), "{p:?}");
                n += 1;
            }
        }
    }
    assert!(n >= 5, "only {n} messages found");
}

/// A page larger than one render slice (1,000 records, each slice with its own association
/// load) is the same JSON as small pages of the same records, in both versions.
#[test]
fn pages_larger_than_a_render_slice_match_small_pages() {
    let db = crate::common::TestDb::new(crate::common::Backend::Sqlite).unwrap();
    db.import_generated(1, 600, 11);
    let s = Server::start(db, Settings::default());
    let token = s.token(&[], &[]);
    for (base, key) in [(V12, "users"), (V11, "users"), (V12, "classes")] {
        let big = s.get(&format!("{base}/{key}?limit=5000"), &token).json()[key]
            .as_array()
            .unwrap()
            .clone();
        if key == "users" {
            assert!(
                big.len() > 1000,
                "{} users: need more than one slice",
                big.len()
            );
            // Associations were loaded for the later slices too.
            assert!(big[1000..].iter().any(|u| {
                let roles = if base == V12 { &u["roles"] } else { &u["orgs"] };
                roles.as_array().is_some_and(|r| !r.is_empty())
            }));
        }
        let mut small = Vec::new();
        for offset in (0..big.len()).step_by(100) {
            let page = s.get(&format!("{base}/{key}?limit=100&offset={offset}"), &token);
            small.extend(page.json()[key].as_array().unwrap().iter().cloned());
        }
        assert_eq!(big.len(), small.len(), "{base}/{key}");
        for (a, b) in big.iter().zip(&small) {
            assert_eq!(a, b, "{base}/{key}: {}", a["sourcedId"]);
        }
    }
}
