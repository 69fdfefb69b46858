//! The resources service over HTTP (issue #15): the five 1.2 reads under
//! `/ims/oneroster/resources/v1p2` and 1.1's four under `/ims/oneroster/v1p1`, from the same
//! route table and roster service as rostering: records checked against the official resources
//! OpenAPI, nested reads and their parents, scopes, per-app org restriction, discovery, and
//! GUIDRef hrefs that point where the resource is served.

use crate::both;
use crate::common::fixture;
use crate::http::{ids_of as ids, Server};
use crate::render::{check, official};
use rosterbridge::http::server::Settings;

const V12: &str = "/ims/oneroster/resources/v1p2";
const V11: &str = "/ims/oneroster/v1p1";
const S12: &str = "https://purl.imsglobal.org/spec/or/v1p2/scope/";
const S11: &str = "https://purl.imsglobal.org/spec/or/v1p1/scope/";

both!(resources_are_served_on_both_versions, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let all = [
        format!("{S12}resource.readonly"),
        format!("{S11}resource.readonly"),
        format!("{S12}roster-core.readonly"),
    ];
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let t = s.token(&all, &[]);

    // 1.2 collection and single reads, each record valid against the official schema.
    let doc = official("onerosterv1p2resourcesservice_openapi3_v1p0.json");
    let r = s.get(&format!("{V12}/resources"), &t);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("X-Total-Count"), Some("2"));
    let body = r.json();
    assert_eq!(ids(&body, "resources"), ["rs1", "rs2"]);
    let mut errors = Vec::new();
    check(
        &doc,
        &doc["components"]["schemas"]["ResourceSetDType"],
        &body,
        "resources",
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:#?}");
    let one = s.get(&format!("{V12}/resources/rs1"), &t);
    assert_eq!(one.status, 200, "{}", one.text);
    let rs1 = one.json();
    check(
        &doc,
        &doc["components"]["schemas"]["SingleResourceDType"],
        &rs1,
        "resource",
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(rs1["resource"]["title"], "Algebra I, Digital Edition");
    assert_eq!(
        rs1["resource"]["roles"],
        serde_json::json!(["student", "teacher"])
    );
    assert_eq!(rs1["resource"]["vendorResourceId"], "VR-ALG-1");
    assert_eq!(s.get(&format!("{V12}/resources/nope"), &t).status, 404);
    // filters and fields work as on rostering
    let f = s.get(
        &format!("{V12}/resources?filter=importance%3D%27secondary%27&fields=sourcedId,title"),
        &t,
    );
    assert_eq!(f.status, 200, "{}", f.text);
    assert_eq!(ids(&f.json(), "resources"), ["rs2"]);
    assert!(f.json()["resources"][0].get("vendorResourceId").is_none());

    // Nested reads follow the active link rows; an unknown parent is 404 on 1.2.
    for (path, want) in [
        ("/classes/k1/resources", vec!["rs1"]),
        ("/classes/k2/resources", vec![]),
        ("/courses/c2/resources", vec!["rs2"]),
        ("/users/u1/resources", vec!["rs1"]),
    ] {
        let r = s.get(&format!("{V12}{path}"), &t);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(ids(&r.json(), "resources"), want, "{path}");
    }
    assert_eq!(
        s.get(&format!("{V12}/classes/nope/resources"), &t).status,
        404
    );

    // 1.1: the same records under the shared base; /users/{id}/resources is 1.2 only.
    let r = s.get(&format!("{V11}/resources"), &t);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.json(), "resources"), ["rs1", "rs2"]);
    assert_eq!(
        ids(
            &s.get(&format!("{V11}/courses/c1/resources"), &t).json(),
            "resources"
        ),
        ["rs1"]
    );
    assert_eq!(s.get(&format!("{V11}/users/u1/resources"), &t).status, 404);
    // Rostering stays where it was, and does not answer resources paths on 1.2.
    assert_eq!(
        s.get("/ims/oneroster/rostering/v1p2/resources", &t).status,
        404
    );

    // A class's resources point at the resources service, and the href is served.
    let k1 = s.get("/ims/oneroster/rostering/v1p2/classes/k1", &t).json();
    let href = k1["class"]["resources"][0]["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        href.ends_with("/ims/oneroster/resources/v1p2/resources/rs1"),
        "{href}"
    );
    let path = href.split_once("127.0.0.1").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    assert_eq!(s.get(path, &t).json()["resource"]["sourcedId"], "rs1");

    // Other methods: 405 with Allow on a path of the table, 404 elsewhere.
    let put = ureq::put(&format!("{}{V12}/resources/rs1", s.base))
        .set("Authorization", &format!("Bearer {t}"))
        .call();
    match put {
        Err(ureq::Error::Status(405, r)) => assert_eq!(r.header("Allow"), Some("GET")),
        other => panic!("PUT: {other:?}"),
    }
    assert_eq!(s.get(&format!("{V12}/nothing"), &t).status, 404);

    // Discovery: the official resources OpenAPI, localised.
    let d = s.get_anon(&format!(
        "{V12}/discovery/onerosterv1p2resourcesservice_openapi3_v1p0.json"
    ));
    assert_eq!(d.status, 200, "{}", d.text);
    let url = d.json()["servers"][0]["url"].as_str().unwrap().to_string();
    assert!(url.ends_with("/ims/oneroster/resources/v1p2"), "{url}");
    assert_eq!(
        d.json()["paths"].as_object().unwrap().len(),
        doc["paths"].as_object().unwrap().len()
    );
    assert_eq!(
        s.get_anon(&format!(
            "{V12}/discovery/imsorv1p2_resources_openapi3_v1p0.json"
        ))
        .status,
        200
    );
});

