//! `demo`: a sample district, a client with every scope and a running server, with the
//! commands to try.

use std::path::PathBuf;

use anyhow::Context;

use super::{start_server, Cli, ServeArgs};
use crate::generate::{self, GenerateOptions};
use crate::ingest::{self, ImportOptions, Outcome};
use crate::model::catalog::{Entity, Version};
use crate::store::{records, Store};

/// The console administrator the demo creates.
const DEMO_ADMIN: &str = "admin";

/// Run the demo.
pub(super) fn run(
    cli: &Cli,
    schools: u32,
    students_per_school: u32,
    no_serve: bool,
    args: &ServeArgs,
    progress: bool,
) -> anyhow::Result<i32> {
    let (settings, _) = args.resolve()?;
    let store = Store::open(&cli.database_url)?;
    let key = cli.key(&store)?;
    let (users, _) = records::counts(&mut *store.conn()?, Entity::Users)?;
    if users == 0 {
        let dir = tempfile_dir()?;
        let pkg = dir.join("demo-district.zip");
        let opts = GenerateOptions {
            schools,
            students_per_school,
            seed: 1,
            version: Version::V1_2,
        };
        generate::generate(&pkg, &opts)?;
        out!("generated a sample district: {schools} schools x {students_per_school} students");
        let report = ingest::import(
            &store,
            &pkg,
            &ImportOptions {
                dry_run: false,
                progress,
                ..ImportOptions::default()
            },
        )?;
        super::data::print_report(&report, false);
        let _ = std::fs::remove_dir_all(&dir);
        if report.outcome != Outcome::Committed {
            return Ok(2);
        }
    } else {
        out!("the store already holds a roster; not generating");
    }
    out!("\nstore {}:", cli.database_url);
    out!("{:>30} {:>9} {:>11}", "entity", "active", "tombstoned");
    let mut conn = store.conn()?;
    for e in Entity::ALL {
        let (a, t) = records::counts(&mut conn, e)?;
        if a + t > 0 {
            out!("{:>30} {a:>9} {t:>11}", e.name());
        }
    }
    drop(conn);
    let every: Vec<String> = crate::auth::scopes::ALL
        .iter()
        .map(|s| s.to_string())
        .collect();
    let c = crate::auth::add_client(&store, &key, "demo", &every, &[])?;
    // A console administrator with a fresh password (printed once below).
    let admin_password = crate::auth::admins::generate_password()?;
    {
        let mut conn = store.conn()?;
        let exists = crate::store::admins::get(&mut conn, DEMO_ADMIN)?.is_some();
        if exists {
            crate::auth::admins::reset_password(&mut conn, "demo", DEMO_ADMIN, &admin_password)?;
        } else {
            crate::auth::admins::add(&mut conn, "demo", DEMO_ADMIN, &admin_password)?;
        }
    }
    let running = if no_serve {
        None
    } else {
        Some(start_server(store, settings.clone(), key)?)
    };
    let base = match (&settings.public_url, &running) {
        (Some(u), _) => u.trim_end_matches('/').to_string(),
        (None, Some(r)) => format!("http://{}", r.addr),
        (None, None) => format!("http://{}", settings.bind),
    };
    out!("\nweb console: {base}/console");
    out!("  administrator: {DEMO_ADMIN}");
    out!("  password:      {admin_password}   (shown only now; `rosterbridge admin reset-password {DEMO_ADMIN}` sets another)");
    out!("\ndemo client (every scope; the secret is shown only now):");
    out!("  client_id:     {}", c.client_id);
    out!("  client_secret: {}", c.client_secret);
    out!("  token URL:     {base}/oauth/token");
    out!("\ntry:");
    out!(
            "  TOKEN=$(curl -s -u {}:{} -d grant_type=client_credentials {base}/oauth/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')",
            c.client_id, c.client_secret
        );
    out!("  curl -s -H \"Authorization: Bearer $TOKEN\" '{base}/ims/oneroster/rostering/v1p2/schools'");
    out!("  curl -s -H \"Authorization: Bearer $TOKEN\" '{base}/ims/oneroster/v1p1/students?limit=2&filter=familyName~%27a%27'");
    out!("\nLIS 2.0 SOAP (same client; HTTP Basic, WS-Security or OAuth 1.0a):");
    for service in crate::soap::wsdl::SERVICES {
        out!("  WSDL:          {base}{}?wsdl", service.path);
    }
    out!(
            "  curl -s -u {}:{} -H 'Content-Type: text/xml' -d '<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><readAllPersonIdsRequest xmlns=\"{}\"/></s:Body></s:Envelope>' {base}{}",
            c.client_id,
            c.client_secret,
            crate::soap::gen::pms::NAMESPACE,
            crate::soap::wsdl::SERVICES[0].path
        );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    match running {
        Some(r) => {
            r.wait().context("HTTP server")?;
            Ok(0)
        }
        None => Ok(0),
    }
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("rosterbridge-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
