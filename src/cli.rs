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
use crate::http::server::Settings;
use crate::ingest::{self, ImportOptions, ImportReport, Outcome};
use crate::model::catalog::{Entity, Version};
use crate::store::{imports, records, Store};

/// `println!` to standard output that survives a closed pipe (`import --json | head`): a
/// write error (EPIPE once the reader has gone) ends the output, never the command, so its
/// exit code still says what happened.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::emit(format_args!($($arg)*))
    };
}

/// One line to standard output; write errors are ignored (see [`out!`]).
pub fn emit(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_fmt(line)
        .and_then(|()| stdout.write_all(b"\n"));
}

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
        /// The package: a .zip file or a folder holding manifest.csv.
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
        /// OneRoster version of the package's layout.
        #[arg(long, value_enum, default_value = "1.2")]
        version: VersionArg,
        /// Delta export: records changed after this date-time (tombstones included).
        #[arg(long)]
        since: Option<String>,
    },
    /// Generate a deterministic synthetic district as a OneRoster CSV package.
    Generate {
        /// Output: a path ending in .zip, or a folder.
        out: PathBuf,
        /// Number of schools in the district.
        #[arg(long, default_value_t = 3)]
        schools: u32,
        /// Students per school (teachers, classes and enrollments scale with them).
        #[arg(long, default_value_t = 200)]
        students_per_school: u32,
        /// Random seed: the same seed and sizes give the same package.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// OneRoster version of the package's layout.
        #[arg(long, value_enum, default_value = "1.2")]
        version: VersionArg,
        /// Write a follow-up delta package (updates, additions, deletions) against this package.
        #[arg(long)]
        delta_from: Option<PathBuf>,
    },
    /// Generate and import a sample district if the store is empty, create a demo client with
    /// every scope, print how to call the API, and serve.
    Demo {
        /// Schools in the sample district (when the store is empty).
        #[arg(long, default_value_t = 3)]
        schools: u32,
        /// Students per school in the sample district.
        #[arg(long, default_value_t = 200)]
        students_per_school: u32,
        /// Set everything up and print it, but do not start the server.
        #[arg(long)]
        no_serve: bool,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Serve the OneRoster REST API (1.1 and 1.2 rostering, OAuth 2 token endpoint) and the
    /// LIS 2.0 SOAP Person and Membership Management services (WSDLs at
    /// /lis/v2p0/PersonManagementService?wsdl and /lis/v2p0/MembershipManagementService?wsdl)
    /// over HTTP.
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage API clients (apps): `client add NAME`, `client list`, `client update ID`,
    /// `client remove ID`.
    Client {
        #[command(subcommand)]
        action: ClientAction,
    },
    /// List recorded import runs, newest first.
    Imports {
        /// How many runs to list.
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
        if let Some(u) = &s.public_url {
            check_public_url(u)?;
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
) -> anyhow::Result<crate::http::server::Running> {
    settings.server_key = Some(key);
    let running =
        crate::http::server::start(store, settings).context("starting the HTTP server")?;
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
        /// A name for the client (the app), shown by `client list`.
        name: String,
        /// Scope URIs or short names (roster-core.readonly, roster.write, …), comma- or
        /// space-separated; default: every read-only scope (writes must be asked for).
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Restrict the client to these org sourcedIds (comma-separated; each must be in the
        /// store); default: every org.
        #[arg(long, value_delimiter = ',')]
        orgs: Vec<String>,
        /// Print one JSON line {"client_id":…,"client_secret":…} for scripts.
        #[arg(long)]
        json: bool,
    },
    /// List clients with their scopes and orgs (never their secrets).
    List,
    /// Change a client's scopes or orgs; its tokens are revoked (the secret stays).
    Update {
        /// The client's id.
        client_id: String,
        /// New scopes (URIs or short names, comma- or space-separated), replacing the old.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// New org restriction (comma-separated sourcedIds in the store), replacing the old.
        #[arg(long, value_delimiter = ',', conflicts_with = "all_orgs")]
        orgs: Vec<String>,
        /// Lift the org restriction: the client may see every org.
        #[arg(long)]
        all_orgs: bool,
    },
    /// Remove a client and its tokens.
    Remove {
        /// The client's id.
        client_id: String,
    },
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
                out!("{:>30} {n:>9}", format!("{}.csv", e.name()));
            }
            out!("wrote {}", out.display());
            Ok(0)
        }
        Command::Migrate => {
            let store = Store::connect(&cli.database_url)?;
            let n = store.migrate()?;
            out!("{n} migration(s) applied");
            Ok(0)
        }
        Command::Import {
            path,
            dry_run,
            json,
        } => {
            // A path that cannot be read is an I/O failure (1), not an invalid package (2).
            if let Err(e) = std::fs::metadata(&path) {
                eprintln!("rosterbridge: cannot read {}: {e}", path.display());
                return Ok(1);
            }
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
                    if let Err(msg) = check_orgs(&store, &orgs) {
                        eprintln!("rosterbridge: {msg}");
                        return Ok(1);
                    }
                    let key = server_key(cli.key_file.as_deref(), &cli.database_url, &store)?;
                    let c = crate::auth::add_client(&store, &key, &name, &scopes, &orgs)?;
                    if json {
                        out!(
                            "{}",
                            serde_json::json!({"client_id": c.client_id, "client_secret": c.client_secret})
                        );
                    } else {
                        out!("client_id:     {}", c.client_id);
                        out!("client_secret: {}", c.client_secret);
                        out!("(the secret is shown only now; rosterbridge keeps a hash)");
                        out!("scopes:        {}", c.scopes.join(" "));
                    }
                }
                ClientAction::List => {
                    let rows = crate::store::clients::list(&mut *store.conn()?)?;
                    out!(
                        "{:<32}  {:<20}  {:<20}  scopes",
                        "client_id",
                        "name",
                        "orgs"
                    );
                    for c in rows {
                        out!(
                            "{:<32}  {:<20}  {:<20}  {}",
                            c.client_id,
                            c.name,
                            c.orgs.as_deref().unwrap_or("(every org)"),
                            short_scopes(&c.scopes)
                        );
                    }
                }
                ClientAction::Update {
                    client_id,
                    scopes,
                    orgs,
                    all_orgs,
                } => {
                    if scopes.is_empty() && orgs.is_empty() && !all_orgs {
                        eprintln!(
                            "rosterbridge: nothing to change: give --scopes, --orgs or --all-orgs"
                        );
                        return Ok(1);
                    }
                    if let Err(msg) = check_orgs(&store, &orgs) {
                        eprintln!("rosterbridge: {msg}");
                        return Ok(1);
                    }
                    let scopes: Vec<String> = scopes
                        .iter()
                        .flat_map(|s| s.split_whitespace())
                        .map(str::to_string)
                        .collect();
                    let new_scopes = if scopes.is_empty() {
                        None
                    } else {
                        Some(crate::auth::resolve_scopes(&scopes)?.join(" "))
                    };
                    let joined = orgs.join(",");
                    let new_orgs = if all_orgs {
                        Some(None)
                    } else if orgs.is_empty() {
                        None
                    } else {
                        Some(Some(joined.as_str()))
                    };
                    let found = store.transaction(|c| {
                        crate::store::clients::update(
                            c,
                            &client_id,
                            new_scopes.as_deref(),
                            new_orgs,
                        )
                        .map_err(crate::store::StoreError::from)
                    })?;
                    if !found {
                        eprintln!("rosterbridge: no client {client_id}");
                        return Ok(1);
                    }
                    out!("updated {client_id} (its tokens are revoked)");
                }
                ClientAction::Remove { client_id } => {
                    let removed = crate::store::clients::remove(&mut *store.conn()?, &client_id)?;
                    if !removed {
                        eprintln!("rosterbridge: no client {client_id}");
                        return Ok(1);
                    }
                    out!("removed {client_id}");
                }
            }
            Ok(0)
        }
        Command::Imports { limit } => {
            let store = Store::open(&cli.database_url)?;
            let runs = imports::list(&mut *store.conn()?, limit)?;
            out!(
                "{:>5}  {:<24}  {:>8}  {:<10} {:>4} {:>9} {:>9} {:>10} {:>7} {:>8}  source",
                "id",
                "started",
                "secs",
                "outcome",
                "ver",
                "inserted",
                "updated",
                "tombstoned",
                "errors",
                "warnings"
            );
            for r in runs {
                let secs = match (
                    crate::model::time::parse_datetime(&r.started_at),
                    crate::model::time::parse_datetime(&r.finished_at),
                ) {
                    (Some(a), Some(b)) => {
                        format!("{:.2}", (b - a).num_milliseconds() as f64 / 1000.0)
                    }
                    _ => "-".into(),
                };
                let counts: std::collections::BTreeMap<String, ingest::Counts> =
                    serde_json::from_str(&r.summary).unwrap_or_default();
                let total = |f: fn(&ingest::Counts) -> u64| counts.values().map(f).sum::<u64>();
                out!(
                    "{:>5}  {:<24}  {:>8}  {:<10} {:>4} {:>9} {:>9} {:>10} {:>7} {:>8}  {}",
                    r.id,
                    r.started_at,
                    secs,
                    r.outcome,
                    r.oneroster_version.unwrap_or_default(),
                    total(|c| c.inserted),
                    total(|c| c.updated),
                    total(|c| c.tombstoned),
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
                out!("{:>30} {n:>9}", format!("{}.csv", e.name()));
            }
            out!("wrote {}", out.display());
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
                out!("generated a sample district: {schools} schools x {students_per_school} students");
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
    }
}

