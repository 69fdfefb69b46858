//! REST/SOAP parity for the Course Management, Group and Outcomes services over a whole
//! generated district, on both backends: the id sets of every class, course, org, academic
//! session, line item and result are the same over SOAP and REST, and every mapped field of
//! every record agrees (REST 1.2; 1.1 where it differs).

use std::collections::BTreeMap;

use rosterbridge::http::server::Settings;
use rosterbridge::soap::bind::Node;
use serde_json::Value as Json;

use crate::both;
use crate::http::Server;
use crate::soap::{id_set, post, Auth};

const V12: &str = "/ims/oneroster/rostering/v1p2";
const V11: &str = "/ims/oneroster/v1p1";
const G12: &str = "/ims/oneroster/gradebook/v1p2";

fn js(j: &Json) -> String {
    match j {
        Json::String(s) => s.clone(),
        Json::Array(a) => a
            .iter()
            .map(|x| match x {
                Json::Object(o) => o
                    .get("sourcedId")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_string(),
                other => js(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Json::Object(o) => o
            .get("sourcedId")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn at(n: &Node, path: &[&str]) -> String {
    let mut cur = n;
    for p in path {
        match cur.child(&[p]) {
            Some(c) => cur = c,
            None => return String::new(),
        }
    }
    cur.text.trim().to_string()
}

/// The `oneroster.*` extension fields of a LIS record.
fn ext(n: &Node) -> BTreeMap<String, String> {
    n.child(&["extension"])
        .map(|e| {
            e.children_named(&["extensionField"])
                .filter_map(|f| {
                    let name = f.child_text("fieldName")?;
                    let v = f.child_text("fieldValue").unwrap_or("");
                    name.strip_prefix("oneroster.")
                        .map(|k| (k.to_string(), v.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// REST records by id.
fn rest(s: &Server, t: &str, path: &str, key: &str) -> BTreeMap<String, Json> {
    let r = s.get(&format!("{path}?limit=10000"), t);
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.json()[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["sourcedId"].as_str().unwrap().to_string(), x.clone()))
        .collect()
}

/// SOAP records of a batch read, by id, and the `readAll…Ids` answer.
fn soap(
    s: &Server,
    (id, secret): (&str, &str),
    (path, ns): (&str, &str),
    kind: &str,
    ids: &[String],
) -> (Vec<String>, BTreeMap<String, Node>) {
    let all = post(
        s,
        path,
        Auth::Basic(id, secret),
        ns,
        &format!("<x:readAll{kind}IdsRequest/>"),
    );
    assert_eq!(all.major(), "success", "{}", all.text);
    let batch = post(
        s,
        path,
        Auth::Basic(id, secret),
        ns,
        &format!(
            "<x:read{kind}sRequest>{}</x:read{kind}sRequest>",
            id_set(ids)
        ),
    );
    assert_eq!(batch.minor(), "fullsuccess", "{kind}: {}", batch.text);
    let record = format!("{}{}Record", kind[..1].to_ascii_lowercase(), &kind[1..]);
    let set = format!("{record}Set");
    let records = batch
        .body()
        .child(&[set.as_str()])
        .map(|s| {
            s.children_named(&[record.as_str()])
                .map(|r| (at(r, &["sourcedGUID", "sourcedId"]), r.clone()))
                .collect()
        })
        .unwrap_or_default();
    (all.ids(), records)
}

const CMS: (&str, &str) = (
    "/lis/v2p0/CourseManagementService",
    "http://www.imsglobal.org/services/lis/cmsv1p0/wsdl11/sync/imscms_v1p0",
);
const GMS: (&str, &str) = (
    "/lis/v2p0/GroupManagementService",
    "http://www.imsglobal.org/services/lis/gms2p0/wsdl11/sync/imsgms_v2p0",
);
const OMS: (&str, &str) = (
    "/lis/v2p0/OutcomesManagementService",
    "http://www.imsglobal.org/services/lis/oms1p0/wsdl11/sync/imsoms_v1p0",
);

both!(courses_groups_and_outcomes_agree_with_rest, |db| {
    db.import_generated(2, 15, 7);
    let s = Server::start(db, Settings::default());
    let t = s.token(&[], &[]);
    let (id, secret) = s.client(&[], &[]);
    let who = (id.as_str(), secret.as_str());

    // Classes = course sections.
    let classes = rest(&s, &t, &format!("{V12}/classes"), "classes");
    let classes11 = rest(&s, &t, &format!("{V11}/classes"), "classes");
    let ids: Vec<String> = classes.keys().cloned().collect();
    assert!(ids.len() > 5);
    let (all, got) = soap(&s, who, CMS, "CourseSection", &ids);
    assert_eq!(all, ids);
    assert_eq!(got.len(), ids.len());
    for (cid, c) in &classes {
        let rec = &got[cid];
        let sec = rec.child(&["courseSection"]).unwrap();
        let e = ext(sec);
        assert_eq!(at(sec, &["title", "textString"]), js(&c["title"]), "{cid}");
        assert_eq!(
            at(sec, &["label", "textString"]),
            js(&c["classCode"]),
            "{cid}"
        );
        assert_eq!(at(sec, &["parentOfferingId"]), js(&c["course"]), "{cid}");
        assert_eq!(
            at(sec, &["org", "id", "textString"]),
            js(&c["school"]),
            "{cid}"
        );
        assert_eq!(
            at(sec, &["location", "textString"]),
            js(&c["location"]),
            "{cid}"
        );
        assert_eq!(
            at(sec, &["meeting", "textString"]),
            js(&c["periods"]),
            "{cid}"
        );
        assert_eq!(e["classType"], js(&c["classType"]), "{cid}");
        assert_eq!(e["termSourcedIds"], js(&c["terms"]), "{cid}");
        assert_eq!(e["dateLastModified"], js(&c["dateLastModified"]), "{cid}");
        assert_eq!(js(&classes11[cid]["title"]), js(&c["title"]));
    }

    // Courses = templates (and offerings).
    let courses = rest(&s, &t, &format!("{V12}/courses"), "courses");
    let ids: Vec<String> = courses.keys().cloned().collect();
    let (all, got) = soap(&s, who, CMS, "CourseTemplate", &ids);
    assert_eq!(all, ids);
    for (cid, c) in &courses {
        let tpl = got[cid].child(&["courseTemplate"]).unwrap();
        let e = ext(tpl);
        assert_eq!(at(tpl, &["title", "textString"]), js(&c["title"]), "{cid}");
        assert_eq!(
            at(tpl, &["courseNumber", "textString"]),
            js(&c["courseCode"]),
            "{cid}"
        );
        assert_eq!(
            at(tpl, &["org", "id", "textString"]),
            js(&c["org"]),
            "{cid}"
        );
        assert_eq!(
            e.get("grades").cloned().unwrap_or_default(),
            js(&c["grades"]),
            "{cid}"
        );
        assert_eq!(
            e.get("schoolYearSourcedId").cloned().unwrap_or_default(),
            js(&c["schoolYear"]),
            "{cid}"
        );
    }
    let (_, offerings) = soap(&s, who, CMS, "CourseOffering", &ids);
    for (cid, c) in &courses {
        let o = offerings[cid].child(&["courseOffering"]).unwrap();
        assert_eq!(at(o, &["parentTemplateId"]), *cid);
        assert_eq!(
            at(o, &["academicSession", "textString"]),
            js(&c["schoolYear"])
        );
    }

    // Orgs and academic sessions = groups.
    let orgs = rest(&s, &t, &format!("{V12}/orgs"), "orgs");
    let sessions = rest(
        &s,
        &t,
        &format!("{V12}/academicSessions"),
        "academicSessions",
    );
    let mut ids: Vec<String> = orgs.keys().chain(sessions.keys()).cloned().collect();
    ids.sort();
    let (mut all, got) = soap(&s, who, GMS, "Group", &ids);
    all.sort();
    assert_eq!(all, ids);
    for (oid, o) in &orgs {
        let g = got[oid].child(&["group"]).unwrap();
        assert_eq!(
            at(g, &["description", "shortDescription"]),
            js(&o["name"]),
            "{oid}"
        );
        assert_eq!(
            at(g, &["groupType", "typevalue", "type", "textString"]),
            js(&o["type"])
        );
        assert_eq!(
            at(g, &["relationship", "sourcedId"]),
            js(&o["parent"]),
            "{oid}"
        );
        assert_eq!(
            ext(g).get("identifier").cloned().unwrap_or_default(),
            js(&o["identifier"])
        );
    }
    for (aid, a) in &sessions {
        let g = got[aid].child(&["group"]).unwrap();
        assert_eq!(
            at(g, &["description", "shortDescription"]),
            js(&a["title"]),
            "{aid}"
        );
        assert_eq!(
            at(g, &["groupType", "typevalue", "type", "textString"]),
            "TERM"
        );
        assert_eq!(
            at(g, &["groupType", "typevalue", "id"]),
            js(&a["type"]),
            "{aid}"
        );
        assert_eq!(
            &at(g, &["timeframe", "begin"])[..10],
            js(&a["startDate"]),
            "{aid}"
        );
        assert_eq!(
            &at(g, &["timeframe", "end"])[..10],
            js(&a["endDate"]),
            "{aid}"
        );
        assert_eq!(ext(g)["schoolYear"], js(&a["schoolYear"]), "{aid}");
    }

    // Line items and results.
    let items = rest(&s, &t, &format!("{G12}/lineItems"), "lineItems");
    let ids: Vec<String> = items.keys().cloned().collect();
    assert!(!ids.is_empty());
    let (all, got) = soap(&s, who, OMS, "LineItem", &ids);
    assert_eq!(all, ids);
    for (lid, l) in &items {
        let li = got[lid].child(&["lineItem"]).unwrap();
        let e = ext(li);
        assert_eq!(at(li, &["label"]), js(&l["title"]), "{lid}");
        assert_eq!(
            at(li, &["context", "contextIdentifier"]),
            js(&l["class"]),
            "{lid}"
        );
        assert_eq!(
            at(li, &["lineItemType", "lineItemTypeValue", "textString"]),
            js(&l["category"]),
            "{lid}"
        );
        // 1.2 JSON writes these dates as date-times; the store (and LIS) keep the date.
        assert_eq!(e["dueDate"], js(&l["dueDate"])[..10], "{lid}");
        assert_eq!(e["assignDate"], js(&l["assignDate"])[..10], "{lid}");
        assert_eq!(
            e["academicSessionSourcedId"],
            js(&l["academicSession"]),
            "{lid}"
        );
    }
    let results = rest(&s, &t, &format!("{G12}/results"), "results");
    let ids: Vec<String> = results.keys().cloned().collect();
    let (all, got) = soap(&s, who, OMS, "Result", &ids);
    assert_eq!(all, ids);
    for (rid, r) in &results {
        let res = got[rid].child(&["result"]).unwrap();
        assert_eq!(at(res, &["lineItemSourcedId"]), js(&r["lineItem"]), "{rid}");
        assert_eq!(at(res, &["personSourcedId"]), js(&r["student"]), "{rid}");
        assert_eq!(
            at(res, &["statusofResult", "resultStatusValue", "textString"]),
            js(&r["scoreStatus"]),
            "{rid}"
        );
        let score = r["score"]
            .as_f64()
            .map(|x| x.to_string())
            .unwrap_or_default();
        let lis: Option<f64> = at(res, &["resultScore", "textString"]).parse().ok();
        assert_eq!(
            lis.map(|x| x.to_string()).unwrap_or_default(),
            score,
            "{rid}"
        );
        assert_eq!(&at(res, &["date"])[..10], js(&r["scoreDate"]), "{rid}");
    }
});

/// Every operation of every served WSDL (Person, Membership, Course Management, Group,
/// Outcomes) is dispatched and answered with its own response element, none "unsupported".
#[test]
fn every_operation_of_every_served_wsdl_is_answered() {
    let db = crate::common::TestDb::new(crate::common::Backend::Sqlite).unwrap();
    let s = Server::start(db, Settings::default());
    let (id, secret) = s.client(&[crate::soap::WRITE, "roster.readonly"], &[]);
    let mut n = 0;
    for service in rosterbridge::soap::wsdl::SERVICES {
        for (op, _) in service.def.operations {
            let r = post(
                &s,
                service.path,
                Auth::Basic(&id, &secret),
                service.def.namespace,
                &format!("<x:{op}Request/>"),
            );
            assert_eq!(r.status, 200, "{op}: {}", r.text);
            let minor = r.minor();
            assert!(!minor.starts_with("unsupported"), "{op}: {}", r.text);
            assert_eq!(r.body().name, format!("{op}Response"), "{op}");
            n += 1;
        }
    }
    // 13 + 15 + 57 + 15 + 48
    assert_eq!(n, 148);
}