both!(
    resources_need_their_scopes_and_respect_org_restrictions,
    |db| {
        db.import(&fixture("valid-1.2"));
        let s = Server::start(db, Settings::default());
        // Rostering scopes do not read resources.
        let roster = s.token(&[&format!("{S12}roster.readonly")], &[]);
        assert_eq!(s.get(&format!("{V12}/resources"), &roster).status, 403);
        // resource-core: the top-level reads only.
        let core = s.token(&[&format!("{S12}resource-core.readonly")], &[]);
        assert_eq!(s.get(&format!("{V12}/resources"), &core).status, 200);
        assert_eq!(s.get(&format!("{V12}/resources/rs2"), &core).status, 200);
        assert_eq!(
            s.get(&format!("{V12}/classes/k1/resources"), &core).status,
            403
        );
        // A 1.2 scope does not open 1.1 endpoints.
        assert_eq!(s.get(&format!("{V11}/resources"), &core).status, 403);

        // A client restricted to s2 sees no resource: none is linked to its classes, courses or
        // users; restricted to s1, both (through classes, courses and users at s1).
        let scopes = [format!("{S12}resource.readonly")];
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let s2 = s.token(&scopes, &["s2"]);
        let r = s.get(&format!("{V12}/resources"), &s2);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(ids(&r.json(), "resources"), Vec::<String>::new());
        assert_eq!(s.get(&format!("{V12}/resources/rs1"), &s2).status, 404);
        // whatever the filter
        let f = s.get(
            &format!("{V12}/resources?filter=sourcedId%3D%27rs1%27%20OR%20sourcedId!%3D%27%27"),
            &s2,
        );
        assert_eq!(ids(&f.json(), "resources"), Vec::<String>::new());
        // a nested read through a parent it cannot see is 404
        assert_eq!(
            s.get(&format!("{V12}/classes/k1/resources"), &s2).status,
            404
        );
        let s1 = s.token(&scopes, &["s1"]);
        assert_eq!(
            ids(&s.get(&format!("{V12}/resources"), &s1).json(), "resources"),
            ["rs1", "rs2"]
        );
    }
);
