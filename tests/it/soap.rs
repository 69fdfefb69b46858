//! The LIS 2.0 SOAP services over real HTTP on loopback, on both backends: REST/SOAP parity
//! over a generated district, writes visible over REST and CSV deltas visible over savepoint
//! reads, the status header, every authentication scheme, org restrictions, hostile XML, and
//! the real Banner and Blackboard messages in ../shared.

use base64::Engine as _;
use rosterbridge::http::server::Settings;
use rosterbridge::soap::bind::{self, Node};
use rosterbridge::soap::xml::Limits;
use serde_json::Value as Json;
use sha1::Digest as _;

use crate::both;
use crate::http::{enc, send, Resp, Server};

pub(crate) const PMS: &str = "/lis/v2p0/PersonManagementService";
pub(crate) const MMS: &str = "/lis/v2p0/MembershipManagementService";
pub(crate) const PMS_NS: &str =
    "http://www.imsglobal.org/services/lis/pms2p0/wsdl11/sync/imspms_v2p0";
pub(crate) const MMS_NS: &str =
    "http://www.imsglobal.org/services/lis/mms2p0/wsdl11/sync/imsmms_v2p0";
const V11: &str = "/ims/oneroster/v1p1";
const V12: &str = "/ims/oneroster/rostering/v1p2";
pub(crate) const WRITE: &str = "https://rosterbridge.dev/scope/roster.write";

/// How a request authenticates.
pub(crate) enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Text(&'a str, &'a str),
    Raw(String),
}

pub(crate) fn envelope(ns: &str, security: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:x="{ns}"><soapenv:Header><x:imsx_syncRequestHeaderInfo><x:imsx_version>V1.0</x:imsx_version><x:imsx_messageIdentifier>msg-42</x:imsx_messageIdentifier></x:imsx_syncRequestHeaderInfo>{security}</soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

pub(crate) fn username_token(id: &str, secret: &str) -> String {
    format!(
        r#"<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>{id}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">{secret}</wsse:Password></wsse:UsernameToken></wsse:Security>"#
    )
}

fn digest_token(id: &str, secret: &str, nonce: &[u8], created: &str) -> String {
    let mut h = sha1::Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(secret.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        r#"<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken><wsse:Username>{id}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-soap-message-security-1.0#Base64Binary">{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"#,
        b64.encode(h.finalize()),
        b64.encode(nonce)
    )
}

pub(crate) struct Soap {
    pub status: u16,
    pub text: String,
    pub root: Node,
}

impl Soap {
    pub fn header(&self) -> &Node {
        self.root
            .child(&["Header"])
            .and_then(|h| h.child(&["imsx_syncResponseHeaderInfo"]))
            .and_then(|h| h.child(&["imsx_statusInfo"]))
            .unwrap_or_else(|| panic!("no status in {}", self.text))
    }
    pub fn major(&self) -> String {
        self.header()
            .child_text("imsx_codeMajor")
            .unwrap_or("")
            .into()
    }
    pub fn minor(&self) -> String {
        self.header()
            .child(&["imsx_codeMinor"])
            .and_then(|m| m.child(&["imsx_codeMinorField"]))
            .and_then(|f| f.child_text("imsx_codeMinorFieldValue"))
            .unwrap_or("")
            .into()
    }
    pub fn body(&self) -> &Node {
        self.root
            .child(&["Body"])
            .and_then(|b| b.children.first())
            .unwrap_or_else(|| panic!("no body in {}", self.text))
    }
    /// The ids of a `sourcedIdSet` in the body.
    pub fn ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .body()
            .child(&["sourcedIdSet"])
            .map(|s| {
                s.children_named(&["sourcedId"])
                    .map(|n| n.text.trim().to_string())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

pub(crate) fn post(s: &Server, path: &str, auth: Auth<'_>, ns: &str, body: &str) -> Soap {
    let security = match &auth {
        Auth::Text(id, secret) => username_token(id, secret),
        Auth::Raw(x) => x.clone(),
        _ => String::new(),
    };
    let doc = envelope(ns, &security, body);
    post_raw(s, path, &auth, &doc)
}

pub(crate) fn post_raw(s: &Server, path: &str, auth: &Auth<'_>, doc: &str) -> Soap {
    let mut req =
        ureq::post(&format!("{}{path}", s.base)).set("Content-Type", "text/xml; charset=utf-8");
    if let Auth::Basic(id, secret) = auth {
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        req = req.set("Authorization", &format!("Basic {b}"));
    }
    let r: Resp = send(req, Some(doc));
    let root = bind::parse(r.text.as_bytes(), Limits::default())
        .unwrap_or_else(|e| panic!("response is not XML ({e}): {}", r.text));
    Soap {
        status: r.status,
        text: r.text,
        root,
    }
}

/// `../shared`, when it holds the LIS examples (required under `RB_SHARED_FIXTURES`).
pub(crate) fn shared() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.join("spec/lis/examples").exists() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("RB_SHARED_FIXTURES").is_none(),
            "../shared is required"
        );
        None
    }
}

/// The trimmed text at `path` below `n`, if every step is there.
pub(crate) fn text_at<'a>(n: &'a Node, path: &[&str]) -> Option<&'a str> {
    let mut cur = n;
    for p in path {
        cur = cur.child(&[p])?;
    }
    Some(cur.text.trim())
}

