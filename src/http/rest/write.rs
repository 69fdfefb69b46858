//! The OneRoster REST writes (the gradebook's PUT, DELETE and 1.2 POST): one `web::block`
//! closure authenticates the caller, checks the route's scopes, reads the body into domain
//! records (`input`) and writes them through the roster service (`Roster::write`, inside
//! `Roster::transaction`: the import lock, the write rule, the importer's validation) — the
//! same door as LIS writes and CSV deltas, so `dateLastModified`, delta reads and
//! `export --since` carry every change.
//!
//! * PUT `/{things}/{id}`: 201 when the record is created (or was deleted), 200 when an active
//!   one is replaced; the body's `sourcedId`, when it has one, must be the path's.
//! * DELETE `/{things}/{id}`: 204; the record becomes a tombstone (absent from ordinary
//!   gradebook reads, seen by delta readers).
//! * POST under a parent: every record gets a server-allocated id and the parent the path
//!   names; 201 with `sourcedIdPairs`.
//!
//! Errors: a body that is not JSON of the operation's shape is 400; values the importer
//! refuses (bad enum, missing field, unknown reference) are 422 on 1.2 and 400 on 1.1; a write
//! outside the caller's orgs 403; an unknown record or parent 404.

use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value as Json};

use super::error::{ApiError, CodeMinor};
use super::input;
use super::read::begin;
use super::routes::{Api, Method, Nested, Route, View};
use crate::http::auth::Credential;
use crate::http::handlers::peer_ip;
use crate::http::server::{AppState, ClientId};
use crate::model::catalog::Entity;
use crate::model::record::{Record, Status};
use crate::roster::{Need, ReadSpec, Roster, WriteError};

/// Largest request body a write accepts (a POST of a few thousand results).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

struct WriteInput {
    route: &'static Route,
    api: Api,
    ids: Vec<String>,
    body: web::Bytes,
    cred: Credential,
    peer: Option<String>,
}

/// The group-commit queue of the REST writes (`roster::batch`).
pub type Writes = crate::roster::batch::Batcher<Result<Done, ApiError>>;

/// What a write answers on success.
#[derive(Clone)]
pub enum Done {
    Created,
    Replaced,
    Deleted,
    Posted(Vec<(String, String)>),
}

/// One write, any write route of the table.
pub async fn write(
    req: HttpRequest,
    state: web::Data<AppState>,
    cred: Credential,
    body: web::Bytes,
    route: &'static Route,
    api: Api,
    ids: Vec<String>,
) -> Result<HttpResponse, ApiError> {
    let input = WriteInput {
        route,
        api,
        ids,
        body,
        cred,
        peer: peer_ip(&req),
    };
    let st = state.clone();
    let (client, result) = web::block(move || run(&st, input))
        .await
        .map_err(ApiError::internal)?;
    if let Some(c) = client {
        req.extensions_mut().insert(ClientId(c));
    }
    Ok(match result? {
        Done::Created => HttpResponse::Created().finish(),
        Done::Replaced => HttpResponse::Ok().finish(),
        Done::Deleted => HttpResponse::NoContent().finish(),
        Done::Posted(pairs) => {
            let pairs: Vec<Json> = pairs
                .into_iter()
                .map(|(supplied, allocated)| {
                    json!({"suppliedSourcedId": supplied, "allocatedSourcedId": allocated})
                })
                .collect();
            HttpResponse::Created().json(json!({ "sourcedIdPairs": pairs }))
        }
    })
}

fn run(state: &web::Data<AppState>, input: WriteInput) -> (Option<String>, Result<Done, ApiError>) {
    let (mut conn, caller, need) = match begin(
        state,
        &input.cred,
        input.route,
        input.api,
        input.peer.as_deref(),
        Some(&input.body),
    ) {
        Ok(begun) => begun,
        Err((client, e)) => return (client, Err(e)),
    };
    let client = Some(caller.client_id.clone());
    // Group commit (`roster::batch`): this write is prepared in one transaction with the
    // others waiting, their records written as one delta when their callers are unrestricted
    // (each alone, through `Roster::write`, otherwise or when that delta is refused); answered
    // after the commit. A refusal keeps what it recorded (the import log's row of a rejected
    // write); a store failure rolls its own savepoint back.
    let shared_state = state.clone();
    let job: crate::roster::batch::Prepare<Result<Done, ApiError>> = Box::new(move |conn| {
        let state = shared_state;
        let mut roster = Roster::new(conn, &caller, Some(&state.caches));
        let (records, done) = match prepare(&mut roster, &input, &need) {
            Ok(p) => p,
            Err(e) => return Err(Err(e)),
        };
        let shared = caller.sharing.is_none().then(|| records.clone());
        let writer = caller.client_id.clone();
        let (api, label) = (input.api, format!("rest:{}", input.route.operation));
        let answer = done.clone();
        let alone: crate::roster::batch::WriteAlone<Result<Done, ApiError>> =
            Box::new(move |conn| {
                let mut roster = Roster::new(conn, &caller, Some(&state.caches));
                match roster.write(&label, Need::OneOf(&need), records) {
                    Ok(()) => Ok(Ok(answer)),
                    Err(e) => {
                        let e = write_error(api, e);
                        if e.status == StatusCode::INTERNAL_SERVER_ERROR {
                            Err(Err(e))
                        } else {
                            Ok(Err(e))
                        }
                    }
                }
            });
        Ok(crate::roster::batch::Prepared {
            shared,
            done: Ok(done),
            writer,
            alone,
        })
    });
    let result = match state.writes.run(&mut conn, job) {
        Ok(r) => r,
        Err(e) => Err(ApiError::internal(e)),
    };
    (client, result)
}

