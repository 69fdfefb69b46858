//! Sharing rules and field masks over real HTTP and SOAP, on both backends: each rule kind
//! (orgs whole, courses, classes, grades, class types, date windows, unions), set with
//! `rosterbridge client update --share/--mask`; OR filters, nested routes, by-id reads, LIS
//! discover and savepoint reads; gradebook writes outside the rule; masking.

use std::process::Command;

use rosterbridge::http::server::Settings;
use serde_json::json;

use crate::both;
use crate::common::{bin, fixture};
use crate::http::{enc, Server};
use crate::soap::{post, Auth, PMS, PMS_NS};

const V12: &str = "/ims/oneroster/rostering/v1p2";
const V11: &str = "/ims/oneroster/v1p1";
const GB12: &str = "/ims/oneroster/gradebook/v1p2";
const S12: &str = "https://purl.imsglobal.org/spec/or/v1p2/scope/";

/// `rosterbridge client update ID ARGS…` on the server's database; (exit code, stdout, stderr).
pub fn cli(s: &Server, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .env("DATABASE_URL", &s.db.url)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A new client with every read scope (and gradebook writes), shared by `rules` (each a
/// `--share` value) and masked by `mask`; (id, secret, token).
pub fn app(s: &Server, rules: &[&str], mask: Option<&str>) -> (String, String, String) {
    let (id, secret) = s.client(&[], &[]);
    let mut args = vec!["client", "update", id.as_str()];
    for r in rules {
        args.extend(["--share", r]);
    }
    if let Some(m) = mask {
        args.extend(["--mask", m]);
    }
    if args.len() > 3 {
        let (code, _, err) = cli(s, &args);
        assert_eq!(code, 0, "{err}");
    }
    let r = s.post_token(Some((&id, &secret)), "grant_type=client_credentials");
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    (id, secret, token)
}

fn ids(s: &Server, token: &str, path: &str, key: &str) -> Vec<String> {
    let r = s.get(path, token);
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    let mut v = r.ids(key);
    v.sort();
    v
}

/// (rules, classes, users, orgs, sessions, courses, enrollments, line items) an app sees.
type Case = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

both!(each_rule_kind_shares_exactly_its_classes, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    // (rules, classes, users, orgs, sessions, courses, enrollments, line items)
    let cases: &[Case] = &[
        (
            &["course=c2"],
            &["k2"],
            &["u2"],
            &["s1"],
            &["sy", "t2"],
            &["c2"],
            &["e4"],
            &[],
        ),
        (
            // the student's guardian (agent) comes with the class; t1u's other school does not
            &["class=k1"],
            &["k1"],
            &["g1", "t1u", "u1", "u2"],
            &["s1"],
            &["gp1", "sy", "t1", "t2"],
            &["c1"],
            &["e1", "e2", "e3"],
            &["li1"],
        ),
        (
            &["grades=10"],
            &["k2"],
            &["u2"],
            &["s1"],
            &["sy", "t2"],
            &["c2"],
            &["e4"],
            &[],
        ),
        (&["classType=homeroom"], &[], &[], &[], &[], &[], &[], &[]),
        (&["org=s2;course=c1"], &[], &[], &[], &[], &[], &[], &[]),
        (
            &["org=d1;course=c1;classType=scheduled"],
            &["k1"],
            &["g1", "t1u", "u1", "u2"],
            &["s1"],
            &["gp1", "sy", "t1", "t2"],
            &["c1"],
            &["e1", "e2", "e3"],
            &["li1"],
        ),
        // a union
        (
            &["course=c2", "class=k1;grades=09"],
            &["k1", "k2"],
            &["g1", "t1u", "u1", "u2"],
            &["s1"],
            &["gp1", "sy", "t1", "t2"],
            &["c1", "c2"],
            &["e1", "e2", "e3", "e4"],
            &["li1"],
        ),
        // a window that has ended shares nothing; one that has begun shares
        (
            &["course=c2;until=2020-12-31"],
            &[],
            &[],
            &[],
            &[],
            &[],
            &[],
            &[],
        ),
        (
            &["course=c2;from=2020-01-01"],
            &["k2"],
            &["u2"],
            &["s1"],
            &["sy", "t2"],
            &["c2"],
            &["e4"],
            &[],
        ),
        // orgs alone share them whole (their staff by role), as --orgs does
        (&["org=s2"], &[], &["t1u"], &["s2"], &[], &[], &[], &[]),
        (
            &["org=s2", "course=c2"],
            &["k2"],
            &["t1u", "u2"],
            &["s1", "s2"],
            &["sy", "t2"],
            &["c2"],
            &["e4"],
            &[],
        ),
    ];
    for (rules, classes, users, orgs, sessions, courses, enrollments, items) in cases {
        let (_, _, t) = app(&s, rules, None);
        let why = format!("{rules:?}");
        for base in [V12, V11] {
            assert_eq!(
                ids(&s, &t, &format!("{base}/classes"), "classes"),
                *classes,
                "{why}"
            );
            assert_eq!(
                ids(&s, &t, &format!("{base}/users"), "users"),
                *users,
                "{why}"
            );
            assert_eq!(ids(&s, &t, &format!("{base}/orgs"), "orgs"), *orgs, "{why}");
            assert_eq!(
                ids(
                    &s,
                    &t,
                    &format!("{base}/academicSessions"),
                    "academicSessions"
                ),
                *sessions,
                "{why}"
            );
            assert_eq!(
                ids(&s, &t, &format!("{base}/courses"), "courses"),
                *courses,
                "{why}"
            );
            assert_eq!(
                ids(&s, &t, &format!("{base}/enrollments"), "enrollments"),
                *enrollments,
                "{why}"
            );
        }
        assert_eq!(
            ids(&s, &t, &format!("{GB12}/lineItems"), "lineItems"),
            *items,
            "{why}"
        );
        let results = ids(&s, &t, &format!("{GB12}/results"), "results");
        assert_eq!(results.is_empty(), items.is_empty(), "{why}");
        // resources: those linked to a class, course or user it sees
        let res = ids(
            &s,
            &t,
            "/ims/oneroster/resources/v1p2/resources",
            "resources",
        );
        let want: Vec<&str> = match (classes.contains(&"k1"), classes.contains(&"k2")) {
            (true, true) => vec!["rs1", "rs2"],
            (true, false) => vec!["rs1"],
            (false, true) => vec!["rs2"],
            (false, false) => vec![],
        };
        if !rules.contains(&"org=s2") {
            assert_eq!(res, want, "{why}");
        }
        // demographics follow the users
        let demo = ids(&s, &t, &format!("{V12}/demographics"), "demographics");
        assert!(demo.iter().all(|d| users.contains(&d.as_str())), "{why}");
    }
    // the stored rules as `client list` shows them
    let (id, _, _) = app(&s, &["course=c2;grades=10", "class=k1"], Some("phone,sms"));
    let (code, out, _) = cli(&s, &["client", "list"]);
    assert_eq!(code, 0);
    let at = out.find(&id).unwrap();
    let mine = &out[at..];
    assert!(mine.contains("share: course=c2;grades=10"), "{out}");
    assert!(mine.contains("share: class=k1"), "{out}");
    assert!(mine.contains("mask:  phone,sms"), "{out}");
    // refusals name what is wrong and change nothing
    for (args, says) in [
        (vec!["--share", "course=nope"], "courses nope"),
        (vec!["--share", "school=s1"], "unknown part 'school'"),
        (vec!["--share", "from=2027-13-01"], "YYYY-MM-DD"),
        (vec!["--mask", "sourcedId"], "cannot be masked"),
    ] {
        let mut a = vec!["client", "update", id.as_str()];
        a.extend(args);
        let (code, _, err) = cli(&s, &a);
        assert_eq!(code, 2, "{a:?}");
        assert!(err.contains(says), "{err}");
    }
    let (_, out2, _) = cli(&s, &["client", "list"]);
    assert_eq!(out, out2);
});

both!(rules_hold_for_filters_nested_paths_by_id_and_writes, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let (id, secret, t) = app(&s, &["course=c2"], None);
    for base in [V12, V11] {
        for f in [
            "sourcedId='u1' OR sourcedId!=''",
            "sourcedId!='' OR status='active' OR status='tobedeleted'",
        ] {
            let r = s.get(&format!("{base}/users?filter={}", enc(f)), &t);
            assert_eq!(r.ids("users"), ["u2"], "{f}");
            assert_eq!(r.header("x-total-count"), Some("1"));
        }
        for path in [
            "/users/u1",
            "/users/g1",
            "/classes/k1",
            "/enrollments/e1",
            "/courses/c1",
        ] {
            assert_eq!(s.get(&format!("{base}{path}"), &t).status, 404, "{path}");
        }
        assert_eq!(s.get(&format!("{base}/users/u2"), &t).status, 200);
        assert_eq!(
            ids(&s, &t, &format!("{base}/schools/s1/classes"), "classes"),
            ["k2"]
        );
        assert_eq!(
            ids(&s, &t, &format!("{base}/classes/k2/students"), "users"),
            ["u2"]
        );
    }
    assert_eq!(s.get(&format!("{V12}/classes/k1/students"), &t).status, 404);
    // LIS: discover, read, savepoint
    let all = post(
        &s,
        PMS,
        Auth::Basic(&id, &secret),
        PMS_NS,
        "<x:readAllPersonIdsRequest/>",
    );
    assert_eq!(all.ids(), ["u2"], "{}", all.text);
    let d = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, "<x:discoverPersonIdsRequest><x:queryObject>sourcedId!=''</x:queryObject></x:discoverPersonIdsRequest>");
    assert_eq!(d.ids(), ["u2"]);
    let r = post(
        &s,
        PMS,
        Auth::Basic(&id, &secret),
        PMS_NS,
        "<x:readPersonRequest><x:sourcedId>u1</x:sourcedId></x:readPersonRequest>",
    );
    assert_eq!(r.minor(), "unknownobject");
    let sp = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, "<x:readPersonIdsFromSavePointRequest><x:fromSavePoint>2000-01-01T00:00:00.000Z</x:fromSavePoint></x:readPersonIdsFromSavePointRequest>");
    assert_eq!(sp.ids(), ["u2"], "{}", sp.text);
    // gradebook writes: into the shared class yes, into another class 403, nothing written
    let (wid, wsecret) = s.client(
        &[
            &format!("{S12}gradebook.readonly"),
            &format!("{S12}gradebook.createput"),
        ],
        &[],
    );
    let (code, _, err) = cli(&s, &["client", "update", &wid, "--share", "course=c2"]);
    assert_eq!(code, 0, "{err}");
    let r = s.post_token(Some((&wid, &wsecret)), "grant_type=client_credentials");
    let w = r.json()["access_token"].as_str().unwrap().to_string();
    let item = |li: &str, class: &str| {
        json!({"lineItem": {"sourcedId": li, "status": "active", "title": "Lab report",
            "assignDate": "2026-02-01T00:00:00.000Z", "dueDate": "2026-02-08T00:00:00.000Z",
            "class": {"sourcedId": class}, "school": {"sourcedId": "s1"},
            "category": {"sourcedId": "cat1"}, "academicSession": {"sourcedId": "t2"}}})
    };
    let r = s.put(
        &format!("{GB12}/lineItems/li-out"),
        &w,
        &item("li-out", "k1"),
    );
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(s.get(&format!("{GB12}/lineItems/li-out"), &w).status, 404);
    let r = s.put(&format!("{GB12}/lineItems/li-in"), &w, &item("li-in", "k2"));
    assert_eq!(r.status, 201, "{}", r.text);
    // moving it into the other class is refused too
    let r = s.put(&format!("{GB12}/lineItems/li-in"), &w, &item("li-in", "k1"));
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        s.get(&format!("{GB12}/lineItems/li-in"), &w).json()["lineItem"]["class"]["sourcedId"],
        "k2"
    );
    // an app whose rules only select classes changes no rostering record
    let (rid, rsecret) = s.client(&[crate::soap::WRITE, "roster.readonly"], &[]);
    assert_eq!(
        cli(&s, &["client", "update", &rid, "--share", "course=c2"]).0,
        0
    );
    let r = post(
        &s,
        PMS,
        Auth::Basic(&rid, &rsecret),
        PMS_NS,
        "<x:deletePersonRequest><x:sourcedId>u2</x:sourcedId></x:deletePersonRequest>",
    );
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert_eq!(
        s.get(&format!("{V12}/users/u2"), &t).json()["user"]["status"],
        "active"
    );
});

