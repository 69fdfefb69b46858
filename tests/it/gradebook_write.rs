//! Gradebook writes over HTTP (issue #15): PUT, DELETE and 1.2's POSTs on both versions and
//! both backends, through the roster service: real clients' flows (Google Classroom's 1.2
//! acceptance walk, Canvas's grade passback, Microsoft Teams / SDS Grade Sync's 1.1 PUTs), every
//! error answered in the imsx form with the store unchanged, the write rule for restricted
//! clients, deletions seen by delta readers and `export --since`, concurrent writes, the
//! assessment results profile.

use serde_json::{json, Value as Json};

use crate::both;
use crate::common::fixture;
use crate::http::{enc, ids_of as ids, Server};
use crate::render::{check, official};
use rosterbridge::http::server::Settings;

const V12: &str = "/ims/oneroster/gradebook/v1p2";
const V11: &str = "/ims/oneroster/v1p1";
const S12: &str = "https://purl.imsglobal.org/spec/or/v1p2/scope/";
const S11: &str = "https://purl.imsglobal.org/spec/or/v1p1/scope/";

/// A token holding `short` scopes (names without the prefix) of both versions.
fn token(s: &Server, short: &[&str], orgs: &[&str]) -> String {
    let scopes: Vec<String> = short
        .iter()
        .flat_map(|x| {
            // 1.1 has no POST, so no createpost scope.
            let v11 = (*x != "gradebook.createpost").then(|| format!("{S11}{x}"));
            std::iter::once(format!("{S12}{x}")).chain(v11)
        })
        .collect();
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    s.token(&scopes, orgs)
}

const ALL: &[&str] = &[
    "gradebook.readonly",
    "gradebook.createput",
    "gradebook.createpost",
    "gradebook.delete",
];

/// Everything the gradebook serves, as the JSON bodies of its collections (for "unchanged").
fn state(s: &Server, t: &str) -> Vec<Json> {
    ["categories", "lineItems", "results", "scoreScales"]
        .iter()
        .map(|c| {
            s.get(
                &format!(
                    "{V12}/{c}?filter={}",
                    enc("dateLastModified>'2000-01-01T00:00:00Z'")
                ),
                t,
            )
            .json()
        })
        .collect()
}

