//! The write rule for clients restricted to orgs (docs/ARCHITECTURE.md, "Writes and org
//! restrictions"), per LIS write operation, on both backends: a restricted client creates,
//! changes and deletes only what it can see, before and after the write, and never the parts of
//! a shared record it cannot see. Also the visibility rules the write rule relies on:
//! enrollments seen through their class's school, and an org tree that cannot be climbed.

use rosterbridge::http::server::Settings;
use rosterbridge::ingest::Outcome;
use rosterbridge::model::catalog::Entity;
use rosterbridge::model::record::Record;

use crate::both;
use crate::common::{copy_fixture, TestDb};
use crate::http::Server;
use crate::soap::{post, Auth, MMS, MMS_NS, PMS, PMS_NS, WRITE};

const V12: &str = "/ims/oneroster/rostering/v1p2";

/// Append `rows` to a package file.
fn append(dir: &std::path::Path, file: &str, rows: &str) {
    let p = dir.join(file);
    let mut s = std::fs::read_to_string(&p).unwrap();
    s.push_str(rows);
    std::fs::write(p, s).unwrap();
}

/// The valid 1.2 fixture (schools s1 and s2 under district d1; teacher t1u holds a role at
/// both) plus, at s2 only: class k3, student u3 (role r6), and the enrollments e5 (u3) and e6
/// (t1u, primary, with a begin date).
fn two_schools(db: &TestDb) {
    let pkg = copy_fixture("valid-1.2");
    let d = pkg.path();
    append(
        d,
        "classes.csv",
        "k3,,,Art - 1,05,c1,ART-1,scheduled,Room 5,s2,t1,,,\n",
    );
    append(
        d,
        "users.csv",
        "u3,,,true,sam.two,,Sam,Two,,1003,sam@example.org,,,,05,,,,,,s2,\n",
    );
    append(d, "roles.csv", "r6,,,u3,primary,student,,,s2,\n");
    append(
        d,
        "enrollments.csv",
        "e5,,,k3,s2,u3,student,,,\ne6,,,k3,s2,t1u,teacher,true,2025-08-18,\n",
    );
    let r = db.import(d);
    assert_eq!(r.outcome, Outcome::Committed, "{:?}", r.diags.list);
}

fn membership(id: &str, class: &str, ty: &str, person: &str, role: &str, ext: &str) -> String {
    format!("<x:membershipRecord><x:sourcedGUID><x:sourcedId>{id}</x:sourcedId></x:sourcedGUID><x:membership><x:collectionSourcedId>{class}</x:collectionSourcedId><x:membershipIdType>{ty}</x:membershipIdType><x:member><x:personSourcedId>{person}</x:personSourcedId><x:role><x:roleType>{role}</x:roleType><x:status>Active</x:status><x:extension>{ext}</x:extension></x:role></x:member></x:membership></x:membershipRecord>")
}

fn ext(name: &str, value: &str) -> String {
    format!("<x:extensionField><x:fieldName>{name}</x:fieldName><x:fieldType>String</x:fieldType><x:fieldValue>{value}</x:fieldValue></x:extensionField>")
}

fn person(id: &str, given: &str, roles: &str) -> String {
    format!("<x:personRecord><x:sourcedGUID><x:sourcedId>{id}</x:sourcedId></x:sourcedGUID><x:person><x:name><x:nameType/><x:partName><x:instanceName><x:textString>First</x:textString></x:instanceName><x:instanceValue><x:textString>{given}</x:textString></x:instanceValue></x:partName><x:partName><x:instanceName><x:textString>Last</x:textString></x:instanceName><x:instanceValue><x:textString>Nguyen</x:textString></x:instanceValue></x:partName></x:name><x:roles><x:enterpriserolesType/><x:userId><x:userIdValue><x:textString>mr.nguyen</x:textString></x:userIdValue></x:userId></x:roles><x:extension>{}</x:extension></x:person></x:personRecord>", ext("oneroster.roles", roles))
}

/// Values and status of a stored record (timestamps left out).
fn state(db: &TestDb, entity: Entity, id: &str) -> Option<(String, Vec<String>)> {
    db.get(entity, id).map(|r: Record| {
        (
            r.status.as_str().to_string(),
            r.values.iter().map(|v| format!("{v:?}")).collect(),
        )
    })
}