both!(masked_fields_are_never_sent_nor_usable_in_filters, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let (id, secret, t) = app(&s, &["all"], Some("email,sms,birthDate,userIds,metadata"));
    let (_, _, plain) = app(&s, &["all"], None);
    let full = s.get(&format!("{V12}/users/g1"), &plain).json();
    assert_eq!(full["user"]["email"], "ana@example.org");
    assert_eq!(full["user"]["sms"], "555-0100");
    for base in [V12, V11] {
        let users = s.get(&format!("{base}/users"), &t);
        assert_eq!(users.status, 200);
        let text = &users.text;
        for gone in [
            "ana@example.org",
            "555-0100",
            "LDAP",
            "\"email\"",
            "\"userIds\"",
        ] {
            assert!(!text.contains(gone), "{base}: {gone} in {text}");
        }
        // the rest is there
        assert!(text.contains("parent.garcia"));
        for f in [
            "email='ana@example.org'",
            "email~'example'",
            "sourcedId='x' OR email>''",
        ] {
            let r = s.get(&format!("{base}/users?filter={}", enc(f)), &t);
            assert_eq!(r.status, 400, "{f}: {}", r.text);
            assert_eq!(r.code_minor(), "invalid_filter_field", "{f}");
            assert!(r.text.contains("'email' is not available"), "{}", r.text);
            // the unmasked app may filter on it
            assert_eq!(
                s.get(&format!("{base}/users?filter={}", enc(f)), &plain)
                    .status,
                200
            );
        }
        let r = s.get(&format!("{base}/users?sort=email"), &t);
        assert_eq!(r.status, 400, "{}", r.text);
    }
    let demo = s.get(&format!("{V12}/demographics/u1"), &t).json();
    assert!(demo["demographics"].get("birthDate").is_none(), "{demo}");
    assert_eq!(demo["demographics"]["sex"], "male");
    let org = s.get(&format!("{V12}/orgs/d1"), &t).json();
    assert!(org["org"].get("metadata").is_none(), "{org}");
    // LIS sees the same person without them
    let r = post(
        &s,
        PMS,
        Auth::Basic(&id, &secret),
        PMS_NS,
        "<x:readPersonRequest><x:sourcedId>g1</x:sourcedId></x:readPersonRequest>",
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert!(
        !r.text.contains("ana@example.org") && !r.text.contains("555-0100"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("parent.garcia") || r.text.contains("Ana"),
        "{}",
        r.text
    );
    let r = post(
        &s,
        PMS,
        Auth::Basic(&id, &secret),
        PMS_NS,
        "<x:readPersonRequest><x:sourcedId>u1</x:sourcedId></x:readPersonRequest>",
    );
    assert!(!r.text.contains("2010-04-17"), "{}", r.text);
    // unmasking takes effect for a new token at once
    let (code, _, _) = cli(&s, &["client", "update", &id, "--mask", "none"]);
    assert_eq!(code, 0);
    let r = s.post_token(Some((&id, &secret)), "grant_type=client_credentials");
    let t2 = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        s.get(&format!("{V12}/users/g1"), &t2).json()["user"]["email"],
        "ana@example.org"
    );
});

