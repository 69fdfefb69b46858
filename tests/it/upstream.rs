//! The upstream pull and the grade push (issue #19) against a real OneRoster server: a second
//! rosterbridge server on loopback loaded with a generated district, in 1.1 and 1.2 upstream
//! modes, synced into SQLite and PostgreSQL downstreams; faults injected by a small HTTP proxy
//! between the two; HTTPS with a test CA through the `rosterbridge sync` command.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::both;
use crate::common::{Backend, TestDb};
use crate::http::Server;
use rosterbridge::http::server::Settings;
use rosterbridge::ingest::{ImportOptions, Outcome};
use rosterbridge::model::catalog::{Entity, Version};
use rosterbridge::model::record::{Record, Status};
use rosterbridge::upstream::{self, Auth, SyncError, UpstreamConfig};

const S11: &str = "https://purl.imsglobal.org/spec/or/v1p1/scope/";
const S12: &str = "https://purl.imsglobal.org/spec/or/v1p2/scope/";
const COLLECTIONS: [&str; 8] = [
    "orgs",
    "academicSessions",
    "courses",
    "classes",
    "users",
    "enrollments",
    "demographics",
    "resources",
];

/// Full scope URIs of both versions for `short` names.
fn scopes(short: &[&str]) -> Vec<String> {
    short
        .iter()
        .flat_map(|s| [format!("{S11}{s}"), format!("{S12}{s}")])
        .collect()
}

const READS: &[&str] = &[
    "roster.readonly",
    "roster-demographics.readonly",
    "resource.readonly",
];

/// An upstream: a server over a generated district (2 schools of 40 students).
fn upstream_server() -> Server {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let r = db.import_generated(2, 40, 19);
    assert_eq!(r.outcome, Outcome::Committed);
    Server::start(db, Settings::default())
}

/// A config for `base` with a fresh client of `up` holding `short` scopes.
fn config(up: &Server, base: &str, version: Version, short: &[&str]) -> UpstreamConfig {
    let sc = scopes(short);
    let sc: Vec<&str> = sc.iter().map(String::as_str).collect();
    let (id, secret) = up.client(&sc, &[]);
    let mut c = UpstreamConfig::new(
        base,
        version,
        Auth::OAuth2 {
            token_url: format!("{base}/oauth/token"),
            client_id: id,
            secret,
            scopes: Vec::new(),
            in_body: false,
        },
    );
    c.page_size = 37;
    c.retry_base = Duration::from_millis(20);
    c.overlap = Duration::ZERO;
    c
}

fn path(version: Version) -> &'static str {
    match version {
        Version::V1_1 => "/ims/oneroster/v1p1",
        Version::V1_2 => "/ims/oneroster/rostering/v1p2",
    }
}

/// Drop what legitimately differs between two servers: their stamps and their hrefs.
fn strip(v: &mut Json) {
    match v {
        Json::Object(m) => {
            m.remove("dateLastModified");
            m.remove("href");
            // The SIS's own stamp of what a delta carried (kept by the downstream).
            if let Some(Json::Object(meta)) = m.get_mut("metadata") {
                meta.remove("sisDateLastModified");
                if meta.is_empty() {
                    m.remove("metadata");
                }
            }
            m.values_mut().for_each(strip);
        }
        Json::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

/// Every rostering collection as a server answers it to a full reader, by sourcedId.
fn view(s: &Server, version: Version) -> BTreeMap<&'static str, Vec<Json>> {
    let sc = scopes(READS);
    let sc: Vec<&str> = sc.iter().map(String::as_str).collect();
    let t = s.token(&sc, &[]);
    COLLECTIONS
        .iter()
        .map(|c| {
            let p = match (version, *c) {
                (Version::V1_2, "resources") => "/ims/oneroster/resources/v1p2".to_string(),
                _ => path(version).to_string(),
            };
            let r = s.get(&format!("{p}/{c}?limit=10000"), &t);
            assert_eq!(r.status, 200, "{c}: {}", r.text);
            let mut items = r.json()[*c].as_array().unwrap().clone();
            items.iter_mut().for_each(strip);
            items.sort_by(|a, b| a["sourcedId"].as_str().cmp(&b["sourcedId"].as_str()));
            (*c, items)
        })
        .collect()
}

fn assert_same(up: &Server, down: &Server, version: Version) {
    let (a, b) = (view(up, version), view(down, version));
    for c in COLLECTIONS {
        assert_eq!(a[c].len(), b[c].len(), "{c}: as many records");
        for (x, y) in a[c].iter().zip(&b[c]) {
            assert_eq!(x, y, "{c}: the same record");
        }
    }
}

/// Write `records` into `db` as one delta (an upstream's own changes).
fn change(db: &TestDb, records: Vec<Record>) {
    let mut conn = db.store.conn().unwrap();
    diesel::Connection::transaction(&mut *conn, |c| {
        rosterbridge::store::imports::lock(c, &rosterbridge::model::time::now())?;
        let r = rosterbridge::ingest::import_records_on(
            c,
            records,
            "upstream change",
            &ImportOptions::default(),
        )?;
        assert_eq!(r.outcome, Outcome::Committed, "{:?}", r.diags.list);
        Ok::<_, rosterbridge::ingest::ImportError>(())
    })
    .unwrap();
    // Stamps are milliseconds: what the downstream saw before is strictly older.
    std::thread::sleep(Duration::from_millis(5));
}

fn changed(r: &upstream::SyncReport) -> BTreeMap<&'static str, (u64, u64, u64)> {
    r.import
        .counts
        .iter()
        .filter(|(_, c)| c.changed() > 0)
        .map(|(e, c)| (e.name(), (c.inserted, c.updated, c.tombstoned)))
        .collect()
}

