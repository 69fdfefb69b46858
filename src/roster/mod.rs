//! The roster service: the one door through which every binding reads and writes the store on
//! behalf of a caller. REST and LIS are encoders over it; what a caller may see or change is
//! decided here, whatever the binding.
//!
//! * [`Caller`]: who is asking (client, granted scopes, the orgs it may see, expanded);
//!   `http::auth` makes one from any credential.
//! * [`Roster::read`]: records of one entity for a [`ReadSpec`] (named conditions, a client
//!   filter, sort, page, the parents a nested path names), with the caller's scope checked,
//!   its org restriction ANDed outside the filter, and the count and deep-offset caches used;
//!   [`Roster::related`] loads the associations of a slice of them.
//! * [`Roster::write`]: a batch of domain records validated and applied by the importer's own
//!   rules on the caller's connection, inside the caller's transaction, after the write rule
//!   for restricted clients (`write::guard`).
//! * [`batch::Batcher`]: group commit, so that concurrent writes share one transaction and
//!   one commit.

use std::borrow::Cow;
use std::sync::Arc;

use crate::auth::scopes;
use crate::model::catalog::Entity;
use crate::model::record::Record;
use crate::model::sharing::Rule;
use crate::query::{Filter, FilterError};
use crate::store::records::{self, CountCache, EmptyCache, Query};
use crate::store::related;
use crate::store::views;
use crate::store::DbConnection;

pub mod batch;
mod delta;
mod write;

pub use crate::store::related::Related;
pub use crate::store::views::{ClassSel, Visibility, Where};
pub use delta::{compare_views, missing_named, ViewChange};
pub use write::WriteError;

/// Who is asking: an authenticated client, what it was granted, and what it may see.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: String,
    /// Granted scope URIs.
    pub scopes: Vec<String>,
    /// What its sharing rules in force let it see, orgs expanded; `None`: everything.
    pub sharing: Option<Arc<Visibility>>,
    /// The orgs its rules share whole (before expansion), where the LIS write operations put a
    /// new person's roles; `None` when it shares everything.
    pub client_orgs: Option<Vec<String>>,
    /// JSON field names removed from every record it receives and refused in its filters
    /// and sorts.
    pub mask: Arc<Vec<String>>,
}

impl Caller {
    /// A caller from a verified credential: its rules in force today, each org expanded to
    /// everything below it (`store::views::expand_orgs`), and its mask.
    pub fn new(
        conn: &mut DbConnection,
        client_id: String,
        scopes: Vec<String>,
        rules: Option<&[Rule]>,
        mask: Vec<String>,
    ) -> diesel::QueryResult<Caller> {
        let today = crate::model::time::now();
        let today = today.get(..10).unwrap_or_default();
        let (sharing, client_orgs) = match rules {
            None => (None, None),
            Some(rules) => {
                let in_force: Vec<&Rule> = rules.iter().filter(|r| r.in_force(today)).collect();
                let mut whole: Vec<String> = in_force
                    .iter()
                    .filter(|r| !r.selects_classes())
                    .flat_map(|r| r.orgs.iter().cloned())
                    .collect();
                whole.sort();
                whole.dedup();
                if in_force.iter().any(|r| r.shares_all()) {
                    (None, None)
                } else {
                    let mut vis = Visibility {
                        orgs: if whole.is_empty() {
                            Vec::new()
                        } else {
                            views::expand_orgs(conn, &whole)?
                        },
                        classes: Vec::new(),
                    };
                    for r in in_force.iter().filter(|r| r.selects_classes()) {
                        vis.classes.push(ClassSel {
                            schools: if r.orgs.is_empty() {
                                Vec::new()
                            } else {
                                views::expand_orgs(conn, &r.orgs)?
                            },
                            courses: r.courses.clone(),
                            classes: r.classes.clone(),
                            grades: r.grades.clone(),
                            class_types: r.class_types.clone(),
                        });
                    }
                    (Some(Arc::new(vis)), Some(whole))
                }
            }
        };
        Ok(Caller {
            client_id,
            scopes,
            sharing,
            client_orgs,
            mask: Arc::new(mask),
        })
    }

    /// A caller sharing `orgs` whole (`None`: everything), nothing masked.
    pub fn with_orgs(
        conn: &mut DbConnection,
        client_id: String,
        scopes: Vec<String>,
        orgs: Option<&[String]>,
    ) -> diesel::QueryResult<Caller> {
        let rules = orgs.map(|o| vec![Rule::orgs(o)]);
        Caller::new(conn, client_id, scopes, rules.as_deref(), Vec::new())
    }