/// An app's copy of the roster, kept by delta reads as a consumer would.
struct Mirror {
    /// entity key → id → (status, dateLastModified, has personal fields)
    seen: std::collections::BTreeMap<&'static str, std::collections::BTreeMap<String, Json>>,
    since: String,
}

const SYNCED: &[(&str, &str)] = &[
    ("/users", "users"),
    ("/classes", "classes"),
    ("/enrollments", "enrollments"),
    ("/courses", "courses"),
    ("/orgs", "orgs"),
    ("/academicSessions", "academicSessions"),
    ("/demographics", "demographics"),
];

/// Every record of a collection, a page of 2 at a time (so departures cross pages).
fn read_all(s: &Server, token: &str, path: &str, key: &str, filter: Option<&str>) -> Vec<Json> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let f = filter
            .map(|f| format!("&filter={}", enc(f)))
            .unwrap_or_default();
        let r = s.get(&format!("{V12}{path}?limit=2&offset={offset}{f}"), token);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let total: usize = r.header("x-total-count").unwrap().parse().unwrap();
        let page = r.json()[key].as_array().unwrap().clone();
        offset += page.len();
        out.extend(page);
        if offset >= total {
            assert_eq!(offset, total, "{path}");
            return out;
        }
    }
}

impl Mirror {
    fn full(s: &Server, token: &str) -> Mirror {
        let since = rosterbridge::model::time::now();
        let mut seen = std::collections::BTreeMap::new();
        for (path, key) in SYNCED {
            let recs = read_all(s, token, path, key, None);
            seen.insert(
                *key,
                recs.into_iter()
                    .map(|r| (r["sourcedId"].as_str().unwrap().to_string(), r))
                    .collect(),
            );
        }
        Mirror { seen, since }
    }