pub(crate) fn id_set(ids: &[String]) -> String {
    let inner: String = ids
        .iter()
        .map(|i| format!("<x:sourcedId>{i}</x:sourcedId>"))
        .collect();
    format!("<x:sourcedIdSet>{inner}</x:sourcedIdSet>")
}

/// The OneRoster field values a LIS person carries.
fn person_fields(p: &Node) -> std::collections::BTreeMap<String, String> {
    let mut m = std::collections::BTreeMap::new();
    m.insert(
        "sourcedId".into(),
        p.child(&["sourcedGUID"])
            .and_then(|g| g.child_text("sourcedId"))
            .unwrap_or("")
            .to_string(),
    );
    let person = p.child(&["person"]).expect("person");
    for name in person.children_named(&["name"]) {
        for part in name.children_named(&["partName"]) {
            let kind = part
                .child(&["instanceName"])
                .and_then(|n| n.child_text("textString"))
                .unwrap_or("");
            let value = part
                .child(&["instanceValue"])
                .and_then(|n| n.child_text("textString"))
                .unwrap_or("");
            let field = match kind {
                "First" => "givenName",
                "Middle" => "middleName",
                "Last" => "familyName",
                _ => continue,
            };
            m.insert(field.into(), value.into());
        }
    }
    for c in person.children_named(&["contactinfo"]) {
        let kind = c
            .child(&["contactinfoType"])
            .and_then(|t| t.child(&["instanceValue"]))
            .and_then(|v| v.child_text("textString"))
            .unwrap_or("");
        let value = c
            .child(&["contactinfoValue"])
            .and_then(|v| v.child_text("textString"))
            .unwrap_or("");
        if kind == "EmailPrimary" {
            m.insert("email".into(), value.into());
        }
    }
    let user_id = person
        .child(&["roles"])
        .and_then(|r| r.child(&["userId"]))
        .and_then(|u| u.child(&["userIdValue"]))
        .and_then(|v| v.child_text("textString"))
        .unwrap_or("");
    m.insert("username".into(), user_id.into());
    if let Some(ext) = person.child(&["extension"]) {
        for f in ext.children_named(&["extensionField"]) {
            let k = f.child_text("fieldName").unwrap_or("");
            if let Some(field) = k.strip_prefix("oneroster.") {
                m.insert(
                    field.into(),
                    f.child_text("fieldValue").unwrap_or("").into(),
                );
            }
        }
    }
    m
}