fn status_of(db: &TestDb, entity: Entity, id: &str) -> String {
    state(db, entity, id).map(|s| s.0).unwrap_or_default()
}

both!(restricted_writes_stay_inside_the_clients_orgs, |db| {
    two_schools(&db);
    let s = Server::start(db, Settings::default());
    let (w, ws) = s.client(&[WRITE, "roster.readonly"], &["s1"]);
    let (a, as_) = s.client(&[WRITE, "roster.readonly"], &[]);
    let db = &s.db;
    let e6_before = state(db, Entity::Enrollments, "e6");
    let r4_before = state(db, Entity::Roles, "r4");
    let mms = |id: &str, secret: &str, body: String| {
        post(&s, MMS, Auth::Basic(id, secret), MMS_NS, &body)
    };
    let pms = |id: &str, secret: &str, body: String| {
        post(&s, PMS, Auth::Basic(id, secret), PMS_NS, &body)
    };

    // createMembership: another school's student into another school's class, claiming s1.
    let r = mms(&w, &ws, format!("<x:createMembershipRequest><x:sourcedId>m1</x:sourcedId>{}</x:createMembershipRequest>", membership("m1", "k3", "courseSection", "u3", "Learner", &ext("oneroster.school", "s1"))));
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert!(db.get(Entity::Enrollments, "m1").is_none());
    // ... or into its own class: the student is not visible to it.
    let r = mms(&w, &ws, format!("<x:createMembershipRequest><x:sourcedId>m2</x:sourcedId>{}</x:createMembershipRequest>", membership("m2", "k1", "courseSection", "u3", "Learner", "")));
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert!(db.get(Entity::Enrollments, "m2").is_none());
    // A group membership (role row) at the other school.
    let r = mms(&w, &ws, format!("<x:createMembershipRequest><x:sourcedId>m3</x:sourcedId>{}</x:createMembershipRequest>", membership("m3", "s2", "group", "u1", "Learner", "")));
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert!(db.get(Entity::Roles, "m3").is_none());
    // Positive control: its own student into its own class.
    let r = mms(&w, &ws, format!("<x:createMembershipRequest><x:sourcedId>m4</x:sourcedId>{}</x:createMembershipRequest>", membership("m4", "k2", "courseSection", "u1", "Learner", "")));
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert_eq!(
        db.get(Entity::Enrollments, "m4")
            .unwrap()
            .get("schoolSourcedId"),
        Some("s1")
    );

    // updateMembership of it, and createByProxyMembership of another school's student.
    let r = mms(&w, &ws, format!("<x:updateMembershipRequest><x:sourcedId>e6</x:sourcedId>{}</x:updateMembershipRequest>", membership("e6", "k3", "courseSection", "t1u", "Instructor", "")));
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    let before = s.db.all(Entity::Enrollments).len();
    let r = mms(
        &w,
        &ws,
        format!(
            "<x:createByProxyMembershipRequest>{}</x:createByProxyMembershipRequest>",
            membership("x", "k2", "courseSection", "u3", "Learner", "")
        ),
    );
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert_eq!(s.db.all(Entity::Enrollments).len(), before);
    // createByProxyPerson at another school.
    let users_before = s.db.all(Entity::Users).len();
    let r = pms(
        &w,
        &ws,
        format!(
            "<x:createByProxyPersonRequest>{}</x:createByProxyPersonRequest>",
            person("x", "Proxy", "primary:student@s2")
        ),
    );
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert_eq!(s.db.all(Entity::Users).len(), users_before);
    // replaceMembership of school s2's teacher enrollment, claiming s1: refused, unchanged.
    let r = mms(&w, &ws, format!("<x:replaceMembershipRequest><x:sourcedId>e6</x:sourcedId>{}</x:replaceMembershipRequest>", membership("e6", "k3", "courseSection", "t1u", "Instructor", &ext("oneroster.school", "s1"))));
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    // ... nor moved into its own class.
    let r = mms(&w, &ws, format!("<x:replaceMembershipRequest><x:sourcedId>e6</x:sourcedId>{}</x:replaceMembershipRequest>", membership("e6", "k1", "courseSection", "t1u", "Instructor", "")));
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    for op in ["deleteMembership", "changeMembershipIdentifier"] {
        let r = mms(&w, &ws, format!("<x:{op}Request><x:sourcedId>e6</x:sourcedId><x:newSourcedId>e6b</x:newSourcedId></x:{op}Request>"));
        assert_eq!(r.minor(), "unknownobject", "{op}: {}", r.text);
    }
    assert_eq!(state(db, Entity::Enrollments, "e6"), e6_before);

    // changePersonIdentifier of the shared teacher: it would rename the user s2 sees.
    let r = pms(&w, &ws, "<x:changePersonIdentifierRequest><x:sourcedId>t1u</x:sourcedId><x:newSourcedId>t1u-new</x:newSourcedId></x:changePersonIdentifierRequest>".into());
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert!(db.get(Entity::Users, "t1u-new").is_none());
    assert_eq!(status_of(db, Entity::Users, "t1u"), "active");

    // replacePerson / updatePerson of the shared teacher with roles at s1 only: the user's
    // fields change, its role at s2 stays as it was.
    for (op, given) in [("replacePerson", "Ngoc"), ("updatePerson", "Ngoc2")] {
        let r = pms(
            &w,
            &ws,
            format!(
                "<x:{op}Request><x:sourcedId>t1u</x:sourcedId>{}</x:{op}Request>",
                person("t1u", given, "primary:teacher@s1")
            ),
        );
        assert_eq!(r.minor(), "fullsuccess", "{op}: {}", r.text);
        assert_eq!(
            db.get(Entity::Users, "t1u").unwrap().get("givenName"),
            Some(given)
        );
        assert_eq!(state(db, Entity::Roles, "r4"), r4_before, "{op}");
        assert_eq!(status_of(db, Entity::Roles, "r3"), "active", "{op}");
        assert_eq!(state(db, Entity::Enrollments, "e6"), e6_before, "{op}");
    }
    // ... and roles naming s2 are refused.
    let r = pms(
        &w,
        &ws,
        format!(
            "<x:replacePersonRequest><x:sourcedId>t1u</x:sourcedId>{}</x:replacePersonRequest>",
            person("t1u", "X", "primary:teacher@s1,primary:teacher@s2")
        ),
    );
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert_eq!(state(db, Entity::Roles, "r4"), r4_before);
    // A person of s2 only is not visible: not replaced, not deleted.
    let r = pms(
        &w,
        &ws,
        format!(
            "<x:replacePersonRequest><x:sourcedId>u3</x:sourcedId>{}</x:replacePersonRequest>",
            person("u3", "X", "primary:student@s1")
        ),
    );
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert_eq!(status_of(db, Entity::Roles, "r6"), "active");

    // deletePerson of the shared teacher: its role and enrollments at s1 go, the user and
    // everything at s2 stay.
    let r = pms(
        &w,
        &ws,
        "<x:deletePersonRequest><x:sourcedId>t1u</x:sourcedId></x:deletePersonRequest>".into(),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert_eq!(status_of(db, Entity::Roles, "r3"), "tobedeleted");
    assert_eq!(status_of(db, Entity::Enrollments, "e3"), "tobedeleted");
    assert_eq!(status_of(db, Entity::Users, "t1u"), "active");
    assert_eq!(state(db, Entity::Roles, "r4"), r4_before);
    assert_eq!(state(db, Entity::Enrollments, "e6"), e6_before);

    // An unrestricted client deleting a person: the user, its roles and enrollments.
    let r = pms(
        &a,
        &as_,
        "<x:deletePersonRequest><x:sourcedId>u3</x:sourcedId></x:deletePersonRequest>".into(),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    for (e, id) in [
        (Entity::Users, "u3"),
        (Entity::Roles, "r6"),
        (Entity::Enrollments, "e5"),
    ] {
        assert_eq!(status_of(db, e, id), "tobedeleted", "{id}");
    }
});

both!(
    enrollments_are_seen_through_their_class_and_orgs_never_climb,
    |db| {
        two_schools(&db);
        // A delta that makes the district a child of school s1 is refused (org-cycle), and so is a
        // delta enrollment naming another school than its stored class's.
        let dir = tempfile::tempdir().unwrap();
        crate::common::delta_manifest(dir.path(), "1.2", &["orgs", "enrollments"]);
        std::fs::write(
        dir.path().join("orgs.csv"),
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nd1,active,2026-01-01T00:00:00.000Z,Lakeview District,district,0600001,s1\n",
    )
    .unwrap();
        std::fs::write(
        dir.path().join("enrollments.csv"),
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\ne7,active,2026-01-01T00:00:00.000Z,k3,s1,u1,student,,,\n",
    )
    .unwrap();
        let r = db.import(dir.path());
        assert_eq!(r.outcome, Outcome::Rejected);
        let rules: Vec<(&str, u64, &str)> = r
            .diags
            .errors()
            .map(|d| (d.file.as_str(), d.line, d.rule))
            .collect();
        assert!(rules.contains(&("orgs.csv", 2, "org-cycle")), "{rules:?}");
        assert!(
            rules.contains(&("enrollments.csv", 2, "enrollment-school")),
            "{rules:?}"
        );
        // Deleting class k3 in the store, then an active enrollment of it: refused.
        let dir = tempfile::tempdir().unwrap();
        crate::common::delta_manifest(dir.path(), "1.2", &["classes"]);
        std::fs::write(
        dir.path().join("classes.csv"),
        "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\nk3,tobedeleted,2026-01-01T00:00:00.000Z,Art - 1,05,c1,ART-1,scheduled,Room 5,s2,t1,,,\n",
    )
    .unwrap();
        assert_eq!(db.import(dir.path()).outcome, Outcome::Committed);
        let dir = tempfile::tempdir().unwrap();
        crate::common::delta_manifest(dir.path(), "1.2", &["enrollments"]);
        std::fs::write(
        dir.path().join("enrollments.csv"),
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\ne8,active,2026-01-01T00:00:00.000Z,k3,s2,u3,student,,,\n",
    )
    .unwrap();
        let r = db.import(dir.path());
        assert!(
            r.diags.errors().any(|d| d.line == 2
                && d.column == "classSourcedId"
                && d.rule == "enrollment-class-deleted"),
            "{:?}",
            r.diags.list
        );

        // Visibility: a client of s1 sees the enrollments of s1's classes only, and a client of a
        // school whose parent chain loops (forced into the store, as an older release allowed)
        // still sees only that school's subtree.
        {
            use diesel::connection::SimpleConnection;
            let mut c = db.store.conn().unwrap();
            let conn: &mut rosterbridge::store::DbConnection = &mut c;
            match conn {
                rosterbridge::store::DbConnection::Sqlite(x) => x.batch_execute(
                    "UPDATE orgs SET parent_sourced_id = 's1' WHERE sourced_id = 'd1'",
                ),
                rosterbridge::store::DbConnection::Postgres(x) => x.batch_execute(
                    "UPDATE orgs SET parent_sourced_id = 's1' WHERE sourced_id = 'd1'",
                ),
            }
            .unwrap();
        }
        let s = Server::start(db, Settings::default());
        let token = s.token(&["roster.readonly"], &["s1"]);
        let mut orgs = s.get(&format!("{V12}/orgs"), &token).ids("orgs");
        orgs.sort();
        assert_eq!(
            orgs,
            vec!["s1".to_string()],
            "the district above s1 is not below it"
        );
        let mut enr = s
            .get(&format!("{V12}/enrollments?limit=100"), &token)
            .ids("enrollments");
        enr.sort();
        assert_eq!(enr, vec!["e1", "e2", "e3", "e4"]);
        assert_eq!(s.get(&format!("{V12}/enrollments/e6"), &token).status, 404);
    }
);

both!(hostile_wide_start_tags_are_refused_at_once, |db| {
    two_schools(&db);
    let s = Server::start(db, Settings::default());
    let token = s.token(&["roster.readonly"], &[]);
    // Just under the 4 MiB body cap, so the parser (not the size check) has to refuse them.
    let room = (4 << 20) - 1024;
    for kind in ["attributes", "namespace declarations"] {
        let mut body = String::from(
            r#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><readPersonRequest"#,
        );
        let mut i = 0;
        while body.len() < room {
            if kind == "attributes" {
                body.push_str(&format!(" a{i}=\"v\""));
            } else {
                body.push_str(&format!(" xmlns:p{i}=\"u{i}\""));
            }
            i += 1;
        }
        body.push_str(
            "><sourcedId>u1</sourcedId></readPersonRequest></soapenv:Body></soapenv:Envelope>",
        );
        // Unauthenticated, as an attacker would send it.
        let t0 = std::time::Instant::now();
        let r = crate::soap::post_raw(&s, PMS, &Auth::None, &body);
        let took = t0.elapsed();
        assert!(took < std::time::Duration::from_secs(1), "{kind}: {took:?}");
        assert_eq!(r.status, 500, "{kind}");
        assert!(r.text.contains("Fault"), "{kind}: {}", r.text);
        let description = r
            .header()
            .child_text("imsx_description")
            .unwrap_or("")
            .to_string();
        assert!(
            description.contains(if kind == "attributes" {
                "attributes"
            } else {
                "namespace"
            }),
            "{kind}: {description}"
        );
    }
    // The server still answers REST at once.
    let t0 = std::time::Instant::now();
    assert_eq!(s.get(&format!("{V12}/orgs"), &token).status, 200);
    assert!(t0.elapsed() < std::time::Duration::from_secs(1));
});

both!(
    failed_authentications_are_throttled_and_expired_tokens_purged,
    |db| {
        let url = db.url.clone();
        let s = Server::start(db, Settings::default());
        let (id, secret) = s.client(&["roster.readonly"], &[]);
        // Wrong secrets at the token endpoint: 401 for the first ten, then 429 with Retry-After,
        // also for the right secret (a guess cannot be told right from wrong while throttled).
        let mut codes = Vec::new();
        for _ in 0..25 {
            codes.push(
                s.post_token(Some((&id, "wrong")), "grant_type=client_credentials")
                    .status,
            );
        }
        assert!(codes[..10].iter().all(|c| *c == 401), "{codes:?}");
        assert!(codes[10..].iter().all(|c| *c == 429), "{codes:?}");
        let r = s.post_token(Some((&id, &secret)), "grant_type=client_credentials");
        assert_eq!(r.status, 429);
        assert!(r.header("Retry-After").is_some());
        // One failure's worth refills each second.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let r = s.post_token(Some((&id, &secret)), "grant_type=client_credentials");
        assert_eq!(r.status, 200, "{}", r.text);
        let read = "<x:readPersonRequest><x:sourcedId>u1</x:sourcedId></x:readPersonRequest>";
        // The address's bucket holds the one refilled failure: SOAP HTTP Basic from the same
        // address spends it, then is throttled too (one bucket per address, across bindings).
        let r = post(&s, PMS, Auth::Basic(&id, "wrong"), PMS_NS, read);
        assert_eq!(r.status, 401, "{}", r.text);
        let r = post(&s, PMS, Auth::Basic(&id, "wrong"), PMS_NS, read);
        assert_eq!(r.status, 429, "{}", r.text);
        // ... and on a fresh server, 401 ten times, then 429.
        drop(s);
        let s = Server::start(TestDb::new(backend(&url)).unwrap(), Settings::default());
        let (id, secret) = s.client(&["roster.readonly"], &[]);
        let codes: Vec<u16> = (0..20)
            .map(|_| post(&s, PMS, Auth::Basic(&id, "wrong"), PMS_NS, read).status)
            .collect();
        assert!(codes[..10].iter().all(|c| *c == 401), "{codes:?}");
        assert!(codes[10..].iter().all(|c| *c == 429), "{codes:?}");
        assert_eq!(
            post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, read).status,
            429
        );

        // Expired tokens of every client are deleted when a token is issued.
        let count = |s: &Server| {
            let mut c = s.db.store.conn().unwrap();
            let mut q = rosterbridge::store::sql::Sql::new(&c);
            q.push("SELECT CAST(COUNT(*) AS TEXT) AS t0 FROM access_tokens");
            q.load_i64(&mut c).unwrap()
        };
        let s = Server::start(TestDb::new(backend(&url)).unwrap(), Settings::default());
        s.token(&["roster.readonly"], &[]);
        s.token(&["roster.readonly"], &[]);
        assert_eq!(count(&s), 2);
        {
            let mut c = s.db.store.conn().unwrap();
            let mut q = rosterbridge::store::sql::Sql::new(&c);
            q.push("UPDATE access_tokens SET expires_at = '2020-01-01T00:00:00.000Z'");
            q.execute(&mut c).unwrap();
        }
        s.token(&["roster.readonly"], &[]);
        assert_eq!(count(&s), 1, "the two expired tokens are gone");
        // Nonces past the window are deleted whatever client they belong to.
        let mut c = s.db.store.conn().unwrap();
        use rosterbridge::store::clients::record_nonce;
        assert!(record_nonce(&mut c, "a", 100, "n1", 0).unwrap());
        assert!(
            !record_nonce(&mut c, "a", 100, "n1", 0).unwrap(),
            "a replay"
        );
        assert!(record_nonce(&mut c, "b", 5000, "n2", 1000).unwrap());
        assert!(
            record_nonce(&mut c, "a", 100, "n1", 0).unwrap(),
            "a's old nonce was purged"
        );
    }
);

/// The backend a test database URL is on.
fn backend(url: &str) -> crate::common::Backend {
    if url.starts_with("sqlite:") {
        crate::common::Backend::Sqlite
    } else {
        crate::common::Backend::Postgres
    }
}

both!(
    soap_failures_tell_the_client_what_it_needs_and_nothing_internal,
    |db| {
        two_schools(&db);
        let s = Server::start(db, Settings::default());
        let (id, secret) = s.client(&["roster.readonly"], &[]);
        let read = "<x:readPersonRequest><x:sourcedId>u1</x:sourcedId></x:readPersonRequest>";
        // A failed WS-Security UsernameToken: the OASIS WSS FailedAuthentication Fault (SOAP 1.1
        // and 1.2), with the imsx status in the header.
        let r = post(&s, PMS, Auth::Text(&id, "nope"), PMS_NS, read);
        assert_eq!(r.status, 500, "{}", r.text);
        let fault = r.body();
        assert_eq!(fault.name, "Fault");
        assert_eq!(
            fault.child_text("faultcode"),
            Some("wsse:FailedAuthentication"),
            "{}",
            r.text
        );
        assert!(fault
            .child_text("faultstring")
            .unwrap_or("")
            .contains("could not be authenticated"));
        assert!(r.text.contains("xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\""));
        assert_eq!(r.minor(), "unauthorizedrequest");
        let doc12 = crate::soap::envelope(PMS_NS, &crate::soap::username_token(&id, "nope"), read)
            .replace(
                "http://schemas.xmlsoap.org/soap/envelope/",
                "http://www.w3.org/2003/05/soap-envelope",
            );
        let r = crate::soap::post_raw(&s, PMS, &Auth::None, &doc12);
        let code = r.body().child(&["Code"]).expect("Code");
        assert_eq!(code.child_text("Value"), Some("soapenv:Sender"));
        assert_eq!(
            code.child(&["Subcode"]).and_then(|c| c.child_text("Value")),
            Some("wsse:FailedAuthentication"),
            "{}",
            r.text
        );
        // HTTP Basic stays a transport-level 401.
        let r = post(&s, PMS, Auth::Basic(&id, "nope"), PMS_NS, read);
        assert_eq!(r.status, 401);
        // A store failure: the cause is logged, the client gets a fixed description.
        {
            use diesel::connection::SimpleConnection;
            let mut c = s.db.store.conn().unwrap();
            match &mut *c {
                rosterbridge::store::DbConnection::Sqlite(x) => {
                    x.batch_execute("DROP TABLE user_roles")
                }
                rosterbridge::store::DbConnection::Postgres(x) => {
                    x.batch_execute("DROP TABLE user_roles CASCADE")
                }
            }
            .unwrap();
        }
        let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, read);
        assert_eq!(r.minor(), "targetisbusy", "{}", r.text);
        let description = r
            .header()
            .child_text("imsx_description")
            .unwrap_or("")
            .to_string();
        assert_eq!(description, rosterbridge::soap::service::INTERNAL_FAILURE);
        for leak in ["user_roles", "relation", "no such table", "store error"] {
            assert!(!r.text.contains(leak), "{leak} leaked: {}", r.text);
        }
    }
);

