//! Delta reads that stay true when sharing changes. A read is a **delta read** when it asks for
//! changes after a moment: a LIS savepoint read (`Where::ChangedAfter`) or a REST filter whose
//! clauses are AND-ed and one of which is `dateLastModified>'…'` (or `>=`). For a caller whose
//! sharing rules restrict it (or restricted it once: it has a ledger), such a read first brings
//! its view in the sharing ledger up to date (`store::ledger::refresh`, when the store
//! generation or its rules in force changed) and then answers:
//! * the records it sees that changed after the moment **or entered its view** after it (shown
//!   with their entry as `dateLastModified` when that is later than their own);
//! * after them, when the read names nothing else (the collection itself, no other clause),
//!   the records that **left its view** after the moment, as `tobedeleted` tombstones carrying
//!   nothing but their id and when they left.

use sha2::{Digest, Sha256};

use super::{Page, ReadError, ReadSpec, Roster, Where};
use crate::model::record::{Record, Status};
use crate::model::time;
use crate::query::{Filter, Logical, Op};
use crate::store::{ledger, records};

/// A delta read, rewritten: the moment, and the read's conditions and filter without it.
pub(super) struct Delta {
    pub after: String,
    pub inclusive: bool,
    pub conds: Vec<Where>,
    pub filter: Option<Filter>,
    /// Whether departures are appended (the read names nothing but the moment).
    pub departures: bool,
}

impl Roster<'_> {
    /// The delta read `spec` is, for a caller with a ledger (refreshed first); `None` for any
    /// other read or caller.
    pub(super) fn delta_of(&mut self, spec: &ReadSpec<'_>) -> Result<Option<Delta>, ReadError> {
        // Most reads are not delta reads: nothing is copied for them.
        let savepoint = spec
            .conds
            .iter()
            .any(|w| matches!(w, Where::ChangedAfter(_)));
        let since = spec.filter.is_some_and(|f| {
            f.clauses
                .iter()
                .any(|c| c.path.len() == 1 && c.path[0] == "dateLastModified")
        });
        if !savepoint && !since {
            return Ok(None);
        }
        let mut conds = spec.conds.clone();
        let mut filter = spec.filter.cloned();
        let moment = if let Some(i) = conds
            .iter()
            .position(|w| matches!(w, Where::ChangedAfter(_)))
        {
            match conds.remove(i) {
                Where::ChangedAfter(t) => Some((t, false)),
                _ => None,
            }
        } else {
            filter.as_mut().and_then(take_moment)
        };
        let Some((after, inclusive)) = moment else {
            return Ok(None);
        };
        if !ledger::ENTITIES.contains(&spec.entity) || !self.ledger_ready(false)? {
            return Ok(None);
        }
        let filter = filter.filter(|f| !f.clauses.is_empty());
        Ok(Some(Delta {
            departures: conds.is_empty() && filter.is_none(),
            after,
            inclusive,
            conds,
            filter,
        }))
    }

    /// Record in the ledger what the caller sees now, whatever its rules (before they change,
    /// so that what leaves its view with the change is known even if it never read a delta).
    pub fn remember_view(&mut self) -> diesel::QueryResult<()> {
        self.ledger_ready(true).map(|_| ())
    }

    /// Whether the caller keeps a ledger (it is restricted, or was once), brought up to date
    /// (`force`: refreshed, and started if need be).
    ///
    /// A restricted caller's view is refreshed whenever the store generation or its rules in
    /// force moved. An unrestricted one that kept a ledger (it was restricted before) sees
    /// everything, so nothing can leave its view but by a real tombstone: its view is
    /// refreshed only when its rules change (then what entered is recorded), not with every
    /// generation.
    fn ledger_ready(&mut self, force: bool) -> diesel::QueryResult<bool> {
        let client = self.caller.client_id.clone();
        let state = ledger::state(self.conn, &client)?;
        let open = self.caller.sharing.is_none();
        if open && state.is_none() && !force {
            return Ok(false);
        }
        let generation = records::generation(self.conn)?;
        let signature = signature(&format!("{:?}", self.caller.sharing));
        let current = match &state {
            Some((g, s)) => *s == signature && (*g == generation || open),
            None => false,
        };
        if current && !force {
            return Ok(true);
        }
        let visible: Vec<Where> = self.caller.visible().into_iter().collect();
        let now = time::now();
        diesel::Connection::transaction(&mut *self.conn, |conn| {
            ledger::refresh(conn, &client, generation, &signature, &now, |conn, e| {
                records::ids_where(conn, e, &visible)
            })
        })?;
        Ok(true)
    }

    /// The condition limiting a read of `entity` to what the caller sees. For the users (and
    /// their demographics) of a caller whose rules select classes, when serving outside a
    /// write, the ids of its sharing ledger (refreshed first when the rostering tables changed
    /// since it was taken): the live condition (users enrolled in the selected classes, and
    /// their agents) is a join over every enrollment of those classes, 60 ms a request on the
    /// benchmark district against 0.2 ms for an id lookup (docs/PERFORMANCE.md, sharing).
    pub(super) fn visibility(
        &mut self,
        entity: crate::model::catalog::Entity,
    ) -> diesel::QueryResult<Option<Where>> {
        use crate::model::catalog::Entity;
        let selects = self
            .caller
            .sharing
            .as_ref()
            .is_some_and(|v| !v.classes.is_empty());
        if !selects
            || self.live
            || self.caches.is_none()
            || !matches!(entity, Entity::Users | Entity::Demographics)
        {
            return Ok(self.caller.visible());
        }
        let client = self.caller.client_id.clone();
        let signature = signature(&format!("{:?}", self.caller.sharing));
        let generation = self.generation()?;
        let known = (generation, signature.clone());
        let memo = self.caches.map(|c| &c.ledgers);
        let remembered = memo
            .and_then(|m| m.lock().ok())
            .is_some_and(|m| m.get(&client) == Some(&known));
        if !remembered {
            let fresh = match ledger::state(self.conn, &client)? {
                Some((g, s)) if s == signature => {
                    g == generation || !ledger::rostering_changed_since(self.conn, g)?
                }
                _ => false,
            };
            if !fresh {
                self.ledger_ready(true)?;
            }
            if let Some(mut m) = memo.and_then(|m| m.lock().ok()) {
                if m.len() > 10_000 {
                    m.clear();
                }
                m.insert(client.clone(), known);
            }
        }
        Ok(Some(Where::InLedger(client, signature)))
    }

    /// `page` of a delta read completed: entries' moments, then the departures.
    pub(super) fn finish_delta(
        &mut self,
        spec: &ReadSpec<'_>,
        delta: &Delta,
        mut page: Page,
    ) -> Result<Page, ReadError> {
        let client = self.caller.client_id.clone();
        let ids: Vec<String> = page.records.iter().map(|r| r.sourced_id.clone()).collect();
        let entered = ledger::entered(self.conn, &client, spec.entity, &ids)?;
        for r in &mut page.records {
            if let Some(at) = entered.get(&r.sourced_id) {
                if r.date_last_modified.as_deref() < Some(at.as_str()) {
                    r.date_last_modified = Some(at.clone());
                }
            }
        }
        if !delta.departures {
            return Ok(page);
        }
        let shown = page.records.len() as i64;
        // Departures come after every record the read itself matches.
        let (limit, offset) = if spec.count {
            let before = page.total;
            (spec.limit - shown, (spec.offset - before).max(0))
        } else {
            (spec.limit - shown, 0)
        };
        let (total, gone) = ledger::departures(
            self.conn,
            &client,
            spec.entity,
            &delta.after,
            delta.inclusive,
            limit,
            offset,
        )?;
        for (id, left) in gone {
            let mut r = Record::new(spec.entity, id);
            r.status = Status::ToBeDeleted;
            r.date_last_modified = Some(left);
            page.records.push(r);
        }
        page.total = if spec.count {
            page.total + total
        } else {
            page.records.len() as i64
        };
        Ok(page)
    }
}

