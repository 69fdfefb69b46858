//! The generator: deterministic, valid in both versions, and its delta follow-ups apply.

use rosterbridge::generate::{generate, generate_delta, GenerateOptions};
use rosterbridge::ingest::{self, ImportOptions, Outcome};
use rosterbridge::model::catalog::{Entity, Version};

use crate::both;
use crate::common::{Backend, TestDb};

fn opts(version: Version, seed: u64) -> GenerateOptions {
    GenerateOptions {
        schools: 2,
        students_per_school: 60,
        seed,
        version,
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    generate(&a, &opts(Version::V1_2, 7)).unwrap();
    generate(&b, &opts(Version::V1_2, 7)).unwrap();
    generate(&c, &opts(Version::V1_2, 8)).unwrap();
    let read = |p: &std::path::Path| std::fs::read_to_string(p.join("users.csv")).unwrap();
    assert_eq!(read(&a), read(&b));
    assert_ne!(read(&a), read(&c));
    let users = read(&a);
    assert!(!users.is_ascii(), "names carry non-ASCII letters");
    assert!(
        users.contains("\"Smith, Jr.\"") || users.contains("\"Van \"\"Der\"\" Berg\""),
        "names with commas and quotes are quoted"
    );
}

both!(
    generated_packages_and_their_deltas_validate_and_apply,
    |db| {
        for (version, seed) in [(Version::V1_1, 3), (Version::V1_2, 4)] {
            let dir = tempfile::tempdir().unwrap();
            let base = dir.path().join("base.zip");
            let delta = dir.path().join("delta.zip");
            let summary = generate(&base, &opts(version, seed)).unwrap();
            // The second version's package replaces the first's whole district: deletions the
            // mass-deletion guard is told to allow.
            let replace = ImportOptions {
                mass_delete: ingest::MassDeleteGuard {
                    allow: true,
                    ..Default::default()
                },
                ..Default::default()
            };
            let report = ingest::import(&db.store, &base, &replace).unwrap();
            assert_eq!(
                report.outcome,
                Outcome::Committed,
                "{version:?}: {:#?}",
                report.diags.list
            );
            assert_eq!(report.diags.warnings, 0, "{:#?}", report.diags.list);
            let users = summary.iter().find(|(e, _)| *e == Entity::Users).unwrap().1;
            let u = report.counts[&Entity::Users];
            assert_eq!(u.inserted + u.updated + u.unchanged, users);
            generate_delta(&base, &delta, &opts(version, seed)).unwrap();
            let report = ingest::import(&db.store, &delta, &ImportOptions::default()).unwrap();
            assert_eq!(
                report.outcome,
                Outcome::Committed,
                "{version:?}: {:#?}",
                report.diags.list
            );
            let u = report.counts[&Entity::Users];
            assert!(u.updated >= users / 100, "about 1% of users updated: {u:?}");
            assert!(u.inserted >= 1);
            assert!(report.counts[&Entity::Enrollments].tombstoned >= 1);
            assert!(report.counts[&Entity::Results].updated >= 1);
        }
    }
);

#[test]
fn demo_generates_imports_and_reports_what_the_store_holds() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let out = std::process::Command::new(crate::common::bin())
        .args([
            "demo",
            "--schools",
            "1",
            "--students-per-school",
            "30",
            "--no-serve",
        ])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("import committed"), "{stdout}");
    let (users, _) = db.count(Entity::Users);
    assert!(stdout.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["users", &users.to_string(), "0"]), "{stdout}");
}

/// `demo` serves: its printed credentials and token URL work against the running server, and
/// SIGTERM stops it cleanly (exit 0).
#[test]
fn demo_serves_with_the_printed_client_and_stops_on_sigterm() {
    use std::io::BufRead;
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let mut child = std::process::Command::new(crate::common::bin())
        .args([
            "demo",
            "--schools",
            "1",
            "--students-per-school",
            "5",
            "--bind",
            "127.0.0.1:0",
        ])
        .env("DATABASE_URL", &db.url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut field = |name: &str| loop {
        let l = lines.next().unwrap().unwrap();
        if let Some(v) = l.trim().strip_prefix(name) {
            return v.trim().to_string();
        }
    };
    let id = field("client_id:");
    let secret = field("client_secret:");
    let token_url = field("token URL:");
    let r = ureq::post(&token_url)
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string(&format!(
            "grant_type=client_credentials&client_id={id}&client_secret={secret}"
        ))
        .unwrap();
    let token: serde_json::Value = r.into_json().unwrap();
    let base = token_url.trim_end_matches("/oauth/token");
    let rest_get = |path: &str| -> serde_json::Value {
        ureq::get(&format!("{base}/ims/oneroster/rostering/v1p2/{path}"))
            .set(
                "Authorization",
                &format!("Bearer {}", token["access_token"].as_str().unwrap()),
            )
            .call()
            .unwrap()
            .into_json()
            .unwrap()
    };
    let schools = rest_get("schools");
    assert_eq!(schools["orgs"].as_array().unwrap().len(), 1);
    // the printed SOAP example works as printed
    let wsdl = field("WSDL:");
    assert!(
        wsdl.ends_with("/lis/v2p0/PersonManagementService?wsdl"),
        "{wsdl}"
    );
    let curl = field("curl -s -u");
    let body = curl
        .split("-d '")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .unwrap()
        .to_string();
    let url = curl.rsplit(' ').next().unwrap().to_string();
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let soap = ureq::post(&url)
        .set("Content-Type", "text/xml")
        .set("Authorization", &format!("Basic {auth}"))
        .send_string(&body)
        .unwrap()
        .into_string()
        .unwrap();
    assert!(soap.contains("fullsuccess"), "{soap}");
    let users = rest_get("users");
    let users = users["users"].as_array().unwrap();
    assert!(users.len() > 5);
    assert_eq!(
        soap.matches("<tns:sourcedId>").count(),
        users.len(),
        "{soap}"
    );
    for u in users {
        let id = u["sourcedId"].as_str().unwrap();
        assert!(
            soap.contains(&format!("<tns:sourcedId>{id}</tns:sourcedId>")),
            "{id}"
        );
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful stop exits 0: {status:?}");
}
