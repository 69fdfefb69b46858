//! The LIS Outcomes Management Service over real HTTP, on both backends: line items and results
//! are the REST gradebook's records (a result written over SOAP is read over REST and the
//! reverse), result values are line items' ranges and score scales, the nested id reads, final
//! grades reach the SIS through `export --since`, org restriction; every operation answered.

use rosterbridge::http::server::Settings;
use rosterbridge::model::catalog::Entity;
use serde_json::json;

use crate::both;
use crate::common::fixture;
use crate::http::Server;
use crate::soap::{post, text_at, Auth, WRITE};

const OMS: &str = "/lis/v2p0/OutcomesManagementService";
const OMS_NS: &str = "http://www.imsglobal.org/services/lis/oms1p0/wsdl11/sync/imsoms_v1p0";
const G12: &str = "/ims/oneroster/gradebook/v1p2";
const GB: &[&str] = &[
    "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.readonly",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.createput",
];

both!(outcomes_are_the_rest_gradebook, |db| {
    db.import(&fixture("valid-1.2"));
    let s = Server::start(db, Settings::default());
    let (id, secret) = s.client(&[WRITE, "roster.readonly"], &[]);
    let call = |body: &str| post(&s, OMS, Auth::Basic(&id, &secret), OMS_NS, body);
    let t = s.token(GB, &[]);

    // Reads of what CSV put there.
    let r = call("<x:readLineItemRequest><x:sourcedId>li1</x:sourcedId></x:readLineItemRequest>");
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let li = r
        .body()
        .child(&["lineItemRecord"])
        .and_then(|l| l.child(&["lineItem"]))
        .expect("line item");
    assert_eq!(text_at(li, &["context", "contextIdentifier"]), Some("k1"));
    assert_eq!(text_at(li, &["label"]), Some("Unit 1 \"Foundations\""));
    assert_eq!(
        text_at(li, &["lineItemType", "lineItemTypeValue", "textString"]),
        Some("cat1")
    );
    assert_eq!(text_at(li, &["resultValueSourcedId"]), Some("li1:rv"));
    let r = call("<x:readResultRequest><x:sourcedId>res1</x:sourcedId></x:readResultRequest>");
    let res = r
        .body()
        .child(&["resultRecord"])
        .and_then(|l| l.child(&["result"]))
        .expect("result");
    assert_eq!(text_at(res, &["resultScore", "textString"]), Some("87.5"));
    assert_eq!(text_at(res, &["personSourcedId"]), Some("u1"));
    assert_eq!(
        text_at(res, &["statusofResult", "resultStatusValue", "textString"]),
        Some("fully graded")
    );

    // A result written over SOAP is the REST gradebook's.
    let since = rosterbridge::model::time::now();
    let r = call("<x:replaceResultRequest><x:sourcedId>soap-r1</x:sourcedId><x:resultRecord><x:sourcedGUID><x:sourcedId>soap-r1</x:sourcedId></x:sourcedGUID><x:result><x:statusofResult><x:resultStatusVocabulary>x</x:resultStatusVocabulary><x:resultStatusValue><x:language>en</x:language><x:textString>Final</x:textString></x:resultStatusValue></x:statusofResult><x:lineItemSourcedId>li1</x:lineItemSourcedId><x:personSourcedId>u2</x:personSourcedId><x:date>2026-01-20T10:00:00Z</x:date><x:resultScore><x:language>en</x:language><x:textString>91</x:textString></x:resultScore></x:result></x:resultRecord></x:replaceResultRequest>");
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let rest = s.get(&format!("{G12}/results/soap-r1"), &t).json();
    assert_eq!(rest["result"]["score"], 91.0);
    assert_eq!(rest["result"]["scoreStatus"], "fully graded");
    assert_eq!(rest["result"]["lineItem"]["sourcedId"], "li1");
    assert_eq!(rest["result"]["student"]["sourcedId"], "u2");
    assert_eq!(rest["result"]["scoreDate"], "2026-01-20");
    // And one written over REST is read over SOAP.
    let put = s.put(
        &format!("{G12}/results/rest-r1"),
        &t,
        &json!({"result": {"lineItem": {"sourcedId": "li1"}, "student": {"sourcedId": "u1"},
            "scoreStatus": "exempt", "scoreDate": "2026-01-21", "comment": "excused"}}),
    );
    assert_eq!(put.status, 201, "{}", put.text);
    let r = call("<x:readResultRequest><x:sourcedId>rest-r1</x:sourcedId></x:readResultRequest>");
    let res = r
        .body()
        .child(&["resultRecord"])
        .and_then(|l| l.child(&["result"]))
        .expect("result");
    assert_eq!(
        text_at(res, &["statusofResult", "resultStatusValue", "textString"]),
        Some("exempt")
    );
    assert!(r.text.contains("oneroster.comment"), "{}", r.text);
    // A bad status is refused, naming it; nothing lands.
    let r = call("<x:replaceResultRequest><x:sourcedId>soap-bad</x:sourcedId><x:resultRecord><x:sourcedGUID><x:sourcedId>soap-bad</x:sourcedId></x:sourcedGUID><x:result><x:statusofResult><x:resultStatusVocabulary>x</x:resultStatusVocabulary><x:resultStatusValue><x:language>en</x:language><x:textString>lost</x:textString></x:resultStatusValue></x:statusofResult><x:lineItemSourcedId>li1</x:lineItemSourcedId><x:personSourcedId>u2</x:personSourcedId></x:result></x:resultRecord></x:replaceResultRequest>");
    assert_eq!(r.minor(), "invaliddata", "{}", r.text);
    assert!(r.text.contains("lost"), "{}", r.text);
    assert!(s.db.get(Entity::Results, "soap-bad").is_none());
    // An unknown line item: refused by the importer's reference rule.
    let r = call("<x:replaceResultRequest><x:sourcedId>soap-bad</x:sourcedId><x:resultRecord><x:sourcedGUID><x:sourcedId>soap-bad</x:sourcedId></x:sourcedGUID><x:result><x:lineItemSourcedId>nope</x:lineItemSourcedId><x:personSourcedId>u2</x:personSourcedId></x:result></x:resultRecord></x:replaceResultRequest>");
    assert_eq!(r.minor(), "invaliddata", "{}", r.text);
    assert!(r.text.contains("nope"), "{}", r.text);

    // A line item over SOAP: its type names a category the store lacks (created), its range
    // inline; the dates and grading period OneRoster needs are filled in.
    let r = call("<x:replaceLineItemRequest><x:sourcedId>soap-li</x:sourcedId><x:lineItemRecord><x:sourcedGUID><x:sourcedId>soap-li</x:sourcedId></x:sourcedGUID><x:lineItem><x:context><x:contextIdentifier>k1</x:contextIdentifier><x:contextType>courseSection</x:contextType></x:context><x:lineItemType><x:lineItemTypeVocabulary>x</x:lineItemTypeVocabulary><x:lineItemTypeValue><x:language>en</x:language><x:textString>Quizzes</x:textString></x:lineItemTypeValue></x:lineItemType><x:label>Quiz 1</x:label><x:resultValue><x:valueRange><x:min>0</x:min><x:max>20</x:max></x:valueRange></x:resultValue></x:lineItem></x:lineItemRecord></x:replaceLineItemRequest>");
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let rest = s.get(&format!("{G12}/lineItems/soap-li"), &t).json();
    assert_eq!(rest["lineItem"]["title"], "Quiz 1");
    assert_eq!(rest["lineItem"]["class"]["sourcedId"], "k1");
    assert_eq!(rest["lineItem"]["resultValueMax"], 20.0);
    assert_eq!(rest["lineItem"]["academicSession"]["sourcedId"], "t1");
    assert_eq!(rest["lineItem"]["school"]["sourcedId"], "s1");
    let cat = rest["lineItem"]["category"]["sourcedId"]
        .as_str()
        .unwrap()
        .to_string();
    let c = s.get(&format!("{G12}/categories/{cat}"), &t).json();
    assert_eq!(c["category"]["title"], "Quizzes");

    // Result values: a line item's range, a score scale's grades.
    let r = call(
        "<x:readResultValueRequest><x:sourcedId>li1:rv</x:sourcedId></x:readResultValueRequest>",
    );
    let rv = r
        .body()
        .child(&["resultValueRecord"])
        .and_then(|l| l.child(&["resultValue"]))
        .expect("result value");
    assert_eq!(text_at(rv, &["valueRange", "max"]), Some("100"));
    let r =
        call("<x:readResultValueRequest><x:sourcedId>ss1</x:sourcedId></x:readResultValueRequest>");
    let grades: Vec<String> = r
        .body()
        .child(&["resultValueRecord"])
        .and_then(|l| l.child(&["resultValue"]))
        .and_then(|v| v.child(&["valueList"]))
        .map(|l| {
            l.children_named(&["orderValue"])
                .filter_map(|o| text_at(o, &["grade", "textString"]).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(grades, ["90-100", "80-89", "0-79"], "{}", r.text);
    let r = call("<x:readResultValueIdForResultRequest><x:resultSourcedId>res1</x:resultSourcedId></x:readResultValueIdForResultRequest>");
    assert_eq!(
        text_at(r.body(), &["resultValueSourceId"]),
        Some("li1:rv"),
        "{}",
        r.text
    );
    // Setting a line item's range through its result value.
    let r = call("<x:replaceResultValueRequest><x:sourcedId>li1:rv</x:sourcedId><x:resultValuesRecord><x:sourcedGUID><x:sourcedId>li1:rv</x:sourcedId></x:sourcedGUID><x:resultValue><x:valueRange><x:min>0</x:min><x:max>50</x:max></x:valueRange></x:resultValue></x:resultValuesRecord></x:replaceResultValueRequest>");
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let rest = s.get(&format!("{G12}/lineItems/li1"), &t).json();
    assert_eq!(rest["lineItem"]["resultValueMax"], 50.0);

    // Nested id reads.
    let r = call("<x:readResultIdsForCourseSectionRequest><x:courseSectionSourcedId>k1</x:courseSectionSourcedId></x:readResultIdsForCourseSectionRequest>");
    for want in ["res1", "res2", "soap-r1", "rest-r1"] {
        assert!(r.ids().contains(&want.to_string()), "{want}: {}", r.text);
    }
    let r = call("<x:readResultIdsForLineItemRequest><x:lineItemSourcedid>li1</x:lineItemSourcedid></x:readResultIdsForLineItemRequest>");
    assert!(r.ids().contains(&"soap-r1".to_string()), "{}", r.text);
    let r = call("<x:readLineItemIdsForCourseSectionRequest><x:sectionSourcedId>k1</x:sectionSourcedId></x:readLineItemIdsForCourseSectionRequest>");
    assert!(r.ids().contains(&"soap-li".to_string()), "{}", r.text);
    let r = call("<x:readResultIdsForPersonRequest><x:personSourcedId>u2</x:personSourcedId></x:readResultIdsForPersonRequest>");
    assert!(r.ids().contains(&"soap-r1".to_string()), "{}", r.text);

    // The final grade goes home: export --since carries the SOAP result.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("since");
    rosterbridge::export::export(
        &s.db.store,
        &out,
        &rosterbridge::export::ExportOptions {
            version: rosterbridge::model::catalog::Version::V1_2,
            since: Some(since),
        },
    )
    .unwrap();
    let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert!(
        results
            .lines()
            .any(|l| l.starts_with("soap-r1,") && l.contains(",91,")),
        "{results}"
    );

    // A client restricted to another school sees none of it and cannot write there.
    let (rid, rsecret) = s.client(&[WRITE, "roster.readonly"], &["other-school"]);
    let r = post(
        &s,
        OMS,
        Auth::Basic(&rid, &rsecret),
        OMS_NS,
        "<x:readResultRequest><x:sourcedId>res1</x:sourcedId></x:readResultRequest>",
    );
    assert_eq!(r.minor(), "unknownobject", "{}", r.text);
    let r = post(
        &s,
        OMS,
        Auth::Basic(&rid, &rsecret),
        OMS_NS,
        "<x:deleteResultRequest><x:sourcedId>res1</x:sourcedId></x:deleteResultRequest>",
    );
    assert_eq!(r.minor(), "unknownobject", "{}", r.text);
    assert_eq!(
        s.db.get(Entity::Results, "res1").unwrap().status,
        rosterbridge::model::record::Status::Active
    );
    let r = post(
        &s,
        OMS,
        Auth::Basic(&rid, &rsecret),
        OMS_NS,
        "<x:replaceResultRequest><x:sourcedId>intruder</x:sourcedId><x:resultRecord><x:sourcedGUID><x:sourcedId>intruder</x:sourcedId></x:sourcedGUID><x:result><x:lineItemSourcedId>li1</x:lineItemSourcedId><x:personSourcedId>u1</x:personSourcedId><x:resultScore><x:language>en</x:language><x:textString>100</x:textString></x:resultScore></x:result></x:resultRecord></x:replaceResultRequest>",
    );
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert!(s.db.get(Entity::Results, "intruder").is_none());
});
