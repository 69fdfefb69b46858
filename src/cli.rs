//! The `rosterbridge` command line: import, export, generate, demo, serve, migrate, imports,
//! client.
//! Exit codes: 0 success, 1 operational failure (database unreachable, I/O), 2 invalid package.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::auth::oauth1::ServerKey;
use crate::export::{self, ExportOptions};
use crate::generate::{self, GenerateOptions};
use crate::ingest::{self, ImportOptions, ImportReport, Outcome};
use crate::model::catalog::{Entity, Version};
use crate::rest::server::Settings;
use crate::store::{imports, records, Store};

#[derive(Parser, Debug)]
#[command(
    name = "rosterbridge",
    version,
    about = "OneRoster / LIS roster gateway"
)]
pub struct Cli {
    /// Database URL: sqlite:PATH or postgres://USER@HOST/DB
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite:rosterbridge.db",
        global = true
    )]
    pub database_url: String,
    /// File holding the server key client secrets are derived from (created when missing);
    /// default: next to the SQLite database, or ./rosterbridge.key for PostgreSQL.
    #[arg(long, env = "ROSTERBRIDGE_KEY_FILE", global = true)]
    pub key_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum VersionArg {
    #[value(name = "1.1")]
    V11,
    #[value(name = "1.2")]
    V12,
}

impl From<VersionArg> for Version {
    fn from(v: VersionArg) -> Self {
        match v {
            VersionArg::V11 => Version::V1_1,
            VersionArg::V12 => Version::V1_2,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Import a OneRoster CSV package (.zip or folder with manifest.csv) in one transaction.
    Import {
        path: PathBuf,
        /// Validate only; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the store as a OneRoster CSV package (bulk, or delta with --since).
    Export {
        /// Output: a path ending in .zip, or a folder.
        out: PathBuf,
        #[arg(long, value_enum, default_value = "1.2")]
        version: VersionArg,
        /// Delta export: records changed after this date-time (tombstones included).
        #[arg(long)]
        since: Option<String>,
    },
    /// Generate a deterministic synthetic district as a OneRoster CSV package.
    Generate {
        out: PathBuf,
        #[arg(long, default_value_t = 3)]
        schools: u32,
        #[arg(long, default_value_t = 200)]
        students_per_school: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_enum, default_value = "1.2")]
        version: VersionArg,
        /// Write a follow-up delta package (updates, additions, deletions) against this package.
        #[arg(long)]
        delta_from: Option<PathBuf>,
    },
    /// Generate and import a sample district if the store is empty, create a demo client with
    /// every scope, print how to call the API, and serve.
    Demo {
        #[arg(long, default_value_t = 3)]
        schools: u32,
        #[arg(long, default_value_t = 200)]
        students_per_school: u32,
        /// Set everything up and print it, but do not start the server.
        #[arg(long)]
        no_serve: bool,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Serve the OneRoster REST API (1.1 and 1.2 rostering) over HTTP.
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage API clients (apps): `client add NAME`, `client list`, `client remove ID`.
    Client {
        #[command(subcommand)]
        action: ClientAction,
    },
    /// List recorded import runs, newest first.
    Imports {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Server settings. Precedence: flag, then environment variable, then the TOML file
/// (`--config`, same names with dashes, e.g. `max-limit = 5000`), then the default. The same
/// struct reads the file (all keys but `config` and the hidden benchmark flag).
#[derive(clap::Args, serde::Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "ROSTERBRIDGE_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "ROSTERBRIDGE_BIND")]
    pub bind: Option<String>,
    /// External base URL used in hrefs, paging links and discovery [default: from the
    /// request's Host header].
    #[arg(long, env = "ROSTERBRIDGE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest page size; larger limits are clamped [default: 10000].
    #[arg(long, env = "ROSTERBRIDGE_MAX_LIMIT")]
    pub max_limit: Option<i64>,
    /// HTTP worker threads [default: one per core].
    #[arg(long, env = "ROSTERBRIDGE_WORKERS")]
    pub workers: Option<usize>,
    /// Requests per second allowed per client (429 beyond) [default: off].
    #[arg(long, env = "ROSTERBRIDGE_RATE_LIMIT")]
    pub rate_limit: Option<f64>,
    /// OAuth 1.0a: seconds a timestamp may lie in the past [default: 600].
    #[arg(long, env = "ROSTERBRIDGE_OAUTH1_PAST_SECS")]
    pub oauth1_past_secs: Option<i64>,
    /// OAuth 1.0a: seconds a timestamp may lie in the future [default: 300].
    #[arg(long, env = "ROSTERBRIDGE_OAUTH1_FUTURE_SECS")]
    pub oauth1_future_secs: Option<i64>,
    /// Log format [default: text].
    #[arg(long, value_enum, env = "ROSTERBRIDGE_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Benchmarks only: also serve GET /bench/fixed, a constant JSON body of N bytes.
    #[arg(long, hide = true)]
    #[serde(skip)]
    pub bench_fixed_bytes: Option<usize>,
}

impl ServeArgs {
    /// Merge flags/environment with the TOML file and the defaults.
    pub fn resolve(&self) -> anyhow::Result<(Settings, LogFormat)> {
        let file: ServeArgs = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?
            }
            None => ServeArgs::default(),
        };
        let d = Settings::default();
        let s = Settings {
            bind: self.bind.clone().or(file.bind).unwrap_or(d.bind),
            public_url: self.public_url.clone().or(file.public_url),
            max_limit: self.max_limit.or(file.max_limit).unwrap_or(d.max_limit),
            workers: self.workers.or(file.workers).unwrap_or(d.workers),
            rate_limit: self.rate_limit.or(file.rate_limit).filter(|r| *r > 0.0),
            oauth1_past_secs: self
                .oauth1_past_secs
                .or(file.oauth1_past_secs)
                .unwrap_or(d.oauth1_past_secs),
            oauth1_future_secs: self
                .oauth1_future_secs
                .or(file.oauth1_future_secs)
                .unwrap_or(d.oauth1_future_secs),
            server_key: None,
            bench_fixed_bytes: self.bench_fixed_bytes,
        };
        if s.max_limit < 1 {
            anyhow::bail!("max-limit must be at least 1");
        }
        let log = self
            .log_format
            .or(file.log_format)
            .unwrap_or(LogFormat::Text);
        Ok((s, log))
    }
}

impl Cli {
    /// The log format the command asks for (text unless a server is started with json).
    pub fn log_format(&self) -> LogFormat {
        match &self.command {
            Command::Serve { serve } | Command::Demo { serve, .. } => {
                serve.resolve().map(|(_, l)| l).unwrap_or(LogFormat::Text)
            }
            _ => LogFormat::Text,
        }
    }