fn sync(down: &Server, cfg: &UpstreamConfig, full: bool) -> upstream::SyncReport {
    let client = upstream::Client::new(cfg).unwrap();
    upstream::sync(
        &down.db.store,
        cfg,
        &client,
        full,
        &ImportOptions::default(),
    )
    .unwrap()
}

/// [`sync`], which must commit (the diagnostics shown when it does not).
fn synced(down: &Server, cfg: &UpstreamConfig, full: bool) -> upstream::SyncReport {
    let r = sync(down, cfg, full);
    assert_eq!(
        r.import.outcome,
        Outcome::Committed,
        "{:?}",
        r.import.diags.list
    );
    r
}

fn mirror(db: TestDb, version: Version) {
    let up = upstream_server();
    let down = Server::start(db, Settings::default());
    let mut cfg = config(&up, &up.base, version, READS);
    // The 1.1 upstream is called with OAuth 1.0a signatures, as 1.1 providers may still want.
    if version == Version::V1_1 {
        if let Auth::OAuth2 {
            client_id, secret, ..
        } = cfg.auth.clone()
        {
            cfg.auth = Auth::OAuth1 {
                key: client_id,
                secret,
            };
        }
    }

    // The first sync is full, and the downstream answers as the upstream does.
    let r = synced(&down, &cfg, false);
    assert!(r.full && r.since.is_none());
    assert_eq!(
        r.fetched[&Entity::Users],
        up.db.count(Entity::Users).0 as u64
    );
    assert!(r.high_water.is_some());
    assert_same(&up, &down, version);

    // Upstream: a student renamed, a student added with an enrollment, an enrollment ended.
    let students: Vec<Record> = up
        .db
        .all(Entity::Users)
        .into_iter()
        .filter(|u| u.sourced_id.contains("stu"))
        .collect();
    let mut renamed = students[0].clone();
    renamed.set("givenName", "Renamed");
    let mut added = students[1].clone();
    added.sourced_id = "new-student-1".into();
    added.set("username", "new.student.1");
    let enrollments = up.db.all(Entity::Enrollments);
    let mut enrolled = enrollments
        .iter()
        .find(|e| e.get("role") == Some("student"))
        .unwrap()
        .clone();
    enrolled.sourced_id = "new-enrollment-1".into();
    enrolled.set("userSourcedId", "new-student-1");
    let mut ended = enrollments[3].clone();
    ended.status = Status::ToBeDeleted;
    let mut roles: Vec<Record> = up
        .db
        .all(Entity::Roles)
        .into_iter()
        .filter(|r| r.get("userSourcedId") == Some(students[1].sourced_id.as_str()))
        .collect();
    for r in &mut roles {
        r.sourced_id = format!("{}-new", r.sourced_id);
        r.set("userSourcedId", "new-student-1");
    }
    let mut batch = vec![renamed, added, enrolled, ended];
    batch.extend(roles);
    change(&up.db, batch);

    // The delta carries exactly those.
    let r = synced(&down, &cfg, false);
    assert!(!r.full && r.since.is_some());
    assert_eq!(
        r.fetched[&Entity::Users],
        2,
        "the renamed and the added student"
    );
    assert_eq!(r.fetched[&Entity::Enrollments], 2);
    assert_eq!(r.fetched[&Entity::Classes], 0);
    let mut want = BTreeMap::from([
        ("users", (1, 1, 0)),
        ("roles", (1, 0, 0)),
        ("enrollments", (1, 0, 1)),
    ]);
    assert_eq!(changed(&r), want);
    assert_same(&up, &down, version);
    // Nothing new upstream: a delta changes nothing.
    let r = synced(&down, &cfg, false);
    assert!(changed(&r).is_empty(), "{:?}", changed(&r));

    // Deleted upstream (a student with her enrollments and demographics, and her guardian): a
    // full sync tombstones them, and keeps every unchanged record's stamp.
    let gone = students[2].sourced_id.clone();
    let guardian = up
        .db
        .get(Entity::Users, &gone)
        .unwrap()
        .get("agentSourcedIds")
        .unwrap()
        .to_string();
    assert!(!guardian.contains(','), "one guardian: {guardian}");
    let kept = down
        .db
        .get(Entity::Classes, &up.db.all(Entity::Classes)[0].sourced_id)
        .unwrap();
    let mut batch: Vec<Record> = up
        .db
        .all(Entity::Enrollments)
        .into_iter()
        .filter(|e| e.get("userSourcedId") == Some(gone.as_str()))
        .collect();
    let n = batch.len() as u64;
    assert!(n > 0);
    batch.push(up.db.get(Entity::Users, &gone).unwrap());
    batch.push(up.db.get(Entity::Users, &guardian).unwrap());
    batch.extend(up.db.get(Entity::Demographics, &gone));
    let demographics = batch.len() as u64 - n - 2;
    // A SIS removing a person removes her roles with her.
    batch.extend(up.db.all(Entity::Roles).into_iter().filter(|r| {
        r.get("userSourcedId")
            .is_some_and(|u| u == gone || u == guardian)
    }));
    for r in &mut batch {
        r.status = Status::ToBeDeleted;
    }
    change(&up.db, batch);
    let r = synced(&down, &cfg, true);
    want = BTreeMap::from([
        ("users", (0, 0, 2)),
        ("roles", (0, 0, 2)),
        ("enrollments", (0, 0, n)),
    ]);
    if demographics > 0 {
        want.insert("demographics", (0, 0, demographics));
    }
    assert_eq!(changed(&r), want);
    assert_eq!(
        down.db.get(Entity::Users, &gone).unwrap().status,
        Status::ToBeDeleted
    );
    let again = down.db.get(Entity::Classes, &kept.sourced_id).unwrap();
    assert_eq!(again.date_last_modified, kept.date_last_modified);
    assert_same(&up, &down, version);
    // The sync is in the import log, labelled as coming from the upstream.
    let runs = rosterbridge::store::imports::list(&mut down.db.store.conn().unwrap(), 10).unwrap();
    assert!(
        runs[0].source.starts_with("upstream full http://"),
        "{}",
        runs[0].source
    );
    assert!(
        runs[1].source.starts_with("upstream delta http://"),
        "{}",
        runs[1].source
    );
}