    /// Whether the caller holds one of `scopes` (URIs).
    pub fn holds(&self, scopes: &[String]) -> bool {
        scopes.iter().any(|s| self.scopes.contains(s))
    }

    /// Whether the caller may write (rosterbridge's write scope).
    pub fn may_write(&self) -> bool {
        self.scopes.iter().any(|s| s == scopes::ROSTER_WRITE)
    }

    /// Whether the caller meets `need`.
    pub fn allows(&self, need: Need<'_>) -> bool {
        match need {
            Need::OneOf(scopes) => self.holds(scopes),
            Need::Write => self.may_write(),
        }
    }

    /// The condition limiting reads to what the caller may see (none when unrestricted).
    pub fn visible(&self) -> Option<Where> {
        self.sharing.clone().map(Where::VisibleTo)
    }

    /// The same client without its org restriction, for the checks a write must make over
    /// every record (ids in use, where a membership's class is); never for answers.
    fn unrestricted(&self) -> Caller {
        Caller {
            sharing: None,
            ..self.clone()
        }
    }
}

/// The caches serving reads share: `X-Total-Count`s and page ends per store generation, the
/// tables known empty, and which apps' sharing ledgers are known current.
#[derive(Debug, Default)]
pub struct Caches {
    pub counts: CountCache,
    pub empty: EmptyCache,
    /// Client id → (store generation, rules digest) its ledger was last found current at, so
    /// that a ruled app's reads check the ledger's state only when the store moved.
    pub ledgers: std::sync::Mutex<std::collections::HashMap<String, (i64, String)>>,
}

/// What a read requires of the caller.
#[derive(Debug, Clone, Copy)]
pub enum Need<'a> {
    /// One of these scopes (URIs): the read answers the caller.
    OneOf(&'a [String]),
    /// The write scope: the read serves a write (its records decide what is written; they are
    /// not answered).
    Write,
}

/// One read: an entity, the conditions its records meet, the parents that must exist first,
/// a client filter, sort and page.
#[derive(Debug, Clone)]
pub struct ReadSpec<'f> {
    pub entity: Entity,
    pub need: Need<'f>,
    /// Records (entity, conditions) that must exist, and be visible, before the read runs
    /// (a nested path's parents); the first missing one is [`ReadError::NoParent`] with its
    /// index.
    pub parents: Vec<(Entity, Vec<Where>)>,
    /// Named conditions, all of which hold (the caller's org restriction is added here).
    pub conds: Vec<Where>,
    /// The client's filter, ANDed in its own parentheses.
    pub filter: Option<&'f Filter>,
    /// Sort column and direction (`sourcedId` breaks ties; none: by `sourcedId`).
    pub sort: Option<(&'static str, bool)>,
    pub limit: i64,
    pub offset: i64,
    /// Count every match (collections); otherwise the total is the page length.
    pub count: bool,
}

impl<'f> ReadSpec<'f> {
    /// All records of `entity` meeting `conds`, in id order, up to `limit`, uncounted.
    pub fn new(entity: Entity, need: Need<'f>, conds: Vec<Where>, limit: i64) -> ReadSpec<'f> {
        ReadSpec {
            entity,
            need,
            parents: Vec::new(),
            conds,
            filter: None,
            sort: None,
            limit,
            offset: 0,
            count: false,
        }
    }
}

/// Records a read found: one page and the total number of matches.
#[derive(Debug)]
pub struct Page {
    pub records: Vec<Record>,
    pub total: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The caller holds none of the scopes the read needs.
    #[error("missing scope")]
    Forbidden,
    /// Parent `n` of the spec does not exist or is not visible.
    #[error("parent {0} not found")]
    NoParent(usize),
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// The filter or sort names a field masked for this caller.
    #[error("field '{0}' is not available to this client")]
    Masked(String),
    #[error("store error: {0}")]
    Db(#[from] diesel::result::Error),
}

/// The roster service for one caller on one connection (a request's).
pub struct Roster<'a> {
    pub(crate) conn: &'a mut DbConnection,
    caller: Cow<'a, Caller>,
    /// Set when serving (a server's shared caches); `None` in tools and tests.
    caches: Option<&'a Caches>,
    /// The store generation the caches are keyed by, read once per request (a write forgets
    /// it).
    generation: Option<i64>,
    /// Inside a write's transaction: visibility is always computed from the tables as they
    /// are (never from the sharing ledger, which a write leaves behind).
    pub(crate) live: bool,
}

impl<'a> Roster<'a> {
    pub fn new(
        conn: &'a mut DbConnection,
        caller: &'a Caller,
        caches: Option<&'a Caches>,
    ) -> Roster<'a> {
        Roster {
            conn,
            caller: Cow::Borrowed(caller),
            caches,
            generation: None,
            live: false,
        }
    }