    /// Whether the command runs a server (which logs requests at info level).
    pub fn serves(&self) -> bool {
        matches!(
            self.command,
            Command::Serve { .. }
                | Command::Demo {
                    no_serve: false,
                    ..
                }
        )
    }

    /// The server key: read from the key file, or created there when there is none yet. A
    /// missing file while clients with derived secrets are registered is refused: a new key
    /// would silently turn every OAuth 1.0a, WS-Security and HTTP Basic login into "wrong
    /// secret".
    fn key(&self, store: &Store) -> anyhow::Result<ServerKey> {
        server_key(self.key_file.as_deref(), &self.database_url, store)
    }
}

/// [`Cli::key`], from the two settings it needs (usable once the command is taken apart).
fn server_key(
    key_file: Option<&std::path::Path>,
    database_url: &str,
    store: &Store,
) -> anyhow::Result<ServerKey> {
    let path = match key_file {
        Some(p) => p.to_path_buf(),
        None => match database_url.strip_prefix("sqlite:") {
            Some(db) => PathBuf::from(format!("{db}.key")),
            None => PathBuf::from("rosterbridge.key"),
        },
    };
    if !path.exists() {
        let derived = crate::store::clients::list(&mut *store.conn()?)?
            .iter()
            .filter(|c| c.secret_salt.is_some())
            .count();
        if derived > 0 {
            anyhow::bail!(
                "the server key file {} is missing, but {derived} registered client(s) have secrets derived from it: restore the file (or point --key-file at it), or re-register those clients (client remove, client add) to issue new secrets",
                path.display()
            );
        }
    }
    ServerKey::load_or_create(&path).with_context(|| format!("server key file {}", path.display()))
}

/// SQLite page cache per connection while serving, KiB (reads lean on the OS page cache).
const SERVE_CACHE_KIB: u32 = 8 * 1024;

fn start_server(
    store: Store,
    mut settings: Settings,
    key: ServerKey,
) -> anyhow::Result<crate::rest::server::Running> {
    settings.server_key = Some(key);
    let running =
        crate::rest::server::start(store, settings).context("starting the HTTP server")?;
    tracing::info!(addr = %running.addr, "serving OneRoster 1.1 and 1.2");
    eprintln!("rosterbridge: listening on http://{}", running.addr);
    Ok(running)
}

/// Serve until SIGINT/SIGTERM (in-flight requests finish first).
fn serve(store: Store, settings: Settings, key: ServerKey) -> anyhow::Result<i32> {
    start_server(store, settings, key)?
        .wait()
        .context("HTTP server")?;
    eprintln!("rosterbridge: stopped");
    Ok(0)
}

#[derive(Subcommand, Debug)]
pub enum ClientAction {
    /// Register a client; its secret is shown once and stored only as an argon2id hash.
    Add {
        name: String,
        /// Scope URIs or short names (roster-core.readonly, …), comma- or space-separated;
        /// default: every scope.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Restrict the client to these org sourcedIds (comma-separated); default: every org.
        #[arg(long, value_delimiter = ',')]
        orgs: Vec<String>,
        /// Print one JSON line {"client_id":…,"client_secret":…} for scripts.
        #[arg(long)]
        json: bool,
    },
    /// List clients (never their secrets).
    List,
    /// Remove a client and its tokens.
    Remove { client_id: String },
}

/// Run the CLI; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let progress = std::io::stderr().is_terminal();
    match cli.command {
        Command::Serve { serve: ref args } => {
            let (settings, _) = args.resolve()?;
            let store = Store::open_for_serving(&cli.database_url, SERVE_CACHE_KIB)?;
            let key = cli.key(&store)?;
            serve(store, settings, key)
        }
        Command::Generate {
            out,
            schools,
            students_per_school,
            seed,
            version,
            delta_from,
        } => {
            let opts = GenerateOptions {
                schools,
                students_per_school,
                seed,
                version: version.into(),
            };
            let summary = match delta_from {
                Some(base) => generate::generate_delta(&base, &out, &opts)?,
                None => generate::generate(&out, &opts)?,
            };
            for (e, n) in &summary {
                println!("{:>30} {n:>9}", format!("{}.csv", e.name()));
            }
            println!("wrote {}", out.display());
            Ok(0)
        }
        Command::Migrate => {
            let store = Store::connect(&cli.database_url)?;
            let n = store.migrate()?;
            println!("{n} migration(s) applied");
            Ok(0)
        }
        Command::Import {
            path,
            dry_run,
            json,
        } => {
            let store = Store::open(&cli.database_url)?;
            let report = match ingest::import(&store, &path, &ImportOptions { dry_run, progress }) {
                // An unreadable or unsafe package is invalid input (exit 2), not a failure.
                Err(ingest::ImportError::Source(e)) => {
                    eprintln!("rosterbridge: {e}");
                    return Ok(2);
                }
                other => other.with_context(|| format!("importing {}", path.display()))?,
            };
            print_report(&report, json);
            Ok(if report.outcome == Outcome::Rejected {
                2
            } else {
                0
            })
        }
        Command::Client { action } => {
            let store = Store::open(&cli.database_url)?;
            match action {
                ClientAction::Add {
                    name,
                    scopes,
                    orgs,
                    json,
                } => {
                    let scopes: Vec<String> = scopes
                        .iter()
                        .flat_map(|s| s.split_whitespace())
                        .map(str::to_string)
                        .collect();
                    let key = server_key(cli.key_file.as_deref(), &cli.database_url, &store)?;
                    let c = crate::auth::add_client(&store, &key, &name, &scopes, &orgs)?;
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({"client_id": c.client_id, "client_secret": c.client_secret})
                        );
                    } else {
                        println!("client_id:     {}", c.client_id);
                        println!("client_secret: {}", c.client_secret);
                        println!("(the secret is shown only now; rosterbridge keeps a hash)");
                        println!("scopes:        {}", c.scopes.join(" "));
                    }
                }
                ClientAction::List => {
                    for c in crate::store::clients::list(&mut *store.conn()?)? {
                        println!(
                            "{}  {:<24} orgs={} scopes={}",
                            c.client_id,
                            c.name,
                            c.orgs.as_deref().unwrap_or("*"),
                            c.scopes.split_whitespace().count()
                        );
                    }
                }
                ClientAction::Remove { client_id } => {
                    let removed = crate::store::clients::remove(&mut *store.conn()?, &client_id)?;
                    if !removed {
                        eprintln!("rosterbridge: no client {client_id}");
                        return Ok(1);
                    }
                    println!("removed {client_id}");
                }
            }
            Ok(0)
        }
        Command::Imports { limit } => {
            let store = Store::open(&cli.database_url)?;
            let runs = imports::list(&mut *store.conn()?, limit)?;
            println!(
                "{:>5}  {:<24}  {:<10} {:>4} {:>7} {:>8}  source",
                "id", "started", "outcome", "ver", "errors", "warnings"
            );
            for r in runs {
                println!(
                    "{:>5}  {:<24}  {:<10} {:>4} {:>7} {:>8}  {}",
                    r.id,
                    r.started_at,
                    r.outcome,
                    r.oneroster_version.unwrap_or_default(),
                    r.error_count,
                    r.warning_count,
                    r.source
                );
            }
            Ok(0)
        }
        Command::Export {
            out,
            version,
            since,
        } => {
            let store = Store::open(&cli.database_url)?;
            let opts = ExportOptions {
                version: version.into(),
                since,
            };
            let summary = export::export(&store, &out, &opts)?;
            for (e, n) in &summary {
                println!("{:>30} {n:>9}", format!("{}.csv", e.name()));
            }
            println!("wrote {}", out.display());
            Ok(0)
        }
        Command::Demo {
            schools,
            students_per_school,
            no_serve,
            serve: ref args,
        } => {
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
                println!("generated a sample district: {schools} schools x {students_per_school} students");
                let report = ingest::import(
                    &store,
                    &pkg,
                    &ImportOptions {
                        dry_run: false,
                        progress,
                    },
                )?;
                print_report(&report, false);
                let _ = std::fs::remove_dir_all(&dir);
                if report.outcome != Outcome::Committed {
                    return Ok(2);
                }
            } else {
                println!("the store already holds a roster; not generating");
            }
            println!("\nstore {}:", cli.database_url);
            println!("{:>30} {:>9} {:>11}", "entity", "active", "tombstoned");
            let mut conn = store.conn()?;
            for e in Entity::ALL {
                let (a, t) = records::counts(&mut conn, e)?;
                if a + t > 0 {
                    println!("{:>30} {a:>9} {t:>11}", e.name());
                }
            }
            drop(conn);
            let c = crate::auth::add_client(&store, &key, "demo", &[], &[])?;
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
            println!("\ndemo client (every scope; the secret is shown only now):");
            println!("  client_id:     {}", c.client_id);
            println!("  client_secret: {}", c.client_secret);
            println!("  token URL:     {base}/oauth/token");
            println!("\ntry:");
            println!(
                "  TOKEN=$(curl -s -u {}:{} -d grant_type=client_credentials {base}/oauth/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')",
                c.client_id, c.client_secret
            );
            println!("  curl -s -H \"Authorization: Bearer $TOKEN\" '{base}/ims/oneroster/rostering/v1p2/schools'");
            println!("  curl -s -H \"Authorization: Bearer $TOKEN\" '{base}/ims/oneroster/v1p1/students?limit=2&filter=familyName~%27a%27'");
            println!("\nLIS 2.0 SOAP (same client; HTTP Basic, WS-Security or OAuth 1.0a):");
            for service in crate::soap::wsdl::SERVICES {
                println!("  WSDL:          {base}{}?wsdl", service.path);
            }
            println!(
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
    }
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("rosterbridge-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn print_report(report: &ImportReport, json: bool) {
    if json {
        let counts: std::collections::BTreeMap<&str, _> =
            report.counts.iter().map(|(e, c)| (e.name(), c)).collect();
        let v = serde_json::json!({
            "outcome": report.outcome,
            "version": report.version.map(|v| v.as_str()),
            "errors": report.diags.errors,
            "warnings": report.diags.warnings,
            "diagnostics": report.diags.list,
            "counts": counts,
            "stampedAt": report.stamped_at,
        });
        println!("{v}");
        return;
    }
    for d in &report.diags.list {
        eprintln!("{d}");
    }
    let listed = report.diags.list.len() as u64;
    let total = report.diags.errors + report.diags.warnings;
    if total > listed {
        eprintln!("... {} more diagnostics not listed", total - listed);
    }
    if !report.counts.is_empty() {
        println!(
            "{:>30} {:>9} {:>9} {:>9} {:>10}",
            "entity", "inserted", "updated", "unchanged", "tombstoned"
        );
        for (e, c) in &report.counts {
            println!(
                "{:>30} {:>9} {:>9} {:>9} {:>10}",
                e.name(),
                c.inserted,
                c.updated,
                c.unchanged,
                c.tombstoned
            );
        }
    }
    println!(
        "import {}: {} error(s), {} warning(s)",
        report.outcome.as_str(),
        report.diags.errors,
        report.diags.warnings
    );
}
