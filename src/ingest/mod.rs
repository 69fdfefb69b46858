//! OneRoster CSV package → store. `import()` opens the package, validates every file completely
//! (nothing is written while any error stands), then applies all files in dependency order in
//! one transaction with bulk/delta semantics and change detection, and records the run.

pub mod apply;
mod derive;
pub mod diag;
mod input;
pub mod manifest;
pub mod rows;
pub mod source;
pub mod undo;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

pub use diag::{Diag, Diags, Severity};
use input::Input;
pub use manifest::{Manifest, Mode};
use source::{Source, SourceError};

use crate::model::catalog::{Entity, Version};
use crate::model::time;
use crate::store::imports::{self, ImportRun};
use crate::store::{DbConnection, Store, StoreError};

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Validate only; write nothing but the run's log entry.
    pub dry_run: bool,
    /// Draw progress bars (only ever on a terminal).
    pub progress: bool,
    /// The mass-deletion guard of bulk files.
    pub mass_delete: MassDeleteGuard,
    /// Preview: apply in a transaction that is rolled back, to count what would change
    /// (the console's preview); the run is not logged.
    pub preview: bool,
    /// Rows read so far (validation, then apply), for a progress display elsewhere (the
    /// console's upload page).
    pub rows_done: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// Set once validation has finished (before any apply), for a progress display.
    pub validated: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// SQLite page cache of the apply pass when it changes populated tables, KiB (default
    /// `store::connection::IMPORT_CACHE_KIB`): the upstream sync bounds its memory with it.
    pub page_cache_kib: Option<u32>,
}

impl ImportOptions {
    /// Add `n` rows to [`ImportOptions::rows_done`].
    pub(crate) fn count_rows(&self, n: u64) {
        if let Some(c) = &self.rows_done {
            c.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// The mass-deletion guard (a truncated SIS export must not silently tombstone a district): a
/// bulk file that would tombstone more than `percent` of its entity's active records (and more
/// than `min_records` of them) is refused, the whole import with it, unless `allow`.
#[derive(Debug, Clone)]
pub struct MassDeleteGuard {
    /// The operator confirmed the deletions (`--allow-mass-delete`, or the console's preview).
    pub allow: bool,
    /// Most of an entity's active records a bulk file may tombstone, in percent.
    pub percent: f64,
    /// Per-entity limits, over `percent`.
    pub per_entity: BTreeMap<Entity, f64>,
    /// Fewer tombstones than this are always allowed (small stores, small corrections).
    pub min_records: u64,
}

impl Default for MassDeleteGuard {
    fn default() -> Self {
        MassDeleteGuard {
            allow: false,
            percent: 20.0,
            per_entity: BTreeMap::new(),
            min_records: 10,
        }
    }
}

impl MassDeleteGuard {
    /// The limit for `entity`, in percent.
    pub fn limit(&self, entity: Entity) -> f64 {
        self.per_entity
            .get(&entity)
            .copied()
            .unwrap_or(self.percent)
    }

    /// Whether tombstoning `gone` of `active` records of `entity` is refused.
    pub fn refuses(&self, entity: Entity, active: u64, gone: u64) -> bool {
        !self.allow
            && gone > self.min_records
            && active > 0
            && gone as f64 * 100.0 > self.limit(entity) * active as f64
    }
}

/// What a refused bulk import would have tombstoned of one entity.
#[derive(Debug, Clone)]
pub struct MassDelete {
    pub entity: Entity,
    pub active: u64,
    pub tombstoned: u64,
    pub limit: f64,
}

impl std::fmt::Display for MassDelete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "would tombstone {} of {} active {} ({:.1} %), more than the {} % allowed: a truncated export? Rerun with --allow-mass-delete if these deletions are intended",
            self.tombstoned,
            self.active,
            self.entity.name(),
            self.tombstoned as f64 * 100.0 / self.active.max(1) as f64,
            self.limit
        )
    }
}

/// Per-entity outcome of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub tombstoned: u64,
}

impl Counts {
    pub fn changed(&self) -> u64 {
        self.inserted + self.updated + self.tombstoned
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Committed,
    Rejected,
    DryRun,
    /// Applied and rolled back: the counts say what the import would change.
    Preview,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Committed => "committed",
            Outcome::Rejected => "rejected",
            Outcome::DryRun => "dry-run",
            Outcome::Preview => "preview",
        }
    }
}

