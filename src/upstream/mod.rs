//! The SIS side of the gateway: `rosterbridge sync` pulls the roster from the SIS's own
//! OneRoster 1.1 or 1.2 REST API into the store ([`pull`]: a full sync with bulk semantics, or
//! a delta from the last run's high-water mark), and sends the gradebook records apps wrote
//! back to it ([`push`]). [`client`] owns the HTTP: TLS, OAuth, retries and politeness;
//! [`json`] the borrowed JSON tree pages are read into.
//! Both run on plain threads (the CLI, or the server's scheduler), never on the async workers.

pub mod client;
pub mod json;
pub mod pull;
pub mod push;
pub mod schedule;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ingest::{self, Diags, ImportError, ImportOptions, ImportReport, Outcome};
use crate::model::catalog::{Entity, Version};
use crate::model::time;
use crate::store::records::{self, Scan};
use crate::store::upstream::{self as state, SyncState};
use crate::store::Store;

pub use client::{Client, ClientError};
pub use schedule::{Schedule, Syncer};

/// How the upstream wants to be called.
#[derive(Clone)]
pub enum Auth {
    /// No authentication (a test upstream, or one behind a private network).
    None,
    /// OAuth 2 client credentials; `in_body`: the credentials go in the form body (PowerSchool)
    /// instead of HTTP Basic.
    OAuth2 {
        token_url: String,
        client_id: String,
        secret: String,
        scopes: Vec<String>,
        in_body: bool,
    },
    /// OAuth 1.0a (HMAC-SHA256), as OneRoster 1.1 upstreams may still require.
    OAuth1 { key: String, secret: String },
}

impl Auth {
    pub fn is_oauth2(&self) -> bool {
        matches!(self, Auth::OAuth2 { .. })
    }
}

impl std::fmt::Debug for Auth {
    /// Never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => write!(f, "none"),
            Auth::OAuth2 {
                token_url,
                client_id,
                in_body,
                ..
            } => write!(
                f,
                "oauth2 client {client_id} at {token_url} ({})",
                if *in_body { "form body" } else { "basic" }
            ),
            Auth::OAuth1 { key, .. } => write!(f, "oauth1 consumer {key}"),
        }
    }
}

/// One upstream, as the command line, the environment and the TOML file resolve it.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// The provider's base URL, before `/ims/oneroster/…`.
    pub base: String,
    pub version: Version,
    pub auth: Auth,
    /// Records asked per page.
    pub page_size: u64,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Retries of one request (429, 502, 503, 504, timeouts, broken connections).
    pub retries: u32,
    /// The first backoff (doubled per retry, with jitter) when no `Retry-After` is sent.
    pub retry_base: Duration,
    /// Read and write timeout of one request.
    pub timeout: Duration,
    /// How far before the high-water mark a delta asks from (clock skew, late commits).
    pub overlap: Duration,
    /// An extra CA (PEM) trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Push apps' gradebook writes to the upstream's gradebook API.
    pub push_grades: bool,
}

