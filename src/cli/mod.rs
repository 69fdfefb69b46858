//! The `rosterbridge` command line: the clap definitions, settings resolution, the server key
//! and `run`, which hands each command to its module: [`data`] (generate, migrate, import,
//! imports, export), [`clients`] (client add, list, update, remove), [`demo`].
//! Exit codes: 0 success, 1 operational failure (database unreachable, I/O), 2 invalid package.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::auth::oauth1::ServerKey;
use crate::generate::GenerateOptions;
use crate::http::server::Settings;
use crate::model::catalog::Version;
use crate::store::Store;

/// `println!` to standard output that survives a closed pipe (`import --json | head`): a
/// write error (EPIPE once the reader has gone) ends the output, never the command, so its
/// exit code still says what happened.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::emit(format_args!($($arg)*))
    };
}

// After `out!`, which they use.
mod admins;
mod clients;
mod data;
mod demo;
pub mod sync;

pub use admins::AdminAction;
pub use clients::ClientAction;

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

#[derive(Clone, Copy, Debug, ValueEnum, serde::Deserialize)]
pub enum VersionArg {
    #[value(name = "1.1")]
    #[serde(rename = "1.1")]
    V11,
    #[value(name = "1.2")]
    #[serde(rename = "1.2")]
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
        #[command(flatten)]
        guard: GuardArgs,
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
    /// Serve the OneRoster REST API (1.1 and 1.2 rostering, gradebook and resources; OAuth 2
    /// token endpoint) and the LIS 2.0 SOAP Person, Membership, Course Management, Group and
    /// Outcomes services (WSDLs at /lis/v2p0/PersonManagementService?wsdl,
    /// …/MembershipManagementService?wsdl, …/CourseManagementService?wsdl,
    /// …/GroupManagementService?wsdl and …/OutcomesManagementService?wsdl) over HTTP.
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Pull the roster from the SIS's OneRoster REST API (--upstream …): a delta from the last
    /// sync's high-water mark, or with --full (and on the first run) everything, with bulk
    /// semantics and the mass-deletion guard; validated and applied in one transaction like a
    /// CSV import. With --push-grades, then send apps' gradebook writes to the upstream.
    /// Exit 0 done, 2 refused or invalid (store unchanged), 1 failure (store unchanged).
    Sync {
        /// Fetch everything (records the upstream no longer lists become tombstones).
        #[arg(long)]
        full: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        guard: GuardArgs,
        /// TOML configuration file (its `[upstream]` table).
        #[arg(long, env = "ROSTERBRIDGE_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        upstream: sync::UpstreamArgs,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage API clients (apps): `client add NAME`, `client list`, `client update ID`,
    /// `client remove ID`.
    Client {
        #[command(subcommand)]
        action: ClientAction,
    },
    /// Manage console administrators: `admin add NAME`, `admin list`, `admin remove NAME`,
    /// `admin reset-password NAME` (passwords prompted, or `--generate`d and printed once).
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// List recorded import runs, newest first; `imports undo ID` undoes one.
    Imports {
        /// How many runs to list.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[command(subcommand)]
        action: Option<ImportsAction>,
    },
}

/// The mass-deletion guard's flags, shared by `import` and `sync`.
#[derive(clap::Args, Debug)]
pub struct GuardArgs {
    /// Apply a bulk import (a full sync) even when it tombstones more of an entity's active
    /// records than the mass-deletion guard allows.
    #[arg(long)]
    allow_mass_delete: bool,
    /// The guard's limit, in percent of an entity's active records a bulk file may
    /// tombstone: `PERCENT` for every entity, `ENTITY=PERCENT` for one (repeatable;
    /// default 20).
    #[arg(long = "mass-delete-threshold", value_name = "[ENTITY=]PERCENT")]
    mass_delete_threshold: Vec<String>,
}

impl GuardArgs {
    /// The guard these flags ask for; a bad threshold is printed and is exit code 2.
    fn guard(&self) -> Result<crate::ingest::MassDeleteGuard, i32> {
        data::mass_delete_guard(self.allow_mass_delete, &self.mass_delete_threshold).map_err(|e| {
            eprintln!("rosterbridge: {e}");
            2
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum ImportsAction {
    /// Restore every record import ID changed to its state before it (a record it created
    /// becomes a tombstone), stamped now so delta consumers receive the correction. Refused,
    /// naming them, when later imports changed the same records. Exit 0 done, 2 refused.
    Undo {
        /// The import's id (`rosterbridge imports` lists them).
        id: i64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
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
    /// HTTPS: PEM file of the certificate chain (with --tls-key). HTTP/1.1 and HTTP/2 are
    /// served over TLS (rustls); without it, plain HTTP (put a reverse proxy in front, or use
    /// this on a trusted network only).
    #[arg(long, env = "ROSTERBRIDGE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// HTTPS: PEM file of the private key (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "ROSTERBRIDGE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Behind a reverse proxy: trust its Forwarded / X-Forwarded-For / X-Forwarded-Proto /
    /// X-Forwarded-Host headers for the client address and the external URL. Off by default:
    /// a client could otherwise forge its address (and escape the sign-in throttle) or the
    /// links the server writes.
    #[arg(long, env = "ROSTERBRIDGE_TRUST_FORWARDED_HEADERS")]
    #[serde(default)]
    pub trust_forwarded_headers: bool,
    /// Benchmarks only: also serve GET /bench/fixed, a constant JSON body of N bytes.
    #[arg(long, hide = true)]
    #[serde(skip)]
    pub bench_fixed_bytes: Option<usize>,
    /// The SIS upstream to sync from on a schedule (`[upstream]` in the TOML file).
    #[command(flatten)]
    #[serde(default)]
    pub upstream: sync::UpstreamArgs,
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
            tls: match (
                self.tls_cert.clone().or(file.tls_cert),
                self.tls_key.clone().or(file.tls_key),
            ) {
                (Some(c), Some(k)) => Some((c, k)),
                (None, None) => None,
                _ => anyhow::bail!("--tls-cert and --tls-key go together"),
            },
            trust_forwarded: self.trust_forwarded_headers || file.trust_forwarded_headers,
            upstream: self
                .upstream
                .resolve_over(file.upstream)?
                .map(|(cfg, schedule)| crate::upstream::Syncer::new(cfg, schedule)),
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
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let running =
        crate::http::server::start(store, settings).context("starting the HTTP server")?;
    tracing::info!(addr = %running.addr, scheme, "serving OneRoster 1.1 and 1.2");
    eprintln!("rosterbridge: listening on {scheme}://{}", running.addr);
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

/// Run the CLI; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let progress = std::io::stderr().is_terminal();
    let db = cli.database_url.as_str();
    match &cli.command {
        Command::Serve { serve: args } => {
            let (settings, _) = args.resolve()?;
            let store = Store::open_for_serving(db, SERVE_CACHE_KIB)?;
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
        } => data::generate(
            out,
            &GenerateOptions {
                schools: *schools,
                students_per_school: *students_per_school,
                seed: *seed,
                version: (*version).into(),
            },
            delta_from.as_deref(),
        ),
        Command::Migrate => data::migrate(db),
        Command::Sync {
            full,
            json,
            guard,
            config,
            upstream,
        } => {
            let guard = match guard.guard() {
                Ok(g) => g,
                Err(code) => return Ok(code),
            };
            let Some((cfg, _)) = upstream.resolve(config.as_deref())? else {
                eprintln!("rosterbridge: sync needs --upstream URL (or ROSTERBRIDGE_UPSTREAM, or url in the config's [upstream])");
                return Ok(2);
            };
            sync::run(db, &cfg, *full, *json, progress, guard)
        }
        Command::Import {
            path,
            dry_run,
            json,
            guard,
        } => {
            let guard = match guard.guard() {
                Ok(g) => g,
                Err(code) => return Ok(code),
            };
            data::import(db, path, *dry_run, *json, progress, guard)
        }
        Command::Client { action } => clients::run(&cli, action),
        Command::Admin { action } => admins::run(&cli, action),
        Command::Imports {
            action: Some(ImportsAction::Undo { id, json }),
            ..
        } => data::undo(db, *id, *json),
        Command::Imports { limit, .. } => data::imports(db, *limit),
        Command::Export {
            out,
            version,
            since,
        } => data::export(db, out, (*version).into(), since.clone()),
        Command::Demo {
            schools,
            students_per_school,
            no_serve,
            serve: args,
        } => demo::run(
            &cli,
            *schools,
            *students_per_school,
            *no_serve,
            args,
            progress,
        ),
    }
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
