//! `rosterbridge sync` and the upstream settings (`--upstream …`, the `ROSTERBRIDGE_UPSTREAM_*`
//! environment, the TOML file's `[upstream]` table) that `serve` shares for its schedule.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::ValueEnum;

use super::VersionArg;
use crate::ingest::{ImportOptions, MassDeleteGuard, Outcome};
use crate::store::Store;
use crate::upstream::{self, Auth, Schedule, SyncError, UpstreamConfig};

/// How the upstream authenticates its clients.
#[derive(Clone, Copy, Debug, ValueEnum, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamAuth {
    /// OAuth 2 client credentials, sent by HTTP Basic (the default with --token-url).
    Basic,
    /// OAuth 2 client credentials in the form body (PowerSchool).
    Body,
    /// OAuth 1.0a HMAC-SHA256 signatures (OneRoster 1.1 upstreams that still use it).
    Oauth1,
    /// None (an upstream on a private network).
    None,
}

/// The upstream's settings. Precedence: flag, then environment variable, then the TOML file's
/// `[upstream]` table (the same names with dashes, `url` for `--upstream` and `version` for
/// `--upstream-version`), then the default. The client secret is read from
/// `--client-secret-file` or from `ROSTERBRIDGE_UPSTREAM_CLIENT_SECRET`, never from a flag.
#[derive(clap::Args, serde::Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UpstreamArgs {
    /// The SIS's OneRoster base URL, before /ims/oneroster/… (e.g. https://sis.example.org).
    #[arg(long = "upstream", env = "ROSTERBRIDGE_UPSTREAM")]
    #[serde(rename = "url")]
    pub upstream: Option<String>,
    /// The upstream's OneRoster version [default: 1.2].
    #[arg(long, value_enum, env = "ROSTERBRIDGE_UPSTREAM_VERSION")]
    #[serde(rename = "version")]
    pub upstream_version: Option<VersionArg>,
    /// How the upstream authenticates [default: basic with --token-url, else none].
    #[arg(long, value_enum, env = "ROSTERBRIDGE_UPSTREAM_AUTH")]
    #[serde(rename = "auth")]
    pub upstream_auth: Option<UpstreamAuth>,
    /// The upstream's OAuth 2 token endpoint.
    #[arg(long, env = "ROSTERBRIDGE_UPSTREAM_TOKEN_URL")]
    pub token_url: Option<String>,
    /// The client id (OAuth 2) or consumer key (OAuth 1.0a) rosterbridge was issued.
    #[arg(long, env = "ROSTERBRIDGE_UPSTREAM_CLIENT_ID")]
    pub client_id: Option<String>,
    /// File holding the client secret (or set ROSTERBRIDGE_UPSTREAM_CLIENT_SECRET).
    #[arg(long, env = "ROSTERBRIDGE_UPSTREAM_CLIENT_SECRET_FILE")]
    pub client_secret_file: Option<PathBuf>,
    /// OAuth 2 scopes to ask for, space-separated [default: none asked].
    #[arg(long, env = "ROSTERBRIDGE_UPSTREAM_SCOPES")]
    pub scopes: Option<String>,
    /// Records asked per page [default: 1000].
    #[arg(long, env = "ROSTERBRIDGE_UPSTREAM_PAGE_SIZE")]
    pub page_size: Option<u64>,
    /// Requests in flight at most [default: 2].
    #[arg(long, env = "ROSTERBRIDGE_UPSTREAM_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// Retries of one request on 429/502/503/504, timeouts and broken connections [default: 6].
    #[arg(long, env = "ROSTERBRIDGE_UPSTREAM_RETRIES")]
    pub upstream_retries: Option<u32>,
    /// Timeout of one request, e.g. 120s [default: 120s].
    #[arg(long, env = "ROSTERBRIDGE_UPSTREAM_TIMEOUT")]
    pub upstream_timeout: Option<String>,
    /// An extra CA certificate (PEM) to trust for the upstream's HTTPS, besides the system's.
    #[arg(long, env = "ROSTERBRIDGE_UPSTREAM_CA_FILE")]
    pub upstream_ca_file: Option<PathBuf>,
    /// How far before the last high-water mark a delta sync asks from, e.g. 5m [default: 5m].
    #[arg(long, env = "ROSTERBRIDGE_SYNC_OVERLAP")]
    pub sync_overlap: Option<String>,
    /// Push the gradebook records apps write (line items, results…) to the upstream.
    #[arg(long, env = "ROSTERBRIDGE_PUSH_GRADES")]
    #[serde(default)]
    pub push_grades: bool,
    /// serve: run a sync this often, e.g. 15m (delta, or full when due).
    #[arg(long, env = "ROSTERBRIDGE_SYNC_EVERY")]
    pub sync_every: Option<String>,
    /// serve: make the scheduled sync a full one this often, e.g. 24h.
    #[arg(long, env = "ROSTERBRIDGE_FULL_SYNC_EVERY")]
    pub full_sync_every: Option<String>,
    /// Tests: the first retry backoff in milliseconds.
    #[arg(long, hide = true)]
    #[serde(skip)]
    pub upstream_retry_base_ms: Option<u64>,
}

