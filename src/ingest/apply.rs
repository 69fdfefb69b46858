//! The apply pass: one transaction for the whole package. Bulk files replace their entity set
//! (unseen active records become tombstones), delta rows upsert or tombstone; a record whose
//! content did not change keeps its `dateLastModified`. Changes are first stamped with a
//! provisional marker and restamped with the time taken just before commit, so a consumer that
//! synced while the import ran can never miss a change with `dateLastModified>'<its sync>'`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use diesel::QueryResult;

use super::diag::Diags;
use super::input::{FileRows, Input, Row};
use super::manifest::{Manifest, Mode};
use super::rows::{Parsed, RowParser};
use super::validate::Known;
use super::{bar, run_row, Counts, ImportError, ImportReport, Outcome, PlannedFile};
use crate::model::catalog::{Entity, Version};
use crate::model::record::{id_hash, IdMap, IdSet, Record, Status};
use crate::model::time;
use crate::store::connection::{self, DbConnection};
use crate::store::records::{self, DeferredIndexes, Existing, Scan};
use crate::store::{changes, imports};

const BATCH: usize = 2000;

pub(crate) struct Applied {
    pub counts: BTreeMap<Entity, Counts>,
    pub stamped_at: String,
}

/// Applies one entity's records with change detection.
struct Applier {
    entity: Entity,
    mode: Mode,
    /// Bulk only: every stored id (by hash) not yet seen in the file.
    existing: Option<IdMap<Existing>>,
    batch: Vec<Record>,
    counts: Counts,
    marker: String,
    /// Log each change for `imports undo` (`store::changes`); false when the table was empty
    /// before: then one row says every record of it is new.
    log: bool,
}

impl Applier {
    fn new(
        conn: &mut DbConnection,
        entity: Entity,
        mode: Mode,
        marker: &str,
    ) -> QueryResult<Applier> {
        let existing = if mode == Mode::Bulk {
            Some(records::load_existing(conn, entity)?)
        } else {
            None
        };
        let log = !records::is_empty(conn, entity)?;
        if !log {
            changes::created(conn, entity, &[changes::EVERY])?;
        }
        Ok(Applier {
            entity,
            mode,
            existing,
            batch: Vec::with_capacity(BATCH),
            counts: Counts::default(),
            marker: marker.to_string(),
            log,
        })
    }

    fn push(&mut self, conn: &mut DbConnection, rec: Record) -> QueryResult<()> {
        self.batch.push(rec);
        if self.batch.len() >= BATCH {
            self.flush(conn)?;
        }
        Ok(())
    }

    fn flush(&mut self, conn: &mut DbConnection) -> QueryResult<()> {
        let mut batch = std::mem::take(&mut self.batch);
        if batch.is_empty() {
            return Ok(());
        }
        // A 1.1 line item has no school column: its class's (applied before it) is taken.
        super::derive::fill(conn, &mut batch)?;
        let looked_up: HashMap<String, Existing> = match &self.existing {
            Some(_) => HashMap::new(),
            None => {
                let ids: Vec<&str> = batch.iter().map(|r| r.sourced_id.as_str()).collect();
                records::lookup_existing(conn, self.entity, &ids)?
            }
        };
        let mut write: Vec<&Record> = Vec::new();
        let mut fresh: Vec<bool> = Vec::new();
        let mut delete: Vec<&str> = Vec::new();
        for rec in &batch {
            let prior = match &mut self.existing {
                Some(map) => map.remove(&id_hash(&rec.sourced_id)),
                None => looked_up.get(&rec.sourced_id).copied(),
            };
            let deleting = rec.status == Status::ToBeDeleted;
            match prior {
                None => {
                    if deleting {
                        self.counts.tombstoned += 1;
                    } else {
                        self.counts.inserted += 1;
                    }
                    write.push(rec);
                    fresh.push(true);
                }
                Some(ex) if deleting && self.mode == Mode::Delta => {
                    // A delta deletion may carry only the id: keep the stored content.
                    if ex.active {
                        self.counts.tombstoned += 1;
                        delete.push(&rec.sourced_id);
                    } else {
                        self.counts.unchanged += 1;
                    }
                }
                Some(ex) => {
                    let same = ex.hash == rec.content_hash() && ex.active != deleting;
                    if same {
                        self.counts.unchanged += 1;
                    } else {
                        if deleting && ex.active {
                            self.counts.tombstoned += 1;
                        } else if !deleting {
                            self.counts.updated += 1;
                        } else {
                            self.counts.unchanged += 1;
                        }
                        write.push(rec);
                        fresh.push(false);
                    }
                }
            }
        }
        if self.log {
            let created: Vec<&str> = write
                .iter()
                .zip(&fresh)
                .filter(|(_, f)| **f)
                .map(|(r, _)| r.sourced_id.as_str())
                .collect();
            changes::created(conn, self.entity, &created)?;
            let mut touched: Vec<&str> = write
                .iter()
                .zip(&fresh)
                .filter(|(_, f)| !**f)
                .map(|(r, _)| r.sourced_id.as_str())
                .collect();
            touched.extend(delete.iter().copied());
            log_prior(conn, self.entity, &touched)?;
        }
        records::upsert(conn, &write, &self.marker, &fresh)?;
        records::tombstone(conn, self.entity, &delete, &self.marker)?;
        Ok(())
    }