fn js(j: &Json) -> String {
    match j {
        Json::String(s) => s.clone(),
        Json::Array(a) => a.iter().map(js).collect::<Vec<_>>().join(","),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn district(db: &crate::common::TestDb) {
    db.import_generated(2, 15, 7);
}

fn all_ids(s: &Server, token: &str, path: &str, key: &str) -> Vec<String> {
    let r = s.get(
        &format!(
            "{path}{}limit=10000",
            if path.contains('?') { "&" } else { "?" }
        ),
        token,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let mut ids = r.ids(key);
    ids.sort();
    ids
}

both!(soap_and_rest_agree_on_the_whole_district, |db| {
    district(&db);
    let s = Server::start(db, Settings::default());
    let token = s.token(&[], &[]);
    let (id, secret) = s.client(&[], &[]);
    // id sets
    let users = all_ids(&s, &token, &format!("{V12}/users"), "users");
    let r = post(
        &s,
        PMS,
        Auth::Basic(&id, &secret),
        PMS_NS,
        "<x:readAllPersonIdsRequest/>",
    );
    assert_eq!(
        (r.status, r.major().as_str()),
        (200, "success"),
        "{}",
        r.text
    );
    assert_eq!(r.ids(), users);
    assert!(users.len() > 30);
    // every user: REST 1.1, REST 1.2 and SOAP agree on every mapped field
    let r = post(
        &s,
        PMS,
        Auth::Basic(&id, &secret),
        PMS_NS,
        &format!(
            "<x:readPersonsRequest>{}</x:readPersonsRequest>",
            id_set(&users)
        ),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let set = r.body().child(&["personRecordSet"]).expect("set");
    let records: Vec<&Node> = set.children_named(&["personRecord"]).collect();
    assert_eq!(records.len(), users.len());
    let v12 = s.get(&format!("{V12}/users?limit=10000"), &token).json();
    let v11 = s.get(&format!("{V11}/users?limit=10000"), &token).json();
    for rec in records {
        let lis = person_fields(rec);
        let uid = &lis["sourcedId"];
        let a = v12["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| &u["sourcedId"] == uid)
            .expect("in 1.2");
        let b = v11["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| &u["sourcedId"] == uid)
            .expect("in 1.1");
        for f in [
            "givenName",
            "familyName",
            "username",
            "email",
            "identifier",
            "grades",
            "enabledUser",
            "dateLastModified",
            "status",
        ] {
            let rest = js(&a[f]);
            assert_eq!(rest, js(&b[f]), "{uid} {f}: 1.1 and 1.2 differ");
            assert_eq!(
                lis.get(f).cloned().unwrap_or_default(),
                rest,
                "{uid} {f}: SOAP differs from REST"
            );
        }
        if let Some(m) = a.get("middleName") {
            assert_eq!(
                lis.get("middleName").cloned().unwrap_or_default(),
                js(m),
                "{uid} middleName"
            );
        }
        // roles: 1.2 roles[] as roleType:role@org
        let mut roles: Vec<String> = a["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{}:{}@{}",
                    js(&r["roleType"]),
                    js(&r["role"]),
                    js(&r["org"]["sourcedId"])
                )
            })
            .collect();
        roles.sort();
        let mut lis_roles: Vec<String> = lis
            .get("roles")
            .map(|r| r.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        lis_roles.sort();
        assert_eq!(lis_roles, roles, "{uid} roles");
    }
    // memberships: every class's enrollments
    let enrollments = v12_enrollments(&s, &token);
    let classes = all_ids(&s, &token, &format!("{V12}/classes"), "classes");
    for c in &classes {
        let r = post(&s, MMS, Auth::Basic(&id, &secret), MMS_NS, &format!("<x:readMembershipIdsForCollectionRequest><x:groupSourcedId>{c}</x:groupSourcedId><x:collection>courseSection</x:collection></x:readMembershipIdsForCollectionRequest>"));
        let mut rest: Vec<String> = enrollments
            .iter()
            .filter(|e| js(&e["class"]["sourcedId"]) == *c)
            .map(|e| js(&e["sourcedId"]))
            .collect();
        rest.sort();
        assert_eq!(r.ids(), rest, "class {c}");
    }
    let ids: Vec<String> = enrollments.iter().map(|e| js(&e["sourcedId"])).collect();
    let r = post(
        &s,
        MMS,
        Auth::Basic(&id, &secret),
        MMS_NS,
        &format!(
            "<x:readMembershipsRequest>{}</x:readMembershipsRequest>",
            id_set(&ids)
        ),
    );
    assert_eq!(
        r.minor(),
        "fullsuccess",
        "{}",
        &r.text[..500.min(r.text.len())]
    );
    let set = r.body().child(&["membershipRecordSet"]).expect("set");
    let mut n = 0;
    for m in set.children_named(&["membershipRecord"]) {
        n += 1;
        let mid = m
            .child(&["sourcedGUID"])
            .and_then(|g| g.child_text("sourcedId"))
            .unwrap_or("");
        let e = enrollments
            .iter()
            .find(|e| js(&e["sourcedId"]) == mid)
            .expect("enrollment");
        let ms = m.child(&["membership"]).unwrap();
        assert_eq!(
            ms.child_text("collectionSourcedId").unwrap(),
            js(&e["class"]["sourcedId"])
        );
        assert_eq!(ms.child_text("membershipIdType").unwrap(), "courseSection");
        let member = ms.child(&["member"]).unwrap();
        assert_eq!(
            member.child_text("personSourcedId").unwrap(),
            js(&e["user"]["sourcedId"])
        );
        let role = member.child(&["role"]).unwrap();
        let expected = match js(&e["role"]).as_str() {
            "student" => "Learner",
            "teacher" => "Instructor",
            "administrator" => "Administrator",
            _ => "TeachingAssistant",
        };
        assert_eq!(role.child_text("roleType").unwrap(), expected);
        assert_eq!(role.child_text("status").unwrap(), "Active");
        let begin = role
            .child(&["timeFrame"])
            .and_then(|t| t.child_text("begin"))
            .unwrap_or("")
            .get(..10)
            .unwrap_or("")
            .to_string();
        assert_eq!(
            begin,
            js(&e["beginDate"]).get(..10).unwrap_or("").to_string(),
            "{mid} beginDate"
        );
    }
    assert_eq!(n, ids.len());
    // the draft WSDL's WithRole variant: the person's memberships in that role, in the description
    let e0 = &enrollments[0];
    let person = js(&e0["user"]["sourcedId"]);
    let lis_role = if js(&e0["role"]) == "teacher" {
        "Instructor"
    } else {
        "Learner"
    };
    let r = post(&s, MMS, Auth::Basic(&id, &secret), MMS_NS, &format!("<x:readMembershipIdsForPersonWithRoleRequest><x:personSourcedId>{person}</x:personSourcedId><x:role>{lis_role}</x:role><x:sourcedIdSet/></x:readMembershipIdsForPersonWithRoleRequest>"));
    let described: Vec<String> = r
        .header()
        .child_text("imsx_description")
        .unwrap_or("")
        .split(',')
        .map(str::to_string)
        .collect();
    let mut want: Vec<String> = enrollments
        .iter()
        .filter(|e| js(&e["user"]["sourcedId"]) == person && js(&e["role"]) == js(&e0["role"]))
        .map(|e| js(&e["sourcedId"]))
        .collect();
    want.sort();
    let mut got: Vec<String> = described.into_iter().filter(|d| want.contains(d)).collect();
    got.sort();
    assert_eq!(got, want, "{}", r.text);
    // group memberships of a school = the users holding a role there
    let school = all_ids(&s, &token, &format!("{V12}/schools"), "orgs")[0].clone();
    let r = post(&s, MMS, Auth::Basic(&id, &secret), MMS_NS, &format!("<x:readMembershipIdsForCollectionRequest><x:groupSourcedId>{school}</x:groupSourcedId><x:collection>group</x:collection></x:readMembershipIdsForCollectionRequest>"));
    let holders: std::collections::BTreeSet<String> = v12["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| {
            u["roles"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| js(&r["org"]["sourcedId"]) == school)
        })
        .map(|u| js(&u["sourcedId"]))
        .collect();
    let via_lis = post(
        &s,
        MMS,
        Auth::Basic(&id, &secret),
        MMS_NS,
        &format!(
            "<x:readMembershipsRequest>{}</x:readMembershipsRequest>",
            id_set(&r.ids())
        ),
    );
    let people: std::collections::BTreeSet<String> = via_lis
        .body()
        .child(&["membershipRecordSet"])
        .unwrap()
        .children_named(&["membershipRecord"])
        .map(|m| {
            m.child(&["membership"])
                .and_then(|x| x.child(&["member"]))
                .and_then(|x| x.child_text("personSourcedId"))
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(people, holders);
});

fn v12_enrollments(s: &Server, token: &str) -> Vec<Json> {
    let r = s.get(&format!("{V12}/enrollments?limit=10000"), token);
    r.json()["enrollments"].as_array().unwrap().clone()
}

both!(writes_show_over_rest_and_csv_deltas_over_savepoints, |db| {
    district(&db);
    let s = Server::start(db, Settings::default());
    let token = s.token(&[], &[]);
    let (id, secret) = s.client(&[WRITE, "roster.readonly"], &[]);
    let users = all_ids(&s, &token, &format!("{V12}/users"), "users");
    let uid = users[3].clone();
    let before = s.get(&format!("{V12}/users/{uid}"), &token).json()["user"].clone();
    // read the person, change the given name, replace it
    let r = post(
        &s,
        PMS,
        Auth::Basic(&id, &secret),
        PMS_NS,
        &format!("<x:readPersonRequest><x:sourcedId>{uid}</x:sourcedId></x:readPersonRequest>"),
    );
    let record = r.body().child(&["personRecord"]).expect("record");
    let mut xml = String::new();
    write_node(record, &mut xml);
    let old_name = js(&before["givenName"]);
    let xml = xml.replacen(
        &format!("<x:textString>{old_name}</x:textString>"),
        "<x:textString>Zelda</x:textString>",
        2,
    );
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, &format!("<x:replacePersonRequest><x:sourcedId>{uid}</x:sourcedId>{xml}</x:replacePersonRequest>"));
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let after = s.get(&format!("{V12}/users/{uid}"), &token).json()["user"].clone();
    assert_eq!(after["givenName"], "Zelda");
    assert!(js(&after["dateLastModified"]) > js(&before["dateLastModified"]));
    for f in [
        "familyName",
        "username",
        "email",
        "grades",
        "identifier",
        "roles",
        "enabledUser",
    ] {
        assert_eq!(
            after[f], before[f],
            "{f} survives a replace of what was read"
        );
    }
    // savepoint: only the replaced person changed since before
    let from = js(&before["dateLastModified"]);
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, &format!("<x:readPersonIdsFromSavePointRequest><x:fromSavePoint>{from}</x:fromSavePoint></x:readPersonIdsFromSavePointRequest>"));
    assert_eq!(r.ids(), vec![uid.clone()], "{}", r.text);
    let save = r.body().child_text("savePoint").unwrap().to_string();
    assert_eq!(save, js(&after["dateLastModified"]));
    // a CSV delta changes another user: visible from the returned savepoint, and only it
    let other = users[5].clone();
    let dir = tempfile::tempdir().unwrap();
    let csv = s.get(&format!("{V12}/users/{other}"), &token).json()["user"].clone();
    std::fs::write(
        dir.path().join("users.csv"),
        format!("sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n{other},active,2020-01-01T00:00:00.000Z,true,{},,Delta,{},,,,,,,,,,,,,,\n", js(&csv["username"]), js(&csv["familyName"])),
    ).unwrap();
    crate::common::delta_manifest(dir.path(), "1.2", &["users"]);
    let report = s.db.import(dir.path());
    assert_eq!(
        report.outcome,
        rosterbridge::ingest::Outcome::Committed,
        "{:?}",
        report.diags.list
    );
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, &format!("<x:readPersonsFromSavePointRequest><x:fromSavePoint>{save}</x:fromSavePoint></x:readPersonsFromSavePointRequest>"));
    let recs: Vec<&Node> = r
        .body()
        .child(&["personRecordSet"])
        .unwrap()
        .children_named(&["personRecord"])
        .collect();
    assert_eq!(recs.len(), 1, "{}", r.text);
    assert_eq!(person_fields(recs[0])["givenName"], "Delta");
    // delete: tombstoned over REST, unknown over LIS, in the savepoint read
    let r = post(
        &s,
        PMS,
        Auth::Basic(&id, &secret),
        PMS_NS,
        &format!("<x:deletePersonRequest><x:sourcedId>{uid}</x:sourcedId></x:deletePersonRequest>"),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert_eq!(
        s.get(&format!("{V12}/users/{uid}"), &token).json()["user"]["status"],
        "tobedeleted"
    );
    let r = post(
        &s,
        PMS,
        Auth::Basic(&id, &secret),
        PMS_NS,
        &format!("<x:readPersonRequest><x:sourcedId>{uid}</x:sourcedId></x:readPersonRequest>"),
    );
    assert_eq!(
        (r.major().as_str(), r.minor().as_str()),
        ("failure", "unknownobject")
    );
    assert!(r.body().children.is_empty(), "empty response element");
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, &format!("<x:readPersonIdsFromSavePointRequest><x:fromSavePoint>{save}</x:fromSavePoint></x:readPersonIdsFromSavePointRequest>"));
    assert!(r.ids().contains(&uid));
    // invalid data names the field and changes nothing
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, &format!("<x:replacePersonRequest><x:sourcedId>{other}</x:sourcedId><x:personRecord><x:sourcedGUID><x:sourcedId>{other}</x:sourcedId></x:sourcedGUID><x:person><x:roles><x:enterpriserolesType/><x:userId><x:userIdValue><x:textString>u</x:textString></x:userIdValue></x:userId></x:roles></x:person></x:personRecord></x:replacePersonRequest>"));
    assert_eq!(r.minor(), "invaliddata", "{}", r.text);
    assert!(r.text.contains("givenName"), "{}", r.text);
    assert_eq!(
        s.get(&format!("{V12}/users/{other}"), &token).json()["user"]["givenName"],
        "Delta"
    );
    // a membership write lands as an enrollment
    let class = all_ids(&s, &token, &format!("{V12}/classes"), "classes")[0].clone();
    let r = post(&s, MMS, Auth::Basic(&id, &secret), MMS_NS, &format!("<x:createMembershipRequest><x:sourcedId>new-e1</x:sourcedId><x:membershipRecord><x:sourcedGUID><x:sourcedId>new-e1</x:sourcedId></x:sourcedGUID><x:membership><x:collectionSourcedId>{class}</x:collectionSourcedId><x:membershipIdType>courseSection</x:membershipIdType><x:member><x:personSourcedId>{other}</x:personSourcedId><x:role><x:roleType>Learner</x:roleType><x:status>Active</x:status></x:role></x:member></x:membership></x:membershipRecord></x:createMembershipRequest>"));
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let e = s.get(&format!("{V12}/enrollments/new-e1"), &token).json();
    assert_eq!(e["enrollment"]["role"], "student");
    assert_eq!(e["enrollment"]["class"]["sourcedId"], class.as_str());
    // changePersonIdentifier: the person, its enrollments and roles under the new id
    let filter = |u: &str| {
        format!(
            "{V12}/enrollments?limit=1000&filter={}",
            enc(&format!("user.sourcedId='{u}' AND status='active'"))
        )
    };
    let before_enr = s.get(&filter(&other), &token).ids("enrollments").len();
    assert!(before_enr > 0);
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, &format!("<x:changePersonIdentifierRequest><x:sourcedId>{other}</x:sourcedId><x:newSourcedId>renamed-1</x:newSourcedId></x:changePersonIdentifierRequest>"));
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert_eq!(
        s.get(&format!("{V12}/users/renamed-1"), &token).json()["user"]["givenName"],
        "Delta"
    );
    assert_eq!(
        s.get(&format!("{V12}/users/{other}"), &token).json()["user"]["status"],
        "tobedeleted"
    );
    assert_eq!(
        s.get(&filter("renamed-1"), &token).ids("enrollments").len(),
        before_enr
    );
    assert_eq!(s.get(&filter(&other), &token).ids("enrollments").len(), 0);
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, &format!("<x:changePersonIdentifierRequest><x:sourcedId>{}</x:sourcedId><x:newSourcedId>renamed-1</x:newSourcedId></x:changePersonIdentifierRequest>", users[7]));
    assert_eq!(r.minor(), "idallocinusefail");
    // a writer restricted to one school cannot place a person at another
    let schools = all_ids(&s, &token, &format!("{V12}/schools"), "orgs");
    let (wid, wsecret) = s.client(&[WRITE, "roster.readonly"], &[&schools[0]]);
    let person = format!("<x:personRecord><x:sourcedGUID><x:sourcedId>new-p</x:sourcedId></x:sourcedGUID><x:person><x:name><x:nameType/><x:partName><x:instanceName><x:textString>First</x:textString></x:instanceName><x:instanceValue><x:textString>N</x:textString></x:instanceValue></x:partName><x:partName><x:instanceName><x:textString>Last</x:textString></x:instanceName><x:instanceValue><x:textString>P</x:textString></x:instanceValue></x:partName></x:name><x:roles><x:enterpriserolesType/><x:userId><x:userIdValue><x:textString>newp</x:textString></x:userIdValue></x:userId></x:roles><x:extension><x:extensionField><x:fieldName>oneroster.roles</x:fieldName><x:fieldType>String</x:fieldType><x:fieldValue>primary:student@{}</x:fieldValue></x:extensionField></x:extension></x:person></x:personRecord>", schools[1]);
    let r = post(&s, PMS, Auth::Basic(&wid, &wsecret), PMS_NS, &format!("<x:createPersonRequest><x:sourcedId>new-p</x:sourcedId>{person}</x:createPersonRequest>"));
    assert_eq!(r.minor(), "unauthorizedrequest", "{}", r.text);
    assert_eq!(s.get(&format!("{V12}/users/new-p"), &token).status, 404);
    let at_home = person.replace(&format!("@{}<", schools[1]), &format!("@{}<", schools[0]));
    let r = post(&s, PMS, Auth::Basic(&wid, &wsecret), PMS_NS, &format!("<x:createPersonRequest><x:sourcedId>new-p</x:sourcedId>{at_home}</x:createPersonRequest>"));
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let u = s.get(&format!("{V12}/users/new-p"), &token).json();
    assert_eq!(
        u["user"]["roles"][0]["org"]["sourcedId"],
        schools[0].as_str()
    );
});