/// `90`, `90s`, `15m`, `2h`, `1d`.
pub fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("'{s}' is not a duration (e.g. 90s, 15m, 2h, 1d)"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => anyhow::bail!("'{s}' is not a duration (e.g. 90s, 15m, 2h, 1d)"),
    };
    Ok(Duration::from_secs(secs))
}

impl UpstreamArgs {
    /// Flags and environment over `file` (the TOML's `[upstream]` table).
    fn over(&self, file: UpstreamArgs) -> UpstreamArgs {
        UpstreamArgs {
            upstream: self.upstream.clone().or(file.upstream),
            upstream_version: self.upstream_version.or(file.upstream_version),
            upstream_auth: self.upstream_auth.or(file.upstream_auth),
            token_url: self.token_url.clone().or(file.token_url),
            client_id: self.client_id.clone().or(file.client_id),
            client_secret_file: self.client_secret_file.clone().or(file.client_secret_file),
            scopes: self.scopes.clone().or(file.scopes),
            page_size: self.page_size.or(file.page_size),
            concurrency: self.concurrency.or(file.concurrency),
            upstream_retries: self.upstream_retries.or(file.upstream_retries),
            upstream_timeout: self.upstream_timeout.clone().or(file.upstream_timeout),
            upstream_ca_file: self.upstream_ca_file.clone().or(file.upstream_ca_file),
            sync_overlap: self.sync_overlap.clone().or(file.sync_overlap),
            push_grades: self.push_grades || file.push_grades,
            sync_every: self.sync_every.clone().or(file.sync_every),
            full_sync_every: self.full_sync_every.clone().or(file.full_sync_every),
            upstream_retry_base_ms: self.upstream_retry_base_ms,
        }
    }

    /// The upstream (`None` when no `--upstream` is set anywhere) and the schedule, over the
    /// `[upstream]` table of the TOML file `config`.
    pub fn resolve(
        &self,
        config: Option<&std::path::Path>,
    ) -> anyhow::Result<Option<(UpstreamConfig, Option<Schedule>)>> {
        let file: UpstreamArgs = match config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                let v: toml::Table =
                    toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
                match v.get("upstream") {
                    Some(t) => t
                        .clone()
                        .try_into()
                        .with_context(|| format!("{}: [upstream]", p.display()))?,
                    None => UpstreamArgs::default(),
                }
            }
            None => UpstreamArgs::default(),
        };
        self.resolve_over(file)
    }

    /// The upstream and the schedule, these flags and environment over `file` (the TOML
    /// file's `[upstream]` table, as its caller read it).
    pub fn resolve_over(
        &self,
        file: UpstreamArgs,
    ) -> anyhow::Result<Option<(UpstreamConfig, Option<Schedule>)>> {
        let a = self.over(file);
        let Some(base) = a.upstream.clone() else {
            return Ok(None);
        };
        let uri: actix_web::http::Uri = base
            .parse()
            .map_err(|_| anyhow::anyhow!("--upstream '{base}' is not a URL"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            anyhow::bail!("--upstream '{base}' is not an absolute http:// or https:// URL");
        }
        let version = a.upstream_version.unwrap_or(VersionArg::V12).into();
        let secret = || -> anyhow::Result<String> {
            if let Some(p) = &a.client_secret_file {
                let s = std::fs::read_to_string(p)
                    .with_context(|| format!("reading the client secret file {}", p.display()))?;
                return Ok(s.trim().to_string());
            }
            std::env::var("ROSTERBRIDGE_UPSTREAM_CLIENT_SECRET").map_err(|_| {
                anyhow::anyhow!(
                    "the upstream client secret: give --client-secret-file or set ROSTERBRIDGE_UPSTREAM_CLIENT_SECRET"
                )
            })
        };
        let kind = a.upstream_auth.unwrap_or(if a.token_url.is_some() {
            UpstreamAuth::Basic
        } else {
            UpstreamAuth::None
        });
        let client_id = || {
            a.client_id
                .clone()
                .ok_or_else(|| anyhow::anyhow!("--client-id is needed for --upstream-auth"))
        };
        let auth = match kind {
            UpstreamAuth::None => Auth::None,
            UpstreamAuth::Oauth1 => Auth::OAuth1 {
                key: client_id()?,
                secret: secret()?,
            },
            UpstreamAuth::Basic | UpstreamAuth::Body => Auth::OAuth2 {
                token_url: a
                    .token_url
                    .clone()
                    .ok_or_else(|| anyhow::anyhow!("--token-url is needed for OAuth 2"))?,
                client_id: client_id()?,
                secret: secret()?,
                scopes: a
                    .scopes
                    .as_deref()
                    .unwrap_or("")
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
                in_body: kind == UpstreamAuth::Body,
            },
        };
        let mut cfg = UpstreamConfig::new(&base, version, auth);
        if let Some(n) = a.page_size {
            anyhow::ensure!(n >= 1, "--page-size must be at least 1");
            cfg.page_size = n;
        }
        if let Some(n) = a.concurrency {
            anyhow::ensure!((1..=32).contains(&n), "--concurrency must be 1 to 32");
            cfg.concurrency = n;
        }
        if let Some(n) = a.upstream_retries {
            cfg.retries = n;
        }
        if let Some(t) = &a.upstream_timeout {
            cfg.timeout = parse_duration(t)?;
        }
        if let Some(t) = &a.sync_overlap {
            cfg.overlap = parse_duration(t)?;
        }
        if let Some(ms) = a.upstream_retry_base_ms {
            cfg.retry_base = Duration::from_millis(ms);
        }
        cfg.ca_file = a.upstream_ca_file.clone();
        cfg.push_grades = a.push_grades;
        let schedule = match &a.sync_every {
            Some(e) => Some(Schedule {
                every: parse_duration(e)?.max(Duration::from_secs(1)),
                full_every: a
                    .full_sync_every
                    .as_deref()
                    .map(parse_duration)
                    .transpose()?,
            }),
            None => None,
        };
        Ok(Some((cfg, schedule)))
    }
}