    /// Flush, and in bulk mode tombstone every active record the file did not contain.
    fn finish(mut self, conn: &mut DbConnection) -> QueryResult<Counts> {
        self.flush(conn)?;
        if let Some(map) = self.existing.take() {
            let unseen: IdSet = map
                .into_iter()
                .filter(|(_, e)| e.active)
                .map(|(h, _)| h)
                .collect();
            if !unseen.is_empty() {
                let mut gone: Vec<String> = Vec::new();
                let scan = Scan {
                    active_only: true,
                    ..Scan::default()
                };
                records::scan(conn, self.entity, &scan, |_, page| {
                    gone.extend(
                        page.into_iter()
                            .filter(|r| unseen.contains(&id_hash(&r.sourced_id)))
                            .map(|r| r.sourced_id),
                    );
                    Ok(())
                })?;
                let ids: Vec<&str> = gone.iter().map(String::as_str).collect();
                if self.log {
                    log_prior(conn, self.entity, &ids)?;
                }
                self.counts.tombstoned +=
                    records::tombstone(conn, self.entity, &ids, &self.marker)? as u64;
            }
        }
        Ok(self.counts)
    }
}

/// 1.1 `users.role` + `orgSourcedIds` → one primary role per org (ONEROSTER.md §3.5), with ids
/// `<user>:<org>`. `administrator` becomes `siteAdministrator` at a school and
/// `districtAdministrator` elsewhere.
pub fn v11_roles(
    user: &Record,
    orgs: &[String],
    role: &str,
    org_type: impl Fn(&str) -> Option<String>,
) -> Vec<Record> {
    orgs.iter()
        .map(|org| {
            let role = if role == "administrator" {
                match org_type(org).as_deref() {
                    Some("school") | None => "siteAdministrator",
                    Some(_) => "districtAdministrator",
                }
            } else {
                role
            };
            let mut r = Record::new(Entity::Roles, format!("{}:{org}", user.sourced_id));
            r.status = user.status;
            r.sis_date_last_modified = user.sis_date_last_modified.clone();
            r.set("userSourcedId", user.sourced_id.clone())
                .set("roleType", "primary")
                .set("role", role)
                .set("orgSourcedId", org.clone());
            r
        })
        .collect()
}