/// A district of `n` students at one school (users and roles only), as a bulk 1.2 package.
fn big_district(db: &TestDb, n: usize) {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("manifest.csv"),
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,bulk\nfile.roles,bulk\n",
    )
    .unwrap();
    std::fs::write(
        d.join("orgs.csv"),
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nd1,,,District,district,,\ns1,,,School,school,,d1\n",
    )
    .unwrap();
    let mut users = String::from("sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n");
    let mut roles = String::from(
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\n",
    );
    for i in 0..n {
        writeln!(
            users,
            "u{i:06},,,true,s{i},,Given{i},Family,,,,,,,,,,,,,s1,"
        )
        .unwrap();
        writeln!(roles, "r{i:06},,,u{i:06},primary,student,,,s1,").unwrap();
    }
    std::fs::write(d.join("users.csv"), users).unwrap();
    std::fs::write(d.join("roles.csv"), roles).unwrap();
    let r = db.import(d);
    assert_eq!(r.outcome, Outcome::Committed, "{:?}", r.diags.list);
}

/// POST a SOAP request and count `needle` in the streamed answer (too large for a string).
fn count_in_answer(
    s: &Server,
    path: &str,
    id: &str,
    secret: &str,
    ns: &str,
    body: &str,
    needle: &str,
) -> (usize, String) {
    use base64::Engine as _;
    use std::io::Read as _;
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let doc = crate::soap::envelope(ns, "", body);
    let resp = match ureq::post(&format!("{}{path}", s.base))
        .set("Content-Type", "text/xml; charset=utf-8")
        .set("Authorization", &format!("Basic {b}"))
        .send_string(&doc)
    {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let mut reader = resp.into_reader();
    let (mut n, mut head, mut buf, mut carry) = (0, String::new(), vec![0u8; 1 << 16], Vec::new());
    loop {
        let got = reader.read(&mut buf).unwrap();
        if got == 0 {
            break;
        }
        carry.extend_from_slice(&buf[..got]);
        if head.len() < 4096 {
            head.push_str(&String::from_utf8_lossy(&carry[..carry.len().min(4096)]));
        }
        let text = String::from_utf8_lossy(&carry).into_owned();
        n += text.matches(needle).count();
        // Keep a tail shorter than the needle, so a match across reads is counted once.
        let keep = needle.len() - 1;
        let cut = carry.len().saturating_sub(keep);
        let tail = carry.split_off(cut);
        let tail_text = String::from_utf8_lossy(&tail).into_owned();
        n -= tail_text.matches(needle).count();
        carry = tail;
    }
    (n, head)
}

both!(savepoint_reads_of_a_100000_student_district, |db| {
    const N: usize = 100_000;
    big_district(&db, N);
    let s = Server::start(db, Settings::default());
    let (id, secret) = s.client(&[], &[]);
    let from = "<x:fromSavePoint>2000-01-01T00:00:00Z</x:fromSavePoint>";
    let (ids, head) = count_in_answer(
        &s,
        PMS,
        &id,
        &secret,
        PMS_NS,
        &format!(
            "<x:readPersonIdsFromSavePointRequest>{from}</x:readPersonIdsFromSavePointRequest>"
        ),
        "<tns:sourcedId>",
    );
    assert_eq!(ids, N, "{head}");
    // The full records: every person's demographics are looked up too (100,000 ids).
    let (records, head) = count_in_answer(
        &s,
        PMS,
        &id,
        &secret,
        PMS_NS,
        &format!("<x:readPersonsFromSavePointRequest>{from}</x:readPersonsFromSavePointRequest>"),
        "<tns:personRecord>",
    );
    assert!(
        head.contains("<tns:imsx_codeMajor>success</tns:imsx_codeMajor>"),
        "{head}"
    );
    assert_eq!(records, N);
    let (m, head) = count_in_answer(&s, MMS, &id, &secret, MMS_NS, &format!("<x:readMembershipIdsFromSavePointRequest>{from}</x:readMembershipIdsFromSavePointRequest>"), "<tns:sourcedId>");
    assert_eq!(m, N, "the role rows: {head}");
});

both!(
    concurrent_soap_writes_all_land_without_waiting_for_a_connection,
    |db| {
        two_schools(&db);
        let s = Server::start(db, Settings::default());
        let (id, secret) = s.client(&[WRITE, "roster.readonly"], &[]);
        let t0 = std::time::Instant::now();
        let answers: Vec<(String, std::time::Duration)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..32)
            .map(|i| {
                let (s, id, secret) = (&s, &id, &secret);
                scope.spawn(move || {
                    let t = std::time::Instant::now();
                    let pid = format!("c{i:02}");
                    let r = post(s, PMS, Auth::Basic(id, secret), PMS_NS, &format!("<x:createPersonRequest><x:sourcedId>{pid}</x:sourcedId>{}</x:createPersonRequest>", person(&pid, "Conc", "primary:student@s1")));
                    (r.minor(), t.elapsed())
                })
            })
            .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let total = t0.elapsed();
        for (i, (minor, took)) in answers.iter().enumerate() {
            assert_eq!(minor, "fullsuccess", "write {i}");
            // The pool's checkout timeout is 10 s: no write came near it.
            assert!(
                *took < std::time::Duration::from_secs(8),
                "write {i} took {took:?}"
            );
        }
        for i in 0..32 {
            let u =
                s.db.get(Entity::Users, &format!("c{i:02}"))
                    .expect("landed");
            assert_eq!(u.get("givenName"), Some("Conc"));
        }
        eprintln!("32 concurrent createPerson: {total:?}");
    }
);

