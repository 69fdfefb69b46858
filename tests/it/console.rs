//! The web console over real HTTP on loopback: sign-in, sessions shared through the store,
//! CSRF, the login throttle, apps created from the console and used over REST (seeing only
//! their school, refused after rotation or when disabled), secrets shown once, the audit log,
//! and imports (validation report, preview, apply, the mass-deletion confirmation). The same
//! flows in a real browser are `scripts/console-browser`.

use std::io::Write;
use std::path::Path;

use rosterbridge::http::server::{self, Settings};
use rosterbridge::model::catalog::Entity;

use crate::http::{send, Resp, Server};

const PASSWORD: &str = "correct horse battery";

/// A browser-like client: no redirects followed, the session cookie kept.
struct Console {
    agent: ureq::Agent,
    base: String,
    cookie: Option<String>,
}

impl Console {
    fn new(base: &str) -> Console {
        Console {
            agent: ureq::AgentBuilder::new().redirects(0).build(),
            base: base.to_string(),
            cookie: None,
        }
    }

    fn req(&self, method: &str, path: &str) -> ureq::Request {
        let r = self.agent.request(method, &format!("{}{path}", self.base));
        match &self.cookie {
            Some(c) => r.set("Cookie", &format!("rb_console={c}")),
            None => r,
        }
    }

    fn get(&self, path: &str) -> Resp {
        send(self.req("GET", path), None)
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        send(
            self.req("POST", path)
                .set("Content-Type", "application/x-www-form-urlencoded"),
            Some(&body),
        )
    }

    fn sign_in(&mut self, name: &str, password: &str) -> Resp {
        // The form first: its sign-in token, in the page and in a cookie.
        let form = self.get("/console/login");
        let token =
            between(&form.text, "name=\"login_token\" value=\"", "\"").expect("a login token");
        let cookie = form
            .header("set-cookie")
            .expect("a login cookie")
            .to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        let pair = cookie.split(';').next().unwrap().to_string();
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("name", name),
                ("password", password),
                ("next", "/console"),
                ("login_token", &token),
            ])
            .finish();
        let r = send(
            self.agent
                .post(&format!("{}/console/login", self.base))
                .set("Cookie", &pair)
                .set("Content-Type", "application/x-www-form-urlencoded"),
            Some(&body),
        );
        if let Some(c) = r.header("set-cookie") {
            let v = c.split(';').next().unwrap().split_once('=').unwrap().1;
            self.cookie = Some(v.to_string());
        }
        r
    }

    /// The CSRF token of the signed-in session (from a page's forms).
    fn csrf(&self) -> String {
        let page = self.get("/console/apps/new").text;
        between(&page, "name=\"csrf\" value=\"", "\"").expect("a csrf field")
    }

    fn upload(&self, csrf: &str, name: &str, bytes: &[u8]) -> Resp {
        let boundary = "rbTestBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"package\"; filename=\"{name}\"\r\nContent-Type: application/zip\r\n\r\n"
        )
        .unwrap();
        body.extend_from_slice(bytes);
        write!(body, "\r\n--{boundary}--\r\n").unwrap();
        let r = self
            .req("POST", "/console/imports")
            .set(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .send_bytes(&body);
        match r {
            Ok(r) | Err(ureq::Error::Status(_, r)) => Resp {
                status: r.status(),
                headers: r
                    .headers_names()
                    .into_iter()
                    .map(|n| (n.clone(), r.header(&n).unwrap_or("").to_string()))
                    .collect(),
                text: r.into_string().unwrap(),
            },
            Err(e) => panic!("{e}"),
        }
    }

    /// Wait for an upload job's page to stop refreshing itself; its final text.
    fn settled(&self, job: &str) -> String {
        for _ in 0..600 {
            let page = self.get(job);
            assert_eq!(page.status, 200, "{}", page.text);
            if !page.text.contains("http-equiv=\"refresh\"") {
                return page.text;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the job at {job} did not finish");
    }
}

fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(s[i..j].to_string())
}