both!(full_and_delta_sync_mirror_a_1p2_upstream, |db| {
    mirror(db, Version::V1_2);
});

both!(full_and_delta_sync_mirror_a_1p1_upstream, |db| {
    mirror(db, Version::V1_1);
});

/// What the proxy does to one request (numbered from 0, token requests not counted).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Pass,
    /// Answer this status (with `Retry-After` seconds when given) without asking the upstream.
    Status(u16, Option<u64>),
    /// Send the answer's head and half its body, then close the connection.
    Reset,
    /// A 200 whose body lacks the collection's key.
    NoWrapper,
    /// An empty page (and no totals): a truncated upstream.
    Empty,
    /// Say nothing for this long, then answer (a request that times out).
    Stall(u64),
}

type Decide = dyn Fn(usize, &str) -> Fault + Send + Sync;

/// A fault-injecting HTTP/1.1 proxy in front of `upstream` (one request per connection).
struct Proxy {
    base: String,
    /// Caps the page size asked (`limit`) at this many (a server's silent cap).
    cap: Arc<Mutex<Option<u64>>>,
    /// Drops `X-Total-Count` and `Link`.
    strip: Arc<Mutex<bool>>,
    decide: Arc<Mutex<Box<Decide>>>,
    /// Requests seen (method and path), token requests included.
    log: Arc<Mutex<Vec<String>>>,
    /// When not 0: the `expires_in` every token answer is rewritten to (seconds).
    token_life: Arc<std::sync::atomic::AtomicU64>,
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let p = Proxy {
            base,
            cap: Arc::new(Mutex::new(None)),
            strip: Arc::new(Mutex::new(false)),
            decide: Arc::new(Mutex::new(Box::new(|_, _| Fault::Pass))),
            log: Arc::new(Mutex::new(Vec::new())),
            token_life: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        };
        let (cap, strip, decide, log, life) = (
            p.cap.clone(),
            p.strip.clone(),
            p.decide.clone(),
            p.log.clone(),
            p.token_life.clone(),
        );
        let upstream = upstream.to_string();
        let counter = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (cap, strip, decide, log, upstream, counter, life) = (
                    cap.clone(),
                    strip.clone(),
                    decide.clone(),
                    log.clone(),
                    upstream.clone(),
                    counter.clone(),
                    life.clone(),
                );
                std::thread::spawn(move || {
                    let life = life.load(Ordering::SeqCst);
                    let _ = serve_one(conn, &upstream, &cap, &strip, &decide, &log, &counter, life);
                });
            }
        });
        p
    }

    fn set(
        &self,
        cap: Option<u64>,
        strip: bool,
        decide: impl Fn(usize, &str) -> Fault + Send + Sync + 'static,
    ) {
        *self.cap.lock().unwrap() = cap;
        *self.strip.lock().unwrap() = strip;
        *self.decide.lock().unwrap() = Box::new(decide);
        *self.log.lock().unwrap() = Vec::new();
    }

    fn seen(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

#[allow(clippy::too_many_arguments)]
fn serve_one(
    conn: TcpStream,
    upstream: &str,
    cap: &Mutex<Option<u64>>,
    strip: &Mutex<bool>,
    decide: &Mutex<Box<Decide>>,
    log: &Mutex<Vec<String>>,
    counter: &AtomicUsize,
    token_life: u64,
) -> std::io::Result<()> {
    let mut rd = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    rd.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let mut target = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        rd.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = vec![0u8; length];
    rd.read_exact(&mut body)?;
    log.lock().unwrap().push(format!("{method} {target}"));
    let token = target.starts_with("/oauth/token");
    let fault = if token {
        Fault::Pass
    } else {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        (decide.lock().unwrap())(n, &target)
    };
    if let Some(c) = *cap.lock().unwrap() {
        target = cap_limit(&target, c);
    }
    let mut out = conn;
    let respond =
        |out: &mut TcpStream, status: u16, hs: &[(String, String)], body: &[u8], cut: bool| {
            let mut head = format!("HTTP/1.1 {status} X\r\n");
            for (k, v) in hs {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ));
            out.write_all(head.as_bytes())?;
            out.write_all(if cut { &body[..body.len() / 2] } else { body })?;
            out.flush()?;
            out.shutdown(std::net::Shutdown::Both)
        };
    let json_ct = [("Content-Type".to_string(), "application/json".to_string())];
    match fault {
        Fault::Status(code, after) => {
            let mut hs = json_ct.to_vec();
            if let Some(a) = after {
                hs.push(("Retry-After".into(), a.to_string()));
            }
            return respond(&mut out, code, &hs, b"{}", false);
        }
        Fault::NoWrapper => return respond(&mut out, 200, &json_ct, b"{\"data\":[]}", false),
        Fault::Empty => {
            let key = target
                .split('?')
                .next()
                .unwrap_or("")
                .rsplit('/')
                .next()
                .unwrap_or("");
            return respond(
                &mut out,
                200,
                &json_ct,
                format!("{{\"{key}\":[]}}").as_bytes(),
                false,
            );
        }
        Fault::Stall(ms) => std::thread::sleep(Duration::from_millis(ms)),
        Fault::Pass | Fault::Reset => {}
    }
    let mut req = ureq::request(&method, &format!("{upstream}{target}"));
    for (k, v) in &headers {
        if !["host", "content-length", "connection", "accept-encoding"]
            .contains(&k.to_ascii_lowercase().as_str())
        {
            req = req.set(k, v);
        }
    }
    let resp = match req.send_bytes(&body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(std::io::Error::other(e.to_string())),
    };
    let status = resp.status();
    let strip = *strip.lock().unwrap();
    let hs: Vec<(String, String)> = resp
        .headers_names()
        .into_iter()
        .filter(|n| {
            let n = n.to_ascii_lowercase();
            !["content-length", "connection", "transfer-encoding"].contains(&n.as_str())
                && !(strip && (n == "x-total-count" || n == "link"))
        })
        .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let mut bytes = Vec::new();
    resp.into_reader().read_to_end(&mut bytes)?;
    if token && token_life > 0 && status == 200 {
        let mut j: Json = serde_json::from_slice(&bytes).unwrap();
        j["expires_in"] = json!(token_life);
        bytes = j.to_string().into_bytes();
    }
    respond(&mut out, status, &hs, &bytes, fault == Fault::Reset)
}