    /// One delta sync from the newest `dateLastModified` seen (the high-water mark); returns
    /// what it received (key, id, status).
    fn delta(&mut self, s: &Server, token: &str) -> Vec<(String, String, String)> {
        let mut since = self.since.clone();
        let mut got = Vec::new();
        for (path, key) in SYNCED {
            let f = format!("dateLastModified>'{}'", self.since);
            for r in read_all(s, token, path, key, Some(&f)) {
                let id = r["sourcedId"].as_str().unwrap().to_string();
                let status = r["status"].as_str().unwrap().to_string();
                assert!(
                    r["dateLastModified"].as_str().unwrap() > self.since.as_str(),
                    "{key} {id}: {r}"
                );
                if status == "tobedeleted" && r.get("username").is_none() && *key == "users" {
                    // a departure carries its id only
                    assert!(
                        r.get("givenName").is_none_or(|g| g.is_null() || g == ""),
                        "{r}"
                    );
                }
                got.push((key.to_string(), id.clone(), status));
                since = since.max(r["dateLastModified"].as_str().unwrap().to_string());
                self.seen.get_mut(key).unwrap().insert(id, r);
            }
        }
        self.since = since;
        got.sort();
        got
    }

    /// The active ids per collection.
    fn active(&self) -> Vec<(String, Vec<String>)> {
        self.seen
            .iter()
            .map(|(k, m)| {
                let ids = m
                    .iter()
                    .filter(|(_, r)| r["status"] == "active")
                    .map(|(id, _)| id.clone())
                    .collect();
                (k.to_string(), ids)
            })
            .collect()
    }
}