/// `serve --tls-cert/--tls-key`: HTTPS with HTTP/2 and HTTP/1.1 offered by ALPN, and the
/// console's cookie marked `Secure`.
#[test]
fn https_serves_http2_and_http11_with_secure_console_cookies() {
    use std::io::{Read, Write};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let db = crate::common::TestDb::new(crate::common::Backend::Sqlite).unwrap();
    rosterbridge::auth::admins::add(
        &mut db.store.conn().unwrap(),
        "t",
        "alice",
        "correct horse battery",
    )
    .unwrap();
    let server = crate::http::Server::start(
        db,
        rosterbridge::http::server::Settings {
            tls: Some((cert.clone(), key.clone())),
            ..Default::default()
        },
    );
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let client = |alpn: &[&[u8]]| {
        let mut c = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
        c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let conn =
            rustls::ClientConnection::new(Arc::new(c), "localhost".try_into().unwrap()).unwrap();
        rustls::StreamOwned::new(conn, std::net::TcpStream::connect(&addr).unwrap())
    };
    // HTTP/2 is chosen when offered.
    let mut h2 = client(&[b"h2", b"http/1.1"]);
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .unwrap();
    h2.flush().unwrap();
    assert_eq!(h2.conn.alpn_protocol(), Some(&b"h2"[..]));
    let mut frame = [0u8; 9];
    h2.read_exact(&mut frame).unwrap();
    assert_eq!(
        frame[3], 0x4,
        "the server answers with an HTTP/2 SETTINGS frame"
    );
    // HTTP/1.1 over TLS: the console's cookies are Secure.
    let mut h1 = client(&[b"http/1.1"]);
    write!(
        h1,
        "GET /console/login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let _ = h1.read_to_string(&mut text);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let cookie = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // A key that is not a key is a clear error at start.
    std::fs::write(&key, "not a key").unwrap();
    let err = rosterbridge::http::server::tls_config(&cert, &key).unwrap_err();
    assert!(err.to_string().contains("key.pem"), "{err}");
}

/// Forwarded headers name the server's external URL (and the client's address) only when the
/// operator says a proxy sets them (`--trust-forwarded-headers`).
#[test]
fn forwarded_headers_are_believed_only_when_configured() {
    let path =
        "/ims/oneroster/rostering/v1p2/discovery/onerosterv1p2rostersservice_openapi3_v1p0.json";
    let url_of = |trust: bool| {
        let db = crate::common::TestDb::new(crate::common::Backend::Sqlite).unwrap();
        let s = crate::http::Server::start(
            db,
            rosterbridge::http::server::Settings {
                trust_forwarded: trust,
                ..Default::default()
            },
        );
        let r = crate::http::send(
            ureq::get(&format!("{}{path}", s.base))
                .set("X-Forwarded-Host", "evil.example")
                .set("X-Forwarded-Proto", "https"),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        (
            r.json()["servers"][0]["url"].as_str().unwrap().to_string(),
            s.base.clone(),
        )
    };
    let (url, base) = url_of(false);
    assert_eq!(
        url,
        format!("{base}/ims/oneroster/rostering/v1p2"),
        "ignored by default"
    );
    let (url, _) = url_of(true);
    assert_eq!(
        url, "https://evil.example/ims/oneroster/rostering/v1p2",
        "believed when configured"
    );
}