/// An error for values the importer or the checks here refuse: 422 on 1.2, 400 on 1.1.
fn invalid(api: Api, msg: impl Into<String>) -> ApiError {
    let status = match api {
        Api::V1p1 => StatusCode::BAD_REQUEST,
        Api::V1p2 => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, CodeMinor::InvalidData, msg)
}

fn write_error(api: Api, e: WriteError) -> ApiError {
    match e {
        WriteError::Forbidden(m) => ApiError::forbidden(m),
        WriteError::Invalid(m) => invalid(api, m),
        other => ApiError::internal(other),
    }
}

/// What a write stores and answers once stored, after its checks and lookups (nothing is
/// written here): the records, and 201/200, 204 or the `sourcedIdPairs`.
fn prepare(
    roster: &mut Roster<'_>,
    input: &WriteInput,
    need: &[String],
) -> Result<(Vec<Record>, Done), ApiError> {
    let WriteInput {
        route, api, ids, ..
    } = input;
    let (route, api) = (*route, *api);
    let v1p1 = api == Api::V1p1;
    let needs = Need::OneOf(need);
    let id = ids.last().cloned().unwrap_or_default();
    match route.method {
        Method::Put => {
            let obj = body_object(&input.body, route.key)?;
            let mut rec = input::record(route.entity, &obj, v1p1).map_err(|e| invalid(api, e.0))?;
            if !rec.sourced_id.is_empty() && rec.sourced_id != id {
                return Err(invalid(
                    api,
                    format!(
                        "sourcedId '{}' in the body is not '{id}' of the path",
                        rec.sourced_id
                    ),
                ));
            }
            rec.sourced_id = id.clone();
            let stored = roster
                .unrestricted()
                .by_ids(needs, route.entity, std::slice::from_ref(&id), true)
                .map_err(|e| write_error(api, e.into()))?;
            let replacing = stored.first().filter(|r| r.status == Status::Active);
            if let Some(old) = stored.first() {
                keep_unseen_fields(&mut rec, old, v1p1);
            }
            let done = match replacing {
                None => Done::Created,
                Some(_) => Done::Replaced,
            };
            let mut records = vec![rec];
            if !v1p1 {
                let links = input::links(route.entity, &obj, &id).map_err(|e| invalid(api, e.0))?;
                records.extend(
                    reconcile(roster, needs, &id, links).map_err(|e| write_error(api, e.into()))?,
                );
            }
            Ok((records, done))
        }
        Method::Delete => {
            let seen = roster
                .by_ids(needs, route.entity, std::slice::from_ref(&id), false)
                .map_err(|e| write_error(api, e.into()))?;
            if seen.is_empty() {
                return Err(ApiError::not_found(format!(
                    "no {} with sourcedId '{id}'",
                    route.entity.name()
                )));
            }
            let mut tomb = Record::new(route.entity, id);
            tomb.status = Status::ToBeDeleted;
            Ok((vec![tomb], Done::Deleted))
        }
        Method::Post => post(roster, input, needs),
        Method::Get => Err(ApiError::internal("a read routed as a write")),
    }
}

/// A POST: the records of the body's list, each with a new id and the parent the path names.
fn post(
    roster: &mut Roster<'_>,
    input: &WriteInput,
    needs: Need<'_>,
) -> Result<(Vec<Record>, Done), ApiError> {
    let (route, api, ids) = (input.route, input.api, &input.ids);
    for (entity, at, conds) in route.parents(ids) {
        let mut spec = ReadSpec::new(entity, needs, conds, 1);
        spec.count = false;
        let found = roster.read(&spec).map_err(|e| write_error(api, e.into()))?;
        if found.records.is_empty() {
            return Err(ApiError::not_found(format!(
                "no {} with sourcedId '{}'",
                entity.name(),
                ids.get(at).map(String::as_str).unwrap_or("")
            )));
        }
    }
    let list = body_list(&input.body, route.key)?;
    let mut pairs = Vec::with_capacity(list.len());
    let mut records = Vec::with_capacity(list.len());
    for (i, obj) in list.iter().enumerate() {
        let mut rec = input::record(route.entity, obj, false)
            .map_err(|e| invalid(api, format!("{}[{i}]: {}", route.key, e.0)))?;
        let allocated = new_id().map_err(ApiError::internal)?;
        pairs.push((std::mem::take(&mut rec.sourced_id), allocated.clone()));
        rec.sourced_id = allocated.clone();
        for (field, value) in route.sets(ids) {
            rec.set(field, value);
        }
        records.push(rec);
        let links = input::links(route.entity, obj, &allocated)
            .map_err(|e| invalid(api, format!("{}[{i}]: {}", route.key, e.0)))?;
        records.extend(links.into_iter().flat_map(|(_, rows)| rows));
    }
    if route.view == View::Nested(Nested::ClassSessionResults) {
        check_session(roster, &records, ids, needs, api)?;
    }
    Ok((records, Done::Posted(pairs)))
}

