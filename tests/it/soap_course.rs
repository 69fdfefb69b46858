//! The LIS Course Management Service over real HTTP, on both backends: the Banner and
//! Blackboard section pushes in ../shared land (creating the course, school and term they name
//! when the store lacks them, as docs/LIS-MAPPING.md says), read back over SOAP and REST alike;
//! the offering and template reads over courses; section associations round-trip; org
//! restriction; and every operation of the WSDL is dispatched.

use rosterbridge::http::server::Settings;
use rosterbridge::model::catalog::Entity;
use rosterbridge::model::record::Status;
use rosterbridge::soap::bind::Node;

use crate::both;
use crate::http::Server;
use crate::soap::{post, post_raw, shared, text_at, Auth, WRITE};

const CMS: &str = "/lis/v2p0/CourseManagementService";
const CMS_NS: &str = "http://www.imsglobal.org/services/lis/cmsv1p0/wsdl11/sync/imscms_v1p0";

/// A store holding only the Banner term 201740 (what a SOAP-only SIS has sent before its
/// sections: its terms).
fn banner_term_only(db: &crate::common::TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    w("academicSessions.csv", "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n201740,,,Fall 2017,term,2017-08-20,2017-12-20,,2018\n");
    w("manifest.csv", "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.academicSessions,bulk\nfile.categories,absent\nfile.classes,absent\nfile.classResources,absent\nfile.courses,absent\nfile.courseResources,absent\nfile.demographics,absent\nfile.enrollments,absent\nfile.lineItems,absent\nfile.orgs,absent\nfile.resources,absent\nfile.results,absent\nfile.users,absent\n");
    let report = db.import(dir.path());
    assert_eq!(
        report.outcome,
        rosterbridge::ingest::Outcome::Committed,
        "{:?}",
        report.diags.list
    );
}