/// The provisional `dateLastModified` of this import's changes: `pending` and the start time's
/// digits, exactly as long as a real stamp (24 bytes), so the restamp rewrites each row in place
/// (SQLite overwrites a cell of unchanged size without rebalancing the page). It sorts after
/// every real stamp and never equals one.
fn provisional_marker(started: &str) -> String {
    // `started` is itself a stamp (`time::now()`), so it gives the length.
    let digits: String = started.chars().filter(char::is_ascii_digit).collect();
    format!(
        "pending{digits:0<width$.width$}",
        width = started.len().saturating_sub("pending".len())
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn apply(
    conn: &mut DbConnection,
    standalone: bool,
    input: &mut Input,
    manifest: &Manifest,
    files: &[PlannedFile],
    known: &Known,
    started: &str,
    path: &Path,
    diags: &Diags,
    opts: &super::ImportOptions,
) -> Result<Applied, ImportError> {
    let progress = opts.progress;
    let marker = provisional_marker(started);
    crate::store::import_transaction_on(conn, standalone, |conn| {
        imports::lock(conn, started)?;
        // Tables empty before this import: all their rows are new, no parent needs touching.
        // 1.1 users.csv also writes roles, with the same mode.
        let written = files.iter().flat_map(|pf| {
            let roles = pf.entity == Entity::Users && manifest.version == Version::V1_1;
            std::iter::once((pf.entity, pf.mode)).chain(roles.then_some((Entity::Roles, pf.mode)))
        });
        let mut fresh: HashSet<Entity> = HashSet::new();
        let mut bulk_into_empty: Vec<Entity> = Vec::new();
        for (entity, mode) in written {
            if records::is_empty(conn, entity)? {
                fresh.insert(entity);
                if mode == Mode::Bulk {
                    bulk_into_empty.push(entity);
                }
            }
        }
        // Active records before, of every entity a bulk file may tombstone (the guard).
        let mut active_before: BTreeMap<Entity, u64> = BTreeMap::new();
        for pf in files.iter().filter(|pf| pf.mode == Mode::Bulk) {
            let roles = pf.entity == Entity::Users && manifest.version == Version::V1_1;
            for e in std::iter::once(pf.entity).chain(roles.then_some(Entity::Roles)) {
                if !fresh.contains(&e) {
                    let (active, _) = records::counts(conn, e)?;
                    active_before.insert(e, active.max(0) as u64);
                }
            }
        }
        let mut deferred = DeferredIndexes::default();
        deferred.defer(conn, &bulk_into_empty)?;
        if deferred.is_empty() {
            // Changes to populated tables touch pages all over them; a fresh bulk load does
            // not, and keeps the default cache (peak memory, docs/PERFORMANCE.md).
            connection::enlarge_cache(conn, opts.page_cache_kib)?;
        }
        let mut counts: BTreeMap<Entity, Counts> = BTreeMap::new();
        for pf in files {
            let t0 = std::time::Instant::now();
            let mut scratch = Diags::default();
            let Some((rows, parser)) = FileRows::open(input, pf, manifest.version, &mut scratch)?
            else {
                continue;
            };
            let derive_roles = pf.entity == Entity::Users && manifest.version == Version::V1_1;
            let mut main = Applier::new(conn, pf.entity, pf.mode, &marker)?;
            let mut roles = if derive_roles {
                Some(Applier::new(conn, Entity::Roles, pf.mode, &marker)?)
            } else {
                None
            };
            let mut owners: Vec<(String, HashSet<String>)> = Vec::new();
            let pb = bar(
                progress,
                known.rows.get(&pf.entity).copied().unwrap_or(0),
                format!("importing {}", pf.name),
            );
            let mut n = 0u64;
            // Parsing runs on a second thread, a few batches ahead of the database work.
            std::thread::scope(|scope| -> Result<(), ImportError> {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Parsed>>(4);
                let producer = scope.spawn(move || parse_batches(rows, &parser, pf.mode, tx));
                for batch in rx {
                    for mut parsed in batch {
                        n += 1;
                        if n % 4096 == 0 {
                            pb.set_position(n);
                            opts.count_rows(4096);
                        }
                        if let Some(r) = roles.as_mut() {
                            let derived = v11_user(&mut parsed, known);
                            if pf.mode == Mode::Delta {
                                owners.push((
                                    parsed.record.sourced_id.clone(),
                                    derived.iter().map(|d| d.sourced_id.clone()).collect(),
                                ));
                            }
                            for d in derived {
                                r.push(conn, d)?;
                            }
                        }
                        main.push(conn, parsed.record)?;
                        if owners.len() >= BATCH {
                            retire_other_roles(conn, &mut owners, roles.as_mut(), &marker)?;
                        }
                    }
                }
                producer.join().map_err(|_| {
                    ImportError::Db(diesel::result::Error::QueryBuilderError(
                        "CSV parser thread panicked".into(),
                    ))
                })??;
                Ok(())
            })?;
            retire_other_roles(conn, &mut owners, roles.as_mut(), &marker)?;
            pb.finish_and_clear();
            let c = main.finish(conn)?;
            tracing::debug!(file = %pf.name, rows = n, secs = t0.elapsed().as_secs_f64(), "applied");
            add(&mut counts, pf.entity, c);
            if let Some(r) = roles {
                add(&mut counts, Entity::Roles, r.finish(conn)?);
            }
        }
        // The mass-deletion guard: refused, the transaction rolls back.
        let refused: Vec<super::MassDelete> = active_before
            .iter()
            .filter_map(|(e, active)| {
                let gone = counts.get(e).map_or(0, |c| c.tombstoned);
                opts.mass_delete
                    .refuses(*e, *active, gone)
                    .then(|| super::MassDelete {
                        entity: *e,
                        active: *active,
                        tombstoned: gone,
                        limit: opts.mass_delete.limit(*e),
                    })
            })
            .collect();
        if opts.preview {
            return Err(ImportError::Previewed(counts, refused));
        }
        if !refused.is_empty() {
            return Err(ImportError::MassDelete(refused, counts));
        }
        // A changed association row changes the record it is rendered in.
        let mut stamped: HashSet<Entity> = counts.keys().copied().collect();
        for child in counts.keys() {
            if let Some((parent, column)) = child.parent() {
                if !fresh.contains(&parent)
                    && records::touch_parents(conn, *child, parent, column, &marker)? > 0
                {
                    stamped.insert(parent);
                }
            }
        }
        let t0 = std::time::Instant::now();
        deferred.rebuild_but_dlm(conn)?;
        tracing::debug!(secs = t0.elapsed().as_secs_f64(), "indexes built");
        // Restamp just before commit (see the module doc); the deferred dateLastModified
        // indexes are built after it, from the final stamps.
        let t0 = std::time::Instant::now();
        let stamped_at = time::now();
        for e in &stamped {
            records::restamp(conn, *e, &marker, &stamped_at)?;
        }
        tracing::debug!(secs = t0.elapsed().as_secs_f64(), "restamped");
        let t0 = std::time::Instant::now();
        deferred.rebuild(conn)?;
        tracing::debug!(
            secs = t0.elapsed().as_secs_f64(),
            "dateLastModified indexes built"
        );
        // Fresh planner statistics, or SQLite picks e.g. the role index over the class index
        // for `/classes/{id}/students` (it has none until ANALYZE runs).
        // (Small deltas leave the statistics alone, and so do writes through the roster
        // service (REST, LIS), however many records: ANALYZE of a large PostgreSQL store takes
        // seconds, which a POST of 1,000 results paid in full; PostgreSQL's autovacuum analyzes
        // tables that grow, and SQLite keeps the last package's statistics.)
        let t0 = std::time::Instant::now();
        let changed: u64 = counts.values().map(|c| c.changed()).sum();
        let from_files = matches!(input, Input::Files(_));
        if from_files && changed >= ANALYZE_MIN_CHANGES {
            records::analyze(conn)?;
        }
        tracing::debug!(secs = t0.elapsed().as_secs_f64(), "analyzed");
        let report = ImportReport {
            outcome: Outcome::Committed,
            version: Some(manifest.version),
            diags: diags.clone(),
            counts: counts.clone(),
            rows: known.rows.clone(),
            stamped_at: Some(stamped_at.clone()),
            mass_delete: Vec::new(),
        };
        imports::record(conn, &run_row(&report, started, path))?;
        changes::seal(conn)?;
        Ok(Applied { counts, stamped_at })
    })
}

/// Log the stored state of `ids` of `entity` before the import changes them.
fn log_prior(conn: &mut DbConnection, entity: Entity, ids: &[&str]) -> QueryResult<()> {
    for chunk in ids.chunks(BATCH) {
        if chunk.is_empty() {
            continue;
        }
        let query = records::Query {
            conds: vec![crate::store::views::Where::IdIn(
                chunk.iter().map(|s| s.to_string()).collect(),
            )],
            limit: chunk.len() as i64,
            skip_total: true,
            ..records::Query::default()
        };
        let (before, _) = records::query(conn, entity, &query)?;
        changes::changed(conn, entity, &before)?;
    }
    Ok(())
}

/// Imports changing fewer rows than this skip ANALYZE.
const ANALYZE_MIN_CHANGES: u64 = 1000;

/// Read and parse one (already validated) file, sending batches of rows to the applier. Stops
/// quietly when the receiver is gone (the apply failed).
fn parse_batches(
    mut rows: FileRows<'_>,
    parser: &RowParser,
    mode: Mode,
    tx: std::sync::mpsc::SyncSender<Vec<Parsed>>,
) -> Result<(), ImportError> {
    let mut scratch = Diags::default();
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(row) = rows.next(parser, mode, &mut scratch) {
        if let Row::Parsed(_, parsed) = row {
            batch.push(parsed);
        }
        if batch.len() >= BATCH
            && tx
                .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                .is_err()
        {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
    Ok(())
}

/// A 1.1 user row: default `primaryOrgSourcedId` to the first org and derive its roles.
fn v11_user(parsed: &mut Parsed, known: &Known) -> Vec<Record> {
    if parsed.record.get("primaryOrgSourcedId").is_none() {
        if let Some(first) = parsed.v11_orgs.first() {
            parsed.record.set("primaryOrgSourcedId", first.clone());
        }
    }
    if parsed.record.status != Status::Active {
        return Vec::new();
    }
    v11_roles(
        &parsed.record,
        &parsed.v11_orgs,
        parsed.v11_role.as_deref().unwrap_or(""),
        |o| known.org_types.get(o).cloned(),
    )
}

fn add(counts: &mut BTreeMap<Entity, Counts>, e: Entity, c: Counts) {
    let t = counts.entry(e).or_default();
    t.inserted += c.inserted;
    t.updated += c.updated;
    t.unchanged += c.unchanged;
    t.tombstoned += c.tombstoned;
}

/// Delta 1.1 users: roles of these users that their new `orgSourcedIds` no longer name become
/// tombstones.
fn retire_other_roles(
    conn: &mut DbConnection,
    owners: &mut Vec<(String, HashSet<String>)>,
    roles: Option<&mut Applier>,
    marker: &str,
) -> QueryResult<()> {
    let Some(roles) = roles else { return Ok(()) };
    if owners.is_empty() {
        return Ok(());
    }
    roles.flush(conn)?;
    let keep: HashMap<&str, &HashSet<String>> =
        owners.iter().map(|(u, s)| (u.as_str(), s)).collect();
    let users: Vec<&str> = keep.keys().copied().collect();
    let current = records::active_ids_by(conn, Entity::Roles, "user_sourced_id", &users)?;
    let gone: Vec<&str> = current
        .iter()
        .filter(|(rid, user)| !keep.get(user.as_str()).is_some_and(|s| s.contains(rid)))
        .map(|(rid, _)| rid.as_str())
        .collect();
    if roles.log {
        log_prior(conn, Entity::Roles, &gone)?;
    }
    roles.counts.tombstoned += records::tombstone(conn, Entity::Roles, &gone, marker)? as u64;
    owners.clear();
    Ok(())
}