    /// This roster again, for a shorter borrow (a helper's own context).
    pub fn reborrow(&mut self) -> Roster<'_> {
        Roster {
            conn: &mut *self.conn,
            caller: Cow::Borrowed(&*self.caller),
            caches: self.caches,
            generation: self.generation,
            live: self.live,
        }
    }

    /// `f` in one transaction on this roster's connection, after taking the import lock: the
    /// write's own checks (ids in use, visibility, the write rule) see the store as the write
    /// leaves it, concurrent writes queue on the lock instead of racing, and the importer works
    /// on the same connection. `Ok(Err(refusal))` commits (what `f` recorded, such as a
    /// rejected write's import-log row); `Err` rolls back.
    pub fn transaction<T, R, E>(
        &mut self,
        f: impl FnOnce(&mut Roster<'_>) -> Result<Result<T, R>, E>,
    ) -> Result<Result<T, R>, E>
    where
        E: From<diesel::result::Error>,
    {
        let caller = &*self.caller;
        let caches = self.caches;
        diesel::Connection::transaction(&mut *self.conn, |conn| {
            crate::store::imports::lock(conn, &crate::model::time::now())?;
            let mut inner = Roster {
                conn,
                caller: Cow::Borrowed(caller),
                caches,
                generation: None,
                live: true,
            };
            f(&mut inner)
        })
    }

    /// The store generation (read once).
    fn generation(&mut self) -> diesel::QueryResult<i64> {
        match self.generation {
            Some(g) => Ok(g),
            None => {
                let g = records::generation(self.conn)?;
                self.generation = Some(g);
                Ok(g)
            }
        }
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Records of `spec.entity` the caller may see, meeting the spec.
    pub fn read(&mut self, spec: &ReadSpec<'_>) -> Result<Page, ReadError> {
        if !self.caller.allows(spec.need) {
            return Err(ReadError::Forbidden);
        }
        for (i, (parent, conds)) in spec.parents.iter().enumerate() {
            let mut conds = conds.clone();
            conds.extend(self.caller.visible());
            if !records::exists(self.conn, *parent, &conds)? {
                return Err(ReadError::NoParent(i));
            }
        }
        if let Some(name) = self.masked_in(spec) {
            return Err(ReadError::Masked(name));
        }
        // A restricted app's delta read also answers what entered or left its view.
        let delta = self.delta_of(spec)?;
        let (mut conds, filter) = match &delta {
            Some(d) => {
                let mut conds = d.conds.clone();
                conds.push(Where::ChangedOrEntered {
                    client: self.caller.client_id.clone(),
                    after: d.after.clone(),
                    inclusive: d.inclusive,
                });
                (conds, d.filter.as_ref())
            }
            None => (spec.conds.clone(), spec.filter),
        };
        let plan = match filter {
            Some(f) => Some(crate::query::plan::plan(spec.entity, f)?),
            None => None,
        };
        let count_cache = match self.caches {
            Some(c) if spec.count => Some((&c.counts, self.generation()?)),
            _ => None,
        };
        conds.extend(self.visibility(spec.entity)?);
        let (records, total) = records::query(
            self.conn,
            spec.entity,
            &Query {
                conds,
                filter: plan.as_ref(),
                sort: spec.sort,
                limit: spec.limit,
                offset: spec.offset,
                skip_total: !spec.count,
                count_cache,
            },
        )?;
        let mut page = Page { records, total };
        if let Some(d) = &delta {
            page = self.finish_delta(spec, d, page)?;
        }
        if !self.caller.mask.is_empty() {
            for r in &mut page.records {
                mask(r, &self.caller.mask);
            }
        }
        Ok(page)
    }

    /// The first masked field the spec's filter or sort names.
    fn masked_in(&self, spec: &ReadSpec<'_>) -> Option<String> {
        let mask = &self.caller.mask;
        if mask.is_empty() {
            return None;
        }
        let in_filter = spec
            .filter
            .into_iter()
            .flat_map(|f| &f.clauses)
            .find_map(|c| {
                let head = c.path.first()?;
                mask.iter().find(|m| *m == head).cloned()
            });
        let in_sort = spec.sort.and_then(|(column, _)| {
            let f = spec.entity.fields().iter().find(|f| f.column == column)?;
            mask.iter().find(|m| *m == f.name).cloned()
        });
        in_filter.or(in_sort)
    }

    /// The associations `entity`'s records embed, for `slice` of a page (tables known empty
    /// are skipped when serving).
    pub fn related(&mut self, entity: Entity, slice: &[Record]) -> diesel::QueryResult<Related> {
        let ids: Vec<String> = slice.iter().map(|r| r.sourced_id.clone()).collect();
        match self.caches {
            Some(c) => {
                let generation = self.generation()?;
                related::load_related_skipping(self.conn, entity, &ids, |conn, child| {
                    c.empty.is_empty(conn, child, generation)
                })
            }
            None => related::load_related(self.conn, entity, &ids),
        }
    }

    /// Visible records of `entity` by id (active only unless `tombstones`), in the order of
    /// `ids`, read in chunks whatever their number.
    pub fn by_ids(
        &mut self,
        need: Need<'_>,
        entity: Entity,
        ids: &[String],
        tombstones: bool,
    ) -> Result<Vec<Record>, ReadError> {
        let mut by: std::collections::HashMap<String, Record> = std::collections::HashMap::new();
        // One statement binds at most BY_IDS_CHUNK ids (SQLite refuses more than 32,766
        // parameters, PostgreSQL 65,535), whatever the number asked for (a savepoint read of a
        // 100,000-person district loads that many demographics).
        for chunk in ids.chunks(BY_IDS_CHUNK) {
            let mut conds = vec![Where::IdIn(chunk.to_vec())];
            if !tombstones {
                conds.push(Where::Active);
            }
            let page = self.read(&ReadSpec::new(entity, need, conds, chunk.len() as i64))?;
            by.extend(page.records.into_iter().map(|r| (r.sourced_id.clone(), r)));
        }
        Ok(ids.iter().filter_map(|id| by.remove(id)).collect())
    }

    /// This roster without the caller's org restriction, for the checks a write makes over
    /// every record (ids in use, the owner of a record, where a membership's class is). Its
    /// records decide; they are never answered.
    pub fn unrestricted(&mut self) -> Roster<'_> {
        Roster {
            conn: &mut *self.conn,
            caller: Cow::Owned(self.caller.unrestricted()),
            caches: self.caches,
            generation: self.generation,
            live: self.live,
        }
    }

    /// The newest change of `entity` (the high-water mark batch reads return).
    pub fn newest_change(&mut self, entity: Entity) -> diesel::QueryResult<Option<String>> {
        records::newest_change(self.conn, entity)
    }
}

