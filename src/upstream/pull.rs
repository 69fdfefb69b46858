//! The pull: every rostering collection of the upstream, paged politely by a small pool of
//! workers, read into domain records and written as a OneRoster CSV package in a private
//! temporary folder (so a 100,000-student district never sits in memory), which the importer
//! then validates and applies exactly like an uploaded package: bulk files for a full sync,
//! delta files (with `tobedeleted` rows) for a delta sync, in one transaction. The package is
//! always in the 1.2 layout (the store's): a 1.1 upstream's records are read with the 1.1
//! names, and its users' single `role` and `orgs` become role records as a 1.1 CSV's would.
//!
//! Paging: `limit`/`offset` until an empty page, or until `X-Total-Count` when the upstream
//! sends one (then the remaining pages go to the pool at once, sized by what the first page
//! actually held, since some servers cap the page silently). A page shorter than asked never
//! ends a collection: the rest of its slice is asked for again from where it stopped.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};

use super::client::{Client, ClientError};
use super::json::{Light, Obj};
use super::{SyncError, UpstreamConfig};
use crate::export::PackageWriter;
use crate::http::rest::input::{ref_id, JsonObject, JsonValue};
use crate::http::rest::routes::{Api, Service};
use crate::ingest::{Diags, Mode};
use crate::model::catalog::{layout, Column, Entity, Target, Version};
use crate::model::record::{Record, Status};
use crate::model::time;
use chrono::{DateTime, Utc};
use indicatif::{MultiProgress, ProgressBar};

/// The collections pulled, in the order they are asked for (resources only when the upstream
/// grants them: a 401, 403 or 404 for them leaves resources and their links as they are).
pub const COLLECTIONS: [Entity; 8] = [
    Entity::Orgs,
    Entity::AcademicSessions,
    Entity::Courses,
    Entity::Classes,
    Entity::Users,
    Entity::Enrollments,
    Entity::Demographics,
    Entity::Resources,
];

/// The records a parent's JSON lists whole (a 1.2 user's roles and profiles; the resource links
/// of a class, a course, a 1.2 user), with the child's column naming the parent: in a delta,
/// the stored ones of a listed parent that are not listed again are gone.
pub const CHILDREN: [(Entity, Entity, &str); 5] = [
    (Entity::Roles, Entity::Users, "user_sourced_id"),
    (Entity::UserProfiles, Entity::Users, "user_sourced_id"),
    (Entity::UserResources, Entity::Users, "user_sourced_id"),
    (Entity::ClassResources, Entity::Classes, "class_sourced_id"),
    (
        Entity::CourseResources,
        Entity::Courses,
        "course_sourced_id",
    ),
];

const RESOURCE_LINKS: [Entity; 3] = [
    Entity::UserResources,
    Entity::ClassResources,
    Entity::CourseResources,
];

/// The REST path of `entity`'s collection on a `version` upstream (its service's base, as this
/// server routes it).
pub fn collection_path(version: Version, entity: Entity) -> String {
    let base = Api::of(version).base_of(Service::of(entity));
    format!("{base}/{}", entity.name())
}

/// What one pull fetched, before the import.
pub struct Fetched {
    /// The package folder (inside the caller's temporary folder).
    pub package: PathBuf,
    /// Records received per collection (and 1.2 roles and profiles read out of users).
    pub records: BTreeMap<Entity, u64>,
    /// Records listed twice (pages that moved under the paging) and kept once.
    pub duplicates: u64,
    /// The largest `dateLastModified` received.
    pub newest: Option<DateTime<Utc>>,
    /// Records the upstream sent in a shape that cannot be read (entity, sourcedId, rule).
    pub shape: Diags,
    /// Delta: the parents listed (users, classes, courses), whose stored [`CHILDREN`] that
    /// were not listed again are gone.
    pub listed: BTreeMap<Entity, Vec<String>>,
    /// The upstream does not grant resources: they and their links are left as they are.
    pub resources_skipped: bool,
    outs: BTreeMap<Entity, Out>,
    /// 1.1: each user's `role` and `orgs`, made role records once every org's type is known.
    v11_users: Vec<V11User>,
    org_types: HashMap<String, String>,
}

