//! The LIS Group Management Service over real HTTP, on both backends: Banner's and
//! Blackboard's TERM pushes land as academic sessions, org groups as orgs with their parents,
//! reads give them back; the Blackboard flow end to end over SOAP alone (Group → CourseSection
//! → Person → Membership), then the same records over REST 1.1 and 1.2; every operation of
//! rosterbridge's GMS WSDL is answered.

use rosterbridge::http::server::Settings;
use rosterbridge::model::catalog::Entity;

use crate::both;
use crate::http::Server;
use crate::soap::{post, post_raw, shared, Auth, WRITE};

const GMS: &str = "/lis/v2p0/GroupManagementService";
const GMS_NS: &str = "http://www.imsglobal.org/services/lis/gms2p0/wsdl11/sync/imsgms_v2p0";
const CMS: &str = "/lis/v2p0/CourseManagementService";

fn group_xml(op: &str, id: &str, ty: &str, name: &str, extra: &str) -> String {
    format!(
        "<x:{op}Request><x:sourcedId>{id}</x:sourcedId><x:groupRecord><x:sourcedGUID><x:sourcedId>{id}</x:sourcedId></x:sourcedGUID><x:group><x:groupType><x:typevalue><x:type><x:language>en</x:language><x:textString>{ty}</x:textString></x:type></x:typevalue></x:groupType>{extra}<x:description><x:shortDescription>{name}</x:shortDescription></x:description></x:group></x:groupRecord></x:{op}Request>"
    )
}