/// `target` with its `limit` at most `cap`.
fn cap_limit(target: &str, cap: u64) -> String {
    let Some((p, q)) = target.split_once('?') else {
        return target.to_string();
    };
    let q: Vec<String> = q
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some(("limit", v)) => format!("limit={}", v.parse::<u64>().unwrap_or(cap).min(cap)),
            _ => kv.to_string(),
        })
        .collect();
    format!("{p}?{}", q.join("&"))
}

/// Through the proxy: recoverable faults end in a complete sync; a truncated upstream, a body
/// without its key and an upstream that stays down end refused or failed, the store unchanged.
#[test]
fn faults_end_in_a_complete_sync_or_a_refused_one_with_the_store_unchanged() {
    let up = upstream_server();
    let proxy = Proxy::start(&up.base);
    let down = Server::start(TestDb::new(Backend::Sqlite).unwrap(), Settings::default());
    let mut cfg = config(&up, &proxy.base, Version::V1_2, READS);
    cfg.retries = 4;
    cfg.timeout = Duration::from_secs(1);

    // 429 with Retry-After, a burst of 503s, a connection reset mid-page, an expired token
    // (401), a request that times out, every page capped at 10 below the 37 asked, no
    // X-Total-Count nor Link.
    proxy.set(Some(10), true, |n, _| match n {
        1 => Fault::Status(429, Some(1)),
        3..=5 => Fault::Status(503, None),
        8 => Fault::Reset,
        11 => Fault::Status(401, None),
        14 => Fault::Stall(1500),
        _ => Fault::Pass,
    });
    let t0 = std::time::Instant::now();
    let r = synced(&down, &cfg, true);
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was waited"
    );
    assert!(r.retries >= 6, "{} retries", r.retries);
    let seen = proxy.seen();
    let tokens = seen.iter().filter(|l| l.contains("/oauth/token")).count();
    assert_eq!(tokens, 2, "the token renewed once on the 401: {seen:?}");
    // Capped pages never end a collection: paged on until an empty page.
    let users_pages = seen.iter().filter(|l| l.contains("/users?")).count();
    let users = up.db.count(Entity::Users).0 as usize;
    assert!(
        users_pages > users / 10,
        "{users_pages} pages for {users} users"
    );
    assert!(seen
        .iter()
        .all(|l| !l.contains("/users?") || l.contains("limit=37")));
    assert_same(&up, &down, Version::V1_2);
    let before = down.db.snapshot(false);

    // A truncated upstream (a collection stops after its first page): the mass-deletion guard
    // refuses it (users: their guardians' agents name students no longer listed, refused
    // first by the reference checks).
    for (collection, rule) in [("enrollments", "mass-delete"), ("users", "reference")] {
        let wanted = format!("/{collection}?");
        proxy.set(None, true, move |_, t| {
            if t.contains(&wanted) && !t.contains("offset=0") {
                Fault::Empty
            } else {
                Fault::Pass
            }
        });
        let r = sync(&down, &cfg, true);
        assert_eq!(r.import.outcome, Outcome::Rejected);
        let d = r
            .import
            .diags
            .list
            .iter()
            .find(|d| d.rule == rule)
            .unwrap_or_else(|| panic!("{:?}", r.import.diags.list));
        assert!(d.to_string().contains(collection), "{d}");
        if rule == "reference" {
            // A row's diagnostic names the entity and the record's sourcedId, not a line of
            // the temporary package.
            assert!(
                d.file == "upstream users" && d.line == 0 && d.message.starts_with("sourcedId '"),
                "{d}"
            );
        }
        assert_eq!(down.db.snapshot(false), before);
    }

    // A 200 without the collection's key: an error, nothing written.
    proxy.set(None, false, |_, t| {
        if t.contains("/classes?") {
            Fault::NoWrapper
        } else {
            Fault::Pass
        }
    });
    let client = upstream::Client::new(&cfg).unwrap();
    let e = upstream::sync(
        &down.db.store,
        &cfg,
        &client,
        true,
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, SyncError::Client(_)), "{e}");
    assert!(e.to_string().contains("'classes'"), "{e}");
    assert_eq!(down.db.snapshot(false), before);

    // An upstream that stays down: bounded retries, then an error, nothing written.
    proxy.set(None, false, |_, _| Fault::Status(503, None));
    let e = upstream::sync(
        &down.db.store,
        &cfg,
        &client,
        false,
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("gave up after 5 attempts"), "{e}");
    assert_eq!(down.db.snapshot(false), before);
    // The failed run is in the import log with its reason.
    let runs = rosterbridge::store::imports::list(&mut down.db.store.conn().unwrap(), 1).unwrap();
    assert_eq!(runs[0].outcome, "failed");
    assert!(
        runs[0].errors.contains("gave up after 5 attempts"),
        "{}",
        runs[0].errors
    );

    // The upstream back: the delta completes.
    proxy.set(None, false, |_, _| Fault::Pass);
    synced(&down, &cfg, false);
    assert_same(&up, &down, Version::V1_2);
}