/// The association rows to write for a record's `links` (per link entity the body named): a
/// wanted row whose content a stored active row already has keeps that row's id; stored rows
/// no longer wanted become tombstones.
fn reconcile(
    roster: &mut Roster<'_>,
    needs: Need<'_>,
    parent: &str,
    links: Vec<(Entity, Vec<Record>)>,
) -> Result<Vec<Record>, crate::roster::ReadError> {
    let mut out = Vec::new();
    for (entity, mut wanted) in links {
        let Some((_, field)) = entity.parent_field() else {
            continue;
        };
        let conds = vec![
            crate::roster::Where::Is(field.name, parent.to_string()),
            crate::roster::Where::Active,
        ];
        let stored = roster
            .unrestricted()
            .read(&ReadSpec::new(entity, needs, conds, 100_000))?
            .records;
        let key = |r: &Record| {
            ["scoreScaleSourcedId", "source", "learningObjectiveId"]
                .iter()
                .map(|f| r.get(f).unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\u{1f}")
        };
        for w in &mut wanted {
            if let Some(old) = stored.iter().find(|s| key(s) == key(w)) {
                w.sourced_id = old.sourced_id.clone();
            }
        }
        for old in &stored {
            if !wanted.iter().any(|w| w.sourced_id == old.sourced_id) {
                let mut tomb = Record::new(entity, old.sourced_id.clone());
                tomb.status = Status::ToBeDeleted;
                out.push(tomb);
            }
        }
        out.extend(wanted);
    }
    Ok(out)
}

/// Results posted under `/classes/{c}/academicSessions/{a}`: each one's line item must be of
/// class c and session a.
fn check_session(
    roster: &mut Roster<'_>,
    results: &[Record],
    ids: &[String],
    needs: Need<'_>,
    api: Api,
) -> Result<(), ApiError> {
    let (class, session) = (
        ids.first().map(String::as_str).unwrap_or(""),
        ids.get(1).map(String::as_str).unwrap_or(""),
    );
    let mut wanted: Vec<String> = results
        .iter()
        .filter_map(|r| r.get("lineItemSourcedId").map(str::to_string))
        .collect();
    wanted.sort();
    wanted.dedup();
    let items = roster
        .unrestricted()
        .by_ids(needs, Entity::LineItems, &wanted, false)
        .map_err(|e| write_error(api, e.into()))?;
    for r in results {
        let li = r.get("lineItemSourcedId").unwrap_or("");
        let ok = items.iter().any(|x| {
            x.sourced_id == li
                && x.get("classSourcedId") == Some(class)
                && x.get("academicSessionSourcedId") == Some(session)
        });
        if !ok {
            return Err(invalid(
                api,
                format!(
                    "lineItem: '{li}' is not a line item of class '{class}' in academic session '{session}'"
                ),
            ));
        }
    }
    Ok(())
}

/// On a PUT, the fields the version's JSON cannot carry (1.1 has no category weight, result
/// flags or text score) keep their stored values rather than being erased.
fn keep_unseen_fields(rec: &mut Record, old: &Record, v1p1: bool) {
    for (i, f) in rec.entity.fields().iter().enumerate() {
        let unseen = super::render::wire_name(rec.entity, f, v1p1).is_none();
        if unseen && rec.values[i].is_null() {
            if let Some(v) = old.values.get(i) {
                rec.values[i] = v.clone();
            }
        }
    }
}

fn parse(body: &[u8]) -> Result<Json, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_data(format!("the body is not JSON: {e}")))
}

/// The object under `key` (`{"lineItem": {...}}`).
fn body_object(body: &[u8], key: &str) -> Result<Map<String, Json>, ApiError> {
    match parse(body)? {
        Json::Object(mut o) => match o.remove(key) {
            Some(Json::Object(inner)) => Ok(inner),
            _ => Err(ApiError::invalid_data(format!(
                "the body must be {{\"{key}\": {{...}}}}"
            ))),
        },
        _ => Err(ApiError::invalid_data("the body is not a JSON object")),
    }
}

/// The objects of the list under `key` (`{"results": [{...}, ...]}`).
fn body_list(body: &[u8], key: &str) -> Result<Vec<Map<String, Json>>, ApiError> {
    let bad = || ApiError::invalid_data(format!("the body must be {{\"{key}\": [{{...}}, ...]}}"));
    let Json::Object(mut o) = parse(body)? else {
        return Err(bad());
    };
    let Some(Json::Array(items)) = o.remove(key) else {
        return Err(bad());
    };
    items
        .into_iter()
        .map(|x| match x {
            Json::Object(m) => Ok(m),
            _ => Err(bad()),
        })
        .collect()
}

/// A fresh random id (UUID version 4 form).
fn new_id() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}