use serde_json::Value as Json;

/// A new token for the app (a credential is cached up to 10 s, a new one is looked up now).
fn retoken(s: &Server, id: &str, secret: &str) -> String {
    let r = s.post_token(Some((id, secret)), "grant_type=client_credentials");
    r.json()["access_token"].as_str().unwrap().to_string()
}

fn share(s: &Server, id: &str, rules: &[&str]) {
    let mut args = vec!["client", "update", id];
    for r in rules {
        args.extend(["--share", r]);
    }
    let (code, _, err) = cli(s, &args);
    assert_eq!(code, 0, "{err}");
}

both!(delta_feeds_stay_true_when_sharing_or_data_changes, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    // the app syncs everything, then its licence narrows to two classes' worth
    let (id, secret, mut t) = app(&s, &[], None);
    let mut m = Mirror::full(&s, &t);
    let check = |m: &Mirror, t: &str, why: &str| {
        assert_eq!(m.active(), Mirror::full(&s, t).active(), "{why}");
    };
    assert!(m.delta(&s, &t).is_empty(), "nothing changed");
    let tick = || std::thread::sleep(std::time::Duration::from_millis(5));
    tick();
    share(&s, &id, &["class=k1", "course=c2"]);
    t = retoken(&s, &id, &secret);
    let got = m.delta(&s, &t);
    assert!(
        got.contains(&("orgs".into(), "s2".into(), "tobedeleted".into())),
        "{got:?}"
    );
    assert!(got.iter().all(|g| g.2 == "tobedeleted"), "{got:?}");
    check(&m, &t, "restricted");
    assert!(m.delta(&s, &t).is_empty(), "told once");

    // 1. a rule removed: Biology's class, enrollment and course leave; u2 stays (in k1 too)
    tick();
    share(&s, &id, &["class=k1"]);
    t = retoken(&s, &id, &secret);
    let got = m.delta(&s, &t);
    for gone in [("classes", "k2"), ("enrollments", "e4"), ("courses", "c2")] {
        assert!(
            got.contains(&(gone.0.into(), gone.1.into(), "tobedeleted".into())),
            "{gone:?} in {got:?}"
        );
    }
    assert!(!got.iter().any(|g| g.1 == "u2"), "{got:?}");
    check(&m, &t, "narrowed");
    assert!(m.delta(&s, &t).is_empty(), "told once");

    // 2. a student leaves the only shared class: u1 and the guardian g1 leave; LIS says so too
    tick();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("enrollments.csv"),
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\ne1,tobedeleted,2026-01-01T00:00:00.000Z,k1,s1,u1,student,,,\n",
    )
    .unwrap();
    crate::common::delta_manifest(dir.path(), "1.2", &["enrollments"]);
    let report = s.db.import(dir.path());
    assert_eq!(
        report.outcome,
        rosterbridge::ingest::Outcome::Committed,
        "{:?}",
        report.diags.list
    );
    let since = m.since.clone();
    let got = m.delta(&s, &t);
    for gone in [
        ("users", "u1"),
        ("users", "g1"),
        ("enrollments", "e1"),
        ("demographics", "u1"),
    ] {
        assert!(
            got.contains(&(gone.0.into(), gone.1.into(), "tobedeleted".into())),
            "{gone:?} in {got:?}"
        );
    }
    check(&m, &t, "student left");
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, &format!("<x:readPersonIdsFromSavePointRequest><x:fromSavePoint>{since}</x:fromSavePoint></x:readPersonIdsFromSavePointRequest>"));
    assert_eq!(r.ids(), ["g1", "u1"], "{}", r.text);
    let save = r.body().child_text("savePoint").unwrap().to_string();
    assert!(save > since, "{save}");
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, &format!("<x:readPersonIdsFromSavePointRequest><x:fromSavePoint>{save}</x:fromSavePoint></x:readPersonIdsFromSavePointRequest>"));
    assert_eq!(r.ids(), Vec::<String>::new(), "{}", r.text);

    // 3. sharing grows: k2, its enrollment and course come back, stamped after the change
    tick();
    let before = rosterbridge::model::time::now();
    tick();
    share(&s, &id, &["class=k1", "course=c2"]);
    t = retoken(&s, &id, &secret);
    let got = m.delta(&s, &t);
    for came in [("classes", "k2"), ("enrollments", "e4"), ("courses", "c2")] {
        assert!(
            got.contains(&(came.0.into(), came.1.into(), "active".into())),
            "{came:?} in {got:?}"
        );
    }
    let k2 = &m.seen["classes"]["k2"];
    assert!(
        k2["dateLastModified"].as_str().unwrap() > before.as_str(),
        "{k2}"
    );
    assert_eq!(k2["title"], "Biology - 1", "an entering record is whole");
    check(&m, &t, "widened");

    // 4. the licence period ends: everything leaves
    tick();
    share(
        &s,
        &id,
        &["class=k1;until=2020-06-30", "course=c2;until=2020-06-30"],
    );
    t = retoken(&s, &id, &secret);
    m.delta(&s, &t);
    check(&m, &t, "window ended");
    assert!(
        m.active().iter().all(|(_, ids)| ids.is_empty()),
        "{:?}",
        m.active()
    );

    // 5. back to everything: the whole roster enters
    tick();
    share(&s, &id, &["all"]);
    t = retoken(&s, &id, &secret);
    m.delta(&s, &t);
    check(&m, &t, "all");
    let active = m.active();
    let users = &active.iter().find(|(k, _)| k == "users").unwrap().1;
    assert_eq!(users, &["g1", "t1u", "u1", "u2"], "the whole roster again");
});