/// HTTPS: the upstream served with a certificate of a test CA; `rosterbridge sync` trusts it
/// with --upstream-ca-file (and refuses it without), reading the secret from a file.
#[test]
fn sync_over_https_trusts_an_extra_ca() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "rosterbridge test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let (ca_pem, cert_pem, key_pem) = (
        dir.path().join("ca.pem"),
        dir.path().join("cert.pem"),
        dir.path().join("key.pem"),
    );
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    std::fs::write(&cert_pem, cert.pem()).unwrap();
    std::fs::write(&key_pem, key.serialize_pem()).unwrap();

    let db = TestDb::new(Backend::Sqlite).unwrap();
    db.import_generated(1, 20, 3);
    let up = Server::start(
        db,
        Settings {
            tls: Some((cert_pem, key_pem)),
            ..Default::default()
        },
    );
    let base = up.base.replace("http://127.0.0.1", "https://localhost");
    // No resource scope: the resources are skipped, the roster still lands.
    let sc = scopes(&["roster.readonly", "roster-demographics.readonly"]);
    let sc: Vec<&str> = sc.iter().map(String::as_str).collect();
    let (id, secret) = up.client(&sc, &[]);
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let down = TestDb::new(Backend::Sqlite).unwrap();
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(crate::common::bin())
            .args(["sync", "--json", "--upstream", &base, "--token-url"])
            .arg(format!("{base}/oauth/token"))
            .args(["--client-id", &id, "--client-secret-file"])
            .arg(&secret_file)
            .args(extra)
            .env("DATABASE_URL", &down.url)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, _, err) = run(&["--upstream-retries", "0"]);
    assert_eq!(code, 1, "an unknown CA is refused: {err}");
    assert!(err.contains("store is unchanged"), "{err}");
    assert_eq!(down.count(Entity::Users).0, 0);
    let (code, out, err) = run(&["--upstream-ca-file", ca_pem.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let report: Json = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["kind"], "full");
    assert_eq!(report["outcome"], "committed");
    assert_eq!(down.count(Entity::Users), up.db.count(Entity::Users));
    assert_eq!(
        report["counts"]["users"]["inserted"],
        json!(up.db.count(Entity::Users).0)
    );
}