/// `rosterbridge sync [--full]`: 0 done, 2 refused or invalid (store unchanged), 1 failure.
pub(super) fn run(
    db: &str,
    cfg: &UpstreamConfig,
    full: bool,
    json: bool,
    progress: bool,
    guard: MassDeleteGuard,
) -> anyhow::Result<i32> {
    let store = Store::open(db)?;
    let opts = ImportOptions {
        progress,
        mass_delete: guard,
        ..ImportOptions::default()
    };
    let client = match upstream::Client::new(cfg) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rosterbridge: sync failed, the store is unchanged: upstream {e}");
            return Ok(1);
        }
    };
    let pulled = upstream::sync(&store, cfg, &client, full, &opts);
    let pushed = if cfg.push_grades && !matches!(pulled, Err(SyncError::Client(_))) {
        Some(upstream::push::push(&store, cfg, &client))
    } else {
        None
    };
    let mut code = 0;
    let report = match pulled {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("rosterbridge: sync failed, the store is unchanged: {e}");
            code = 1;
            None
        }
    };
    if let Some(r) = &report {
        if r.import.outcome == Outcome::Rejected {
            code = 2;
        }
        if json {
            let counts: std::collections::BTreeMap<&str, _> =
                r.import.counts.iter().map(|(e, c)| (e.name(), c)).collect();
            let fetched: std::collections::BTreeMap<&str, _> =
                r.fetched.iter().map(|(e, n)| (e.name(), n)).collect();
            let push = pushed.as_ref().map(|p| match p {
                Ok(p) => serde_json::json!({
                    "sent": p.sent, "deleted": p.deleted,
                    "failed": p.failed.iter().map(|(e, id, m)| serde_json::json!({"entity": e, "sourcedId": id, "error": m})).collect::<Vec<_>>(),
                    "interrupted": p.interrupted,
                }),
                Err(e) => serde_json::json!({ "error": e.to_string() }),
            });
            out!(
                "{}",
                serde_json::json!({
                    "kind": if r.full { "full" } else { "delta" },
                    "since": r.since,
                    "outcome": r.import.outcome,
                    "fetched": fetched,
                    "requests": r.requests,
                    "retries": r.retries,
                    "duplicates": r.duplicates,
                    "errors": r.import.diags.errors,
                    "diagnostics": r.import.diags.list,
                    "counts": counts,
                    "stampedAt": r.import.stamped_at,
                    "highWater": r.high_water,
                    "push": push,
                })
            );
        } else {
            eprintln!("rosterbridge: {}", upstream::describe(r));
            super::data::print_report(&r.import, false);
        }
    }
    if let Some(p) = pushed {
        match p {
            Ok(p) => {
                if !json {
                    eprintln!(
                        "rosterbridge: grade push: {} sent, {} deleted, {} refused (kept for the next run)",
                        p.sent,
                        p.deleted,
                        p.failed.len()
                    );
                    for (e, id, m) in p.failed.iter().take(20) {
                        eprintln!("  {e} {id}: {m}");
                    }
                }
                if p.interrupted.is_some() && code == 0 {
                    code = 1;
                }
            }
            Err(e) => {
                eprintln!("rosterbridge: grade push failed: {e}");
                if code == 0 {
                    code = 1;
                }
            }
        }
    }
    Ok(code)
}