/// Record in the sharing ledger what the app `client_id` (when it exists) sees now (`Roster::remember_view`): just
/// before its rules change (`before`; skipped for an app never used, which has nothing to be
/// told about) and just after (so what left or entered is stamped with the change).
pub fn remember_view(
    conn: &mut DbConnection,
    client_id: &str,
    before: bool,
) -> diesel::QueryResult<()> {
    let Some(client) = crate::store::clients::get(conn, client_id)? else {
        return Ok(());
    };
    let kept = crate::store::ledger::state(conn, &client.client_id)?.is_some();
    if !kept
        && ((before && !crate::store::clients::ever_used(conn, &client.client_id)?)
            || (!before && client.rules().is_none()))
    {
        return Ok(());
    }
    let caller = Caller::new(
        conn,
        client.client_id.clone(),
        Vec::new(),
        client.rules().as_deref(),
        Vec::new(),
    )?;
    Roster::new(conn, &caller, None).remember_view()
}

/// Remove the masked fields from `r` (`metadata`: its extension values and the SIS's
/// `dateLastModified`).
fn mask(r: &mut Record, masked: &[String]) {
    for m in masked {
        if m == "metadata" {
            r.metadata.clear();
            r.sis_date_last_modified = None;
        } else if let Some(i) = r.entity.field_index(m) {
            if let Some(v) = r.values.get_mut(i) {
                *v = crate::model::record::Value::Null;
            }
        }
    }
}

/// Most ids bound in one by-id statement (with the visibility conditions' org ids, well below
/// SQLite's 32,766 parameters).
const BY_IDS_CHUNK: usize = 5_000;