/// A 1.1 user's single role at its orgs.
struct V11User {
    id: String,
    status: Status,
    date_last_modified: Option<String>,
    role: String,
    orgs: Vec<String>,
}

/// One entity's rows as fetched: an intermediate CSV (`sourcedId, status, dateLastModified`,
/// the layout's cells, then the metadata as one JSON cell), rewritten into the package once
/// every metadata key is known.
struct Out {
    entity: Entity,
    path: PathBuf,
    w: csv::Writer<BufWriter<File>>,
    cols: Vec<Column>,
    seen: HashSet<u128>,
    meta: BTreeSet<String>,
    rows: u64,
}

impl Out {
    fn new(dir: &Path, entity: Entity) -> Result<Out, SyncError> {
        let path = dir.join(format!("{}.part", entity.name()));
        let f = File::create(&path).map_err(|e| SyncError::io(&path, e))?;
        Ok(Out {
            entity,
            path,
            w: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(BufWriter::with_capacity(1 << 16, f)),
            cols: layout(entity, Version::V1_2),
            seen: HashSet::new(),
            meta: BTreeSet::new(),
            rows: 0,
        })
    }

    /// Add `rec` unless its id was already written; returns whether it was new.
    fn push(&mut self, rec: &Record) -> Result<bool, SyncError> {
        let h = xxhash_rust::xxh3::xxh3_128(rec.sourced_id.as_bytes());
        if !self.seen.insert(h) {
            return Ok(false);
        }
        let mut row: Vec<String> = Vec::with_capacity(self.cols.len() + 4);
        row.push(rec.sourced_id.clone());
        row.push(rec.status.as_str().to_string());
        row.push(rec.date_last_modified.clone().unwrap_or_default());
        for c in &self.cols {
            row.push(match c.target {
                Target::Field(i) => rec.values.get(i).map(|v| v.to_cell()).unwrap_or_default(),
                // Never in the 1.2 layout the package is written in.
                Target::V11Role | Target::V11OrgSourcedIds => String::new(),
            });
        }
        if rec.metadata.is_empty() {
            row.push(String::new());
        } else {
            self.meta.extend(rec.metadata.keys().cloned());
            row.push(serde_json::to_string(&rec.metadata).unwrap_or_default());
        }
        self.w.write_record(&row).map_err(SyncError::csv)?;
        self.rows += 1;
        Ok(true)
    }

    fn contains(&self, id: &str) -> bool {
        self.seen
            .contains(&xxhash_rust::xxh3::xxh3_128(id.as_bytes()))
    }

    /// Rewrite into the package as `entity.csv` (`mode` bulk: status and dateLastModified
    /// left empty, as a bulk file has them).
    /// `ids`: the stored records this pull names by their natural key (a role's
    /// `user:org:role`): their sourcedId is written in place of the key, so that a store loaded
    /// from CSV keeps its ids, with what the JSON cannot carry (a link's title) kept.
    fn finish(
        mut self,
        pw: &mut PackageWriter,
        mode: Mode,
        ids: Option<&HashMap<String, Kept>>,
    ) -> Result<u64, SyncError> {
        self.w.flush().map_err(|e| SyncError::io(&self.path, e))?;
        drop(self.w);
        let keys: Vec<String> = self.meta.into_iter().collect();
        let mut sink = pw
            .file(self.entity, mode, &keys)
            .map_err(SyncError::Export)?;
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(&self.path)
            .map_err(SyncError::csv)?;
        let n = self.cols.len();
        let mut rec = csv::StringRecord::new();
        let mut cells: Vec<String> = Vec::with_capacity(n + 3 + keys.len());
        let title = self.cols.iter().position(|c| c.header == "title");
        while rd.read_record(&mut rec).map_err(SyncError::csv)? {
            cells.clear();
            let kept = rec.get(0).and_then(|id| ids.and_then(|m| m.get(id)));
            for (i, c) in rec.iter().take(n + 3).enumerate() {
                cells.push(if mode == Mode::Bulk && (i == 1 || i == 2) {
                    String::new()
                } else if let (0, Some(k)) = (i, kept) {
                    k.id.clone()
                } else {
                    c.to_string()
                });
            }
            if let Some(k) = kept {
                if let (Some(cell), Some(v)) = (title.and_then(|t| cells.get_mut(t + 3)), &k.title)
                {
                    if cell.is_empty() {
                        v.clone_into(cell);
                    }
                }
            }
            if !keys.is_empty() {
                let meta: BTreeMap<String, String> = rec
                    .get(n + 3)
                    .filter(|m| !m.is_empty())
                    .and_then(|m| serde_json::from_str(m).ok())
                    .unwrap_or_default();
                for k in &keys {
                    cells.push(meta.get(k).cloned().unwrap_or_default());
                }
            }
            sink.write_cells(&cells).map_err(SyncError::Export)?;
        }
        let rows = sink.finish().map_err(SyncError::Export)?;
        let _ = std::fs::remove_file(&self.path);
        Ok(rows)
    }
}