/// Re-serialise a response node under the `x:` prefix (what the tests send back).
fn write_node(n: &Node, out: &mut String) {
    out.push_str(&format!("<x:{}>", n.name));
    if n.children.is_empty() {
        let mut t = String::new();
        bind::escape_into(&mut t, n.text.trim());
        out.push_str(&t);
    }
    for c in &n.children {
        write_node(c, out);
    }
    out.push_str(&format!("</x:{}>", n.name));
}

both!(status_header_security_and_hostile_input, |db| {
    district(&db);
    let s = Server::start(db, Settings::default());
    let token = s.token(&[], &[]);
    let (id, secret) = s.client(&["roster.readonly"], &[]);
    let users = all_ids(&s, &token, &format!("{V12}/users"), "users");
    let read = |u: &str| {
        format!("<x:readPersonRequest><x:sourcedId>{u}</x:sourcedId></x:readPersonRequest>")
    };
    // status header: echo, operation, LIS spellings
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, &read("nobody"));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header().child_text("imsx_messageRefIdentifier"),
        Some("msg-42")
    );
    assert_eq!(
        r.header().child_text("imsx_operationRefIdentifier"),
        Some("readPerson")
    );
    assert_eq!(
        (r.major().as_str(), r.minor().as_str()),
        ("failure", "unknownobject")
    );
    assert_eq!(r.body().ns.as_deref(), Some(PMS_NS));
    // no credentials / wrong secret: 401 unauthorizedrequest
    let r = post(&s, PMS, Auth::None, PMS_NS, &read(&users[0]));
    assert_eq!((r.status, r.minor().as_str()), (401, "unauthorizedrequest"));
    let r = post(&s, PMS, Auth::Basic(&id, "wrong"), PMS_NS, &read(&users[0]));
    assert_eq!((r.status, r.minor().as_str()), (401, "unauthorizedrequest"));
    // WS-Security PasswordText and PasswordDigest; replayed nonce and stale Created refused
    let r = post(&s, PMS, Auth::Text(&id, &secret), PMS_NS, &read(&users[0]));
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    // (a refused UsernameToken is the WSS FailedAuthentication Fault, HTTP 500)
    let r = post(&s, PMS, Auth::Text(&id, "nope"), PMS_NS, &read(&users[0]));
    assert_eq!(r.status, 500);
    assert!(r.text.contains("wsse:FailedAuthentication"), "{}", r.text);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let digest = digest_token(&id, &secret, b"nonce-0001-abcdef", &now);
    let r = post(&s, PMS, Auth::Raw(digest.clone()), PMS_NS, &read(&users[0]));
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let r = post(&s, PMS, Auth::Raw(digest), PMS_NS, &read(&users[0]));
    assert_eq!(
        (r.status, r.minor().as_str()),
        (500, "unauthorizedrequest"),
        "replay"
    );
    let stale = (chrono::Utc::now() - chrono::Duration::hours(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let r = post(
        &s,
        PMS,
        Auth::Raw(digest_token(&id, &secret, b"nonce-2", &stale)),
        PMS_NS,
        &read(&users[0]),
    );
    assert_eq!(r.status, 500, "stale Created");
    let r = post(
        &s,
        PMS,
        Auth::Raw(digest_token(&id, "bad", b"nonce-3", &now)),
        PMS_NS,
        &read(&users[0]),
    );
    assert_eq!(r.status, 500, "wrong digest");
    // OAuth 1.0a with oauth_body_hash
    let doc = envelope(PMS_NS, "", &read(&users[0]));
    let url = format!("{}{PMS}", s.base);
    let r = oauth_post(&url, &id, &secret, &doc, &doc);
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let tampered = doc.replace(&users[0], &users[1]);
    let r = oauth_post(&url, &id, &secret, &doc, &tampered);
    assert_eq!(r.status, 401, "body hash of another body");
    // a read-only client cannot write
    let r = post(
        &s,
        PMS,
        Auth::Basic(&id, &secret),
        PMS_NS,
        &format!(
            "<x:deletePersonRequest><x:sourcedId>{}</x:sourcedId></x:deletePersonRequest>",
            users[0]
        ),
    );
    assert_eq!(
        (r.major().as_str(), r.minor().as_str()),
        ("failure", "unauthorizedrequest")
    );
    assert_eq!(
        s.get(&format!("{V12}/users/{}", users[0]), &token).json()["user"]["status"],
        "active"
    );
    // org restriction: the same users as REST shows that client
    let school = all_ids(&s, &token, &format!("{V12}/schools"), "orgs")[0].clone();
    let (rid, rsecret) = s.client(&["roster.readonly"], &[&school]);
    let rtoken = {
        let r = s.post_token(Some((&rid, &rsecret)), "grant_type=client_credentials");
        r.json()["access_token"].as_str().unwrap().to_string()
    };
    let visible = all_ids(&s, &rtoken, &format!("{V12}/users"), "users");
    assert!(!visible.is_empty() && visible.len() < users.len());
    let r = post(
        &s,
        PMS,
        Auth::Basic(&rid, &rsecret),
        PMS_NS,
        "<x:readAllPersonIdsRequest/>",
    );
    assert_eq!(r.ids(), visible);
    let hidden = users.iter().find(|u| !visible.contains(u)).unwrap();
    let r = post(&s, PMS, Auth::Basic(&rid, &rsecret), PMS_NS, &read(hidden));
    assert_eq!(r.minor(), "unknownobject");
    let r = post(&s, PMS, Auth::Basic(&rid, &rsecret), PMS_NS, "<x:discoverPersonIdsRequest><x:queryObject>sourcedId!=''</x:queryObject></x:discoverPersonIdsRequest>");
    assert_eq!(r.ids(), visible, "a filter cannot widen the view");
    // a restricted writer cannot touch a user outside its orgs
    let (wid, wsecret) = s.client(&[WRITE, "roster.readonly"], &[&school]);
    let r = post(
        &s,
        PMS,
        Auth::Basic(&wid, &wsecret),
        PMS_NS,
        &format!(
            "<x:deletePersonRequest><x:sourcedId>{hidden}</x:sourcedId></x:deletePersonRequest>"
        ),
    );
    assert_eq!(r.minor(), "unknownobject", "{}", r.text);
    assert_eq!(
        s.get(&format!("{V12}/users/{hidden}"), &token).json()["user"]["status"],
        "active"
    );
    // SOAP 1.2 in, SOAP 1.2 out
    let doc12 = envelope(PMS_NS, "", &read(&users[0])).replace(
        "http://schemas.xmlsoap.org/soap/envelope/",
        "http://www.w3.org/2003/05/soap-envelope",
    );
    let r = post_raw(&s, PMS, &Auth::Basic(&id, &secret), &doc12);
    assert_eq!(
        r.root.ns.as_deref(),
        Some("http://www.w3.org/2003/05/soap-envelope")
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    // discover by e-mail
    let u0 = s.get(&format!("{V12}/users/{}", users[0]), &token).json()["user"].clone();
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, &format!("<x:discoverPersonIdsRequest><x:queryObject>{}</x:queryObject></x:discoverPersonIdsRequest>", js(&u0["email"])));
    assert_eq!(r.ids(), vec![users[0].clone()]);
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, "<x:discoverPersonIdsRequest><x:queryObject>who knows</x:queryObject></x:discoverPersonIdsRequest>");
    assert_eq!(r.minor(), "unknownquery");
    // bad savepoint
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, "<x:readPersonIdsFromSavePointRequest><x:fromSavePoint>yesterday</x:fromSavePoint></x:readPersonIdsFromSavePointRequest>");
    assert_eq!(r.minor(), "savepointerror");
    // hostile and broken envelopes: SOAP Faults, the server lives on
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>&lol;</soapenv:Body></soapenv:Envelope>"#;
    let r = post_raw(&s, PMS, &Auth::Basic(&id, &secret), bomb);
    assert_eq!(r.status, 500);
    assert!(r.text.contains("Fault"), "{}", r.text);
    assert_eq!(r.minor(), "invaliddata", "imsx status in the header too");
    assert!(
        r.header()
            .child_text("imsx_description")
            .unwrap_or("")
            .contains("DOCTYPE"),
        "{}",
        r.text
    );
    let deep = envelope(
        PMS_NS,
        "",
        &format!("{}{}", "<a>".repeat(100), "</a>".repeat(100)),
    );
    assert_eq!(
        post_raw(&s, PMS, &Auth::Basic(&id, &secret), &deep).status,
        500
    );
    let r = post(
        &s,
        PMS,
        Auth::Basic(&id, &secret),
        PMS_NS,
        "<x:stealEverythingRequest/>",
    );
    assert_eq!(r.status, 500);
    assert!(r.text.contains("Fault"));
    let r = post(&s, PMS, Auth::Basic(&id, &secret), PMS_NS, &read(&users[0]));
    assert_eq!(r.minor(), "fullsuccess");
    // metrics label SOAP requests by service and operation
    let m = s.get_anon("/metrics");
    assert!(
        m.text
            .contains(&format!("route=\"{PMS} readPerson\",status=\"200\"")),
        "{}",
        m.text
    );
});