/// Results apps write to the downstream arrive upstream once, also when a push is cut off half
/// way; what the sync received is never pushed back.
#[test]
fn grade_push_sends_app_writes_once_even_after_an_interrupted_push() {
    push_once(Version::V1_2);
}

/// The same against a 1.1 upstream (its gradebook PUTs under `/ims/oneroster/v1p1`).
#[test]
fn grade_push_to_a_1p1_upstream() {
    push_once(Version::V1_1);
}

fn push_once(version: Version) {
    let up = upstream_server();
    let proxy = Proxy::start(&up.base);
    let down = Server::start(TestDb::new(Backend::Sqlite).unwrap(), Settings::default());
    let mut short: Vec<&str> = READS.to_vec();
    short.extend([
        "gradebook.readonly",
        "gradebook.createput",
        "gradebook.delete",
    ]);
    let mut cfg = config(&up, &proxy.base, version, &short);
    cfg.retries = 1;
    cfg.push_grades = true;
    // Client credentials in the form body (PowerSchool's way) rather than HTTP Basic.
    if let Auth::OAuth2 { in_body, .. } = &mut cfg.auth {
        *in_body = true;
    }
    synced(&down, &cfg, true);
    let queued = |s: &Server| {
        rosterbridge::store::upstream::queued(&mut s.db.store.conn().unwrap()).unwrap()
    };
    assert!(
        queued(&down).is_empty(),
        "nothing received is queued for the push"
    );

    // An app writes a line item and a result per student of one class to the downstream.
    let sc = scopes(&["gradebook.readonly", "gradebook.createput"]);
    let sc: Vec<&str> = sc.iter().map(String::as_str).collect();
    let app = down.token(&sc, &[]);
    let gb = "/ims/oneroster/gradebook/v1p2";
    let class = down.db.all(Entity::Classes)[0].sourced_id.clone();
    let students: Vec<String> = down
        .db
        .all(Entity::Enrollments)
        .into_iter()
        .filter(|e| {
            e.get("classSourcedId") == Some(class.as_str()) && e.get("role") == Some("student")
        })
        .filter_map(|e| e.get("userSourcedId").map(str::to_string))
        .collect();
    assert!(students.len() >= 4, "{} students", students.len());
    let term = down
        .db
        .all(Entity::AcademicSessions)
        .into_iter()
        .find(|a| a.get("type") == Some("term"))
        .unwrap()
        .sourced_id;
    let r = down.put(
        &format!("{gb}/categories/cat-essays"),
        &app,
        &json!({"category": {"sourcedId": "cat-essays", "title": "Essays"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = down.put(
        &format!("{gb}/lineItems/li-essay"),
        &app,
        &json!({"lineItem": {"sourcedId": "li-essay", "title": "Essay", "class": {"sourcedId": class},
            "category": {"sourcedId": "cat-essays"}, "academicSession": {"sourcedId": term},
            "assignDate": "2026-12-01", "dueDate": "2026-12-08", "resultValueMin": 0, "resultValueMax": 10}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    for (i, s) in students.iter().enumerate() {
        let r = down.put(
            &format!("{gb}/results/res-{i}"),
            &app,
            &json!({"result": {"sourcedId": format!("res-{i}"), "lineItem": {"sourcedId": "li-essay"},
                "student": {"sourcedId": s}, "scoreStatus": "fully graded", "score": i, "scoreDate": "2026-12-09"}}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    assert_eq!(queued(&down).len(), students.len() + 2);

    // The push is cut off after three records: what was accepted leaves the outbox.
    let puts = Arc::new(AtomicUsize::new(0));
    let p2 = puts.clone();
    proxy.set(None, false, move |_, _| {
        if p2.fetch_add(1, Ordering::SeqCst) >= 3 {
            Fault::Status(503, None)
        } else {
            Fault::Pass
        }
    });
    let client = upstream::Client::new(&cfg).unwrap();
    let p = upstream::push::push(&down.db.store, &cfg, &client).unwrap();
    assert_eq!(p.sent, 3);
    assert!(p.interrupted.is_some());
    assert_eq!(queued(&down).len(), students.len() + 2 - 3);
    let failed: Vec<_> = queued(&down)
        .into_iter()
        .filter(|q| q.attempts > 0)
        .collect();
    assert_eq!(failed.len(), 1, "the record being sent is marked failed");
    assert!(failed[0].last_error.as_deref().unwrap().contains("503"));

    // The next run sends the rest; the upstream holds each result once, as written.
    proxy.set(None, false, |_, _| Fault::Pass);
    let p = upstream::push::push(&down.db.store, &cfg, &client).unwrap();
    assert_eq!(p.sent as usize, students.len() + 2 - 3);
    assert!(p.failed.is_empty() && p.interrupted.is_none());
    assert!(queued(&down).is_empty());
    let sc = scopes(&["gradebook.readonly"]);
    let sc: Vec<&str> = sc.iter().map(String::as_str).collect();
    let t = up.token(&sc, &[]);
    let got = up.get(&format!("{gb}/results?limit=10000"), &t).json();
    let results: Vec<&Json> = got["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["lineItem"]["sourcedId"] == "li-essay")
        .collect();
    assert_eq!(results.len(), students.len());
    for (i, s) in students.iter().enumerate() {
        let r = results
            .iter()
            .find(|r| r["sourcedId"] == format!("res-{i}"))
            .unwrap();
        assert_eq!(r["student"]["sourcedId"], json!(s));
        assert_eq!(r["score"].as_f64(), Some(i as f64));
    }
    // A run with nothing queued sends nothing; the sync does not queue what it receives.
    let p = upstream::push::push(&down.db.store, &cfg, &client).unwrap();
    assert_eq!((p.sent, p.deleted), (0, 0));
    synced(&down, &cfg, false);
    assert!(queued(&down).is_empty());
}

/// `serve` with a schedule: the upstream and the schedule from the TOML file's `[upstream]`
/// table, the client id from the environment, the secret from
/// ROSTERBRIDGE_UPSTREAM_CLIENT_SECRET; the server syncs by itself.
#[test]
fn serve_syncs_on_its_schedule_from_the_config_file() {
    let up = upstream_server();
    let sc = scopes(READS);
    let sc: Vec<&str> = sc.iter().map(String::as_str).collect();
    let (id, secret) = up.client(&sc, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("rb.toml");
    std::fs::write(
        &config,
        format!(
            "max-limit = 500\n[upstream]\nurl = \"{}\"\nversion = \"1.2\"\ntoken-url = \"{}/oauth/token\"\npage-size = 50\nconcurrency = 1\nsync-every = \"1s\"\nfull-sync-every = \"1d\"\n",
            up.base, up.base
        ),
    )
    .unwrap();
    let down = TestDb::new(Backend::Sqlite).unwrap();
    let mut child = std::process::Command::new(crate::common::bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("DATABASE_URL", &down.url)
        .env("ROSTERBRIDGE_UPSTREAM_CLIENT_ID", &id)
        .env("ROSTERBRIDGE_UPSTREAM_CLIENT_SECRET", &secret)
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    let want = up.db.count(Entity::Users);
    while down.count(Entity::Users) != want && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(down.count(Entity::Users), want);
    let runs = rosterbridge::store::imports::list(&mut down.store.conn().unwrap(), 10).unwrap();
    assert!(runs
        .iter()
        .any(|r| r.source == format!("upstream full {}", up.base)));
}

/// A store first loaded from the SIS's CSV export moves to the API without churn: a full sync
/// of the same district changes nothing (roles and resource links keep their CSV ids), and a
/// delta after an upstream change to a user's roles moves just those.
#[test]
fn a_store_loaded_from_csv_keeps_its_ids_when_it_moves_to_the_api() {
    for version in [Version::V1_2, Version::V1_1] {
        let up = upstream_server();
        let db = TestDb::new(Backend::Sqlite).unwrap();
        db.import_generated(2, 40, 19);
        let down = Server::start(db, Settings::default());
        let cfg = config(&up, &up.base, version, READS);
        let roles_before = down.db.snapshot(false)["roles"].clone();
        let r = synced(&down, &cfg, true);
        if version == Version::V1_2 {
            assert!(changed(&r).is_empty(), "{version:?}: {:?}", changed(&r));
            assert_eq!(down.db.snapshot(false)["roles"], roles_before);
        } else {
            // 1.1 says less about a user (one role, its orgs): only what 1.1 cannot carry moves.
            assert!(
                !changed(&r).contains_key("enrollments"),
                "{:?}",
                changed(&r)
            );
        }
        assert_same(&up, &down, version);
        // Upstream, a teacher gains a role at a second school: the delta adds that role only.
        let teacher = up
            .db
            .all(Entity::Roles)
            .into_iter()
            .find(|r| r.get("role") == Some("teacher"))
            .unwrap();
        let other = up
            .db
            .all(Entity::Orgs)
            .into_iter()
            .find(|o| {
                o.get("type") == Some("school")
                    && Some(o.sourced_id.as_str()) != teacher.get("orgSourcedId")
            })
            .unwrap();
        let mut extra = teacher.clone();
        extra.sourced_id = format!("{}-second", teacher.sourced_id);
        extra.set("orgSourcedId", other.sourced_id.clone());
        extra.set("roleType", "secondary");
        let mut user = up
            .db
            .get(Entity::Users, teacher.get("userSourcedId").unwrap())
            .unwrap();
        user.set("givenName", "Moved");
        change(&up.db, vec![extra, user]);
        let r = synced(&down, &cfg, false);
        let c = changed(&r);
        assert_eq!(c["users"], (0, 1, 0), "{version:?}: {c:?}");
        if version == Version::V1_2 {
            assert_eq!(c["roles"], (1, 0, 0), "{c:?}");
        }
        assert_same(&up, &down, version);
    }
}

/// A token is renewed before it expires (here: a 2 s token, renewed a second early, on a sync
/// of requests taking 0.3 s each), never used stale: no request is refused for it.
#[test]
fn the_token_is_renewed_before_it_expires() {
    let up = upstream_server();
    let proxy = Proxy::start(&up.base);
    let down = Server::start(TestDb::new(Backend::Sqlite).unwrap(), Settings::default());
    let cfg = config(&up, &proxy.base, Version::V1_2, READS);
    proxy
        .token_life
        .store(2, std::sync::atomic::Ordering::SeqCst);
    proxy.set(None, false, |_, _| Fault::Stall(300));
    let r = synced(&down, &cfg, true);
    assert_eq!(r.retries, 0, "no request refused or retried");
    let seen = proxy.seen();
    let tokens = seen.iter().filter(|l| l.contains("/oauth/token")).count();
    assert!(
        tokens >= 3,
        "renewed before expiry, more than once: {tokens} tokens"
    );
    assert_same(&up, &down, Version::V1_2);
}