/// One page to fetch: `entity`'s records from `offset`, up to `end` when the total is known.
#[derive(Debug, Clone, Copy)]
struct Job {
    entity: Entity,
    offset: u64,
    end: Option<u64>,
    first: bool,
}

struct Queue {
    jobs: VecDeque<Job>,
    /// Jobs queued or running.
    outstanding: usize,
    failed: Option<SyncError>,
}

/// Everything the workers share.
struct Shared<'a> {
    cfg: &'a UpstreamConfig,
    client: &'a Client,
    filter: Option<String>,
    full: bool,
    queue: Mutex<Queue>,
    wake: Condvar,
    outs: BTreeMap<Entity, Mutex<Out>>,
    newest: Mutex<Option<DateTime<Utc>>>,
    duplicates: Mutex<u64>,
    shape: Mutex<Diags>,
    /// Delta: parents listed (their stored children not listed again are tombstoned).
    listed: Mutex<BTreeMap<Entity, Vec<String>>>,
    resources_skipped: std::sync::atomic::AtomicBool,
    v11_users: Mutex<Vec<V11User>>,
    org_types: Mutex<HashMap<String, String>>,
    bars: BTreeMap<Entity, ProgressBar>,
}

/// Fetch every collection into a package under `dir`.
pub fn fetch(
    cfg: &UpstreamConfig,
    client: &Client,
    dir: &Path,
    since: Option<&str>,
    progress: bool,
) -> Result<Fetched, SyncError> {
    let version = cfg.version;
    let full = since.is_none();
    let mut entities: Vec<Entity> = COLLECTIONS.to_vec();
    entities.extend([
        Entity::Roles,
        Entity::ClassResources,
        Entity::CourseResources,
    ]);
    if version == Version::V1_2 {
        entities.extend([Entity::UserProfiles, Entity::UserResources]);
    }
    let mut outs = BTreeMap::new();
    for e in &entities {
        outs.insert(*e, Mutex::new(Out::new(dir, *e)?));
    }
    let multi = MultiProgress::new();
    let bars: BTreeMap<Entity, ProgressBar> = COLLECTIONS
        .iter()
        .map(|e| {
            let pb = crate::ingest::bar(progress, 0, format!("{} (upstream)", e.name()));
            (*e, if progress { multi.add(pb) } else { pb })
        })
        .collect();
    let shared = Shared {
        cfg,
        client,
        filter: since.map(|s| format!("dateLastModified>'{s}'")),
        full,
        queue: Mutex::new(Queue {
            jobs: COLLECTIONS
                .iter()
                .map(|e| Job {
                    entity: *e,
                    offset: 0,
                    end: None,
                    first: true,
                })
                .collect(),
            outstanding: COLLECTIONS.len(),
            failed: None,
        }),
        wake: Condvar::new(),
        outs,
        newest: Mutex::new(None),
        duplicates: Mutex::new(0),
        shape: Mutex::new(Diags::default()),
        listed: Mutex::new(BTreeMap::new()),
        resources_skipped: std::sync::atomic::AtomicBool::new(false),
        v11_users: Mutex::new(Vec::new()),
        org_types: Mutex::new(HashMap::new()),
        bars,
    };
    std::thread::scope(|s| {
        for _ in 0..cfg.concurrency.max(1) {
            s.spawn(|| worker(&shared));
        }
    });
    let Shared {
        queue,
        outs,
        newest,
        duplicates,
        shape,
        listed,
        resources_skipped,
        v11_users,
        org_types,
        bars,
        ..
    } = shared;
    for b in bars.values() {
        b.finish();
    }
    if let Some(e) = into_inner(queue).failed {
        return Err(e);
    }
    let outs: BTreeMap<Entity, Out> = outs.into_iter().map(|(e, m)| (e, into_inner(m))).collect();
    Ok(Fetched {
        package: dir.join("package"),
        records: outs.iter().map(|(e, o)| (*e, o.rows)).collect(),
        duplicates: into_inner(duplicates),
        newest: into_inner(newest),
        shape: into_inner(shape),
        listed: into_inner(listed),
        resources_skipped: resources_skipped.into_inner(),
        outs,
        v11_users: into_inner(v11_users),
        org_types: into_inner(org_types),
    })
}