/// Validate `body` against the official gradebook schema `schema`.
fn valid(body: &Json, schema: &str) {
    let doc = official("onerosterv1p2gradebookservice_openapi3_v1p0.json");
    let mut errors = Vec::new();
    check(
        &doc,
        &doc["components"]["schemas"][schema],
        body,
        schema,
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:#?}\n{body}");
}

both!(google_classroom_flow_round_trips_lean_writes, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let t = token(&s, ALL, &[]);
    let cats = s.get(&format!("{V12}/classes/k1/categories"), &t);
    assert_eq!(cats.ids("categories"), ["cat1"]);

    // A lean line item: GUIDRefs with only sourcedId, no status, no school, date-times, and
    // a title of several thousand characters.
    let li = "6f1c2d3e-0000-4000-8000-000000000001";
    let title: String = "Long title ".repeat(500);
    let body = json!({"lineItem": {
        "sourcedId": li,
        "title": title,
        "assignDate": "2026-01-05T08:00:00.000Z",
        "dueDate": "2026-01-12T23:59:59Z",
        "class": {"sourcedId": "k1"},
        "category": {"sourcedId": "cat1"},
        "academicSession": {"sourcedId": "gp1"},
        "resultValueMin": 0,
        "resultValueMax": 100
    }});
    let r = s.put(&format!("{V12}/lineItems/{li}"), &t, &body);
    assert_eq!(r.status, 201, "{}", r.text);
    let got = s.get(&format!("{V12}/lineItems/{li}"), &t).json();
    valid(&got, "SingleLineItemDType");
    let item = &got["lineItem"];
    assert_eq!(item["title"].as_str().unwrap().len(), title.len());
    assert_eq!(item["status"], "active");
    assert_eq!(item["school"]["sourcedId"], "s1", "the class's school");
    assert_eq!(item["assignDate"], "2026-01-05T00:00:00.000Z");
    let first_stamp = item["dateLastModified"].as_str().unwrap().to_string();
    // Replace: 200, and the change is stamped.
    let mut body2 = body.clone();
    body2["lineItem"]["title"] = json!("Essay 1");
    let r = s.put(&format!("{V12}/lineItems/{li}"), &t, &body2);
    assert_eq!(r.status, 200, "{}", r.text);
    let got = s.get(&format!("{V12}/lineItems/{li}"), &t).json();
    assert_eq!(got["lineItem"]["title"], "Essay 1");
    assert!(got["lineItem"]["dateLastModified"].as_str().unwrap() > first_stamp.as_str());
    let listed = s.get(&format!("{V12}/classes/k1/lineItems"), &t);
    assert!(listed.ids("lineItems").contains(&li.to_string()));

    // A result above resultValueMax (extra credit), then exempt.
    let res = "6f1c2d3e-0000-4000-8000-000000000002";
    let result = |status: &str, score: f64| {
        json!({"result": {
            "sourcedId": res,
            "lineItem": {"sourcedId": li},
            "student": {"sourcedId": "u1"},
            "scoreStatus": status,
            "score": score,
            "scoreDate": "2026-01-13"
        }})
    };
    let r = s.put(
        &format!("{V12}/results/{res}"),
        &t,
        &result("fully graded", 300.0),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let got = s.get(&format!("{V12}/results/{res}"), &t).json();
    valid(&got, "SingleResultDType");
    assert_eq!(got["result"]["score"], 300.0);
    let r = s.put(&format!("{V12}/results/{res}"), &t, &result("exempt", 0.0));
    assert_eq!(r.status, 200, "{}", r.text);
    let got = s.get(&format!("{V12}/results/{res}"), &t).json();
    assert_eq!(got["result"]["scoreStatus"], "exempt");
    let class_results = s.get(&format!("{V12}/classes/k1/results"), &t);
    assert!(class_results.ids("results").contains(&res.to_string()));

    // Delete the result and the line item: gone from ordinary reads...
    let before_delete = rosterbridge::model::time::now();
    // Stamps are to the millisecond: the deletion's must come after this one.
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert_eq!(s.delete(&format!("{V12}/results/{res}"), &t).status, 204);
    assert_eq!(s.delete(&format!("{V12}/lineItems/{li}"), &t).status, 204);
    assert_eq!(s.get(&format!("{V12}/results/{res}"), &t).status, 404);
    assert_eq!(s.get(&format!("{V12}/lineItems/{li}"), &t).status, 404);
    assert!(!s
        .get(&format!("{V12}/results"), &t)
        .ids("results")
        .contains(&res.to_string()));
    assert!(!s
        .get(&format!("{V12}/classes/k1/lineItems"), &t)
        .ids("lineItems")
        .contains(&li.to_string()));
    assert_eq!(
        s.delete(&format!("{V12}/results/{res}"), &t).status,
        404,
        "already gone"
    );
    // ...but a delta reader sees the deletions.
    let since = enc(&format!("dateLastModified>'{before_delete}'"));
    let delta = s.get(&format!("{V12}/results?filter={since}"), &t).json();
    assert_eq!(ids(&delta, "results"), [res]);
    assert_eq!(delta["results"][0]["status"], "tobedeleted");
    let delta = s.get(&format!("{V12}/lineItems?filter={since}"), &t).json();
    assert_eq!(ids(&delta, "lineItems"), [li]);
    assert_eq!(delta["lineItems"][0]["status"], "tobedeleted");
    // A PUT brings a deleted record back: created again.
    let r = s.put(&format!("{V12}/lineItems/{li}"), &t, &body2);
    assert_eq!(r.status, 201, "{}", r.text);
});

both!(
    write_errors_answer_imsx_and_leave_the_store_unchanged,
    |db| {
        db.import(&fixture("valid-1.2"));
        let s = Server::start(db, Settings::default());
        let t = token(&s, ALL, &[]);
        let before = state(&s, &t);
        let li = |f: &dyn Fn(&mut Json)| {
            let mut b = json!({"lineItem": {
                "sourcedId": "x1", "title": "T", "assignDate": "2026-01-05", "dueDate": "2026-01-06",
                "class": {"sourcedId": "k1"}, "category": {"sourcedId": "cat1"},
                "academicSession": {"sourcedId": "gp1"}
            }});
            f(&mut b["lineItem"]);
            b
        };
        let cases: Vec<(&str, Json, u16, &str)> = vec![
            (
                "body/path sourcedId mismatch",
                li(&|o| o["sourcedId"] = json!("other")),
                422,
                "sourcedId",
            ),
            (
                "unknown class",
                li(&|o| o["class"] = json!({"sourcedId": "nope"})),
                422,
                "class",
            ),
            (
                "unknown category",
                li(&|o| o["category"] = json!({"sourcedId": "nope"})),
                422,
                "category",
            ),
            (
                "unknown session",
                li(&|o| o["academicSession"] = json!({"sourcedId": "nope"})),
                422,
                "academicSession",
            ),
            (
                "missing title",
                li(&|o| {
                    o.as_object_mut().unwrap().remove("title");
                }),
                422,
                "title",
            ),
            (
                "bad date",
                li(&|o| o["dueDate"] = json!("soon")),
                422,
                "dueDate",
            ),
            (
                "bad number",
                li(&|o| o["resultValueMax"] = json!("lots")),
                422,
                "resultValueMax",
            ),
            (
                "bad status",
                li(&|o| o["status"] = json!("gone")),
                422,
                "status",
            ),
            (
                "GUIDRef of the wrong form",
                li(&|o| o["class"] = json!(7)),
                422,
                "class",
            ),
            ("no wrapper", json!({"title": "T"}), 400, "lineItem"),
        ];
        for (what, body, want, names) in cases {
            let r = s.put(&format!("{V12}/lineItems/x1"), &t, &body);
            assert_eq!(r.status, want, "{what}: {}", r.text);
            assert_eq!(r.code_minor(), "invaliddata", "{what}");
            let desc = r.json()["imsx_description"].as_str().unwrap().to_string();
            assert!(desc.contains(names), "{what}: '{desc}' names {names}");
        }
        let result = |f: &dyn Fn(&mut Json)| {
            let mut b = json!({"result": {
                "lineItem": {"sourcedId": "li1"}, "student": {"sourcedId": "u1"},
                "scoreStatus": "fully graded", "scoreDate": "2026-01-13", "score": 1
            }});
            f(&mut b["result"]);
            b
        };
        for (what, body, names) in [
            (
                "bad enum",
                result(&|o| o["scoreStatus"] = json!("graded-ish")),
                "scoreStatus",
            ),
            (
                "unknown student",
                result(&|o| o["student"] = json!({"sourcedId": "ghost"})),
                "student",
            ),
            (
                "unknown line item",
                result(&|o| o["lineItem"] = json!({"sourcedId": "ghost"})),
                "lineItem",
            ),
            ("bad flag", result(&|o| o["late"] = json!("maybe")), "late"),
        ] {
            let r = s.put(&format!("{V12}/results/r-x"), &t, &body);
            assert_eq!(r.status, 422, "{what}: {}", r.text);
            let desc = r.json()["imsx_description"].as_str().unwrap().to_string();
            assert!(desc.contains(names), "{what}: '{desc}'");
        }
        // 1.1 answers 400 for the same refusals.
        let r = s.put(
            &format!("{V11}/results/r-x"),
            &t,
            &result(&|o| o["student"] = json!({"sourcedId": "ghost"})),
        );
        assert_eq!(
            (r.status, r.code_minor().as_str()),
            (400, "invaliddata"),
            "{}",
            r.text
        );
        // Malformed and oversized bodies.
        let raw = |body: &str| {
            crate::http::send(
                ureq::put(&format!("{}{V12}/lineItems/x1", s.base))
                    .set("Authorization", &format!("Bearer {t}"))
                    .set("Content-Type", "application/json"),
                Some(body),
            )
        };
        let r = raw("{\"lineItem\": {");
        assert_eq!((r.status, r.code_minor().as_str()), (400, "invaliddata"));
        let big = format!(
            "{{\"lineItem\": {{\"title\": \"{}\"}}}}",
            "x".repeat(9 * 1024 * 1024)
        );
        let r = raw(&big);
        assert_eq!(r.status, 413, "{}", &r.text[..r.text.len().min(200)]);
        assert!(r.json()["imsx_codeMajor"].is_string());
        // Unknown records and parents; missing scopes.
        assert_eq!(
            s.delete(&format!("{V12}/lineItems/ghost"), &t).code_minor(),
            "unknownobject"
        );
        let r = s.post(
            &format!("{V12}/classes/ghost/lineItems"),
            &t,
            &json!({"lineItems": []}),
        );
        assert_eq!((r.status, r.code_minor().as_str()), (404, "unknownobject"));
        let reader = token(&s, &["gradebook.readonly"], &[]);
        let r = s.put(&format!("{V12}/lineItems/x1"), &reader, &li(&|_| {}));
        assert_eq!((r.status, r.code_minor().as_str()), (403, "forbidden"));
        assert_eq!(
            s.delete(&format!("{V12}/lineItems/li1"), &reader).status,
            403
        );
        // Methods: 405 with the path's methods.
        let r = s.send("PATCH", &format!("{V12}/lineItems/li1"), &t, None);
        assert_eq!(r.status, 405);
        assert_eq!(r.header("Allow"), Some("GET, PUT, DELETE"));
        let r = s.get(&format!("{V12}/lineItems/li1/results"), &t);
        assert_eq!((r.status, r.header("Allow")), (405, Some("POST")));
        assert_eq!(
            s.send("PUT", &format!("{V12}/lineItemz/1"), &t, None)
                .status,
            404
        );
        assert_eq!(state(&s, &t), before, "nothing was written");
    }
);

both!(posts_allocate_ids_and_answer_sourced_id_pairs, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let t = token(&s, ALL, &[]);
    let item = |tmp: &str, title: &str| {
        json!({"sourcedId": tmp, "title": title, "assignDate": "2026-02-01T00:00:00Z",
               "dueDate": "2026-02-02T00:00:00Z", "category": {"sourcedId": "cat1"},
               "academicSession": {"sourcedId": "gp1"}})
    };
    let r = s.post(
        &format!("{V12}/classes/k1/lineItems"),
        &t,
        &json!({"lineItems": [item("tmp-1", "A"), item("tmp-2", "B")]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let pairs = r.json()["sourcedIdPairs"].as_array().unwrap().clone();
    assert_eq!(pairs.len(), 2);
    assert_eq!(pairs[0]["suppliedSourcedId"], "tmp-1");
    let a = pairs[0]["allocatedSourcedId"].as_str().unwrap().to_string();
    let b = pairs[1]["allocatedSourcedId"].as_str().unwrap().to_string();
    assert!(a != b && a != "tmp-1" && a.len() == 36, "{a} {b}");
    let got = s.get(&format!("{V12}/lineItems/{a}"), &t).json();
    assert_eq!(
        got["lineItem"]["class"]["sourcedId"], "k1",
        "the path's class"
    );
    assert_eq!(got["lineItem"]["title"], "A");
    // Into a school: the path's school; the class comes from the body.
    let mut at_school = item("tmp-3", "C");
    at_school["class"] = json!({"sourcedId": "k2"});
    let r = s.post(
        &format!("{V12}/schools/s1/lineItems"),
        &t,
        &json!({"lineItems": [at_school]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    // Results into a line item.
    let results: Vec<Json> = (0..40)
        .map(|i| json!({"sourcedId": format!("t{i}"), "student": {"sourcedId": if i % 2 == 0 {"u1"} else {"u2"}},
                        "scoreStatus": "fully graded", "score": i, "scoreDate": "2026-02-03"}))
        .collect();
    let r = s.post(
        &format!("{V12}/lineItems/{a}/results"),
        &t,
        &json!({"results": results}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["sourcedIdPairs"].as_array().unwrap().len(), 40);
    let listed = s.get(&format!("{V12}/classes/k1/lineItems/{a}/results"), &t);
    assert_eq!(listed.ids("results").len(), 40);
    // Results for a class in an academic session: the line item must be of both.
    let res = |li: &str| {
        json!({"results": [{"lineItem": {"sourcedId": li}, "student": {"sourcedId": "u1"},
                                              "scoreStatus": "submitted", "scoreDate": "2026-02-03"}]})
    };
    let r = s.post(
        &format!("{V12}/classes/k1/academicSessions/gp1/results"),
        &t,
        &res(&a),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["sourcedIdPairs"][0]["allocatedSourcedId"]
        .as_str()
        .unwrap()
        .to_string();
    let got = s.get(&format!("{V12}/results/{id}"), &t).json();
    assert_eq!(got["result"]["class"]["sourcedId"], "k1");
    let r = s.post(
        &format!("{V12}/classes/k1/academicSessions/t2/results"),
        &t,
        &res(&a),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    let r = s.post(
        &format!("{V12}/classes/k1/academicSessions/ghost/results"),
        &t,
        &res(&a),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    // One bad item refuses the whole batch.
    let mut bad = results_of(&["u1", "ghost"]);
    bad["results"][0]["sourcedId"] = json!("keep-out");
    let before = s.get(&format!("{V12}/results"), &t).ids("results").len();
    let r = s.post(&format!("{V12}/lineItems/{a}/results"), &t, &bad);
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        s.get(&format!("{V12}/results"), &t).ids("results").len(),
        before
    );
    // POST needs createpost; 1.1 has no POST.
    let put_only = token(&s, &["gradebook.createput"], &[]);
    assert_eq!(
        s.post(
            &format!("{V12}/lineItems/{a}/results"),
            &put_only,
            &results_of(&["u1"])
        )
        .status,
        403
    );
    assert_eq!(
        s.post(
            &format!("{V11}/classes/k1/lineItems"),
            &t,
            &json!({"lineItems": []})
        )
        .status,
        405
    );
});

fn results_of(students: &[&str]) -> Json {
    let list: Vec<Json> = students
        .iter()
        .map(|u| json!({"student": {"sourcedId": u}, "scoreStatus": "submitted", "scoreDate": "2026-02-03"}))
        .collect();
    json!({ "results": list })
}

both!(teams_grade_sync_puts_on_1_1, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let t = token(&s, ALL, &[]);
    // SDS Grade Sync: a 1.1 line item (gradingPeriod, no school) and a result.
    let r = s.put(
        &format!("{V11}/lineItems/teams-li"),
        &t,
        &json!({"lineItem": {"sourcedId": "teams-li", "status": "active", "title": "Quiz",
            "assignDate": "2026-03-01", "dueDate": "2026-03-02",
            "class": {"href": "ignored", "sourcedId": "k1", "type": "class"},
            "category": {"sourcedId": "cat1", "type": "category"},
            "gradingPeriod": {"sourcedId": "gp1", "type": "academicSession"},
            "resultValueMin": 0.0, "resultValueMax": 10.0}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let v11 = s.get(&format!("{V11}/lineItems/teams-li"), &t).json();
    assert_eq!(v11["lineItem"]["gradingPeriod"]["sourcedId"], "gp1");
    assert!(v11["lineItem"].get("school").is_none());
    let v12 = s.get(&format!("{V12}/lineItems/teams-li"), &t).json();
    valid(&v12, "SingleLineItemDType");
    assert_eq!(v12["lineItem"]["school"]["sourcedId"], "s1");
    assert_eq!(v12["lineItem"]["academicSession"]["sourcedId"], "gp1");
    let r = s.put(
        &format!("{V11}/results/teams-r"),
        &t,
        &json!({"result": {"sourcedId": "teams-r", "lineItem": {"sourcedId": "teams-li"},
            "student": {"sourcedId": "u2"}, "scoreStatus": "fully graded", "score": 9.5,
            "scoreDate": "2026-03-03", "comment": "well done"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        s.get(&format!("{V11}/results/teams-r"), &t).json()["result"]["score"],
        9.5
    );
    // A 1.1 PUT of a category keeps the weight 1.1 cannot carry.
    let r = s.put(
        &format!("{V11}/categories/cat1"),
        &t,
        &json!({"category": {"title": "Tests"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let cat = s.get(&format!("{V12}/categories/cat1"), &t).json();
    assert_eq!(
        (
            cat["category"]["title"].as_str(),
            cat["category"]["weight"].as_f64()
        ),
        (Some("Tests"), Some(0.5))
    );
    assert_eq!(s.delete(&format!("{V11}/results/teams-r"), &t).status, 204);
    assert_eq!(s.get(&format!("{V11}/results/teams-r"), &t).status, 404);
    // A 1.2 score scale PUT takes its org and course from its class.
    let r = s.put(
        &format!("{V12}/scoreScales/ss2"),
        &t,
        &json!({"scoreScale": {"title": "Pass/fail", "type": "binary", "class": {"sourcedId": "k2"},
            "scoreScaleValue": [{"itemValueLHS": "1", "itemValueRHS": "pass"}]}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let ss = s.get(&format!("{V12}/scoreScales/ss2"), &t).json();
    valid(&ss, "SingleScoreScaleDType");
    assert_eq!(ss["scoreScale"]["course"]["sourcedId"], "c2");
    let by_school = s.get(&format!("{V12}/schools/s1/scoreScales"), &t);
    assert!(by_school.ids("scoreScales").contains(&"ss2".to_string()));
    assert_eq!(s.delete(&format!("{V12}/scoreScales/ss2"), &t).status, 204);
    assert_eq!(s.delete(&format!("{V12}/categories/cat1"), &t).status, 204);
    assert!(s
        .get(&format!("{V12}/categories"), &t)
        .ids("categories")
        .is_empty());
});

both!(restricted_clients_write_only_where_they_see, |db| {
    db.import(&fixture("valid-1.2"));
    // A class at s2, with a line item.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("classes.csv"),
        "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n\
         k3,active,2025-01-01T00:00:00.000Z,Art,,c2,,scheduled,,s2,t1,,,\n",
    )
    .unwrap();
    crate::common::delta_manifest(dir.path(), "1.2", &["classes"]);
    assert_eq!(
        db.import(dir.path()).outcome,
        rosterbridge::ingest::Outcome::Committed
    );
    let s = Server::start(db, Settings::default());
    let admin = token(&s, ALL, &[]);
    let t = token(&s, ALL, &["s2"]);
    let li = |class: &str| {
        json!({"lineItem": {"title": "T", "assignDate": "2026-01-05", "dueDate": "2026-01-06",
               "class": {"sourcedId": class}, "category": {"sourcedId": "cat1"},
               "academicSession": {"sourcedId": "t1"}}})
    };
    let before = state(&s, &admin);
    // Into another org's class: 403, nothing stored.
    let r = s.put(&format!("{V12}/lineItems/mine"), &t, &li("k1"));
    assert_eq!(
        (r.status, r.code_minor().as_str()),
        (403, "forbidden"),
        "{}",
        r.text
    );
    // Overwriting or deleting what it cannot see: refused, the record as it was.
    let r = s.put(&format!("{V12}/lineItems/li1"), &t, &li("k3"));
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(s.delete(&format!("{V12}/lineItems/li1"), &t).status, 404);
    assert_eq!(s.delete(&format!("{V12}/results/res1"), &t).status, 404);
    let r = s.put(
        &format!("{V12}/results/res1"),
        &t,
        &json!({"result": {"lineItem": {"sourcedId": "li1"}, "student": {"sourcedId": "u1"},
                "scoreStatus": "exempt", "scoreDate": "2026-01-01"}}),
    );
    assert_eq!(r.status, 403, "{}", r.text);
    let r = s.post(
        &format!("{V12}/classes/k1/lineItems"),
        &t,
        &json!({"lineItems": []}),
    );
    assert_eq!(
        r.status, 404,
        "another org's class is not there for this client"
    );
    assert_eq!(state(&s, &admin), before, "nothing changed");
    // In its own class: allowed; a result for a student it cannot see is not.
    let r = s.put(&format!("{V12}/lineItems/mine"), &t, &li("k3"));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        s.get(&format!("{V12}/lineItems/mine"), &t).json()["lineItem"]["school"]["sourcedId"],
        "s2"
    );
    let r = s.put(
        &format!("{V12}/results/theirs"),
        &t,
        &json!({"result": {"lineItem": {"sourcedId": "mine"}, "student": {"sourcedId": "u1"},
                "scoreStatus": "exempt", "scoreDate": "2026-01-01"}}),
    );
    assert_eq!(r.status, 403, "u1 holds no role at s2: {}", r.text);
    assert_eq!(s.get(&format!("{V12}/results/theirs"), &admin).status, 404);
    let r = s.put(
        &format!("{V12}/results/ok"),
        &t,
        &json!({"result": {"lineItem": {"sourcedId": "mine"}, "student": {"sourcedId": "t1u"},
                "scoreStatus": "exempt", "scoreDate": "2026-01-01"}}),
    );
    assert_eq!(r.status, 201, "t1u holds a role at s2: {}", r.text);
    assert_eq!(s.delete(&format!("{V12}/lineItems/mine"), &t).status, 204);
});

both!(concurrent_puts_all_land_and_race_imports_safely, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let t = token(&s, ALL, &[]);
    // Every seventh names a student that does not exist: refused (422) on its own, whatever
    // else shares its commit.
    let put = |s: &Server, i: usize| {
        let student = match i {
            _ if i % 7 == 3 => "ghost",
            _ if i % 2 == 0 => "u1",
            _ => "u2",
        };
        let r = s.put(
            &format!("{V12}/results/par-{i}"),
            &t,
            &json!({"result": {"lineItem": {"sourcedId": "li1"}, "student": {"sourcedId": student},
                    "scoreStatus": "fully graded", "score": i, "scoreDate": "2026-01-01"}}),
        );
        let want = if student == "ghost" { 422 } else { 201 };
        assert_eq!(r.status, want, "{}", r.text);
    };
    std::thread::scope(|scope| {
        for i in 0..50 {
            let s = &s;
            scope.spawn(move || put(s, i));
        }
        // A CSV delta of the same class runs meanwhile.
        scope.spawn(|| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(
                dir.path().join("lineItems.csv"),
                "sourcedId,status,dateLastModified,title,description,assignDate,dueDate,classSourcedId,categorySourcedId,academicSessionSourcedId,resultValueMin,resultValueMax,schoolSourcedId\n\
                 li1,active,2025-01-01T00:00:00.000Z,Unit 1 (renamed),,2025-09-01,2025-09-15,k1,cat1,gp1,0,100,s1\n",
            )
            .unwrap();
            crate::common::delta_manifest(dir.path(), "1.2", &["lineItems"]);
            let report = s.db.import(dir.path());
            assert_eq!(report.outcome, rosterbridge::ingest::Outcome::Committed, "{:?}", report.diags.list);
        });
    });
    let got = s.get(
        &format!("{V12}/classes/k1/lineItems/li1/results?limit=1000"),
        &t,
    );
    let refused = (0..50).filter(|i| i % 7 == 3).count();
    assert_eq!(
        got.ids("results").len(),
        52 - refused,
        "the accepted new results and the fixture's two"
    );
    assert_eq!(
        s.get(&format!("{V12}/lineItems/li1"), &t).json()["lineItem"]["title"],
        "Unit 1 (renamed)"
    );
    // The import log names who wrote: each write alone as `rest:putResult:<client>`, shared
    // deltas as `batch of N writes:<clients>`; the accepted writes are all there.
    let mut conn = s.db.store.conn().unwrap();
    let runs = rosterbridge::store::imports::list(&mut conn, 1000).unwrap();
    let written: usize = runs
        .iter()
        .filter(|r| r.outcome == "committed")
        .filter_map(|r| {
            if r.source.starts_with("rest:putResult:") {
                Some(1)
            } else {
                let n = r.source.strip_prefix("batch of ")?;
                n.split(' ').next()?.parse().ok()
            }
        })
        .sum();
    assert_eq!(written, 50 - refused, "{runs:#?}");
});

both!(grade_changes_over_rest_go_home_through_export_since, |db| {
    use rosterbridge::export::{export, ExportOptions};
    use rosterbridge::model::catalog::Version;
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let t = token(&s, ALL, &[]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let since = rosterbridge::model::time::now();
    // Grade changes: a new line item and result, a changed score, a deletion.
    let r = s.put(
        &format!("{V12}/lineItems/hw2"),
        &t,
        &json!({"lineItem": {"title": "Homework 2", "assignDate": "2026-01-05", "dueDate": "2026-01-06",
            "class": {"sourcedId": "k1"}, "category": {"sourcedId": "cat1"}, "academicSession": {"sourcedId": "gp1"}}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let result = |id: &str, li: &str, student: &str, score: f64| {
        json!({"result": {"sourcedId": id, "lineItem": {"sourcedId": li}, "student": {"sourcedId": student},
            "scoreStatus": "fully graded", "score": score, "scoreDate": "2026-01-07"}})
    };
    assert_eq!(
        s.put(
            &format!("{V12}/results/hw2-u1"),
            &t,
            &result("hw2-u1", "hw2", "u1", 8.0)
        )
        .status,
        201
    );
    let mut res1 = s.get(&format!("{V12}/results/res1"), &t).json();
    res1["result"]["score"] = json!(91);
    assert_eq!(s.put(&format!("{V12}/results/res1"), &t, &res1).status, 200);
    assert_eq!(s.delete(&format!("{V12}/results/res2"), &t).status, 204);
    // `export --since` holds exactly those changes, in both versions.
    for version in [Version::V1_2, Version::V1_1] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("since");
        export(
            &s.db.store,
            &out,
            &ExportOptions {
                version,
                since: Some(since.clone()),
            },
        )
        .unwrap();
        let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
        let mut rows: Vec<&str> = results
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        rows.sort();
        assert_eq!(rows, ["hw2-u1", "res1", "res2"], "{version:?}\n{results}");
        assert!(
            results.lines().any(|l| l.starts_with("res2,tobedeleted,")),
            "{results}"
        );
        assert!(
            results
                .lines()
                .any(|l| l.starts_with("res1,") && l.contains(",91,")),
            "{results}"
        );
        let items = std::fs::read_to_string(out.join("lineItems.csv")).unwrap();
        assert_eq!(items.lines().count(), 2, "{items}");
        assert!(items.contains("hw2,active,"), "{items}");
        assert!(
            !out.join("users.csv").exists(),
            "unchanged files are absent"
        );
    }
    // A full export re-imported into a fresh store equals what REST serves.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("all");
    export(
        &s.db.store,
        &out,
        &ExportOptions {
            version: Version::V1_2,
            since: None,
        },
    )
    .unwrap();
    let fresh = crate::common::TestDb::new(crate::common::Backend::Sqlite).unwrap();
    assert_eq!(
        fresh.import(&out).outcome,
        rosterbridge::ingest::Outcome::Committed
    );
    let other = Server::start(fresh, Settings::default());
    let t2 = token(&other, ALL, &[]);
    for path in [
        "/lineItems",
        "/results",
        "/categories",
        "/scoreScales",
        "/results/res1",
        "/lineItems/hw2",
    ] {
        let mut a = s.get(&format!("{V12}{path}"), &t).json();
        let mut b = other.get(&format!("{V12}{path}"), &t2).json();
        strip(&mut a);
        strip(&mut b);
        assert_eq!(a, b, "{path}");
    }
});

/// A body without what differs between two servers holding the same data: hrefs (the host)
/// and dateLastModified (each store stamps its own import).
fn strip(j: &mut Json) {
    match j {
        Json::Object(o) => {
            o.remove("href");
            o.remove("dateLastModified");
            o.values_mut().for_each(strip);
        }
        Json::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

both!(assessment_results_profile_round_trips, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let scopes: Vec<String> = [
        "assessment.readonly",
        "assessment.createput",
        "assessment.delete",
    ]
    .iter()
    .map(|x| format!("{S12}{x}"))
    .collect();
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let t = s.token(&scopes, &[]);
    let r = s.put(
        &format!("{V12}/assessmentLineItems/ali1"),
        &t,
        &json!({"assessmentLineItem": {"title": "Benchmark test", "class": {"sourcedId": "k1"},
            "scoreScale": {"sourcedId": "ss1"}, "resultValueMin": 0, "resultValueMax": 50,
            "learningObjectiveSet": [{"source": "case", "learningObjectiveIds": ["lo-1", "lo-2"]},
                                     {"source": "unknown", "learningObjectiveIds": ["local-9"]}]}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let got = s.get(&format!("{V12}/assessmentLineItems/ali1"), &t).json();
    valid(&got, "SingleAssessmentLineItemDType");
    assert_eq!(
        got["assessmentLineItem"]["learningObjectiveSet"],
        json!([{"source": "case", "learningObjectiveIds": ["lo-1", "lo-2"]},
               {"source": "unknown", "learningObjectiveIds": ["local-9"]}])
    );
    let r = s.put(
        &format!("{V12}/assessmentLineItems/ali2"),
        &t,
        &json!({"assessmentLineItem": {"title": "Part 2", "parentAssessmentLineItem": {"sourcedId": "ali1"}}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let got = s.get(&format!("{V12}/assessmentLineItems/ali2"), &t).json();
    valid(&got, "SingleAssessmentLineItemDType");
    assert_eq!(
        got["assessmentLineItem"]["parentAssessmentLineItem"]["sourcedId"],
        "ali1"
    );
    assert!(
        got["assessmentLineItem"]["parentAssessmentLineItem"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/ims/oneroster/gradebook/v1p2/assessmentLineItems/ali1")
    );
    assert_eq!(
        got["assessmentLineItem"]["parentAssessmentLineItem"]["type"],
        "assessmentLineItem"
    );
    let r = s.put(
        &format!("{V12}/assessmentResults/ar1"),
        &t,
        &json!({"assessmentResult": {"assessmentLineItem": {"sourcedId": "ali1"}, "student": {"sourcedId": "u1"},
            "score": 47, "scorePercentile": 91.5, "scoreDate": "2026-02-01", "scoreStatus": "fully graded",
            "late": "false", "learningObjectiveSet": [{"source": "case", "learningObjectiveResults": [
                {"learningObjectiveId": "lo-1", "score": 9.5}, {"learningObjectiveId": "lo-2", "textScore": "B"}]}]}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let got = s.get(&format!("{V12}/assessmentResults/ar1"), &t).json();
    valid(&got, "SingleAssessmentResultDType");
    assert_eq!(got["assessmentResult"]["scorePercentile"], 91.5);
    assert_eq!(
        got["assessmentResult"]["learningObjectiveSet"],
        json!([{"source": "case", "learningObjectiveResults": [
            {"learningObjectiveId": "lo-1", "score": 9.5}, {"learningObjectiveId": "lo-2", "textScore": "B"}]}])
    );
    // A replacement without one of the objectives drops it; one without the key keeps them.
    let ali1 = |set: Option<Json>| {
        let mut li = json!({"title": "Benchmark test", "class": {"sourcedId": "k1"}});
        if let Some(set) = set {
            li["learningObjectiveSet"] = set;
        }
        s.put(
            &format!("{V12}/assessmentLineItems/ali1"),
            &t,
            &json!({"assessmentLineItem": li}),
        )
    };
    let r = ali1(Some(
        json!([{"source": "case", "learningObjectiveIds": ["lo-2"]}]),
    ));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = ali1(None);
    assert_eq!(r.status, 200, "{}", r.text);
    let got = s.get(&format!("{V12}/assessmentLineItems/ali1"), &t).json();
    assert_eq!(
        got["assessmentLineItem"]["learningObjectiveSet"],
        json!([{"source": "case", "learningObjectiveIds": ["lo-2"]}])
    );
    assert_eq!(got["assessmentLineItem"]["title"], "Benchmark test");
    let all = s.get(&format!("{V12}/assessmentResults"), &t).json();
    valid(&all, "AssessmentResultSetDType");
    assert_eq!(ids(&all, "assessmentResults"), ["ar1"]);
    let all = s.get(&format!("{V12}/assessmentLineItems"), &t).json();
    valid(&all, "AssessmentLineItemSetDType");
    assert_eq!(ids(&all, "assessmentLineItems"), ["ali1", "ali2"]);
    // Unknown references and bad values: 422.
    let r = s.put(
        &format!("{V12}/assessmentResults/ar2"),
        &t,
        &json!({"assessmentResult": {"assessmentLineItem": {"sourcedId": "nope"}, "student": {"sourcedId": "u1"},
            "scoreDate": "2026-02-01", "scoreStatus": "fully graded"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("assessmentLineItem"), "{}", r.text);
    // Gradebook scopes do not reach the profile; a client restricted to s2 does not see k1's.
    let gb = token(&s, ALL, &[]);
    assert_eq!(s.get(&format!("{V12}/assessmentResults"), &gb).status, 403);
    let r2 = s.token(&scopes, &["s2"]);
    assert_eq!(
        s.get(&format!("{V12}/assessmentLineItems/ali1"), &r2)
            .status,
        404
    );
    assert_eq!(
        s.get(&format!("{V12}/assessmentResults"), &r2)
            .ids("assessmentResults"),
        Vec::<String>::new()
    );
    let r = s.put(
        &format!("{V12}/assessmentResults/ar1"),
        &r2,
        &json!({"assessmentResult": {"assessmentLineItem": {"sourcedId": "ali1"}, "student": {"sourcedId": "t1u"},
            "scoreDate": "2026-02-01", "scoreStatus": "exempt"}}),
    );
    assert_eq!(r.status, 403, "{}", r.text);
    // 1.1 has no such profile.
    assert_eq!(s.get(&format!("{V11}/assessmentResults"), &t).status, 404);
    // DELETE: gone, but a delta reader sees it.
    let before = rosterbridge::model::time::now();
    assert_eq!(
        s.delete(&format!("{V12}/assessmentResults/ar1"), &t).status,
        204
    );
    assert_eq!(
        s.get(&format!("{V12}/assessmentResults/ar1"), &t).status,
        404
    );
    let since = enc(&format!("dateLastModified>'{before}'"));
    let delta = s
        .get(&format!("{V12}/assessmentResults?filter={since}"), &t)
        .json();
    assert_eq!(delta["assessmentResults"][0]["status"], "tobedeleted");
});

both!(canvas_grade_passback_reads_and_puts, |db| {
    // Canvas's standard grade passback (ONEROSTER.md §9.3): the categories, line items and
    // results reads it needs, on 1.2, and its PUTs of a line item and a result, read back
    // through the same calls.
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let t = token(&s, ALL, &[]);
    let get = |path: &str, key: &str| {
        let r = s.get(&format!("{V12}{path}"), &t);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        r.ids(key)
    };
    assert_eq!(get("/categories", "categories"), ["cat1"]);
    assert_eq!(get("/lineItems", "lineItems"), ["li1"]);
    let r = s.put(
        &format!("{V12}/lineItems/canvas-a1"),
        &t,
        &json!({"lineItem": {"sourcedId": "canvas-a1", "title": "Quiz 3", "description": "Chapter 4",
            "assignDate": "2026-03-01T08:00:00Z", "dueDate": "2026-03-08T23:59:00Z",
            "class": {"sourcedId": "k1", "type": "class"}, "school": {"sourcedId": "s1", "type": "org"},
            "category": {"sourcedId": "cat1", "type": "category"},
            "academicSession": {"sourcedId": "gp1", "type": "academicSession"},
            "resultValueMin": 0, "resultValueMax": 20}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = s.put(
        &format!("{V12}/results/canvas-a1-u2"),
        &t,
        &json!({"result": {"sourcedId": "canvas-a1-u2", "lineItem": {"sourcedId": "canvas-a1"},
            "student": {"sourcedId": "u2"}, "class": {"sourcedId": "k1"}, "scoreStatus": "fully graded",
            "score": 17.5, "scoreDate": "2026-03-09", "comment": "Late but good", "late": "true"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        get("/classes/k1/lineItems", "lineItems"),
        ["canvas-a1", "li1"]
    );
    assert_eq!(
        get("/classes/k1/results", "results"),
        ["canvas-a1-u2", "res1", "res2"]
    );
    assert_eq!(
        get("/classes/k1/lineItems/canvas-a1/results", "results"),
        ["canvas-a1-u2"]
    );
    assert_eq!(
        get("/classes/k1/students/u2/results", "results"),
        ["canvas-a1-u2", "res2"]
    );
    let got = s.get(&format!("{V12}/results/canvas-a1-u2"), &t).json();
    valid(&got, "SingleResultDType");
    let res = &got["result"];
    assert_eq!(
        (
            res["score"].as_f64(),
            res["late"].as_str(),
            res["comment"].as_str()
        ),
        (Some(17.5), Some("true"), Some("Late but good"))
    );
});

both!(
    score_scales_and_learning_objectives_are_written_with_their_records,
    |db| {
        db.import(&fixture("valid-1.2"));
        let s = Server::start(db, Settings::default());
        let t = token(&s, ALL, &[]);
        let item = |extra: Json| {
            let mut b = json!({"lineItem": {"title": "Essay", "assignDate": "2026-01-05", "dueDate": "2026-01-06",
            "class": {"sourcedId": "k1"}, "category": {"sourcedId": "cat1"}, "academicSession": {"sourcedId": "gp1"}}});
            for (k, v) in extra.as_object().unwrap() {
                b["lineItem"][k] = v.clone();
            }
            b
        };
        let r = s.put(
        &format!("{V12}/lineItems/li-lo"),
        &t,
        &item(json!({"scoreScale": {"sourcedId": "ss1"},
            "learningObjectiveSet": [{"source": "case", "learningObjectiveIds": ["lo-a", "lo-b"]}]})),
    );
        assert_eq!(r.status, 201, "{}", r.text);
        let got = s.get(&format!("{V12}/lineItems/li-lo"), &t).json();
        valid(&got, "SingleLineItemDType");
        assert_eq!(got["lineItem"]["scoreScale"]["sourcedId"], "ss1");
        assert_eq!(
            got["lineItem"]["learningObjectiveSet"][0]["learningObjectiveIds"],
            json!(["lo-a", "lo-b"])
        );
        // Replaced: lo-b goes, lo-c comes; a body without scoreScale leaves the scale as it was.
        let r = s.put(
        &format!("{V12}/lineItems/li-lo"),
        &t,
        &item(json!({"learningObjectiveSet": [{"source": "case", "learningObjectiveIds": ["lo-a", "lo-c"]}]})),
    );
        assert_eq!(r.status, 200, "{}", r.text);
        let got = s.get(&format!("{V12}/lineItems/li-lo"), &t).json();
        assert_eq!(got["lineItem"]["scoreScale"]["sourcedId"], "ss1");
        assert_eq!(
            got["lineItem"]["learningObjectiveSet"][0]["learningObjectiveIds"],
            json!(["lo-a", "lo-c"])
        );
        // A null scoreScale removes it; a stored CSV link with the same content keeps its id.
        let r = s.put(
            &format!("{V12}/lineItems/li-lo"),
            &t,
            &item(json!({"scoreScale": null})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(
            s.get(&format!("{V12}/lineItems/li-lo"), &t).json()["lineItem"]
                .get("scoreScale")
                .is_none()
        );
        let mut li1 = s.get(&format!("{V12}/lineItems/li1"), &t).json();
        li1["lineItem"]["title"] = json!("Unit 1 (edited)");
        assert_eq!(s.put(&format!("{V12}/lineItems/li1"), &t, &li1).status, 200);
        let links =
            s.db.all(rosterbridge::model::catalog::Entity::LineItemScoreScales);
        let active: Vec<&str> = links
            .iter()
            .filter(|r| r.status == rosterbridge::model::Status::Active)
            .map(|r| r.sourced_id.as_str())
            .collect();
        assert_eq!(
            active,
            ["liss1"],
            "the fixture's link kept, li-lo's removed"
        );
        // A result's learning objective scores; an unknown score scale is refused.
        let r = s.put(
        &format!("{V12}/results/r-lo"),
        &t,
        &json!({"result": {"lineItem": {"sourcedId": "li-lo"}, "student": {"sourcedId": "u1"},
            "scoreStatus": "fully graded", "scoreDate": "2026-01-07", "scoreScale": {"sourcedId": "ss1"},
            "learningObjectiveSet": [{"source": "case", "learningObjectiveResults": [
                {"learningObjectiveId": "lo-a", "score": 2.5, "textScore": "Developing"}]}]}}),
    );
        assert_eq!(r.status, 201, "{}", r.text);
        let got = s.get(&format!("{V12}/results/r-lo"), &t).json();
        valid(&got, "SingleResultDType");
        let lo = &got["result"]["learningObjectiveSet"][0]["learningObjectiveResults"][0];
        assert_eq!(
            (lo["score"].as_f64(), lo["textScore"].as_str()),
            (Some(2.5), Some("Developing"))
        );
        let r = s.put(
            &format!("{V12}/lineItems/li-lo"),
            &t,
            &item(json!({"scoreScale": {"sourcedId": "nope"}})),
        );
        assert_eq!(r.status, 422, "{}", r.text);
        assert!(r.text.contains("scoreScale"), "{}", r.text);
        // The changes reach delta readers through the line item (its JSON changed).
        let export = s.get(&format!("{V12}/lineItems/li-lo"), &t).json();
        assert!(
            export["lineItem"].get("scoreScale").is_none(),
            "the refused PUT changed nothing"
        );
    }
);

both!(
    line_items_from_1_1_csv_carry_their_class_school_on_1_2,
    |db| {
        // 1.1 CSV has no school column for line items; 1.2 JSON requires one: the class's.
        let report = db.import(&fixture("valid-1.1"));
        assert_eq!(
            report.outcome,
            rosterbridge::ingest::Outcome::Committed,
            "{:?}",
            report.diags.list
        );
        let stored = db
            .get(rosterbridge::model::catalog::Entity::LineItems, "li1")
            .unwrap();
        let class = db
            .get(rosterbridge::model::catalog::Entity::Classes, "k1")
            .unwrap();
        assert_eq!(stored.get("schoolSourcedId"), class.get("schoolSourcedId"));
        let s = Server::start(db, Settings::default());
        let t = token(&s, ALL, &[]);
        let got = s.get(&format!("{V12}/lineItems/li1"), &t).json();
        valid(&got, "SingleLineItemDType");
        assert_eq!(got["lineItem"]["school"]["sourcedId"], "s1");
        // Re-importing the same 1.1 package changes nothing (the derived school is not a change).
        let dlm = got["lineItem"]["dateLastModified"].clone();
        let again = s.db.import(&fixture("valid-1.1"));
        assert_eq!(
            again.counts[&rosterbridge::model::catalog::Entity::LineItems].changed(),
            0
        );
        let got = s.get(&format!("{V12}/lineItems/li1"), &t).json();
        assert_eq!(got["lineItem"]["dateLastModified"], dlm);
    }
);