both!(section_pushes_land_and_read_back_over_soap_and_rest, |db| {
    let Some(shared) = shared() else { return };
    banner_term_only(&db);
    let s = Server::start(db, Settings::default());
    let (id, secret) = s.client(&[WRITE, "roster.readonly"], &[]);
    let auth = Auth::Basic(&id, &secret);
    let call = |body: &str| post(&s, CMS, Auth::Basic(&id, &secret), CMS_NS, body);

    // Banner ILP: section of term 201740, course offering ENG.101 and org ENG, none stored.
    let banner = std::fs::read_to_string(
        shared.join("fixtures/ericmerrill-lmbnxt/lis2/data/section_replace.xml"),
    )
    .unwrap();
    let r = post_raw(&s, CMS, &auth, &banner);
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let class =
        s.db.get(Entity::Classes, "10001.201740")
            .expect("section landed");
    assert_eq!(
        class.get("title"),
        Some("Fall Semester 2017 - Course Title (ENG-101-001)")
    );
    assert_eq!(class.get("classCode"), Some("201740 ENG-101-001"));
    assert_eq!(class.get("courseSourcedId"), Some("ENG.101"));
    assert_eq!(class.get("schoolSourcedId"), Some("ENG"));
    assert_eq!(class.get("termSourcedIds"), Some("201740"));
    assert_eq!(class.get("location"), Some("Main Campus"));
    assert_eq!(class.get("periods"), Some("0800 - 0947"));
    let school = s.db.get(Entity::Orgs, "ENG").expect("school created");
    assert_eq!(school.get("type"), Some("school"));
    assert_eq!(school.get("name"), Some("English Dept"));
    let course =
        s.db.get(Entity::Courses, "ENG.101")
            .expect("course created");
    assert_eq!(course.get("orgSourcedId"), Some("ENG"));

    // Read back over SOAP: what OneRoster holds, plus what LIS sent that it has no field for.
    let r = call(
        "<x:readCourseSectionRequest><x:sourcedId>10001.201740</x:sourcedId></x:readCourseSectionRequest>",
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let sec = r
        .body()
        .child(&["courseSectionRecord"])
        .and_then(|c| c.child(&["courseSection"]))
        .expect("record");
    assert_eq!(
        text_at(sec, &["label", "textString"]),
        Some("201740 ENG-101-001")
    );
    assert_eq!(text_at(sec, &["parentOfferingId"]), Some("ENG.101"));
    assert_eq!(text_at(sec, &["org", "id", "textString"]), Some("ENG"));
    assert_eq!(
        text_at(sec, &["org", "orgName", "textString"]),
        Some("English Dept")
    );
    assert_eq!(text_at(sec, &["defaultCredits", "textString"]), Some("4"));
    assert_eq!(text_at(sec, &["maxNumberofStudents"]), Some("25"));
    assert_eq!(
        text_at(sec, &["meeting", "textString"]),
        Some("0800 - 0947")
    );
    assert_eq!(text_at(sec, &["status"]), Some("Active"));
    // The time frame is the term's.
    assert_eq!(
        text_at(sec, &["timeFrame", "begin"]),
        Some("2017-08-20T00:00:00Z")
    );
    // And over REST, the same class.
    let t = s.token(&["roster.readonly"], &[]);
    let rest = s
        .get("/ims/oneroster/rostering/v1p2/classes/10001.201740", &t)
        .json();
    assert_eq!(rest["class"]["course"]["sourcedId"], "ENG.101");
    assert_eq!(rest["class"]["school"]["sourcedId"], "ENG");
    assert_eq!(rest["class"]["terms"][0]["sourcedId"], "201740");
    assert_eq!(rest["class"]["classCode"], "201740 ENG-101-001");

    // Blackboard: org by name only, an unknown offering, no session but a time frame: the
    // only school, a new course of that id, a new term of those dates.
    let bb = std::fs::read_to_string(shared.join(
        "spec/lis/examples/blackboard-bbdn-lis_samples/SampleReplaceCourseSectionRequest.xml",
    ))
    .unwrap();
    let r = post_raw(&s, CMS, &auth, &bb);
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let class =
        s.db.get(Entity::Classes, "001199-01-0590-1-7-03436")
            .expect("section landed");
    assert_eq!(class.get("title"), Some("Basic Studio in Art"));
    assert_eq!(class.get("schoolSourcedId"), Some("ENG"));
    assert_eq!(class.get("courseSourcedId"), Some("001199-01-0590-1-7"));
    let term = class.get("termSourcedIds").unwrap().to_string();
    let term =
        s.db.get(Entity::AcademicSessions, &term)
            .expect("term created");
    assert_eq!(term.get("startDate"), Some("2007-08-30"));
    assert_eq!(term.get("endDate"), Some("2007-12-12"));
    assert_eq!(
        class.metadata.get("lis.dataSource").map(String::as_str),
        Some("CS")
    );

    // Blackboard's person sample: one of its institution roles has an empty value, which is
    // skipped; the person lands with the other (Student).
    let bbp = std::fs::read_to_string(
        shared.join("spec/lis/examples/blackboard-bbdn-lis_samples/SampleReplacePersonRequest.xml"),
    )
    .unwrap();
    let r = post_raw(&s, crate::soap::PMS, &auth, &bbp);
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let person = s.db.get(Entity::Users, "AA0011").expect("person landed");
    assert!(person.get("givenName").is_some(), "{person:?}");
    let roles: Vec<_> =
        s.db.all(Entity::Roles)
            .into_iter()
            .filter(|r| r.get("userSourcedId") == Some("AA0011"))
            .collect();
    assert_eq!(roles.len(), 1, "{roles:?}");
    assert_eq!(roles[0].get("role"), Some("student"));
    assert_eq!(roles[0].get("orgSourcedId"), Some("ENG"));

    // Offerings and templates are courses (option A).
    let r = call("<x:readCourseSectionIdsForCourseOfferingRequest><x:sourcedId>ENG.101</x:sourcedId></x:readCourseSectionIdsForCourseOfferingRequest>");
    assert_eq!(r.ids(), ["10001.201740"], "{}", r.text);
    let r = call("<x:readCourseOfferingIdsForCourseTemplateRequest><x:sourcedId>ENG.101</x:sourcedId></x:readCourseOfferingIdsForCourseTemplateRequest>");
    assert_eq!(r.ids(), ["ENG.101"], "{}", r.text);
    let r = call("<x:readAllActiveCourseOfferingIdsForAcademicSessionRequest><x:academicSession>201740</x:academicSession></x:readAllActiveCourseOfferingIdsForAcademicSessionRequest>");
    assert_eq!(r.ids(), ["ENG.101"], "{}", r.text);
    let r = call("<x:readCourseOfferingRequest><x:sourcedId>ENG.101</x:sourcedId></x:readCourseOfferingRequest>");
    let off = r
        .body()
        .child(&["courseOfferingRecord"])
        .and_then(|c| c.child(&["courseOffering"]))
        .expect("offering");
    assert_eq!(text_at(off, &["parentTemplateId"]), Some("ENG.101"));
    assert_eq!(
        text_at(off, &["title", "textString"]),
        Some("Fall Semester 2017 - Course Title (ENG-101-001)")
    );
    // A template written over SOAP is a course over REST.
    let r = call(
        r#"<x:createCourseTemplateRequest><x:sourcedId>BIO.1</x:sourcedId><x:courseTemplateRecord><x:sourcedGUID><x:sourcedId>BIO.1</x:sourcedId></x:sourcedGUID><x:courseTemplate><x:title><x:language>en</x:language><x:textString>Biology</x:textString></x:title><x:courseNumber><x:language>en</x:language><x:textString>BIO-1</x:textString></x:courseNumber><x:org><x:id><x:language>en</x:language><x:textString>ENG</x:textString></x:id></x:org></x:courseTemplate></x:courseTemplateRecord></x:createCourseTemplateRequest>"#,
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let rest = s
        .get("/ims/oneroster/rostering/v1p2/courses/BIO.1", &t)
        .json();
    assert_eq!(rest["course"]["title"], "Biology");
    assert_eq!(rest["course"]["courseCode"], "BIO-1");
    assert_eq!(rest["course"]["org"]["sourcedId"], "ENG");
    // Creating it again: in use.
    let again = call(
        r#"<x:createCourseTemplateRequest><x:sourcedId>BIO.1</x:sourcedId><x:courseTemplateRecord><x:sourcedGUID><x:sourcedId>BIO.1</x:sourcedId></x:sourcedGUID><x:courseTemplate><x:title><x:language>en</x:language><x:textString>Bio</x:textString></x:title></x:courseTemplate></x:courseTemplateRecord></x:createCourseTemplateRequest>"#,
    );
    assert_eq!(again.minor(), "idallocinusefail", "{}", again.text);
    // An offering with sections cannot go; the section's status can.
    let r = call("<x:updateCourseOfferingStatusRequest><x:sourcedId>ENG.101</x:sourcedId><x:status>Inactive</x:status></x:updateCourseOfferingStatusRequest>");
    assert_eq!(r.minor(), "deletefailure", "{}", r.text);
    let before = rosterbridge::model::time::now();
    let r = call("<x:updateCourseSectionStatusRequest><x:sourcedId>10001.201740</x:sourcedId><x:status>Inactive</x:status></x:updateCourseSectionStatusRequest>");
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert_eq!(
        s.db.get(Entity::Classes, "10001.201740").unwrap().status,
        Status::ToBeDeleted
    );
    // The savepoint read reports it, Inactive.
    let r = call(&format!("<x:readCourseSectionsFromSavePointRequest><x:fromSavePoint>{before}</x:fromSavePoint></x:readCourseSectionsFromSavePointRequest>"));
    let recs: Vec<&Node> = r
        .body()
        .child(&["courseSectionRecordSet"])
        .map(|s| s.children_named(&["courseSectionRecord"]).collect())
        .unwrap_or_default();
    assert_eq!(recs.len(), 1, "{}", r.text);
    assert_eq!(
        text_at(recs[0], &["courseSection", "status"]),
        Some("Inactive")
    );
    let r = call("<x:updateCourseSectionStatusRequest><x:sourcedId>10001.201740</x:sourcedId><x:status>Active</x:status></x:updateCourseSectionStatusRequest>");
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert_eq!(
        s.db.get(Entity::Classes, "10001.201740").unwrap().status,
        Status::Active
    );
    // A copy into another session.
    let r = call("<x:createCourseSectionFromCourseSectionRequest><x:sourcedId>10001.201740</x:sourcedId><x:academicSession>201740</x:academicSession><x:newSourcedId>10001.copy</x:newSourcedId></x:createCourseSectionFromCourseSectionRequest>");
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert_eq!(
        s.db.get(Entity::Classes, "10001.copy")
            .unwrap()
            .get("courseSourcedId"),
        Some("ENG.101")
    );
    // A section naming a session the store lacks is refused, naming it; nothing lands.
    let r = call(
        r#"<x:replaceCourseSectionRequest><x:sourcedId>x1</x:sourcedId><x:courseSectionRecord><x:sourcedGUID><x:sourcedId>x1</x:sourcedId></x:sourcedGUID><x:courseSection><x:title><x:language>en</x:language><x:textString>X</x:textString></x:title><x:academicSession><x:language>en</x:language><x:textString>209910</x:textString></x:academicSession><x:parentOfferingId>ENG.101</x:parentOfferingId></x:courseSection></x:courseSectionRecord></x:replaceCourseSectionRequest>"#,
    );
    assert_eq!(r.minor(), "invaliddata", "{}", r.text);
    assert!(r.text.contains("209910"), "{}", r.text);
    assert!(s.db.get(Entity::Classes, "x1").is_none());

    // Section associations (cross-listings): kept and read back over SOAP only.
    let r = call(
        r#"<x:createSectionAssociationRequest><x:sourcedId>xl1</x:sourcedId><x:sectionAssociationRecord><x:sourcedGUID><x:sourcedId>xl1</x:sourcedId></x:sourcedGUID><x:sectionAssociation><x:title><x:language>en</x:language><x:textString>ENG 101 all</x:textString></x:title><x:courseSectionIdList><x:courseSectionId>10001.201740</x:courseSectionId></x:courseSectionIdList></x:sectionAssociation></x:sectionAssociationRecord></x:createSectionAssociationRequest>"#,
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let r = call("<x:addCourseSectionIdRequest><x:sectionAssociationSourcedId>xl1</x:sectionAssociationSourcedId><x:courseSectionSourcedId>10001.copy</x:courseSectionSourcedId></x:addCourseSectionIdRequest>");
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let r = call("<x:readSectionAssociationRequest><x:sourcedId>xl1</x:sourcedId></x:readSectionAssociationRequest>");
    let ids: Vec<String> = r
        .body()
        .child(&["sectionAssociationRecord"])
        .and_then(|x| x.child(&["sectionAssociation"]))
        .and_then(|x| x.child(&["courseSectionIdList"]))
        .map(|l| {
            l.children_named(&["courseSectionId"])
                .map(|n| n.text.trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(ids, ["10001.201740", "10001.copy"], "{}", r.text);
    // An association naming a section that does not exist is refused.
    let r = call("<x:addCourseSectionIdRequest><x:sectionAssociationSourcedId>xl1</x:sectionAssociationSourcedId><x:courseSectionSourcedId>nope</x:courseSectionSourcedId></x:addCourseSectionIdRequest>");
    assert_eq!(r.minor(), "invaliddata", "{}", r.text);

    // A client restricted to another org sees none of it and may not write there.
    let (rid, rsecret) = s.client(&[WRITE, "roster.readonly"], &["other-org"]);
    let r = post(
        &s,
        CMS,
        Auth::Basic(&rid, &rsecret),
        CMS_NS,
        "<x:readCourseSectionRequest><x:sourcedId>10001.201740</x:sourcedId></x:readCourseSectionRequest>",
    );
    assert_eq!(r.minor(), "unknownobject", "{}", r.text);
    let r = post(
        &s,
        CMS,
        Auth::Basic(&rid, &rsecret),
        CMS_NS,
        "<x:readAllCourseSectionIdsRequest/>",
    );
    assert!(r.ids().is_empty(), "{}", r.text);
    let r = post(
        &s,
        CMS,
        Auth::Basic(&rid, &rsecret),
        CMS_NS,
        "<x:updateCourseSectionStatusRequest><x:sourcedId>10001.201740</x:sourcedId><x:status>Inactive</x:status></x:updateCourseSectionStatusRequest>",
    );
    assert_eq!(r.minor(), "unknownobject", "{}", r.text);
    assert_eq!(
        s.db.get(Entity::Classes, "10001.201740").unwrap().status,
        Status::Active
    );
});

// A section's or a course's new identifier: what refers to it follows (enrollments and line
// items of the section, sections of the course), so REST reads of the new ids are whole.
both!(identifier_changes_carry_what_refers_to_them, |db| {
    db.import(&crate::common::fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let (id, secret) = s.client(&[WRITE, "roster.readonly"], &[]);
    let call = |body: &str| post(&s, CMS, Auth::Basic(&id, &secret), CMS_NS, body);
    let students = |class: &str| {
        let t = s.token(&["roster.readonly"], &[]);
        let r = s.get(
            &format!("/ims/oneroster/rostering/v1p2/classes/{class}/students"),
            &t,
        );
        (r.status, r.text)
    };
    let before = students("k1");
    assert_eq!(before.0, 200);
    let r = call("<x:changeCourseSectionIdentifierRequest><x:sourcedId>k1</x:sourcedId><x:newSourcedId>k1-new</x:newSourcedId></x:changeCourseSectionIdentifierRequest>");
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert_eq!(
        s.db.get(Entity::Enrollments, "e1")
            .unwrap()
            .get("classSourcedId"),
        Some("k1-new")
    );
    assert_eq!(
        s.db.get(Entity::LineItems, "li1")
            .unwrap()
            .get("classSourcedId"),
        Some("k1-new")
    );
    assert_eq!(
        s.db.get(Entity::Results, "res1")
            .unwrap()
            .get("classSourcedId"),
        Some("k1-new")
    );
    assert_eq!(
        s.db.get(Entity::Classes, "k1").unwrap().status,
        Status::ToBeDeleted
    );
    let after = students("k1-new");
    assert_eq!(after.0, 200, "{}", after.1);
    let ids = |text: &str| -> Vec<String> {
        let j: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut v: Vec<String> = j["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["sourcedId"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&after.1), ids(&before.1));
    let r = call("<x:changeCourseOfferingIdentifierRequest><x:sourcedId>c1</x:sourcedId><x:newSourcedId>c1-new</x:newSourcedId></x:changeCourseOfferingIdentifierRequest>");
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert_eq!(
        s.db.get(Entity::Classes, "k1-new")
            .unwrap()
            .get("courseSourcedId"),
        Some("c1-new")
    );
    let r = call("<x:readCourseSectionIdsForCourseOfferingRequest><x:sourcedId>c1-new</x:sourcedId></x:readCourseSectionIdsForCourseOfferingRequest>");
    assert!(r.ids().contains(&"k1-new".to_string()), "{}", r.text);
});