both!(term_and_org_groups_land_and_read_back, |db| {
    let Some(shared) = shared() else { return };
    let s = Server::start(db, Settings::default());
    let (id, secret) = s.client(&[WRITE, "roster.readonly"], &[]);
    let auth = Auth::Basic(&id, &secret);
    let call = |body: &str| post(&s, GMS, Auth::Basic(&id, &secret), GMS_NS, body);

    // Banner ILP's term push, on an empty store, then its section (which names that term).
    let banner = shared.join("fixtures/ericmerrill-lmbnxt/lis2/data");
    let r = post_raw(
        &s,
        GMS,
        &auth,
        &std::fs::read_to_string(banner.join("term_replace.xml")).unwrap(),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let term =
        s.db.get(Entity::AcademicSessions, "201740")
            .expect("term landed");
    assert_eq!(term.get("type"), Some("term"));
    assert_eq!(term.get("title"), Some("Short201740"));
    assert_eq!(term.get("startDate"), Some("2017-08-30"));
    assert_eq!(term.get("endDate"), Some("2017-12-17"));
    assert_eq!(term.get("schoolYear"), Some("2017"));
    assert_eq!(
        term.metadata.get("lis.longDescription").map(String::as_str),
        Some("Fall Semester 2017")
    );
    let r = post_raw(
        &s,
        CMS,
        &auth,
        &std::fs::read_to_string(banner.join("section_replace.xml")).unwrap(),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert_eq!(
        s.db.get(Entity::Classes, "10001.201740")
            .unwrap()
            .get("termSourcedIds"),
        Some("201740")
    );

    // Blackboard's: the request's sourcedId names the record; its parent is no group anyone
    // sent, so it is kept aside, not linked.
    let bb =
        std::fs::read_to_string(shared.join(
            "spec/lis/examples/blackboard-bbdn-lis_samples/SampleReplaceGroupRequest_Term.xml",
        ))
        .unwrap();
    let r = post_raw(&s, GMS, &auth, &bb);
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let term =
        s.db.get(Entity::AcademicSessions, "UGRD-0590")
            .expect("term landed");
    assert_eq!(term.get("title"), Some("test_term"));
    assert_eq!(term.get("startDate"), Some("2012-01-16"));
    assert_eq!(term.get("endDate"), Some("2015-05-10"));
    assert_eq!(term.get("parentSourcedId"), None);
    assert_eq!(
        term.metadata.get("lis.parent").map(String::as_str),
        Some("sourcedID_Babble2")
    );
    assert_eq!(
        term.metadata.get("lis.email").map(String::as_str),
        Some("test@example.com")
    );

    // Org groups: a district, then a school under it.
    let r = call(&group_xml(
        "replaceGroup",
        "d1",
        "District",
        "North District",
        "",
    ));
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let r = call(&group_xml("replaceGroup", "s1", "school", "North High", ""));
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let r = call("<x:addGroupRelationshipRequest><x:sourcedId>s1</x:sourcedId><x:relationship><x:relation>Parent</x:relation><x:sourcedId>d1</x:sourcedId></x:relationship></x:addGroupRelationshipRequest>");
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let t = s.token(&["roster.readonly"], &[]);
    let org = s.get("/ims/oneroster/rostering/v1p2/orgs/s1", &t).json();
    assert_eq!(org["org"]["name"], "North High");
    assert_eq!(org["org"]["type"], "school");
    assert_eq!(org["org"]["parent"]["sourcedId"], "d1");
    let d = s.get("/ims/oneroster/v1p1/orgs/d1", &t).json();
    assert_eq!(d["org"]["children"][0]["sourcedId"], "s1");
    // Read back over SOAP: the school, and the term as a TERM group with its dates.
    let r = call("<x:readGroupRequest><x:sourcedId>s1</x:sourcedId></x:readGroupRequest>");
    let g = r
        .body()
        .child(&["groupRecord"])
        .and_then(|g| g.child(&["group"]))
        .expect("group");
    assert_eq!(
        g.child(&["relationship"])
            .and_then(|r| r.child_text("sourcedId")),
        Some("d1")
    );
    let r = call("<x:readGroupRequest><x:sourcedId>201740</x:sourcedId></x:readGroupRequest>");
    let g = r
        .body()
        .child(&["groupRecord"])
        .and_then(|g| g.child(&["group"]))
        .expect("group");
    let ty = g
        .child(&["groupType"])
        .and_then(|t| t.child(&["typevalue"]))
        .and_then(|t| t.child(&["type"]))
        .and_then(|t| t.child_text("textString"));
    assert_eq!(ty, Some("TERM"));
    assert_eq!(
        g.child(&["timeframe"]).and_then(|t| t.child_text("begin")),
        Some("2017-08-30T00:00:00Z")
    );
    let r = call("<x:readAllGroupIdsRequest/>");
    for want in ["d1", "s1", "ENG", "201740", "UGRD-0590"] {
        assert!(r.ids().contains(&want.to_string()), "{want}: {}", r.text);
    }
    // removeGroupRelationship by the parent's id.
    let r = call("<x:removeGroupRelationshipRequest><x:sourcedId>s1</x:sourcedId><x:relationId>d1</x:relationId></x:removeGroupRelationshipRequest>");
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert_eq!(
        s.db.get(Entity::Orgs, "s1").unwrap().get("parentSourcedId"),
        None
    );
    // Refusals: an unknown group type, a TERM without dates, an id switching kind.
    let r = call(&group_xml("replaceGroup", "c1", "College", "C", ""));
    assert_eq!(r.minor(), "invaliddata", "{}", r.text);
    assert!(r.text.contains("College"), "{}", r.text);
    let r = call(&group_xml("replaceGroup", "t9", "TERM", "No dates", ""));
    assert_eq!(r.minor(), "invaliddata", "{}", r.text);
    assert!(s.db.get(Entity::AcademicSessions, "t9").is_none());
    let r = call(&group_xml(
        "replaceGroup",
        "s1",
        "TERM",
        "x",
        "<x:timeframe><x:begin>2020-01-01</x:begin><x:end>2020-06-01</x:end></x:timeframe>",
    ));
    assert_eq!(r.minor(), "idallocinusefail", "{}", r.text);
    // A restricted client sees only its orgs.
    let (rid, rsecret) = s.client(&[WRITE, "roster.readonly"], &["s1"]);
    let r = post(
        &s,
        GMS,
        Auth::Basic(&rid, &rsecret),
        GMS_NS,
        "<x:readGroupRequest><x:sourcedId>d1</x:sourcedId></x:readGroupRequest>",
    );
    assert_eq!(r.minor(), "unknownobject", "{}", r.text);
    // … and may not write outside them: renaming the district is refused, the name stays.
    let r = post(
        &s,
        GMS,
        Auth::Basic(&rid, &rsecret),
        GMS_NS,
        &group_xml("replaceGroup", "d1", "district", "Hijacked", ""),
    );
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert_eq!(
        s.db.get(Entity::Orgs, "d1").unwrap().get("name"),
        Some("North District")
    );
    // A client without the write scope may not write at all.
    let (ro, rosecret) = s.client(&["roster.readonly"], &[]);
    let r = post(
        &s,
        GMS,
        Auth::Basic(&ro, &rosecret),
        GMS_NS,
        &group_xml("replaceGroup", "d1", "district", "Hijacked", ""),
    );
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert_eq!(
        s.db.get(Entity::Orgs, "d1").unwrap().get("name"),
        Some("North District")
    );
});

// Blackboard Learn's samples as one flow over SOAP alone, their ids joined up (the samples'
// own ids do not refer to each other): a TERM group, a section in it, a person, the person's
// membership of the section; then REST 1.1 and 1.2 show the same roster.
both!(blackboard_flow_end_to_end_over_soap, |db| {
    let Some(shared) = shared() else { return };
    let bb = shared.join("spec/lis/examples/blackboard-bbdn-lis_samples");
    let read = |f: &str| std::fs::read_to_string(bb.join(f)).unwrap();
    let s = Server::start(db, Settings::default());
    let (id, secret) = s.client(&[WRITE, "roster.readonly"], &[]);
    let auth = Auth::Basic(&id, &secret);
    // A school, as the district has one (a SOAP-only SIS's section would otherwise make one
    // from its org; here its org names the department "ART").
    let r = post(
        &s,
        GMS,
        Auth::Basic(&id, &secret),
        GMS_NS,
        &group_xml("replaceGroup", "campus", "school", "Main Campus", ""),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    // 1. The term (dates set to the section's, so the section falls in it).
    let term = read("SampleReplaceGroupRequest_Term.xml")
        .replace("2012-01-16", "2007-08-30")
        .replace("2015-05-10", "2007-12-12");
    let r = post_raw(&s, GMS, &auth, &term);
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    // 2. The section.
    let r = post_raw(
        &s,
        CMS,
        &auth,
        &read("SampleReplaceCourseSectionRequest.xml"),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let section = "001199-01-0590-1-7-03436";
    let class = s.db.get(Entity::Classes, section).unwrap();
    assert_eq!(class.get("termSourcedIds"), Some("UGRD-0590"));
    assert_eq!(class.get("schoolSourcedId"), Some("campus"));
    // 3. The person.
    let r = post_raw(
        &s,
        crate::soap::PMS,
        &auth,
        &read("SampleReplacePersonRequest.xml"),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    // 4. The membership, naming that section and that person.
    let m = read("SampleReplaceMembershipRequest.xml")
        .replace(
            "003276-01-0590-1-1-01210</collectionSourcedId>",
            &format!("{section}</collectionSourcedId>"),
        )
        .replace(
            "<personSourcedId>AA0012</personSourcedId>",
            "<personSourcedId>AA0011</personSourcedId>",
        );
    let r = post_raw(&s, crate::soap::MMS, &auth, &m);
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    // The same roster over REST 1.2 and 1.1.
    let t = s.token(&["roster.readonly"], &[]);
    let c12 = s
        .get(
            &format!("/ims/oneroster/rostering/v1p2/classes/{section}"),
            &t,
        )
        .json();
    assert_eq!(c12["class"]["terms"][0]["sourcedId"], "UGRD-0590");
    assert_eq!(c12["class"]["school"]["sourcedId"], "campus");
    let teachers = s
        .get(
            &format!("/ims/oneroster/rostering/v1p2/classes/{section}/teachers"),
            &t,
        )
        .json();
    assert_eq!(teachers["users"][0]["sourcedId"], "AA0011", "{teachers}");
    let c11 = s
        .get(&format!("/ims/oneroster/v1p1/classes/{section}"), &t)
        .json();
    assert_eq!(c11["class"]["terms"][0]["sourcedId"], "UGRD-0590");
    let term11 = s.get("/ims/oneroster/v1p1/terms/UGRD-0590", &t).json();
    assert_eq!(term11["academicSession"]["startDate"], "2007-08-30");
    let u11 = s.get("/ims/oneroster/v1p1/users/AA0011", &t).json();
    assert_eq!(u11["user"]["role"], "student");
    assert_eq!(u11["user"]["orgs"][0]["sourcedId"], "campus");
});

// Blackboard's bulk file (BDEMS bulkDataRecord) posted to /lis/v2p0/BulkDataService: the
// person and the term land; the section names a term (adminPeriod 201301) and an org no
// message sends and is refused naming them, and its membership with it; the answer lists
// every transaction. Banner's cross-listing lands with both its section ids; its delete of a
// section the store lacks is unknownobject.
both!(bulk_file_and_remaining_banner_messages, |db| {
    let Some(shared) = shared() else { return };
    let s = Server::start(db, Settings::default());
    let (id, secret) = s.client(&[WRITE, "roster.readonly"], &[]);
    let r = post(
        &s,
        GMS,
        Auth::Basic(&id, &secret),
        GMS_NS,
        &group_xml("replaceGroup", "campus", "school", "Main Campus", ""),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let bulk = std::fs::read(
        shared.join("spec/lis/examples/blackboard-bbdn-lis_samples/SampleBulkRequest_PersonCourseMemberTerm.xml"),
    )
    .unwrap();
    let resp = ureq::post(&format!("{}/lis/v2p0/BulkDataService", s.base))
        .set(
            "Authorization",
            &format!(
                "Basic {}",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("{id}:{secret}")
                )
            ),
        )
        .set("Content-Type", "application/xml")
        .send_bytes(&bulk)
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.into_string().unwrap();
    let root = rosterbridge::soap::bind::parse(
        text.as_bytes(),
        rosterbridge::soap::xml::Limits::default(),
    )
    .unwrap();
    let results: Vec<(String, String, String)> = root
        .children_named(&["transactionResult"])
        .map(|t| {
            (
                t.child_text("operationName").unwrap_or("").to_string(),
                t.child_text("imsx_codeMinor").unwrap_or("").to_string(),
                t.child_text("imsx_description").unwrap_or("").to_string(),
            )
        })
        .collect();
    let ops: Vec<&str> = results.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        ops,
        [
            "replacePerson",
            "replaceCourseSection",
            "replaceMembership",
            "replaceGroup"
        ],
        "{text}"
    );
    assert_eq!(results[0].1, "fullsuccess", "{text}");
    assert_eq!(results[1].1, "invaliddata", "{text}");
    assert!(results[1].2.contains("201301"), "{text}");
    assert!(results[1].2.contains("'unknown'"), "{text}");
    assert_eq!(results[2].1, "invaliddata", "{text}");
    assert_eq!(results[3].1, "fullsuccess", "{text}");
    assert!(s.db.get(Entity::Users, "55555").is_some());
    assert!(s.db.get(Entity::AcademicSessions, "test_term").is_some());
    assert!(s.db.get(Entity::Classes, "test_course").is_none());
    // Not a bulk file: 400; no credentials: 401.
    let bad = ureq::post(&format!("{}/lis/v2p0/BulkDataService", s.base))
        .set("Content-Type", "application/xml")
        .send_string("<bulkDataRecord/>");
    assert_eq!(bad.unwrap_err().into_response().unwrap().status(), 401);

    // Banner's cross-listing: both section ids kept as sent.
    let banner = shared.join("fixtures/ericmerrill-lmbnxt/lis2");
    let auth = Auth::Basic(&id, &secret);
    let r = post_raw(
        &s,
        CMS,
        &auth,
        &std::fs::read_to_string(banner.join("data/section_assoc_replace.xml")).unwrap(),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let a = s.db.get(Entity::SectionAssociations, "AA201740").unwrap();
    assert_eq!(a.get("classSourcedIds"), Some("10001.201740,10002.201740"));
    assert_eq!(a.get("title"), Some("TitleString"));
    // Its delete of a section the store does not have.
    let r = post_raw(
        &s,
        CMS,
        &auth,
        &std::fs::read_to_string(banner.join("todo/deleteCourseSectionRequest.xml")).unwrap(),
    );
    assert_eq!(r.minor(), "unknownobject", "{}", r.text);
    assert!(r.text.contains("44654.201740"), "{}", r.text);
});