/// HTML-escaped text back to text (what minijinja escapes).
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn add_admin(server: &Server, name: &str) {
    let mut conn = server.db.store.conn().unwrap();
    rosterbridge::auth::admins::add(&mut conn, "test", name, PASSWORD).unwrap();
}

fn zip_dir(dir: &Path) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default();
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            z.start_file(e.file_name().to_string_lossy(), opts).unwrap();
            z.write_all(&std::fs::read(e.path()).unwrap()).unwrap();
        }
        z.finish().unwrap();
    }
    out.into_inner()
}

crate::both!(
    sessions_are_shared_through_the_store_and_forms_need_their_token,
    |db| {
        let url = db.url.clone();
        let server = Server::start(db, Settings::default());
        add_admin(&server, "alice");
        let mut c = Console::new(&server.base);
        // Signed out: every page sends the browser to the sign-in page, keeping where it was going.
        let r = c.get("/console/apps");
        assert_eq!(r.status, 303);
        assert_eq!(
            r.header("location"),
            Some("/console/login?next=%2Fconsole%2Fapps")
        );
        assert_eq!(c.get("/console/audit").status, 303);
        // A sign-in posted without the form's token pair (from another site) is refused.
        let r = c.post(
            "/console/login",
            &[("name", "alice"), ("password", PASSWORD)],
        );
        assert_eq!(r.status, 403);
        assert!(r.header("set-cookie").is_none());
        // A wrong password is refused without a cookie.
        let r = c.sign_in("alice", "wrong password here");
        assert_eq!(r.status, 401);
        assert!(r.header("set-cookie").is_none());
        assert!(r.text.contains("Unknown administrator or wrong password"));
        let r = c.sign_in("alice", PASSWORD);
        assert_eq!(r.status, 303, "{}", r.text);
        let cookie = r.header("set-cookie").unwrap().to_string();
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
            assert!(cookie.contains(attr), "{cookie}");
        }
        assert!(
            !cookie.contains("Secure"),
            "plain HTTP: no Secure attribute ({cookie})"
        );
        let page = c.get("/console");
        assert_eq!(page.status, 200);
        assert!(page.text.contains("alice") && page.text.contains("What the store holds"));
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert!(page
            .header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'"));
        // The token is stored hashed only.
        let stored: Vec<String> = {
            use diesel::prelude::*;
            use rosterbridge::store::schema::console_sessions::dsl::*;
            console_sessions
                .select(token_hash)
                .load(&mut *server.db.store.conn().unwrap())
                .unwrap()
        };
        assert_eq!(stored.len(), 1);
        assert_ne!(&stored[0], c.cookie.as_ref().unwrap());

        // A second instance on the same database knows the session.
        let second = server::start(
            rosterbridge::store::Store::open(&url).unwrap(),
            Settings {
                bind: "127.0.0.1:0".into(),
                workers: 1,
                server_key: Some(server.key.clone()),
                ..Settings::default()
            },
        )
        .unwrap();
        let mut other = Console::new(&format!("http://{}", second.addr));
        other.cookie = c.cookie.clone();
        let r = other.get("/console/apps");
        assert_eq!(r.status, 200, "a session from the other instance works");
        // A forged cookie does not.
        let mut forged = Console::new(&server.base);
        forged.cookie = Some("ab".repeat(32));
        assert_eq!(forged.get("/console").status, 303);
        assert_eq!(forged.get("/console/apps").status, 303);

        // A form without the CSRF token, or with another session's, is refused and changes nothing.
        let r = c.post(
            "/console/apps/new",
            &[
                ("name", "x"),
                ("scope", "rosters"),
                ("reach", "all"),
                ("action", "create"),
            ],
        );
        assert_eq!(r.status, 403, "{}", r.text);
        let mut bob = Console::new(&server.base);
        add_admin(&server, "bob");
        bob.sign_in("bob", PASSWORD);
        let bobs = bob.csrf();
        let r = c.post(
            "/console/apps/new",
            &[
                ("csrf", &bobs),
                ("name", "x"),
                ("scope", "rosters"),
                ("reach", "all"),
                ("action", "create"),
            ],
        );
        assert_eq!(r.status, 403);
        assert!(
            rosterbridge::store::clients::list(&mut server.db.store.conn().unwrap())
                .unwrap()
                .is_empty()
        );
        let r = c.post("/console/logout", &[]);
        assert_eq!(r.status, 403, "signing out needs the token too");

        // A session idle past its limit, or older than the absolute limit, is over (and deleted).
        let age = |column: &str| {
            use diesel::connection::SimpleConnection;
            server
                .db
                .store
                .conn()
                .unwrap()
                .batch_execute(&format!(
                    "UPDATE console_sessions SET {column} = '2000-01-01T00:00:00.000Z'"
                ))
                .unwrap();
        };
        let mut idle = Console::new(&server.base);
        idle.sign_in("bob", PASSWORD);
        assert_eq!(idle.get("/console").status, 200);
        age("last_seen");
        assert_eq!(idle.get("/console").status, 303, "idle too long");
        assert_eq!(c.get("/console").status, 303, "every session aged");
        let count = || -> i64 {
            use diesel::prelude::*;
            use rosterbridge::store::schema::console_sessions::dsl::*;
            console_sessions
                .count()
                .get_result(&mut *server.db.store.conn().unwrap())
                .unwrap()
        };
        assert_eq!(count(), 1, "the expired ones checked so far are deleted");
        let mut old = Console::new(&server.base);
        old.sign_in("bob", PASSWORD);
        age("created_at");
        assert_eq!(
            old.get("/console").status,
            303,
            "past the absolute limit, however recently used"
        );
        c.sign_in("alice", PASSWORD);
        other.cookie = c.cookie.clone();

        // Signing out ends the session on every instance.
        let csrf = c.csrf();
        let r = c.post("/console/logout", &[("csrf", &csrf)]);
        assert_eq!(r.status, 303);
        assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
        assert_eq!(c.get("/console").status, 303);
        assert_eq!(other.get("/console").status, 303);
        second.stop();

        // Failed sign-ins are throttled (then even the right password waits).
        let mut t = Console::new(&server.base);
        let mut codes = Vec::new();
        for _ in 0..12 {
            codes.push(t.sign_in("bob", "not the password").status);
        }
        assert!(codes.contains(&429), "{codes:?}");
        let r = t.sign_in("bob", PASSWORD);
        assert_eq!(r.status, 429);
        assert!(r.header("retry-after").is_some());
    }
);

