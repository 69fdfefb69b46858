//! The data commands: `generate`, `migrate`, `import`, `imports`, `export`, and the import
//! report they print.

use std::path::Path;

use anyhow::Context;

use crate::export::{self, ExportOptions};
use crate::generate::{self, GenerateOptions};
use crate::ingest::{self, ImportOptions, ImportReport, Outcome};
use crate::model::catalog::Version;
use crate::store::{imports, Store};

/// `generate`: a synthetic district (or its delta follow-up).
pub(super) fn generate(
    out: &Path,
    opts: &GenerateOptions,
    delta_from: Option<&Path>,
) -> anyhow::Result<i32> {
    let summary = match delta_from {
        Some(base) => generate::generate_delta(base, out, opts)?,
        None => generate::generate(out, opts)?,
    };
    for (e, n) in &summary {
        out!("{:>30} {n:>9}", format!("{}.csv", e.name()));
    }
    out!("wrote {}", out.display());
    Ok(0)
}

/// `migrate`.
pub(super) fn migrate(db: &str) -> anyhow::Result<i32> {
    let store = Store::connect(db)?;
    let n = store.migrate()?;
    out!("{n} migration(s) applied");
    Ok(0)
}

/// The mass-deletion guard from `--allow-mass-delete` and `--mass-delete-threshold`
/// (`PERCENT` or `ENTITY=PERCENT`, an entity by its file name: `users`, `enrollments`…).
pub(super) fn mass_delete_guard(
    allow: bool,
    thresholds: &[String],
) -> Result<ingest::MassDeleteGuard, String> {
    let mut guard = ingest::MassDeleteGuard {
        allow,
        ..ingest::MassDeleteGuard::default()
    };
    for t in thresholds {
        let (entity, value) = match t.split_once('=') {
            Some((e, v)) => {
                let entity = crate::model::catalog::Entity::from_name(e.trim())
                    .ok_or_else(|| format!("--mass-delete-threshold {t}: '{e}' is not an entity (users, enrollments, classes, …)"))?;
                (Some(entity), v)
            }
            None => (None, t.as_str()),
        };
        let percent: f64 = value
            .trim()
            .trim_end_matches('%')
            .parse()
            .ok()
            .filter(|p: &f64| (0.0..=100.0).contains(p))
            .ok_or_else(|| {
                format!("--mass-delete-threshold {t}: '{value}' is not a percentage from 0 to 100")
            })?;
        match entity {
            Some(e) => {
                guard.per_entity.insert(e, percent);
            }
            None => guard.percent = percent,
        }
    }
    Ok(guard)
}

/// `import`: exit 1 for an unreadable path, 2 for an invalid package (or one the
/// mass-deletion guard refuses).
pub(super) fn import(
    db: &str,
    path: &Path,
    dry_run: bool,
    json: bool,
    progress: bool,
    mass_delete: ingest::MassDeleteGuard,
) -> anyhow::Result<i32> {
    // A path that cannot be read is an I/O failure (1), not an invalid package (2).
    if let Err(e) = std::fs::metadata(path) {
        eprintln!("rosterbridge: cannot read {}: {e}", path.display());
        return Ok(1);
    }
    let store = Store::open(db)?;
    let opts = ImportOptions {
        dry_run,
        progress,
        mass_delete,
        ..ImportOptions::default()
    };
    let report = match ingest::import(&store, path, &opts) {
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

/// `imports undo ID`.
pub(super) fn undo(db: &str, id: i64, json: bool) -> anyhow::Result<i32> {
    let store = Store::open(db)?;
    match ingest::undo::undo(&store, id) {
        Ok(report) => {
            print_report(&report, json);
            Ok(if report.outcome == Outcome::Committed {
                0
            } else {
                2
            })
        }
        Err(
            e @ (ingest::undo::UndoError::NotFound(_)
            | ingest::undo::UndoError::NotCommitted(..)
            | ingest::undo::UndoError::NoLog(_)
            | ingest::undo::UndoError::Later { .. }),
        ) => {
            eprintln!("rosterbridge: undo refused: {e}");
            Ok(2)
        }
        Err(e) => {
            eprintln!("rosterbridge: undo failed (nothing was changed): {e}");
            Ok(1)
        }
    }
}

/// `imports`: the import log.
pub(super) fn imports(db: &str, limit: i64) -> anyhow::Result<i32> {
    let store = Store::open(db)?;
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

/// `export`: the store as a CSV package.
pub(super) fn export(
    db: &str,
    out: &Path,
    version: Version,
    since: Option<String>,
) -> anyhow::Result<i32> {
    let store = Store::open(db)?;
    let opts = ExportOptions { version, since };
    let summary = export::export(&store, out, &opts)?;
    for (e, n) in &summary {
        out!("{:>30} {n:>9}", format!("{}.csv", e.name()));
    }
    out!("wrote {}", out.display());
    Ok(0)
}

pub(super) fn print_report(report: &ImportReport, json: bool) {
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