/// Take the `dateLastModified>'…'` (or `>=`) clause out of an AND-ed filter: the moment (in
/// the store's form) and whether it is inclusive.
fn take_moment(f: &mut Filter) -> Option<(String, bool)> {
    if f.logical == Logical::Or && f.clauses.len() > 1 {
        return None;
    }
    let i = f.clauses.iter().position(|c| {
        c.path.len() == 1 && c.path[0] == "dateLastModified" && matches!(c.op, Op::Gt | Op::Ge)
    })?;
    let (at, _) = time::parse_lenient(&f.clauses[i].value)?;
    let c = f.clauses.remove(i);
    Some((at, c.op == Op::Ge))
}

/// A short digest of the caller's rules in force (expanded), for the ledger's state.
fn signature(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What one entity's view gains and loses when a caller's sharing changes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ViewChange {
    pub entity: &'static str,
    pub gains: i64,
    pub losses: i64,
    /// A few of the ids gained and lost (by id).
    pub gained: Vec<String>,
    pub lost: Vec<String>,
}

/// The active orgs, classes, users and enrollments `new` would see that `old` does not, and the
/// reverse: counted by the store, with a sample of each (the console's rule preview).
pub fn compare_views(
    conn: &mut crate::store::DbConnection,
    old: &super::Caller,
    new: &super::Caller,
    sample: i64,
) -> diesel::QueryResult<Vec<ViewChange>> {
    use crate::model::catalog::Entity;
    let (o, n) = (old.visible(), new.visible());
    let mut out = Vec::new();
    for e in [
        Entity::Orgs,
        Entity::Classes,
        Entity::Users,
        Entity::Enrollments,
    ] {
        // What one side sees and the other does not; nothing when the other sees everything.
        let mut side = |has: &Option<Where>, lacks: &Option<Where>| match lacks {
            None => Ok((0, Vec::new())),
            Some(l) => {
                let mut conds = vec![Where::Active, Where::Not(Box::new(l.clone()))];
                conds.extend(has.clone());
                records::count_and_sample(conn, e, &conds, sample)
            }
        };
        let (gains, gained) = side(&n, &o)?;
        let (losses, lost) = side(&o, &n)?;
        out.push(ViewChange {
            entity: e.name(),
            gains,
            losses,
            gained,
            lost,
        });
    }
    Ok(out)
}

/// The orgs, courses and classes `rules` name that are not in the store, as "entity id" (a
/// typo would share nothing, silently; the CLI and the console refuse such rules).
pub fn missing_named(
    conn: &mut crate::store::DbConnection,
    rules: &[crate::model::sharing::Rule],
) -> diesel::QueryResult<Vec<String>> {
    let mut missing = Vec::new();
    for rule in rules {
        for (entity, ids) in rule.named() {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            if ids.is_empty() {
                continue;
            }
            let found = records::existing_ids(conn, entity, &ids)?;
            missing.extend(
                ids.into_iter()
                    .filter(|i| !found.contains(*i))
                    .map(|i| format!("{} {i}", entity.name())),
            );
        }
    }
    Ok(missing)
}