fn into_inner<T>(m: Mutex<T>) -> T {
    m.into_inner().unwrap_or_else(PoisonError::into_inner)
}

fn worker(sh: &Shared<'_>) {
    loop {
        let job = {
            let mut q = sh.queue.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if q.failed.is_some() {
                    return;
                }
                if let Some(j) = q.jobs.pop_front() {
                    break j;
                }
                if q.outstanding == 0 {
                    return;
                }
                q = sh.wake.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let result = page(sh, job);
        let mut q = sh.queue.lock().unwrap_or_else(PoisonError::into_inner);
        q.outstanding -= 1;
        match result {
            Ok(next) => {
                q.outstanding += next.len();
                q.jobs.extend(next);
            }
            Err(e) => {
                if q.failed.is_none() {
                    q.failed = Some(e);
                }
            }
        }
        sh.wake.notify_all();
    }
}

/// Fetch one page, write its records, and say which pages follow.
fn page(sh: &Shared<'_>, job: Job) -> Result<Vec<Job>, SyncError> {
    let size = sh.cfg.page_size.max(1);
    let limit = match job.end {
        Some(end) => size.min(end.saturating_sub(job.offset)).max(1),
        None => size,
    };
    let mut query = vec![
        ("limit", limit.to_string()),
        ("offset", job.offset.to_string()),
    ];
    if let Some(f) = &sh.filter {
        query.push(("filter", f.clone()));
    }
    let path = collection_path(sh.cfg.version, job.entity);
    let how = Reading {
        entity: job.entity,
        v1p1: sh.cfg.version == Version::V1_1,
        full: sh.full,
    };
    let answer = match sh.client.get_with(&path, &query, &|body| how.page(body)) {
        Ok(a) => a,
        Err(ClientError::Refused(401 | 403 | 404, why)) if job.entity == Entity::Resources => {
            tracing::info!(%why, "upstream: no resources granted; resources left as they are");
            sh.resources_skipped
                .store(true, std::sync::atomic::Ordering::Relaxed);
            return Ok(Vec::new());
        }
        Err(e) => return Err(SyncError::Client(e)),
    };
    let key = job.entity.name();
    let read = match answer.body {
        Some(PageRead::Records(r)) => r,
        Some(PageRead::NotArray) => {
            return Err(SyncError::Client(ClientError::Protocol(format!(
                "GET {path}: '{key}' is not an array"
            ))))
        }
        Some(PageRead::Missing) | None => {
            return Err(SyncError::Client(ClientError::Protocol(format!(
                "GET {path} (offset {}): HTTP {} without the '{key}' key the answer must hold",
                job.offset, answer.status
            ))))
        }
    };
    let got = read.items;
    take(sh, job.entity, read)?;
    if let Some(b) = sh.bars.get(&job.entity) {
        if let Some(t) = answer.total {
            b.set_length(t);
        }
        b.inc(got);
    }
    if got == 0 {
        return Ok(Vec::new());
    }
    let next = |offset: u64, end: Option<u64>| Job {
        entity: job.entity,
        offset,
        end,
        first: false,
    };
    Ok(match (job.first, answer.total, job.end) {
        // The first page of a collection with a total: the rest at once, in slices the size
        // of what this page held (a server may cap the page below `limit`).
        (true, Some(total), _) => {
            let step = got;
            let mut jobs = Vec::new();
            let mut o = got;
            while o < total {
                jobs.push(next(o, Some((o + step).min(total))));
                o += step;
            }
            jobs
        }
        (_, _, Some(end)) => {
            if job.offset + got < end {
                vec![next(job.offset + got, Some(end))]
            } else {
                Vec::new()
            }
        }
        // No total: page on until an empty page.
        _ => vec![next(job.offset + got, None)],
    })
}

/// One record read from a page, with the child records its JSON lists ([`CHILDREN`]).
struct Taken {
    rec: Record,
    children: Vec<Record>,
}

/// A page's body: its records, or why it is not a page of the collection.
enum PageRead {
    Records(Read),
    /// Without the collection's key.
    Missing,
    NotArray,
}

/// What a page's items became. Reading touches nothing shared (a page read again after a
/// retry starts afresh); [`take`] then adds it to the pull.
#[derive(Default)]
struct Read {
    /// Items on the page (read or not): how far the paging moves.
    items: u64,
    recs: Vec<Taken>,
    /// Items that cannot be read: (sourcedId, rule, message).
    shape: Vec<(String, &'static str, String)>,
    v11_users: Vec<V11User>,
    org_types: Vec<(String, String)>,
    newest: Option<DateTime<Utc>>,
}

/// How a page of one collection is read.
struct Reading {
    entity: Entity,
    v1p1: bool,
    full: bool,
}

impl Reading {
    /// Read a page's bytes into records (the JSON as a borrowed tree, `upstream::json`).
    fn page(&self, body: &[u8]) -> Result<PageRead, serde_json::Error> {
        let json = Light::parse(body)?;
        let Some(top) = json.object() else {
            return Err(serde::de::Error::custom("not an object"));
        };
        let items = match top.member(self.entity.name()) {
            Some(Light::Array(a)) => a,
            Some(_) => return Ok(PageRead::NotArray),
            None => return Ok(PageRead::Missing),
        };
        let mut read = Read {
            items: items.len() as u64,
            recs: Vec::with_capacity(items.len()),
            ..Read::default()
        };
        for item in items {
            self.item(item, &mut read);
        }
        Ok(PageRead::Records(read))
    }

    /// Read one item of a page into `read`.
    fn item(&self, item: &Light<'_>, read: &mut Read) {
        let (entity, v1p1) = (self.entity, self.v1p1);
        let Some(o) = item.object() else {
            read.shape.push((
                String::new(),
                "wire-shape",
                "an item of the collection is not an object".into(),
            ));
            return;
        };
        let id = o
            .member("sourcedId")
            .and_then(JsonValue::text)
            .unwrap_or("");
        let mut rec = match crate::http::rest::input::record(entity, o, v1p1) {
            Ok(r) if !r.sourced_id.is_empty() => r,
            Ok(_) => {
                read.shape.push((
                    String::new(),
                    "required",
                    "a record without a sourcedId".into(),
                ));
                return;
            }
            Err(m) => {
                read.shape.push((id.to_string(), "wire-shape", m.0));
                return;
            }
        };
        if let Some(d) = o.member("dateLastModified").and_then(JsonValue::text) {
            if let Some(t) = time::parse_datetime(d) {
                read.newest = read.newest.max(Some(t));
            }
            rec.date_last_modified = Some(d.to_string());
        }
        if self.full && rec.status == Status::ToBeDeleted {
            return;
        }
        let mut kids: Vec<Record> = Vec::new();
        if let Some(link) = match entity {
            Entity::Classes => Some(Entity::ClassResources),
            Entity::Courses => Some(Entity::CourseResources),
            Entity::Users if !v1p1 => Some(Entity::UserResources),
            _ => None,
        } {
            kids.extend(resource_links(o, &rec, link));
        }
        if entity == Entity::Orgs {
            if let Some(t) = rec.get("type") {
                read.org_types.push((rec.sourced_id.clone(), t.to_string()));
            }
        }
        if entity == Entity::Users {
            if v1p1 {
                let orgs: Vec<String> = o
                    .member("orgs")
                    .and_then(JsonValue::array)
                    .map(|a| a.iter().filter_map(ref_id).map(str::to_string).collect())
                    .unwrap_or_default();
                read.v11_users.push(V11User {
                    id: rec.sourced_id.clone(),
                    status: rec.status,
                    date_last_modified: rec.date_last_modified.clone(),
                    role: o
                        .member("role")
                        .and_then(JsonValue::text)
                        .unwrap_or("")
                        .to_string(),
                    orgs,
                });
            } else {
                match children(o, &rec) {
                    Ok((r, p)) => kids.extend(r.into_iter().chain(p)),
                    Err(m) => {
                        read.shape.push((rec.sourced_id, "wire-shape", m));
                        return;
                    }
                }
            }
        }
        read.recs.push(Taken {
            rec,
            children: kids,
        });
    }
}

/// Add one page's records to the pull: its entity's out (and the children's), the 1.1
/// users, the orgs' types, what could not be read.
fn take(sh: &Shared<'_>, entity: Entity, read: Read) -> Result<(), SyncError> {
    let Read {
        recs,
        shape: bad,
        mut v11_users,
        org_types,
        newest,
        ..
    } = read;
    let file = format!("upstream {}", entity.name());
    for (id, rule, message) in bad {
        shape(sh, &file, &id, rule, message);
    }
    if !org_types.is_empty() {
        sh.org_types
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(org_types);
    }
    if newest.is_some() {
        let mut n = sh.newest.lock().unwrap_or_else(PoisonError::into_inner);
        *n = (*n).max(newest);
    }
    let mut dups = 0;
    {
        let out = |e: Entity| {
            sh.outs
                .get(&e)
                .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner))
        };
        let Some(mut main) = out(entity) else {
            return Ok(());
        };
        let mut listed = Vec::new();
        let mut fresh: HashSet<&str> = HashSet::new();
        let mut children: Vec<&Record> = Vec::new();
        let parent = CHILDREN.iter().any(|(_, p, _)| *p == entity);
        for Taken { rec, children: c } in &recs {
            if !main.push(rec)? {
                dups += 1;
                continue;
            }
            fresh.insert(&rec.sourced_id);
            if parent {
                listed.push(rec.sourced_id.clone());
            }
            children.extend(c);
        }
        drop(main);
        children.sort_by_key(|r| r.entity);
        for group in children.chunk_by(|a, b| a.entity == b.entity) {
            if let Some(mut o) = out(group[0].entity) {
                for r in group {
                    o.push(r)?;
                }
            }
        }
        if !v11_users.is_empty() {
            v11_users.retain(|u| fresh.contains(u.id.as_str()));
            sh.v11_users
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(v11_users);
        }
        if !sh.full && !listed.is_empty() {
            sh.listed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(entity)
                .or_default()
                .extend(listed);
        }
    }
    if dups > 0 {
        *sh.duplicates.lock().unwrap_or_else(PoisonError::into_inner) += dups;
    }
    Ok(())
}