fn oauth_post(url: &str, key: &str, secret: &str, signed_body: &str, sent_body: &str) -> Soap {
    use rosterbridge::auth::oauth1::{base_string, sign, Method};
    let hash = base64::engine::general_purpose::STANDARD
        .encode(sha1::Sha1::digest(signed_body.as_bytes()));
    let ts = chrono::Utc::now().timestamp().to_string();
    let nonce = format!("n{}", rand_suffix());
    let params: Vec<(String, String)> = [
        ("oauth_consumer_key", key),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", &ts),
        ("oauth_nonce", &nonce),
        ("oauth_version", "1.0"),
        ("oauth_body_hash", &hash),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let base = base_string("POST", url, &params);
    let sig = sign(Method::HmacSha1, secret, &base);
    let header = params
        .iter()
        .chain(std::iter::once(&("oauth_signature".to_string(), sig)))
        .map(|(k, v)| format!("{k}=\"{}\"", enc(v)))
        .collect::<Vec<_>>()
        .join(", ");
    let r = send(
        ureq::post(url)
            .set("Content-Type", "text/xml; charset=utf-8")
            .set("Authorization", &format!("OAuth {header}")),
        Some(sent_body),
    );
    let root = bind::parse(r.text.as_bytes(), Limits::default()).unwrap();
    Soap {
        status: r.status,
        text: r.text,
        root,
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed) + std::process::id() as u64 * 1000
}

/// The real Banner ILP messages (GPL: read from ../shared, never copied) land in the store;
/// the Blackboard samples parse.
#[test]
fn banner_messages_land_and_blackboard_samples_parse() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let banner = shared.join("fixtures/ericmerrill-lmbnxt/lis2/data");
    if !banner.exists() {
        assert!(
            std::env::var_os("RB_SHARED_FIXTURES").is_none(),
            "../shared is required"
        );
        return;
    }
    let db = crate::common::TestDb::new(crate::common::Backend::Sqlite).unwrap();
    // The class the Banner membership names, with its school.
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    w("orgs.csv", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nbanner-school,,,Banner U,school,,\n");
    w("academicSessions.csv", "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n201740,,,Fall 2017,term,2017-08-20,2017-12-20,,2018\n");
    w("courses.csv", "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\nCS100,,,,Intro,CS100,,banner-school,,\n");
    w("classes.csv", "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n10001.201740,,,Intro 1,,CS100,,scheduled,,banner-school,201740,,,\n");
    w("manifest.csv", "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.academicSessions,bulk\nfile.categories,absent\nfile.classes,bulk\nfile.classResources,absent\nfile.courses,bulk\nfile.courseResources,absent\nfile.demographics,absent\nfile.enrollments,absent\nfile.lineItems,absent\nfile.orgs,bulk\nfile.resources,absent\nfile.results,absent\nfile.users,absent\n");
    let report = db.import(dir.path());
    assert_eq!(
        report.outcome,
        rosterbridge::ingest::Outcome::Committed,
        "{:?}",
        report.diags.list
    );
    let s = Server::start(db, Settings::default());
    let (id, secret) = s.client(&[WRITE, "roster.readonly"], &["banner-school"]);
    let text = |f: &str| std::fs::read_to_string(banner.join(f)).unwrap();
    let r = post_raw(
        &s,
        PMS,
        &Auth::Basic(&id, &secret),
        &text("person_replace.xml"),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    assert_eq!(
        r.header().child_text("imsx_messageRefIdentifier"),
        Some("2")
    );
    let user =
        s.db.get(rosterbridge::model::catalog::Entity::Users, "1000001")
            .expect("person landed");
    assert_eq!(user.get("givenName"), Some("Test"));
    assert_eq!(user.get("familyName"), Some("User"));
    assert_eq!(user.get("middleName"), Some("A"));
    assert_eq!(user.get("email"), Some("testUser@eXample.com"));
    assert_eq!(user.get("username"), Some("LogonIDUserID"));
    assert_eq!(
        user.metadata.get("lis.ext.BannerID").map(String::as_str),
        Some("A00000000")
    );
    assert_eq!(
        user.metadata.get("lis.partName.Prefix").map(String::as_str),
        Some("Mr.")
    );
    assert!(
        user.get("userIds")
            .unwrap_or("")
            .contains("{SCTID:SCTIDUserid}"),
        "{:?}",
        user.get("userIds")
    );
    assert!(
        !format!("{user:?}").contains("FakeSHAPassword"),
        "passwords are never stored"
    );
    let r = post_raw(
        &s,
        MMS,
        &Auth::Basic(&id, &secret),
        &text("member_replace_teacher.xml"),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let e =
        s.db.get(
            rosterbridge::model::catalog::Entity::Enrollments,
            "CM-editingteacher-CS10001.201740-1000001",
        )
        .expect("membership landed");
    assert_eq!(e.get("role"), Some("teacher"));
    assert_eq!(e.get("classSourcedId"), Some("10001.201740"));
    let r = post_raw(
        &s,
        MMS,
        &Auth::Basic(&id, &secret),
        &text("person_member_delete.xml"),
    );
    assert_eq!(r.minor(), "fullsuccess", "{}", r.text);
    let e =
        s.db.get(
            rosterbridge::model::catalog::Entity::Enrollments,
            "CM-editingteacher-CS10001.201740-1000001",
        )
        .unwrap();
    assert_eq!(e.status, rosterbridge::model::record::Status::ToBeDeleted);
    // Blackboard samples: namespace-less bodies, V2.0 headers; they bind to the generated types.
    let bb = shared.join("spec/lis/examples/blackboard-bbdn-lis_samples");
    for f in [
        "SampleReplacePersonRequest.xml",
        "SampleReplaceMembershipRequest.xml",
    ] {
        let doc = std::fs::read(bb.join(f)).unwrap();
        let req = rosterbridge::soap::envelope::read(&doc, Limits::default())
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        if req.operation == "replacePerson" {
            let p: rosterbridge::soap::gen::pms::ReplacePersonRequest =
                bind::XmlValue::read_value(&req.body).unwrap();
            assert!(!p.sourced_id.is_empty(), "{f}");
            assert!(p.person_record.person.is_some(), "{f}");
        } else {
            let m: rosterbridge::soap::gen::mms::ReplaceMembershipRequest =
                bind::XmlValue::read_value(&req.body).unwrap();
            assert!(
                !m.membership_record
                    .membership
                    .member
                    .person_sourced_id
                    .is_empty(),
                "{f}"
            );
        }
    }
}
