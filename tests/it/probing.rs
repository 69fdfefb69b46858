//! Defects found by probing the server as a consumer would (issue #13, items 12 and 13), on
//! both backends: `X-Total-Count` on single reads, 405 with `Allow` for wrong methods, body
//! errors in the binding's own form, literal LIS discover values, and the missing parent a
//! nested path names.

use rosterbridge::http::server::Settings;

use crate::both;
use crate::common::fixture;
use crate::http::{send, Server};
use crate::soap::{post, Auth, PMS, PMS_NS};

const V12: &str = "/ims/oneroster/rostering/v1p2";
const V11: &str = "/ims/oneroster/v1p1";

both!(single_reads_methods_body_errors_and_nested_parents, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let token = s.token(&[], &[]);
    // X-Total-Count on single-record reads too (1), and on collections (the total).
    for path in [
        format!("{V12}/users/u1"),
        format!("{V11}/users/u1"),
        format!("{V12}/schools/s1"),
    ] {
        let r = s.get(&path, &token);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("X-Total-Count"), Some("1"), "{path}");
    }
    assert_eq!(
        s.get(&format!("{V12}/users"), &token)
            .header("X-Total-Count"),
        Some("4")
    );

    // Wrong methods: 405 with Allow and the imsx body (404 stays for unknown paths).
    let call = |method: &str, path: &str, body: Option<&str>| {
        send(
            ureq::request(method, &format!("{}{path}", s.base))
                .set("Authorization", &format!("Bearer {token}")),
            body,
        )
    };
    let r = call("POST", &format!("{V12}/users"), Some("{}"));
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(r.header("Allow"), Some("GET"));
    assert_eq!(r.code_minor(), "invaliddata");
    let r = call("DELETE", &format!("{V11}/classes/k1/students"), None);
    assert_eq!((r.status, r.header("Allow")), (405, Some("GET")));
    assert_eq!(
        call("POST", &format!("{V12}/nothing/here"), Some("{}")).status,
        404
    );
    let r = call("GET", "/oauth/token", None);
    assert_eq!((r.status, r.header("Allow")), (405, Some("POST")));
    assert_eq!(r.json()["imsx_codeMajor"], "failure");
    let r = call("PUT", PMS, Some("<x/>"));
    assert_eq!((r.status, r.header("Allow")), (405, Some("GET, POST")));
    assert!(
        r.text.contains("Fault") && r.text.contains("imsx_codeMajor"),
        "{}",
        r.text
    );

    // A body over the limit: 413 in the imsx body on REST, a SOAP Fault on LIS.
    let big = "x".repeat(1 << 20);
    let r = send(
        ureq::post(&format!("{}/oauth/token", s.base))
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(&format!("grant_type=client_credentials&pad={big}")),
    );
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.code_minor(), "invaliddata");
    let huge = "x".repeat(5 << 20);
    let r = send(
        ureq::post(&format!("{}{PMS}", s.base)).set("Content-Type", "text/xml"),
        Some(&format!("<a>{huge}</a>")),
    );
    assert_eq!(r.status, 413);
    assert!(
        r.text.contains("Fault") && r.text.contains("invaliddata"),
        "{}",
        &r.text[..r.text.len().min(500)]
    );

    // The missing parent a nested path names is the one reported.
    let r = s.get(&format!("{V12}/schools/s1/classes/nope/students"), &token);
    assert_eq!(r.status, 404);
    let d = r.json()["imsx_description"].as_str().unwrap().to_string();
    assert!(
        d.contains("no classes with sourcedId 'nope'") && d.contains("'s1'"),
        "{d}"
    );
    let r = s.get(&format!("{V12}/schools/gone/classes/k1/students"), &token);
    assert!(r.json()["imsx_description"]
        .as_str()
        .unwrap()
        .contains("'gone'"));

    // discoverPersonIds with a quote inside a field=value value.
    let (id, secret) = s.client(&["roster.readonly"], &[]);
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, "<x:discoverPersonIdsRequest><x:queryObject>familyName=O'Connor</x:queryObject></x:discoverPersonIdsRequest>");
    assert_eq!(r.ids(), vec!["u2".to_string()], "{}", r.text);
    // ... while a real filter still works.
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, "<x:discoverPersonIdsRequest><x:queryObject>familyName='O''Connor'</x:queryObject></x:discoverPersonIdsRequest>");
    assert_eq!(r.ids(), vec!["u2".to_string()], "{}", r.text);
});