const USERS_HEADER: &str = "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns";

/// Import a users delta of `rows`; the new import's id.
fn users_delta(s: &Server, rows: &[&str]) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.csv"),
        format!("{USERS_HEADER}\n{}\n", rows.join("\n")),
    )
    .unwrap();
    crate::common::delta_manifest(dir.path(), "1.2", &["users"]);
    let report = s.db.import(dir.path());
    assert_eq!(
        report.outcome,
        rosterbridge::ingest::Outcome::Committed,
        "{:?}",
        report.diags.list
    );
    last_import(s)
}

fn last_import(s: &Server) -> i64 {
    let mut conn = s.db.store.conn().unwrap();
    rosterbridge::store::imports::list(&mut conn, 1).unwrap()[0].id
}

both!(imports_undo_restores_and_tells_delta_consumers, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let (_, _, t) = app(&s, &[], None);
    let mut m = Mirror::full(&s, &t);
    let user = |id: &str| s.get(&format!("{V12}/users/{id}"), &t).json()["user"].clone();
    let u2_before = user("u2");
    // a bad delta: u1 deleted, u2 renamed, u9 created
    let bad = users_delta(
        &s,
        &[
            "u1,tobedeleted,2026-01-01T00:00:00.000Z,,,,,,,,,,,,,,,,,,,",
            "u2,active,2026-01-01T00:00:00.000Z,true,zoe.oconnor,,Zed,O'Connor,,1002,zoe@example.org,,,,10,,,,,,s1,",
            "u9,active,2026-01-01T00:00:00.000Z,true,new.kid,,New,Kid,,1009,,,,,10,,,,,,s1,",
        ],
    );
    assert_eq!(user("u1")["status"], "tobedeleted");
    assert_eq!(user("u2")["givenName"], "Zed");
    m.delta(&s, &t);
    // a later import touching u2 blocks the undo, which names it
    let later = users_delta(
        &s,
        &["u2,active,2026-01-02T00:00:00.000Z,true,zoe.oconnor,,Zed,O'Connor,,1002,zed@example.org,,,,10,,,,,,s1,"],
    );
    let (code, _, err) = cli(&s, &["imports", "undo", &bad.to_string()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("import {later}")) && err.contains("users u2"),
        "{err}"
    );
    assert_eq!(
        user("u1")["status"],
        "tobedeleted",
        "refused: nothing changed"
    );
    // undo the later one (the two cancel out), then the bad one
    let (code, out, err) = cli(&s, &["imports", "undo", &later.to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(user("u2")["email"], "zoe@example.org");
    // now `bad` can go: every record it changed is back, stamped now
    let mark = rosterbridge::model::time::now();
    m.delta(&s, &t);
    m.since = mark.clone();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (code, out, err) = cli(&s, &["imports", "undo", &bad.to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(user("u1")["status"], "active");
    let u2 = user("u2");
    assert_eq!(u2["givenName"], u2_before["givenName"]);
    assert_eq!(u2["email"], u2_before["email"]);
    assert!(u2["dateLastModified"].as_str().unwrap() > mark.as_str());
    assert_eq!(user("u9")["status"], "tobedeleted");
    let got = m.delta(&s, &t);
    for want in [("u1", "active"), ("u2", "active"), ("u9", "tobedeleted")] {
        assert!(
            got.contains(&("users".into(), want.0.into(), want.1.into())),
            "{want:?} in {got:?}"
        );
    }
    assert_eq!(m.active(), Mirror::full(&s, &t).active());
    // undone already: refused, naming the undo
    let (code, _, err) = cli(&s, &["imports", "undo", &bad.to_string()]);
    assert_eq!(code, 2);
    assert!(err.contains("undo:"), "{err}");
    // a run that was not committed, and an unknown id
    assert_eq!(cli(&s, &["imports", "undo", "9999"]).0, 2);
});
