//! The grade push: the gradebook records apps wrote through the API bindings (queued in the
//! write's own transaction: `store::upstream`'s outbox) are sent to the upstream's gradebook
//! API — categories, score scales, line items, then results, each `PUT` by its sourcedId (so a
//! retried push replaces, never duplicates), deletions as `DELETE`, results first. A record the
//! upstream accepted leaves the outbox; one it refused keeps its row with the error and the
//! attempts and is sent again on the next run. What the sync received from the upstream never
//! enters the outbox, so it is never pushed back.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::client::{Client, ClientError};
use super::{SyncError, UpstreamConfig};
use crate::http::rest::render::Renderer;
use crate::http::rest::routes::{Api, Method, Service};
use crate::model::catalog::{Entity, Version};
use crate::model::record::{Record, Status};
use crate::store::records::{self, Scan};
use crate::store::related;
use crate::store::upstream::{self as state, Queued};
use crate::store::Store;

/// The order records are sent in (what a record references first).
const ORDER: [Entity; 4] = [
    Entity::Categories,
    Entity::ScoreScales,
    Entity::LineItems,
    Entity::Results,
];

/// What one push did.
#[derive(Debug, Default)]
pub struct PushReport {
    /// Records the upstream accepted (`PUT`).
    pub sent: u64,
    /// Deletions the upstream accepted (`DELETE`).
    pub deleted: u64,
    /// Records refused this time: entity, sourcedId, why (kept for the next run).
    pub failed: Vec<(String, String, String)>,
    /// Set when the upstream stopped answering: the rest waits for the next run.
    pub interrupted: Option<String>,
}

/// Where a record of `e` is `PUT` and `DELETE`d on a `version` upstream, and the key its body
/// is wrapped in: the PUT route of this server's own route table (`None` when the version has
/// none: 1.1 has no score scales).
fn endpoint(version: Version, e: Entity, id: &str) -> Option<(String, &'static str)> {
    let api = Api::of(version);
    let service = Service::of(e);
    let route = service.routes().iter().find(|r| {
        r.entity == e && r.method == Method::Put && r.single && r.only.is_none_or(|o| o == api)
    })?;
    let id = crate::auth::oauth1::encode(id);
    let path = route.path.replace("{sourcedId}", &id);
    Some((format!("{}{path}", api.base_of(service)), route.key))
}

/// Send everything queued.
pub fn push(store: &Store, cfg: &UpstreamConfig, client: &Client) -> Result<PushReport, SyncError> {
    let mut conn = store.conn()?;
    let queued = state::queued(&mut conn)?;
    let mut by_entity: BTreeMap<Entity, Vec<Queued>> = BTreeMap::new();
    for q in queued {
        if let Some(e) = Entity::from_name(&q.entity) {
            by_entity.entry(e).or_default().push(q);
        }
    }
    let renderer = Renderer {
        base_url: &cfg.base,
    };
    let mut report = PushReport::default();
    // Writes in dependency order; deletions after them, in the reverse order.
    let mut deletions: Vec<(Entity, Queued)> = Vec::new();
    for e in ORDER {
        let Some(qs) = by_entity.remove(&e) else {
            continue;
        };
        for chunk in qs.chunks(500) {
            let ids: Vec<String> = chunk.iter().map(|q| q.sourced_id.clone()).collect();
            let mut found: BTreeMap<String, Record> = BTreeMap::new();
            let scan = Scan {
                active_only: false,
                since: None,
                column_in: Some(("sourced_id", ids)),
            };
            records::scan(&mut conn, e, &scan, |_, page| {
                found.extend(page.into_iter().map(|r| (r.sourced_id.clone(), r)));
                Ok(())
            })?;
            let active: Vec<String> = found
                .values()
                .filter(|r| r.status == Status::Active)
                .map(|r| r.sourced_id.clone())
                .collect();
            let rel = related::load_related(&mut conn, e, &active)?;
            for q in chunk {
                let Some(rec) = found.get(&q.sourced_id) else {
                    // Gone from the store altogether (purged): nothing to send.
                    state::done(&mut conn, q)?;
                    continue;
                };
                if rec.status == Status::ToBeDeleted {
                    deletions.push((e, q.clone()));
                    continue;
                }
                let Some((p, key)) = endpoint(cfg.version, e, &q.sourced_id) else {
                    state::done(&mut conn, q)?;
                    continue;
                };
                let json = match cfg.version {
                    Version::V1_1 => renderer.v1p1(rec, &rel),
                    Version::V1_2 => renderer.v1p2(rec, &rel),
                };
                let mut body = Map::new();
                body.insert(key.to_string(), json);
                let sent = client.put(&p, &Json::Object(body));
                match settle(&mut conn, q, e, sent.map(|_| ()), &mut report)? {
                    Some(true) => report.sent += 1,
                    Some(false) => {}
                    None => return Ok(report),
                }
            }
        }
    }
    deletions.sort_by_key(|(e, _)| std::cmp::Reverse(ORDER.iter().position(|o| o == e)));
    for (e, q) in deletions {
        let Some((p, _)) = endpoint(cfg.version, e, &q.sourced_id) else {
            state::done(&mut conn, &q)?;
            continue;
        };
        let sent = match client.delete(&p) {
            // Already gone upstream: the deletion holds.
            Err(ClientError::Refused(404 | 410, _)) => Ok(()),
            other => other.map(|_| ()),
        };
        match settle(&mut conn, &q, e, sent, &mut report)? {
            Some(true) => report.deleted += 1,
            Some(false) => {}
            None => return Ok(report),
        }
    }
    Ok(report)
}

/// Record one record's outcome: `Some(true)` accepted, `Some(false)` refused (kept for the
/// next run), `None` when the upstream stopped answering (the run stops).
fn settle(
    conn: &mut crate::store::DbConnection,
    q: &Queued,
    e: Entity,
    sent: Result<(), ClientError>,
    report: &mut PushReport,
) -> Result<Option<bool>, SyncError> {
    match sent {
        Ok(()) => {
            state::done(conn, q)?;
            Ok(Some(true))
        }
        Err(err) => {
            let msg = err.to_string();
            state::failed(conn, q, &msg)?;
            report
                .failed
                .push((e.name().to_string(), q.sourced_id.clone(), msg.clone()));
            if matches!(err, ClientError::Unreachable(_)) {
                report.interrupted = Some(msg);
                return Ok(None);
            }
            Ok(Some(false))
        }
    }
}