fn shape(sh: &Shared<'_>, file: &str, id: &str, rule: &'static str, message: String) {
    let message = if id.is_empty() {
        message
    } else {
        format!("sourcedId '{id}': {message}")
    };
    sh.shape
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .error(file, 0, "", rule, message);
}

/// A class's, course's or 1.2 user's `resources[]` as `link` records (`parent:resource`).
fn resource_links(o: &Obj<'_>, parent: &Record, link: Entity) -> Vec<Record> {
    let field = match link {
        Entity::ClassResources => "classSourcedId",
        Entity::CourseResources => "courseSourcedId",
        _ => "userSourcedId",
    };
    o.member("resources")
        .and_then(JsonValue::array)
        .unwrap_or(&[])
        .iter()
        .filter_map(ref_id)
        .map(|res| {
            let mut r = Record::new(link, format!("{}:{res}", parent.sourced_id));
            r.status = parent.status;
            r.date_last_modified = parent.date_last_modified.clone();
            r.set(field, parent.sourced_id.as_str())
                .set("resourceSourcedId", res);
            r
        })
        .collect()
}

/// A 1.2 user's `roles[]` and `userProfiles[]` as role and profile records (a role's id is
/// `user:org:role`, stable from one sync to the next; a profile's is its `profileId`).
fn children(o: &Obj<'_>, user: &Record) -> Result<(Vec<Record>, Vec<Record>), String> {
    let uid = user.sourced_id.as_str();
    let text = |m: &Obj<'_>, k: &str| m.member(k).and_then(JsonValue::text).map(str::to_string);
    let mut roles = Vec::new();
    for r in o.member("roles").and_then(JsonValue::array).unwrap_or(&[]) {
        let Some(m) = r.object() else {
            return Err("roles: an item is not an object".into());
        };
        let org = m
            .member("org")
            .and_then(ref_id)
            .ok_or("roles: an item without an org")?;
        let role = text(m, "role").ok_or("roles: an item without a role")?;
        let mut rec = Record::new(Entity::Roles, format!("{uid}:{org}:{role}"));
        rec.status = user.status;
        rec.date_last_modified = user.date_last_modified.clone();
        rec.set("userSourcedId", uid)
            .set("orgSourcedId", org)
            .set("role", role)
            .set("roleType", text(m, "roleType").unwrap_or_default());
        for (k, f) in [
            ("userProfile", "userProfileSourcedId"),
            ("beginDate", "beginDate"),
            ("endDate", "endDate"),
        ] {
            let v = match m.member(k) {
                Some(v @ Light::Object(_)) => ref_id(v).map(str::to_string),
                _ => text(m, k),
            };
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                rec.set(f, v);
            }
        }
        roles.push(rec);
    }
    let mut profiles = Vec::new();
    for p in o
        .member("userProfiles")
        .and_then(JsonValue::array)
        .unwrap_or(&[])
    {
        let Some(m) = p.object() else {
            return Err("userProfiles: an item is not an object".into());
        };
        let id = text(m, "profileId").ok_or("userProfiles: an item without a profileId")?;
        let mut rec = Record::new(Entity::UserProfiles, id);
        rec.status = user.status;
        rec.date_last_modified = user.date_last_modified.clone();
        rec.set("userSourcedId", uid);
        for k in ["profileType", "vendorId", "applicationId", "description"] {
            if let Some(v) = text(m, k) {
                rec.set(k, v);
            }
        }
        if let Some(c) = m
            .member("credentials")
            .and_then(JsonValue::array)
            .and_then(|a| a.first())
            .and_then(JsonValue::object)
        {
            for (k, f) in [
                ("type", "credentialType"),
                ("username", "username"),
                ("password", "password"),
            ] {
                if let Some(v) = text(c, k) {
                    rec.set(f, v);
                }
            }
        }
        profiles.push(rec);
    }
    Ok((roles, profiles))
}