impl UpstreamConfig {
    /// A config with the defaults, for `base`.
    pub fn new(base: &str, version: Version, auth: Auth) -> UpstreamConfig {
        UpstreamConfig {
            base: base.trim_end_matches('/').to_string(),
            version,
            auth,
            page_size: 1000,
            concurrency: 2,
            retries: 6,
            retry_base: Duration::from_millis(500),
            timeout: Duration::from_secs(120),
            overlap: Duration::from_secs(300),
            ca_file: None,
            push_grades: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The upstream failed (unreachable, refused, or answered with the wrong shape).
    #[error("upstream {0}")]
    Client(#[from] ClientError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("writing the fetched package: {0}")]
    Export(crate::export::ExportError),
    #[error("{0}")]
    Io(String),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
}

impl SyncError {
    fn io(path: &Path, e: std::io::Error) -> SyncError {
        SyncError::Io(format!("{}: {e}", path.display()))
    }

    fn csv(e: csv::Error) -> SyncError {
        SyncError::Io(format!("temporary CSV: {e}"))
    }
}

/// What one sync did.
#[derive(Debug)]
pub struct SyncReport {
    pub full: bool,
    /// The delta's lower bound (`None`: a full sync).
    pub since: Option<String>,
    /// Records received per entity.
    pub fetched: BTreeMap<Entity, u64>,
    pub duplicates: u64,
    pub requests: u64,
    pub retries: u64,
    pub import: ImportReport,
    /// The high-water mark recorded for the next delta (when committed).
    pub high_water: Option<String>,
}

/// SQLite page cache of a sync's import when it changes populated tables, KiB: half the CSV
/// import's, so that a sync stays under 300 MB on a 100,000-student district (a CSV delta
/// import peaks at 343 MB with 256 MiB; docs/PERFORMANCE.md).
const SYNC_CACHE_KIB: u32 = 128 * 1024;

/// The import log's `source` of a sync.
pub fn label(cfg: &UpstreamConfig, full: bool) -> String {
    format!(
        "upstream {} {}",
        if full { "full" } else { "delta" },
        cfg.base
    )
}

/// One sync: full when `full` or when this upstream has never been synced, else a delta from
/// the last high-water mark minus the overlap. The store changes only if the whole pull
/// validates (and, for a full sync, passes the mass-deletion guard in `opts`). A run that
/// fails before its import (the upstream unreachable, refusing, or answering in the wrong
/// shape) is recorded in the import log as `failed`, with the reason. `client` (made for
/// `cfg`) may serve the grade push after it: one token, one TLS set-up per run.
pub fn sync(
    store: &Store,
    cfg: &UpstreamConfig,
    client: &Client,
    full: bool,
    opts: &ImportOptions,
) -> Result<SyncReport, SyncError> {
    let started = time::now();
    let result = pull_and_import(store, cfg, client, full, opts);
    if let Err(e) = &result {
        let diag = ingest::Diag {
            severity: ingest::Severity::Error,
            file: "upstream".into(),
            line: 0,
            column: String::new(),
            rule: "upstream",
            message: e.to_string(),
        };
        let run = crate::store::imports::ImportRun {
            id: 0,
            started_at: started,
            finished_at: time::now(),
            source: label(cfg, full),
            oneroster_version: Some(cfg.version.as_str().to_string()),
            outcome: "failed".into(),
            summary: "{}".into(),
            errors: serde_json::to_string(&[diag]).unwrap_or_default(),
            error_count: 1,
            warning_count: 0,
        };
        if let Err(e) = store
            .conn()
            .map_err(SyncError::from)
            .and_then(|mut c| Ok(crate::store::imports::record(&mut c, &run)?))
        {
            tracing::warn!(error = %e, "the failed sync could not be logged");
        }
    }
    result
}

fn pull_and_import(
    store: &Store,
    cfg: &UpstreamConfig,
    client: &Client,
    full: bool,
    opts: &ImportOptions,
) -> Result<SyncReport, SyncError> {
    let started = chrono::Utc::now();
    let tally = || {
        use std::sync::atomic::Ordering::Relaxed;
        (
            client.tally.requests.load(Relaxed),
            client.tally.retries.load(Relaxed),
        )
    };
    let tally_before = tally();
    let prior = state::state(&mut *store.conn()?, &cfg.base)?;
    let since = match prior.as_ref().and_then(|s| s.high_water.as_deref()) {
        Some(hw) if !full => time::parse_datetime(hw).map(|t| {
            let back = chrono::Duration::from_std(cfg.overlap).unwrap_or_default();
            time::format(t - back)
        }),
        _ => None,
    };
    let full = since.is_none();
    let dir = tempfile::Builder::new()
        .prefix("rosterbridge-sync-")
        .tempdir()
        .map_err(|e| SyncError::Io(format!("temporary folder: {e}")))?;
    let t0 = std::time::Instant::now();
    let mut fetched = pull::fetch(cfg, client, dir.path(), since.as_deref(), opts.progress)?;
    tracing::debug!(secs = t0.elapsed().as_secs_f64(), "upstream fetched");
    // This run's requests (the client may have served others before).
    let after = tally();
    let (requests, retries) = (after.0 - tally_before.0, after.1 - tally_before.1);
    let mut report = SyncReport {
        full,
        since: since.clone(),
        fetched: fetched.records.clone(),
        duplicates: fetched.duplicates,
        requests,
        retries,
        import: ImportReport {
            outcome: Outcome::Rejected,
            version: Some(cfg.version),
            diags: Diags::default(),
            counts: BTreeMap::new(),
            rows: BTreeMap::new(),
            stamped_at: None,
            mass_delete: Vec::new(),
        },
        high_water: None,
    };
    if fetched.shape.errors > 0 {
        report.import.diags = std::mem::take(&mut fetched.shape);
        return Ok(report);
    }
    let stored = stored_children(store, cfg.version, full, &fetched.listed)?;
    let mut held = std::collections::BTreeSet::new();
    if full {
        let mut conn = store.conn()?;
        for e in fetched.records.keys() {
            if records::counts(&mut conn, *e)?.0 > 0 {
                held.insert(*e);
            }
        }
    }
    let t0 = std::time::Instant::now();
    pull::write_package(&mut fetched, full, stored, &held)?;
    tracing::debug!(secs = t0.elapsed().as_secs_f64(), "package written");
    let opts = ImportOptions {
        page_cache_kib: Some(opts.page_cache_kib.unwrap_or(SYNC_CACHE_KIB)),
        ..opts.clone()
    };
    let mut import = ingest::import_as(store, &fetched.package, &label(cfg, full), &opts)?;
    if import.outcome == Outcome::Rejected {
        name_records(&fetched.package, &mut import.diags);
    }
    let committed = import.outcome == Outcome::Committed;
    report.import = import;
    if committed {
        // The next delta starts from the newest change received (the upstream's clock); an
        // upstream that sends no dateLastModified gets this run's start.
        let newest = fetched.newest.unwrap_or(started);
        let hw = match prior
            .as_ref()
            .and_then(|s| s.high_water.as_deref())
            .and_then(time::parse_datetime)
        {
            Some(old) if old > newest => old,
            _ => newest,
        };
        let now = time::now();
        let st = SyncState {
            upstream: cfg.base.clone(),
            high_water: Some(time::format(hw)),
            last_sync_at: Some(now.clone()),
            last_full_at: if full {
                Some(now)
            } else {
                prior.and_then(|p| p.last_full_at)
            },
        };
        state::save_state(&mut *store.conn()?, &st)?;
        report.high_water = st.high_water;
    }
    Ok(report)
}

/// The store's active [`pull::CHILDREN`] records by the key the pull names them by: for a full
/// sync all of them, for a delta those of the `listed` parents.
fn stored_children(
    store: &Store,
    version: crate::model::catalog::Version,
    full: bool,
    listed: &BTreeMap<Entity, Vec<String>>,
) -> Result<pull::Stored, SyncError> {
    let mut conn = store.conn()?;
    let mut out = Vec::new();
    for (child, parent, column) in pull::CHILDREN {
        let mut found = Vec::new();
        let mut take = |page: Vec<crate::model::record::Record>| {
            found.extend(page.into_iter().map(|r| {
                let key = pull::natural_key(version, &r).unwrap_or_else(|| r.sourced_id.clone());
                let title = r.get("title").map(str::to_string);
                (
                    key,
                    pull::Kept {
                        id: r.sourced_id,
                        title,
                    },
                )
            }));
        };
        // All of them, or those of the listed parents (a thousand parents per scan).
        let only: Vec<Option<(&str, Vec<String>)>> = if full {
            vec![None]
        } else {
            let Some(parents) = listed.get(&parent) else {
                continue;
            };
            parents
                .chunks(1000)
                .map(|chunk| Some((column, chunk.to_vec())))
                .collect()
        };
        for column_in in only {
            let scan = Scan {
                active_only: true,
                since: None,
                column_in,
            };
            records::scan(&mut conn, child, &scan, |_, page| {
                take(page);
                Ok(())
            })?;
        }
        out.push((child, found));
    }
    Ok(out)
}

/// The package's line numbers mean nothing to whoever reads the report: each diagnostic about
/// a row names the entity and the record's sourcedId instead.
fn name_records(package: &Path, diags: &mut Diags) {
    let mut wanted: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for d in &diags.list {
        if d.line > 0 {
            wanted.entry(d.file.clone()).or_default().push(d.line);
        }
    }
    let mut ids: BTreeMap<(String, u64), String> = BTreeMap::new();
    for (file, mut lines) in wanted {
        lines.sort_unstable();
        let Ok(mut rd) = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(package.join(&file))
        else {
            continue;
        };
        let mut rec = csv::StringRecord::new();
        while let Ok(true) = rd.read_record(&mut rec) {
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            if lines.binary_search(&line).is_ok() {
                ids.insert((file.clone(), line), rec.get(0).unwrap_or("").to_string());
            }
        }
    }
    for d in &mut diags.list {
        let entity = d.file.trim_end_matches(".csv").to_string();
        if let Some(id) = ids.get(&(d.file.clone(), d.line)) {
            d.message = format!("sourcedId '{id}': {}", d.message);
            d.line = 0;
        }
        d.file = format!("upstream {entity}");
    }
}

/// The `sync` command's summary lines (fetched and import counts are printed by the caller).
pub fn describe(r: &SyncReport) -> String {
    let kind = match &r.since {
        None => "full sync".to_string(),
        Some(s) => format!("delta sync (changes after {s})"),
    };
    let fetched: u64 = r.fetched.values().sum();
    format!(
        "{kind}: {fetched} records fetched in {} requests ({} retried, {} listed twice): {}",
        r.requests,
        r.retries,
        r.duplicates,
        r.import.outcome.as_str()
    )
}
