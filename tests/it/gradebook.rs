//! Gradebook reads over HTTP (issue #15): 1.2's reads under `/ims/oneroster/gradebook/v1p2`
//! and 1.1's under `/ims/oneroster/v1p1`, from the route table and the roster service:
//! every record checked against the official gradebook OpenAPI, the 1.1 shapes, nested reads
//! and their parents, scopes, per-app org restriction and discovery.

use crate::both;
use crate::common::fixture;
use crate::http::{ids_of as ids, Server};
use crate::render::{check, official};
use rosterbridge::http::server::Settings;

const V12: &str = "/ims/oneroster/gradebook/v1p2";
const V11: &str = "/ims/oneroster/v1p1";
const S12: &str = "https://purl.imsglobal.org/spec/or/v1p2/scope/";
const S11: &str = "https://purl.imsglobal.org/spec/or/v1p1/scope/";

both!(
    gradebook_reads_serve_schema_valid_records_on_both_versions,
    |db| {
        db.import(&fixture("valid-1.2"));
        let s = Server::start(db, Settings::default());
        let scopes = [
            format!("{S12}gradebook.readonly"),
            format!("{S11}gradebook.readonly"),
        ];
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let t = s.token(&scopes, &[]);
        let doc = official("onerosterv1p2gradebookservice_openapi3_v1p0.json");
        let mut errors = Vec::new();
        for (path, key, set_schema, want) in [
            (
                "/categories",
                "categories",
                "CategoriesSetDType",
                vec!["cat1"],
            ),
            ("/lineItems", "lineItems", "LineItemSetDType", vec!["li1"]),
            (
                "/results",
                "results",
                "ResultSetDType",
                vec!["res1", "res2"],
            ),
            (
                "/scoreScales",
                "scoreScales",
                "ScoreScaleSetDType",
                vec!["ss1"],
            ),
        ] {
            let r = s.get(&format!("{V12}{path}"), &t);
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            let body = r.json();
            assert_eq!(ids(&body, key), want, "{path}");
            check(
                &doc,
                &doc["components"]["schemas"][set_schema],
                &body,
                path,
                &mut errors,
            );
        }
        assert!(errors.is_empty(), "{errors:#?}");
        let li = s.get(&format!("{V12}/lineItems/li1"), &t).json();
        let li = &li["lineItem"];
        assert_eq!(li["assignDate"], "2025-09-01T00:00:00.000Z");
        assert_eq!(li["class"]["sourcedId"], "k1");
        assert!(li["category"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/ims/oneroster/gradebook/v1p2/categories/cat1"));
        assert!(li["class"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/ims/oneroster/rostering/v1p2/classes/k1"));
        assert_eq!(li["school"]["sourcedId"], "s1");
        assert_eq!(li["academicSession"]["sourcedId"], "gp1");
        assert_eq!(li["scoreScale"]["sourcedId"], "ss1");
        assert_eq!(li["learningObjectiveSet"][0]["source"], "case");
        assert_eq!(
            li["learningObjectiveSet"][0]["learningObjectiveIds"][0],
            "0b3b5cae-7c6b-4d7e-9b8a-3a1f2e4d5c6b"
        );
        let res = s.get(&format!("{V12}/results/res1"), &t).json();
        let res = &res["result"];
        assert_eq!(res["score"], 87.5);
        assert_eq!(res["scoreStatus"], "fully graded");
        assert_eq!(res["textScore"], "B+");
        assert_eq!(res["late"], "false");
        assert_eq!(
            res["learningObjectiveSet"][0]["learningObjectiveResults"][0]["score"],
            3.0
        );
        let ss = s.get(&format!("{V12}/scoreScales/ss1"), &t).json();
        assert_eq!(
            ss["scoreScale"]["scoreScaleValue"][0],
            serde_json::json!({"itemValueLHS": "90-100", "itemValueRHS": "A"})
        );
        assert!(ss["scoreScale"].get("org").is_none());
        for (path, key) in [
            ("/categories/cat1", "category"),
            ("/lineItems/li1", "lineItem"),
            ("/results/res2", "result"),
            ("/scoreScales/ss1", "scoreScale"),
        ] {
            let body = s.get(&format!("{V12}{path}"), &t).json();
            let schema = match key {
                "category" => "SingleCategoryDType",
                "lineItem" => "SingleLineItemDType",
                "result" => "SingleResultDType",
                _ => "SingleScoreScaleDType",
            };
            check(
                &doc,
                &doc["components"]["schemas"][schema],
                &body,
                path,
                &mut errors,
            );
        }
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(s.get(&format!("{V12}/results/nope"), &t).status, 404);

        // Nested reads, and their parents.
        for (path, key, want) in [
            ("/classes/k1/categories", "categories", vec!["cat1"]),
            ("/classes/k1/lineItems", "lineItems", vec!["li1"]),
            ("/classes/k2/lineItems", "lineItems", vec![]),
            ("/classes/k1/results", "results", vec!["res1", "res2"]),
            (
                "/classes/k1/lineItems/li1/results",
                "results",
                vec!["res1", "res2"],
            ),
            ("/classes/k1/students/u2/results", "results", vec!["res2"]),
            ("/classes/k1/scoreScales", "scoreScales", vec!["ss1"]),
            ("/schools/s1/scoreScales", "scoreScales", vec!["ss1"]),
            ("/schools/s2/scoreScales", "scoreScales", vec![]),
        ] {
            let r = s.get(&format!("{V12}{path}"), &t);
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            assert_eq!(ids(&r.json(), key), want, "{path}");
        }
        for path in [
            "/classes/nope/lineItems",
            "/classes/k2/lineItems/li1/results",
            "/classes/k1/students/nope/results",
            "/schools/d1/scoreScales",
        ] {
            assert_eq!(s.get(&format!("{V12}{path}"), &t).status, 404, "{path}");
        }

        // 1.1: the 1.1 shapes under the shared base; no score scales there.
        let li11 = s.get(&format!("{V11}/lineItems/li1"), &t).json();
        let li11 = &li11["lineItem"];
        assert_eq!(li11["gradingPeriod"]["sourcedId"], "gp1");
        assert!(li11["gradingPeriod"]["href"]
            .as_str()
            .unwrap()
            .contains("/ims/oneroster/v1p1/academicSessions/gp1"));
        for gone in [
            "school",
            "academicSession",
            "scoreScale",
            "learningObjectiveSet",
        ] {
            assert!(li11.get(gone).is_none(), "1.1 lineItem has no {gone}");
        }
        let r11 = s.get(&format!("{V11}/results/res1"), &t).json();
        for gone in [
            "class",
            "textScore",
            "late",
            "scoreScale",
            "learningObjectiveSet",
        ] {
            assert!(
                r11["result"].get(gone).is_none(),
                "1.1 result has no {gone}"
            );
        }
        assert_eq!(r11["result"]["score"], 87.5);
        assert_eq!(
            ids(
                &s.get(&format!("{V11}/classes/k1/students/u1/results"), &t)
                    .json(),
                "results"
            ),
            ["res1"]
        );
        assert_eq!(s.get(&format!("{V11}/scoreScales"), &t).status, 404);
        // Not a 1.1 operation; served as an extension (Google's 1.1 suite calls it).
        assert_eq!(
            ids(
                &s.get(&format!("{V11}/classes/k1/categories"), &t).json(),
                "categories"
            ),
            ["cat1"]
        );

        // Discovery of the official gradebook OpenAPI, localised.
        let d = s.get_anon(&format!(
            "{V12}/discovery/onerosterv1p2gradebookservice_openapi3_v1p0.json"
        ));
        assert_eq!(d.status, 200);
        assert!(d.json()["servers"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/ims/oneroster/gradebook/v1p2"));
    }
);

both!(
    gradebook_reads_need_their_scopes_and_respect_org_restrictions,
    |db| {
        db.import(&fixture("valid-1.2"));
        let s = Server::start(db, Settings::default());
        let roster = s.token(&[&format!("{S12}roster.readonly")], &[]);
        assert_eq!(s.get(&format!("{V12}/lineItems"), &roster).status, 403);
        let core = s.token(&[&format!("{S12}gradebook-core.readonly")], &[]);
        assert_eq!(s.get(&format!("{V12}/lineItems"), &core).status, 200);
        assert_eq!(
            s.get(&format!("{V12}/classes/k1/lineItems"), &core).status,
            403
        );
        assert_eq!(s.get(&format!("{V11}/lineItems"), &core).status, 403);

        let scopes = [format!("{S12}gradebook.readonly")];
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        // k1 is at s1: a client restricted to s2 sees none of its gradebook.
        let s2 = s.token(&scopes, &["s2"]);
        for (path, key) in [
            ("/lineItems", "lineItems"),
            ("/results", "results"),
            ("/categories", "categories"),
            ("/scoreScales", "scoreScales"),
        ] {
            let r = s.get(&format!("{V12}{path}"), &s2);
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            assert_eq!(ids(&r.json(), key), Vec::<String>::new(), "{path}");
        }
        assert_eq!(s.get(&format!("{V12}/results/res1"), &s2).status, 404);
        assert_eq!(s.get(&format!("{V12}/classes/k1/results"), &s2).status, 404);
        let f = s.get(
            &format!("{V12}/results?filter=sourcedId%3D%27res1%27%20OR%20sourcedId!%3D%27%27"),
            &s2,
        );
        assert_eq!(ids(&f.json(), "results"), Vec::<String>::new());
        let s1 = s.token(&scopes, &["s1"]);
        assert_eq!(
            ids(&s.get(&format!("{V12}/results"), &s1).json(), "results"),
            ["res1", "res2"]
        );
        assert_eq!(
            ids(
                &s.get(&format!("{V12}/categories"), &s1).json(),
                "categories"
            ),
            ["cat1"]
        );
    }
);