crate::both!(
    an_app_registered_in_the_console_sees_only_its_school,
    |db| {
        db.import_generated(3, 30, 4);
        let server = Server::start(db, Settings::default());
        add_admin(&server, "alice");
        let mut c = Console::new(&server.base);
        c.sign_in("alice", PASSWORD);
        let csrf = c.csrf();
        let school = "org-sch-001";
        let form = |action: &'static str| {
            vec![
                ("csrf", csrf.clone()),
                ("name", "Math Quest".to_string()),
                ("scope", "rosters".to_string()),
                ("reach", "some".to_string()),
                ("org", school.to_string()),
                ("action", action.to_string()),
            ]
        };
        let as_refs =
            |f: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { f.clone() };
        let post = |c: &Console, path: &str, f: &[(&str, String)]| {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.post(path, &pairs)
        };
        // The preview counts what the app will see, and registers nothing.
        let preview = post(&c, "/console/apps/new", &as_refs(&form("preview")));
        assert_eq!(preview.status, 200, "{}", preview.text);
        let users_seen: i64 = between(&preview.text, "id=\"reach-users\">", "<")
            .unwrap()
            .parse()
            .unwrap();
        let classes_seen: i64 = between(&preview.text, "id=\"reach-classes\">", "<")
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            users_seen > 0 && users_seen < server.db.count(Entity::Users).0,
            "{users_seen}"
        );
        assert!(
            rosterbridge::store::clients::list(&mut server.db.store.conn().unwrap())
                .unwrap()
                .is_empty()
        );
        // A form missing its choices is refused with a reason.
        let r = c.post(
            "/console/apps/new",
            &[
                ("csrf", &csrf),
                ("name", "No scopes"),
                ("reach", "all"),
                ("action", "create"),
            ],
        );
        assert_eq!(r.status, 400);
        assert!(r.text.contains("Choose at least one thing"));

        let created = post(&c, "/console/apps/new", &form("create"));
        assert_eq!(created.status, 200, "{}", created.text);
        let id = between(&created.text, "id=\"client-id\">", "<").unwrap();
        let secret = between(&created.text, "id=\"client-secret\">", "<").unwrap();
        let token_url = unescape(&between(&created.text, "id=\"token-url\">", "<").unwrap());
        assert_eq!(token_url, format!("{}/oauth/token", server.base));
        let shown = unescape(&created.text);
        assert!(shown.contains(&format!("{}/ims/oneroster/rostering/v1p2", server.base)));
        assert!(shown.contains(&format!("{}/ims/oneroster/v1p1", server.base)));
        assert!(shown.contains(&format!(
            "{}/lis/v2p0/PersonManagementService?wsdl",
            server.base
        )));

        // The credentials work over REST 1.2 and see the school only: the preview's counts.
        let token =
            |secret: &str| server.post_token(Some((&id, secret)), "grant_type=client_credentials");
        let t = token(&secret);
        assert_eq!(t.status, 200, "{}", t.text);
        let bearer = t.json()["access_token"].as_str().unwrap().to_string();
        let users = server.get("/ims/oneroster/rostering/v1p2/users?limit=1", &bearer);
        assert_eq!(users.status, 200);
        assert_eq!(
            users
                .header("x-total-count")
                .unwrap()
                .parse::<i64>()
                .unwrap(),
            users_seen
        );
        let classes = server.get("/ims/oneroster/rostering/v1p2/classes?limit=1", &bearer);
        assert_eq!(
            classes
                .header("x-total-count")
                .unwrap()
                .parse::<i64>()
                .unwrap(),
            classes_seen
        );
        let other = server.get("/ims/oneroster/rostering/v1p2/schools/org-sch-002", &bearer);
        assert_eq!(other.status, 404, "another school is not visible");
        // "View as app" shows the same total the app receives; demographics it may not read.
        let view = c.get(&format!("/console/apps/{id}/view?what=users"));
        assert!(
            view.text
                .contains(&format!("<strong>{users_seen}</strong> users")),
            "{}",
            view.text
        );
        let view = c.get(&format!("/console/apps/{id}/view?what=demographics"));
        assert!(view.text.contains("id=\"refused\""));

        // The app's page never shows the secret again.
        let page = c.get(&format!("/console/apps/{id}"));
        assert_eq!(page.status, 200);
        assert!(!page.text.contains(&secret));
        assert!(!c.get("/console/apps").text.contains(&secret));
        assert!(!c.get("/console").text.contains(&secret));

        // Rotating: a new secret shown once; the old secret and its token stop at once.
        let rotated = c.post(
            &format!("/console/apps/{id}"),
            &[("csrf", &csrf), ("action", "rotate")],
        );
        assert_eq!(rotated.status, 200);
        let new_secret = between(&rotated.text, "id=\"client-secret\">", "<").unwrap();
        assert_ne!(new_secret, secret);
        assert_eq!(
            server
                .get("/ims/oneroster/rostering/v1p2/users?limit=1", &bearer)
                .status,
            401
        );
        assert_eq!(token(&secret).status, 401);
        let t = token(&new_secret);
        assert_eq!(t.status, 200);
        let bearer = t.json()["access_token"].as_str().unwrap().to_string();
        assert!(!c
            .get(&format!("/console/apps/{id}"))
            .text
            .contains(&new_secret));

        // Widening to the whole district takes effect from the next token.
        let r = c.post(
            &format!("/console/apps/{id}"),
            &[
                ("csrf", &csrf),
                ("scope", "rosters"),
                ("reach", "all"),
                ("action", "save"),
            ],
        );
        assert_eq!(r.status, 303);
        let t = token(&new_secret).json()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let users = server.get("/ims/oneroster/rostering/v1p2/users?limit=1", &t);
        assert_eq!(
            users
                .header("x-total-count")
                .unwrap()
                .parse::<i64>()
                .unwrap(),
            server.db.count(Entity::Users).0
        );
        assert_eq!(
            server
                .get("/ims/oneroster/rostering/v1p2/users?limit=1", &bearer)
                .status,
            401,
            "saving revoked the tokens"
        );

        // Disabled: refused; enabled again: works; usage is counted.
        c.post(
            &format!("/console/apps/{id}"),
            &[("csrf", &csrf), ("action", "disable")],
        );
        assert_eq!(
            server
                .get("/ims/oneroster/rostering/v1p2/users?limit=1", &t)
                .status,
            401
        );
        assert_eq!(token(&new_secret).status, 401);
        c.post(
            &format!("/console/apps/{id}"),
            &[("csrf", &csrf), ("action", "enable")],
        );
        assert_eq!(token(&new_secret).status, 200);
        let page = c.get(&format!("/console/apps/{id}"));
        assert!(
            page.text.contains("id=\"usage\""),
            "usage is shown: {}",
            page.text
        );

        // Every change is in the audit log, with who made it.
        let audit = c.get("/console/audit").text;
        for action in [
            "app.create",
            "app.rotate-secret",
            "app.update",
            "app.disable",
            "app.enable",
            "console.sign-in",
        ] {
            assert!(
                audit.contains(action),
                "{action} missing from the audit log"
            );
        }
        assert!(audit.contains("alice"));

        // The roster browser: users by e-mail or family-name prefix in any case, or exact id.
        let u = server
            .db
            .all(Entity::Users)
            .into_iter()
            .find(|u| u.get("email").is_some() && u.get("familyName").is_some_and(|f| f.len() > 3))
            .unwrap();
        let email = u.get("email").unwrap().to_uppercase();
        let r = c.get(&format!(
            "/console/roster?kind=users&q={}",
            crate::http::enc(&email)
        ));
        assert!(
            r.text
                .contains(&format!("/console/roster/users/{}", u.sourced_id)),
            "{}",
            r.text
        );
        let r = c.get(&format!(
            "/console/roster?kind=users&q={}",
            crate::http::enc(&u.sourced_id)
        ));
        assert!(r
            .text
            .contains(&format!("/console/roster/users/{}", u.sourced_id)));
        let fam = u.get("familyName").unwrap().to_lowercase();
        let r = c.get(&format!(
            "/console/roster?kind=users&q={}",
            crate::http::enc(&fam)
        ));
        let shown: Vec<String> = r
            .text
            .split("/console/roster/users/")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_string())
            .collect();
        assert!(!shown.is_empty());
        for id in shown.iter().filter(|id| **id != u.sourced_id) {
            let other = server.db.get(Entity::Users, id).unwrap();
            let starts = |f: &str| {
                other
                    .get(f)
                    .is_some_and(|v| v.to_lowercase().starts_with(&fam))
            };
            assert!(
                starts("familyName")
                    || starts("givenName")
                    || starts("email")
                    || starts("username"),
                "{id} does not match {fam}"
            );
        }
        let r = c.get("/console/roster?kind=users&q=zzzqqq");
        assert!(r.text.contains("0 match(es)"));
        let page = c.get(&format!("/console/roster/users/{}", u.sourced_id));
        assert!(page.text.contains("<h2>Roles (") && page.text.contains("<h2>Enrollments ("));

        // Deleting needs the confirmation.
        let r = c.post(
            &format!("/console/apps/{id}"),
            &[("csrf", &csrf), ("action", "delete")],
        );
        assert_eq!(r.status, 400);
        let r = c.post(
            &format!("/console/apps/{id}"),
            &[("csrf", &csrf), ("action", "delete"), ("confirm", "yes")],
        );
        assert_eq!(r.status, 303);
        assert_eq!(token(&new_secret).status, 401);
        assert_eq!(c.get(&format!("/console/apps/{id}")).status, 404);
    }
);