/// A stored child record a fetched one is matched to by natural key: its id, and its title (a
/// resource link's, which the JSON does not carry).
pub struct Kept {
    pub id: String,
    pub title: Option<String>,
}

/// The store's [`CHILDREN`] records per entity, by natural key.
pub type Stored = Vec<(Entity, Vec<(String, Kept)>)>;

/// The key a pull names a stored [`CHILDREN`] record by (the id it would give it), when that
/// differs from the record's own sourcedId: a role's `user:org:role` (1.1: `user:org`), a
/// resource link's `parent:resource`.
pub fn natural_key(version: Version, r: &Record) -> Option<String> {
    let g = |f: &str| r.get(f).unwrap_or("");
    let key = match r.entity {
        Entity::Roles if version == Version::V1_1 => {
            format!("{}:{}", g("userSourcedId"), g("orgSourcedId"))
        }
        Entity::Roles => format!("{}:{}:{}", g("userSourcedId"), g("orgSourcedId"), g("role")),
        Entity::ClassResources => format!("{}:{}", g("classSourcedId"), g("resourceSourcedId")),
        Entity::CourseResources => {
            format!("{}:{}", g("courseSourcedId"), g("resourceSourcedId"))
        }
        Entity::UserResources => format!("{}:{}", g("userSourcedId"), g("resourceSourcedId")),
        _ => return None,
    };
    (key != r.sourced_id).then_some(key)
}