/// Every org of `orgs` must be in the store: a typo would otherwise restrict a client to an
/// org that does not exist, and it would silently see nothing.
fn check_orgs(store: &Store, orgs: &[String]) -> anyhow::Result<(), String> {
    if orgs.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = orgs.iter().map(String::as_str).collect();
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    let found = records::existing_ids(&mut conn, Entity::Orgs, &ids).map_err(|e| e.to_string())?;
    let missing: Vec<&str> = ids.into_iter().filter(|o| !found.contains(*o)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "no org {} in the store (import the roster first, or check the sourcedId)",
            missing.join(", ")
        ))
    }
}

/// Scope URIs as short names (`v1p2:roster.readonly`), space-separated.
fn short_scopes(scopes: &str) -> String {
    scopes
        .split_whitespace()
        .map(|s| {
            if let Some(x) = s.strip_prefix(crate::auth::scopes::V1P1) {
                format!("v1p1:{x}")
            } else if let Some(x) = s.strip_prefix(crate::auth::scopes::V1P2) {
                format!("v1p2:{x}")
            } else {
                s.rsplit('/').next().unwrap_or(s).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `--public-url` must be an absolute http(s) URL with a host and nothing after the path.
fn check_public_url(u: &str) -> anyhow::Result<()> {
    let bad = || {
        anyhow::anyhow!(
            "public-url '{u}' is not an absolute http:// or https:// URL (e.g. https://rb.example.org)"
        )
    };
    let uri: actix_web::http::Uri = u.parse().map_err(|_| bad())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http") | Some("https"));
    let host_ok = uri.host().is_some_and(|h| !h.is_empty());
    if !scheme_ok || !host_ok || uri.query().is_some() || u.contains(char::is_whitespace) {
        return Err(bad());
    }
    Ok(())
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
        out!("{v}");
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
        out!(
            "{:>30} {:>9} {:>9} {:>9} {:>10}",
            "entity",
            "inserted",
            "updated",
            "unchanged",
            "tombstoned"
        );
        for (e, c) in &report.counts {
            out!(
                "{:>30} {:>9} {:>9} {:>9} {:>10}",
                e.name(),
                c.inserted,
                c.updated,
                c.unchanged,
                c.tombstoned
            );
        }
    }
    out!(
        "import {}: {} error(s), {} warning(s)",
        report.outcome.as_str(),
        report.diags.errors,
        report.diags.warnings
    );
}