crate::both!(console_imports_show_errors_preview_and_apply, |db| {
    let server = Server::start(db, Settings::default());
    add_admin(&server, "alice");
    let mut c = Console::new(&server.base);
    c.sign_in("alice", PASSWORD);
    let csrf = c.csrf();
    // Without the token nothing is stored.
    assert_eq!(c.upload("nope", "x.zip", b"PK").status, 403);

    // A package with an error: its file, line, column and rule; nothing written.
    let bad = crate::common::copy_fixture("valid-1.2");
    crate::common::edit(
        bad.path(),
        "enrollments.csv",
        "e2,,,k1,s1,u2,student",
        "e2,,,k1,s1,u2,pupil",
    );
    let r = c.upload(&csrf, "bad district.zip", &zip_dir(bad.path()));
    assert_eq!(r.status, 303, "{}", r.text);
    let job = r.header("location").unwrap().to_string();
    let page = c.settled(&job);
    assert!(page.contains("id=\"validation-failed\""), "{page}");
    assert!(
        page.contains("<td>enrollments.csv</td><td class=\"num\">3</td><td>role</td>"),
        "{page}"
    );
    assert!(page.contains("pupil"));
    assert!(!page.contains("id=\"apply-button\""));
    assert_eq!(server.db.count(Entity::Users).0, 0);

    // A good one: a preview, nothing written until applied.
    let dir = tempfile::tempdir().unwrap();
    rosterbridge::generate::generate(
        dir.path(),
        &rosterbridge::generate::GenerateOptions {
            schools: 2,
            students_per_school: 40,
            seed: 3,
            version: rosterbridge::model::catalog::Version::V1_2,
        },
    )
    .unwrap();
    let r = c.upload(&csrf, "district.zip", &zip_dir(dir.path()));
    let job = r.header("location").unwrap().to_string();
    let page = c.settled(&job);
    assert!(page.contains("id=\"preview-ready\""), "{page}");
    assert_eq!(
        server.db.count(Entity::Users).0,
        0,
        "a preview writes nothing"
    );
    let users_row = between(&page, "<td>users</td>", "</tr>").unwrap();
    let inserted: Vec<String> = users_row
        .split("<td class=\"num\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect();
    let total_users = std::fs::read_to_string(dir.path().join("users.csv"))
        .unwrap()
        .lines()
        .count() as i64
        - 1;
    assert_eq!(
        inserted[1],
        total_users.to_string(),
        "rows, inserted, ...: {inserted:?}"
    );
    let r = c.post(&format!("{job}/apply"), &[("csrf", &csrf)]);
    assert_eq!(r.status, 303);
    let page = c.settled(&job);
    assert!(page.contains("id=\"applied\""), "{page}");
    assert_eq!(server.db.count(Entity::Users).0, total_users);

    // An enrollments.csv cut to a tenth: the guard objects in the preview; applying needs the
    // confirmation.
    let enr = std::fs::read_to_string(dir.path().join("enrollments.csv")).unwrap();
    let lines: Vec<&str> = enr.lines().collect();
    let keep = 1 + (lines.len() - 1) / 10;
    std::fs::write(
        dir.path().join("enrollments.csv"),
        lines[..keep].join("\n") + "\n",
    )
    .unwrap();
    let before = server.db.count(Entity::Enrollments).0;
    let r = c.upload(&csrf, "cut.zip", &zip_dir(dir.path()));
    let job = r.header("location").unwrap().to_string();
    let page = c.settled(&job);
    assert!(page.contains("id=\"mass-delete\""), "{page}");
    assert!(page.contains("would tombstone"));
    let r = c.post(&format!("{job}/apply"), &[("csrf", &csrf)]);
    assert_eq!(r.status, 400);
    assert_eq!(server.db.count(Entity::Enrollments).0, before);
    let r = c.post(
        &format!("{job}/apply"),
        &[("csrf", &csrf), ("confirm", "yes")],
    );
    assert_eq!(r.status, 303);
    let page = c.settled(&job);
    assert!(page.contains("id=\"applied\""), "{page}");
    assert_eq!(server.db.count(Entity::Enrollments).0, (keep - 1) as i64);

    // The history lists every run; the audit log the confirmed deletions.
    let list = c.get("/console/imports").text;
    assert!(
        list.contains("district.zip")
            && list.contains("cut.zip")
            && list.contains("bad_district.zip")
    );
    assert!(c
        .get("/console/audit")
        .text
        .contains("import.apply-confirmed-deletions"));
    // A cancelled upload cannot be applied.
    let r = c.upload(&csrf, "again.zip", &zip_dir(dir.path()));
    let job = r.header("location").unwrap().to_string();
    c.settled(&job);
    assert_eq!(
        c.post(&format!("{job}/cancel"), &[("csrf", &csrf)]).status,
        303
    );
    assert_eq!(
        c.post(&format!("{job}/apply"), &[("csrf", &csrf)]).status,
        400
    );
});

crate::both!(
    sharing_rules_previewed_and_saved_and_imports_undone_in_the_console,
    |db| {
        db.import(&crate::common::fixture("valid-1.2"));
        let server = Server::start(db, Settings::default());
        add_admin(&server, "alice");
        let mut c = Console::new(&server.base);
        assert_eq!(c.sign_in("alice", PASSWORD).status, 303);
        let csrf = c.csrf();
        let (id, secret) = server.client(&[], &[]);
        let token = || {
            let r = server.post_token(Some((&id, &secret)), "grant_type=client_credentials");
            r.json()["access_token"].as_str().unwrap().to_string()
        };
        let t = token();
        let users = |t: &str| {
            let mut v = server
                .get("/ims/oneroster/rostering/v1p2/users", t)
                .ids("users");
            v.sort();
            v
        };
        assert_eq!(users(&t).len(), 4);
        let path = format!("/console/apps/{id}");
        // Preview: what the rule gains and loses, nothing saved yet.
        let r = c.post(
            &path,
            &[
                ("csrf", &csrf),
                ("action", "share-preview"),
                ("rules", "course=c2\r\n"),
                ("mask", "email"),
            ],
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let num = |page: &str, id: &str| -> i64 {
            between(page, &format!("id=\"{id}\">"), "<")
                .unwrap_or_else(|| panic!("{id} in {page}"))
                .parse()
                .unwrap()
        };
        assert_eq!(num(&r.text, "lose-users"), 3, "g1, t1u, u1 would go");
        assert_eq!(num(&r.text, "gain-users"), 0);
        assert_eq!(num(&r.text, "lose-classes"), 1);
        assert_eq!(num(&r.text, "lose-orgs"), 2, "d1 and s2");
        assert!(r.text.contains("g1, t1u, u1"), "a sample of those lost");
        assert_eq!(users(&t).len(), 4, "a preview changes nothing");
        // A rule naming what is not in the store is refused with the reason.
        let r = c.post(
            &path,
            &[
                ("csrf", &csrf),
                ("action", "share-save"),
                ("rules", "course=nope"),
                ("mask", ""),
            ],
        );
        assert_eq!(r.status, 400);
        assert!(r.text.contains("courses nope"), "{}", r.text);
        // Saved: in force at once on this server, for the token the app already holds.
        let r = c.post(
            &path,
            &[
                ("csrf", &csrf),
                ("action", "share-save"),
                ("rules", "course=c2"),
                ("mask", "email"),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text);
        assert_eq!(users(&t), ["u2"]);
        let u2 = server
            .get("/ims/oneroster/rostering/v1p2/users/u2", &t)
            .json();
        assert!(u2["user"].get("email").is_none(), "{u2}");
        let page = c.get(&path).text;
        assert!(page.contains("by rules: course=c2"), "{page}");
        assert!(page.contains("id=\"ruled-note\""));
        assert!(c.get("/console/audit").text.contains("app.share"));
        // A forged form (no CSRF token) changes nothing.
        let r = c.post(&path, &[("action", "share-save"), ("rules", "all")]);
        assert_eq!(r.status, 403);
        assert_eq!(users(&t), ["u2"]);

        // Undo an import from the history.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
        dir.path().join("users.csv"),
        "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\nu2,active,2026-01-01T00:00:00.000Z,true,zoe.oconnor,,Zed,O'Connor,,1002,zoe@example.org,,,,10,,,,,,s1,\n",
    )
    .unwrap();
        crate::common::delta_manifest(dir.path(), "1.2", &["users"]);
        server.db.import(dir.path());
        let run = rosterbridge::store::imports::list(&mut server.db.store.conn().unwrap(), 1)
            .unwrap()[0]
            .id;
        let history = c.get("/console/imports").text;
        assert!(history.contains(&format!("id=\"undo-{run}\"")), "{history}");
        let name = || {
            server
                .get("/ims/oneroster/rostering/v1p2/users/u2", &t)
                .json()["user"]["givenName"]
                .clone()
        };
        assert_eq!(name(), "Zed");
        let r = c.post(
            &format!("/console/imports/runs/{run}/undo"),
            &[("csrf", &csrf)],
        );
        assert_eq!(r.status, 303, "{}", r.text);
        assert_eq!(name(), "Zoë");
        assert!(c
            .get(&format!("/console/imports?undone={run}"))
            .text
            .contains("id=\"undone\""));
        // Once undone, it cannot be undone again: the reason names the undo.
        let r = c.post(
            &format!("/console/imports/runs/{run}/undo"),
            &[("csrf", &csrf)],
        );
        assert_eq!(r.status, 400);
        assert!(r.text.contains("undo:"), "{}", r.text);
        assert!(c.get("/console/audit").text.contains("import.undo"));
    }
);

/// The imports page shows the configured SIS upstream and starts a sync now: it runs on its own
/// thread, lands in the history labelled as an upstream run, and is audited; a forged post is
/// refused and starts nothing.
#[test]
fn the_console_starts_a_sis_sync_and_shows_it_in_the_history() {
    use rosterbridge::model::catalog::{Entity, Version};
    use rosterbridge::upstream::{Auth, Syncer, UpstreamConfig};
    let updb = crate::common::TestDb::new(crate::common::Backend::Sqlite).unwrap();
    updb.import_generated(1, 15, 5);
    let up = Server::start(updb, Settings::default());
    let scopes = [
        "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly",
        "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly",
    ];
    let (id, secret) = up.client(&scopes, &[]);
    let cfg = UpstreamConfig::new(
        &up.base,
        Version::V1_2,
        Auth::OAuth2 {
            token_url: format!("{}/oauth/token", up.base),
            client_id: id,
            secret,
            scopes: Vec::new(),
            in_body: false,
        },
    );
    let syncer = Syncer::new(cfg, None);
    let server = Server::start(
        crate::common::TestDb::new(crate::common::Backend::Sqlite).unwrap(),
        Settings {
            upstream: Some(syncer.clone()),
            ..Default::default()
        },
    );
    add_admin(&server, "alice");
    let mut c = Console::new(&server.base);
    assert_eq!(c.sign_in("alice", PASSWORD).status, 303);
    let page = unescape(&c.get("/console/imports").text);
    assert!(
        page.contains(&format!("id=\"upstream-url\">{}<", up.base)),
        "{page}"
    );
    assert!(page.contains("on demand only"));
    // Forged: no token, nothing started.
    assert_eq!(c.post("/console/imports/sync", &[]).status, 403);
    assert!(!syncer.running() && syncer.last().is_none());
    let csrf = c.csrf();
    let r = c.post("/console/imports/sync", &[("csrf", &csrf), ("full", "1")]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/console/imports?sync=started"));
    let t0 = std::time::Instant::now();
    while syncer.last().is_none() {
        assert!(t0.elapsed().as_secs() < 60, "the sync did not end");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(server.db.count(Entity::Users), up.db.count(Entity::Users));
    let page = unescape(&c.get("/console/imports").text);
    assert!(page.contains("id=\"sync-last\""), "{page}");
    assert!(
        page.contains(&format!("upstream full {}", up.base)),
        "{page}"
    );
    assert!(c.get("/console/audit").text.contains("import.sync"));
}