#[derive(Debug)]
pub struct ImportReport {
    pub outcome: Outcome,
    pub version: Option<Version>,
    pub diags: Diags,
    pub counts: BTreeMap<Entity, Counts>,
    /// Rows read per file in validation.
    pub rows: BTreeMap<Entity, u64>,
    /// The store timestamp stamped on every change of this import.
    pub stamped_at: Option<String>,
    /// A preview's deletions the mass-deletion guard would refuse (empty otherwise).
    pub mass_delete: Vec<MassDelete>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("CSV read error: {0}")]
    Csv(#[from] csv::Error),
    #[error("database error during import (nothing was changed): {0}")]
    Db(#[from] diesel::result::Error),
    /// The mass-deletion guard refused the import (nothing was changed); with the counts of
    /// every entity the import would have changed.
    #[error("mass deletion refused")]
    MassDelete(Vec<MassDelete>, BTreeMap<Entity, Counts>),
    /// A preview's apply, rolled back on purpose: what it would change, and what the guard
    /// would refuse.
    #[error("preview (rolled back)")]
    Previewed(BTreeMap<Entity, Counts>, Vec<MassDelete>),
}

/// A file of the package, resolved against the manifest.
#[derive(Debug, Clone)]
pub(crate) struct PlannedFile {
    pub entity: Entity,
    pub mode: Mode,
    pub name: String,
}

pub(crate) fn bar(show: bool, len: u64, msg: String) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    // `len` 0: the row count is not known yet (validation reads each file first): a count
    // without a total, not "8,192/0 rows".
    let (pb, template) = if len == 0 {
        (
            ProgressBar::no_length(),
            "{msg:>32} {spinner} {human_pos} rows {rate} {elapsed}",
        )
    } else {
        (
            ProgressBar::new(len),
            "{msg:>32} {bar:30} {human_pos}/{human_len} rows {rate} {elapsed}",
        )
    };
    pb.set_style(
        ProgressStyle::with_template(template)
            .map(|s| {
                s.with_key(
                    "rate",
                    |st: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} rows/s", st.per_sec());
                    },
                )
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(msg);
    pb
}

/// Import the package at `path` (a `.zip` or a folder) into `store`.
pub fn import(
    store: &Store,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let src = Source::open(path)?;
    import_source(store, src, path, opts)
}

/// Import the package at `path` recorded in the import log as coming from `label` (the
/// upstream pull's package, written in a temporary folder).
pub fn import_as(
    store: &Store,
    path: &Path,
    label: &str,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let src = Source::open(path)?;
    import_source(store, src, Path::new(label), opts)
}

/// Import domain `records` (any entities; `tobedeleted` ones become tombstones) as one
/// OneRoster 1.2 delta on a connection the caller holds, inside the caller's transaction
/// (it commits as a savepoint of that transaction and needs no second pooled connection); `label` is recorded as its source. Each record is checked by the
/// rules a CSV delta row meets (`input::FileRows`); its `dateLastModified` is the time of the
/// write.
pub fn import_records_on(
    conn: &mut DbConnection,
    records: Vec<crate::model::record::Record>,
    label: &str,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let mut records = records;
    derive::fill(conn, &mut records)?;
    let stamp = time::now();
    let mut by_entity: BTreeMap<Entity, Vec<crate::model::record::Record>> = BTreeMap::new();
    for mut r in records {
        r.date_last_modified = Some(stamp.clone());
        by_entity.entry(r.entity).or_default().push(r);
    }
    for of in by_entity.values_mut() {
        of.sort_by(|a, b| a.sourced_id.cmp(&b.sourced_id));
    }
    import_on(
        conn,
        false,
        Input::Records(by_entity),
        Path::new(label),
        opts,
    )
}

fn import_source(
    store: &Store,
    src: Source,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let mut conn = store.conn()?;
    import_on(&mut conn, true, Input::Files(src), path, opts)
}

/// The import on `conn`; `standalone`: `conn` is in no transaction.
fn import_on(
    conn: &mut DbConnection,
    standalone: bool,
    mut input: Input,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let started = time::now();
    let mut diags = Diags::default();
    let mut report = ImportReport {
        outcome: Outcome::Rejected,
        version: None,
        diags: Diags::default(),
        counts: BTreeMap::new(),
        rows: BTreeMap::new(),
        stamped_at: None,
        mass_delete: Vec::new(),
    };
    let plan = match &mut input {
        Input::Files(src) => plan(src, &mut diags)?,
        Input::Records(by_entity) => Some(records_plan(by_entity)),
    };
    if let Some((manifest, files)) = plan {
        report.version = Some(manifest.version);
        let known = validate::validate(conn, &mut input, &manifest, &files, &mut diags, opts)?;
        report.rows = known.rows.clone();
        if let Some(v) = &opts.validated {
            v.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if diags.errors == 0 {
            if opts.dry_run {
                report.outcome = Outcome::DryRun;
            } else {
                let applied = apply::apply(
                    conn, standalone, &mut input, &manifest, &files, &known, &started, path,
                    &diags, opts,
                );
                match applied {
                    Err(ImportError::Previewed(counts, refused)) => {
                        report.counts = counts;
                        report.mass_delete = refused;
                        report.outcome = Outcome::Preview;
                        report.diags = diags;
                        return Ok(report);
                    }
                    // Refused by the guard (rolled back): a rejected run, logged below.
                    Err(ImportError::MassDelete(refused, counts)) => {
                        for m in &refused {
                            diags.error(
                                &format!("{}.csv", m.entity.name()),
                                0,
                                "",
                                "mass-delete",
                                m.to_string(),
                            );
                        }
                        report.counts = counts;
                    }
                    other => {
                        let result = other?;
                        tracing::debug!("committed");
                        report.counts = result.counts;
                        report.stamped_at = Some(result.stamped_at);
                        report.outcome = Outcome::Committed;
                        report.diags = diags;
                        return Ok(report);
                    }
                }
            }
        }
    }
    report.diags = diags;
    // Rejected and dry runs are logged too, in their own small transaction.
    let run = run_row(&report, &started, path);
    if standalone {
        diesel::Connection::transaction(conn, |c| {
            imports::record(c, &run).map_err(ImportError::from)
        })?;
    } else {
        imports::record(conn, &run)?;
    }
    Ok(report)
}

pub(crate) fn run_row(report: &ImportReport, started: &str, path: &Path) -> ImportRun {
    let summary: BTreeMap<&str, Counts> =
        report.counts.iter().map(|(e, c)| (e.name(), *c)).collect();
    let errors: Vec<&Diag> = report.diags.errors().take(100).collect();
    ImportRun {
        id: 0,
        started_at: started.to_string(),
        finished_at: time::now(),
        source: path.display().to_string(),
        oneroster_version: report.version.map(|v| v.as_str().to_string()),
        outcome: report.outcome.as_str().to_string(),
        summary: serde_json::to_string(&summary).unwrap_or_default(),
        errors: serde_json::to_string(&errors).unwrap_or_default(),
        error_count: report.diags.errors as i64,
        warning_count: report.diags.warnings as i64,
    }
}

/// The manifest and files of records written as a 1.2 delta: one file per entity present,
/// in catalogue order (a package's order).
fn records_plan(
    by_entity: &BTreeMap<Entity, Vec<crate::model::record::Record>>,
) -> (Manifest, Vec<PlannedFile>) {
    let files: Vec<PlannedFile> = Entity::ALL
        .into_iter()
        .filter(|e| by_entity.get(e).is_some_and(|r| !r.is_empty()))
        .map(|entity| PlannedFile {
            entity,
            mode: Mode::Delta,
            name: format!("{}.csv", entity.name()),
        })
        .collect();
    let manifest = Manifest {
        version: Version::V1_2,
        files: files.iter().map(|f| (f.entity, f.mode)).collect(),
        properties: BTreeMap::new(),
    };
    (manifest, files)
}

/// Read the manifest and match its declarations with the files present.
fn plan(
    src: &mut Source,
    diags: &mut Diags,
) -> Result<Option<(Manifest, Vec<PlannedFile>)>, ImportError> {
    let Some((mname, mcase)) = src.find("manifest.csv") else {
        diags.error(
            "manifest.csv",
            0,
            "",
            "manifest-missing",
            "the package has no manifest.csv (OneRoster 1.0 packages are not supported)",
        );
        return Ok(None);
    };
    if mcase {
        diags.warning(
            "manifest.csv",
            0,
            "",
            "lenient-file-name",
            format!("found as '{mname}'"),
        );
    }
    let Some(manifest) = manifest::parse(src.open_file(&mname)?, diags) else {
        return Ok(None);
    };
    let mut files = Vec::new();
    let names = src.names();
    for e in Entity::ALL {
        let wanted = format!("{}.csv", e.name());
        let found = src.find(&wanted);
        let mode = manifest.mode(e);
        if !e.in_version(manifest.version) {
            if found.is_some() {
                diags.warning(
                    &wanted,
                    0,
                    "",
                    "unexpected-file",
                    format!(
                        "not a OneRoster {} file: ignored",
                        manifest.version.as_str()
                    ),
                );
            }
            continue;
        }
        match (mode, found) {
            (Mode::Absent, Some((name, _))) => diags.warning(
                &name,
                0,
                "",
                "manifest-mismatch",
                format!(
                    "present, but manifest.csv declares file.{} absent: ignored",
                    e.name()
                ),
            ),
            (Mode::Absent, None) => {}
            (_, None) => diags.error(
                &wanted,
                0,
                "",
                "manifest-mismatch",
                format!(
                    "manifest.csv declares file.{} {}, but the file is not in the package",
                    e.name(),
                    mode.as_str()
                ),
            ),
            (_, Some((name, case))) => {
                if case {
                    diags.warning(
                        &name,
                        0,
                        "",
                        "lenient-file-name",
                        format!("read as '{wanted}'"),
                    );
                }
                files.push(PlannedFile {
                    entity: e,
                    mode,
                    name,
                });
            }
        }
    }
    for n in names {
        let known = n.eq_ignore_ascii_case("manifest.csv")
            || Entity::ALL
                .iter()
                .any(|e| n.eq_ignore_ascii_case(&format!("{}.csv", e.name())));
        if !known {
            diags.warning(
                &n,
                0,
                "",
                "unexpected-file",
                "not a OneRoster file: ignored",
            );
        }
    }
    Ok(Some((manifest, files)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bar_without_a_known_length_shows_no_total() {
        assert_eq!(super::bar(true, 0, "validating".into()).length(), None);
        assert_eq!(super::bar(true, 5, "importing".into()).length(), Some(5));
        assert!(super::bar(false, 5, "x".into()).is_hidden());
    }
}
