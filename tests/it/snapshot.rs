//! Whole responses pinned as snapshots (`insta`, files in `tests/it/snapshots/`) on a fixed
//! generated district, identical on both backends: a 1.1 and a 1.2 page, a single read, an
//! error body, SOAP `readPerson`, `readPersons`, a membership read and a Fault. Restructuring the
//! code must leave them unchanged (`INSTA_UPDATE=always cargo test snapshot` rewrites them after
//! an intended change; review the diff).
//!
//! What changes from run to run is masked: the server's address, store timestamps and SOAP
//! message identifiers.

use rosterbridge::http::server::Settings;

use crate::both;
use crate::http::Server;
use crate::soap::{id_set, post, Auth, MMS, MMS_NS, PMS, PMS_NS};

const V11: &str = "/ims/oneroster/v1p1";
const V12: &str = "/ims/oneroster/rostering/v1p2";

/// Mask what differs between runs: `base` (the server's address), date-times
/// (`YYYY-MM-DDTHH:MM:SS[.fff]Z`, stamped by the store), and SOAP message identifiers.
fn mask(text: &str, base: &str) -> String {
    let text = text.replace(base, "http://[server]");
    let b = text.as_bytes();
    let digits = |at: usize, n: usize| {
        b.get(at..at + n)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let stamp = digits(i, 4)
            && b.get(i + 4) == Some(&b'-')
            && digits(i + 5, 2)
            && b.get(i + 7) == Some(&b'-')
            && digits(i + 8, 2)
            && b.get(i + 10) == Some(&b'T')
            && digits(i + 11, 2);
        if stamp {
            let mut j = i + 13;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b':' || b[j] == b'.') {
                j += 1;
            }
            if b.get(j) == Some(&b'Z') {
                j += 1;
            }
            out.push_str("[datetime]");
            i = j;
            continue;
        }
        let ch = text[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    let open = "<tns:imsx_messageIdentifier>";
    if let Some(a) = out.find(open) {
        if let Some(z) = out[a..].find("</tns:imsx_messageIdentifier>") {
            out.replace_range(a + open.len()..a + z, "[message-id]");
        }
    }
    out
}

fn json(text: &str, base: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    mask(&serde_json::to_string_pretty(&v).unwrap(), base)
}

fn xml(text: &str, base: &str) -> String {
    mask(&text.replace("><", ">\n<"), base)
}

both!(responses_are_pinned, |db| {
    db.import_generated(2, 6, 42);
    let s = Server::start(db, Settings::default());
    let token = s.token(&[], &[]);
    let get = |path: &str| {
        let r = s.get(path, &token);
        (
            r.status,
            r.header("X-Total-Count").map(str::to_string),
            json(&r.text, &s.base),
        )
    };
    let (status, total, page) = get(&format!("{V12}/users?limit=3&sort=sourcedId"));
    assert_eq!((status, total.as_deref()), (200, Some("33")), "{page}");
    insta::assert_snapshot!("v1p2_users_page", page);
    let (status, _, page) = get(&format!("{V11}/students?limit=2&offset=1"));
    assert_eq!(status, 200);
    insta::assert_snapshot!("v1p1_students_page", page);
    let first =
        s.get(&format!("{V12}/enrollments?limit=1"), &token).json()["enrollments"][0].clone();
    let (status, _, single) = get(&format!(
        "{V12}/classes/{}",
        first["class"]["sourcedId"].as_str().unwrap()
    ));
    assert_eq!(status, 200);
    insta::assert_snapshot!("v1p2_class", single);
    let (status, _, error) = get(&format!("{V12}/users/nobody"));
    assert_eq!(status, 404);
    insta::assert_snapshot!("v1p2_error", error);

    let (id, secret) = s.client(&["roster.readonly"], &[]);
    let users: Vec<String> = s.get(&format!("{V12}/users?limit=3"), &token).ids("users");
    let soap = |path: &str, ns: &str, body: String| {
        xml(
            &post(&s, path, Auth::Basic(&id, &secret), ns, &body).text,
            &s.base,
        )
    };
    insta::assert_snapshot!(
        "lis_read_person",
        soap(
            PMS,
            PMS_NS,
            format!(
                "<x:readPersonRequest><x:sourcedId>{}</x:sourcedId></x:readPersonRequest>",
                users[0]
            )
        )
    );
    insta::assert_snapshot!(
        "lis_read_persons",
        soap(
            PMS,
            PMS_NS,
            format!(
                "<x:readPersonsRequest>{}</x:readPersonsRequest>",
                id_set(&users)
            )
        )
    );
    insta::assert_snapshot!(
        "lis_read_membership",
        soap(
            MMS,
            MMS_NS,
            format!(
                "<x:readMembershipRequest><x:sourcedId>{}</x:sourcedId></x:readMembershipRequest>",
                first["sourcedId"].as_str().unwrap()
            )
        )
    );
    insta::assert_snapshot!(
        "lis_fault",
        soap(PMS, PMS_NS, "<x:stealEverythingRequest/>".into())
    );
});