/// Write the package: the file of every fetched entity with rows (bulk for a full sync, so
/// that what the upstream no longer lists becomes a tombstone; delta otherwise). `stored`: the
/// store's active [`CHILDREN`] records (a full sync: all; a delta: the listed parents') by
/// natural key: a fetched child matching one by natural key keeps the stored id (and title)
/// (a store first loaded from CSV keeps its role and link ids), and in a delta the stored
/// children of a listed parent that were not listed again become tombstones. A full sync that
/// fetched nothing of an entity the store holds (`held`) writes its file empty, which the
/// importer refuses (it would delete every record): an upstream that suddenly lists nothing is
/// not believed.
pub fn write_package(
    fetched: &mut Fetched,
    full: bool,
    stored: Stored,
    held: &BTreeSet<Entity>,
) -> Result<BTreeMap<Entity, u64>, SyncError> {
    let mut outs = std::mem::take(&mut fetched.outs);
    let stamp = time::now();
    let mut rename: BTreeMap<Entity, HashMap<String, Kept>> = BTreeMap::new();
    // 1.1 users' roles, as a 1.1 CSV import makes them (`user:org`, administrator by org type).
    if let Some(out) = outs.get_mut(&Entity::Roles) {
        let types = &fetched.org_types;
        for u in std::mem::take(&mut fetched.v11_users) {
            let mut user = Record::new(Entity::Users, u.id);
            user.status = u.status;
            let roles =
                crate::ingest::apply::v11_roles(&user, &u.orgs, &u.role, |o| types.get(o).cloned());
            for mut r in roles {
                r.date_last_modified = u.date_last_modified.clone();
                out.push(&r)?;
            }
        }
    }
    for (entity, records) in stored {
        let Some(out) = outs.get_mut(&entity) else {
            continue;
        };
        let mut map = HashMap::new();
        let mut gone = Vec::new();
        for (key, kept) in records {
            if out.contains(&key) {
                if key != kept.id || kept.title.is_some() {
                    map.insert(key, kept);
                }
            } else if !full {
                gone.push(kept.id);
            }
        }
        for id in gone {
            let mut r = Record::new(entity, id);
            r.status = Status::ToBeDeleted;
            r.date_last_modified = Some(stamp.clone());
            out.push(&r)?;
        }
        if !map.is_empty() {
            rename.insert(entity, map);
        }
    }
    if fetched.resources_skipped {
        for e in std::iter::once(Entity::Resources).chain(RESOURCE_LINKS) {
            if let Some(o) = outs.remove(&e) {
                let _ = std::fs::remove_file(&o.path);
            }
        }
    }
    let mode = if full { Mode::Bulk } else { Mode::Delta };
    let mut pw =
        PackageWriter::create(&fetched.package, Version::V1_2).map_err(SyncError::Export)?;
    let mut written = BTreeMap::new();
    for (entity, out) in outs {
        if out.rows == 0 && !(full && held.contains(&entity)) {
            let _ = std::fs::remove_file(&out.path);
            continue;
        }
        let ids = rename.get(&entity);
        written.insert(entity, out.finish(&mut pw, mode, ids)?);
    }
    pw.finish().map_err(SyncError::Export)?;
    Ok(written)
}
