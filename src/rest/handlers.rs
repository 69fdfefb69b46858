//! Thin HTTP handlers: pull what the request carries (credentials, path ids, query string),
//! run the read in one `web::block` closure (authentication, scope and org checks, SQL,
//! rendering), and shape the response (wrapper key, `X-Total-Count`, `Link`).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value as Json};

use super::auth::{authenticate, Accept, AuthFailure, Credential, Scheme};
use super::body::Chunks;
use super::error::{status_info, ApiError, CodeMinor};
use super::params::ReadParams;
use super::render::{self, Renderer};
use super::routes::{Api, Route};
use super::server::{AppState, ClientId};
use crate::auth;
use crate::roster::{Need, ReadError, ReadSpec, Roster};
use crate::store::records;
use crate::store::views::Where;

/// The external base URL: configured, or from the request (scheme and Host).
pub fn base_url(req: &HttpRequest, state: &AppState) -> String {
    match &state.settings.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

const CHALLENGE: &str = "Bearer realm=\"rosterbridge\"";

/// An authentication failure as the REST binding answers it: 401 with the challenge of the
/// scheme tried, 429 while throttled, 500 for a store failure.
fn auth_error(f: AuthFailure) -> ApiError {
    match f {
        AuthFailure::Missing => ApiError::unauthorised(
            "no credentials: send Authorization: Bearer <token>",
            CHALLENGE,
        ),
        AuthFailure::Unsupported(s) if s == "OAuth" => ApiError::unauthorised(
            "OAuth 1.0a signatures are accepted on OneRoster 1.1 only; use OAuth 2",
            CHALLENGE,
        ),
        AuthFailure::Unsupported(s) => {
            ApiError::unauthorised(format!("unsupported authorization scheme '{s}'"), CHALLENGE)
        }
        AuthFailure::Refused(r) => {
            let challenge = match r.scheme {
                Scheme::OAuth1 => "OAuth realm=\"rosterbridge\"",
                Scheme::Bearer => "Bearer realm=\"rosterbridge\", error=\"invalid_token\"",
                _ => CHALLENGE,
            };
            ApiError::unauthorised(r.why, challenge)
        }
        AuthFailure::Busy(wait) => ApiError::busy(wait),
        AuthFailure::Internal(e) => ApiError::internal(e),
    }
}

/// A rendered read: the JSON body and, for collections, the total match count.
struct ReadOutput {
    body: Chunks,
    total: Option<i64>,
}

struct ReadInput {
    route: &'static Route,
    api: Api,
    ids: Vec<String>,
    params: Result<ReadParams, ApiError>,
    cred: Credential,
    base_url: String,
    peer: Option<String>,
}

/// Every GET under a version's base path: find the operation in the route table (plain
/// segment comparison; no regex per route), then [`read`].
pub async fn dispatch(
    req: HttpRequest,
    state: web::Data<AppState>,
    cred: Credential,
    api: Api,
) -> Result<HttpResponse, ApiError> {
    let tail = req.match_info().get("tail").unwrap_or("");
    let Some((route, ids)) = super::routes::find(tail) else {
        return Err(no_endpoint(&req));
    };
    req.extensions_mut()
        .insert(super::server::RoutePattern(format!(
            "{}{}",
            api.base(),
            route.path
        )));
    read(req, state, cred, route, api, ids).await
}

/// One rostering read, any route of the table.
pub async fn read(
    req: HttpRequest,
    state: web::Data<AppState>,
    cred: Credential,
    route: &'static Route,
    api: Api,
    ids: Vec<String>,
) -> Result<HttpResponse, ApiError> {
    let base_url = base_url(&req, &state);
    let params = ReadParams::parse(
        req.query_string(),
        api,
        route.single,
        state.settings.max_limit,
    );
    // The paging links of a collection are built from the same parameters after the read.
    let link_params = match (&params, route.single) {
        (Ok(p), false) => Some(p.clone()),
        _ => None,
    };
    let input = ReadInput {
        route,
        api,
        ids,
        params,
        cred,
        base_url: base_url.clone(),
        peer: peer_ip(&req),
    };
    let st = state.clone();
    let (client, result) = web::block(move || run_read(&st, input))
        .await
        .map_err(ApiError::internal)?;
    if let Some(c) = client {
        req.extensions_mut().insert(ClientId(c));
    }
    let out = result?;
    let mut res = HttpResponse::Ok();
    res.content_type("application/json");
    match (out.total, link_params) {
        (Some(total), Some(p)) => {
            res.insert_header(("X-Total-Count", total.to_string()));
            let url = format!("{base_url}{}", req.path());
            res.insert_header((header::LINK, link_header(&url, &p, total)));
        }
        // A single record (consumers such as Microsoft SDS read the header on every answer).
        (None, _) => {
            res.insert_header(("X-Total-Count", "1"));
        }
        _ => {}
    }
    Ok(res.body(out.body))
}

fn page_url(url: &str, p: &ReadParams, offset: i64) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &p.rest {
        s.append_pair(k, v);
    }
    s.append_pair("limit", &p.limit.to_string());
    s.append_pair("offset", &offset.to_string());
    format!("{url}?{}", s.finish())
}

/// RFC 8288 `Link` with first, prev, next and last (prev omitted on the first page, next on
/// the last), each keeping the request's other parameters.
fn link_header(url: &str, p: &ReadParams, total: i64) -> String {
    let last = if total == 0 {
        0
    } else {
        ((total - 1) / p.limit) * p.limit
    };
    let mut links = Vec::new();
    if p.offset + p.limit < total {
        links.push(format!(
            "<{}>; rel=\"next\"",
            page_url(url, p, p.offset + p.limit)
        ));
    }
    links.push(format!("<{}>; rel=\"last\"", page_url(url, p, last)));
    links.push(format!("<{}>; rel=\"first\"", page_url(url, p, 0)));
    if p.offset > 0 {
        links.push(format!(
            "<{}>; rel=\"prev\"",
            page_url(url, p, (p.offset - p.limit).max(0))
        ));
    }
    links.join(", ")
}

fn run_read(state: &AppState, input: ReadInput) -> (Option<String>, Result<ReadOutput, ApiError>) {
    let mut conn = match state.store.conn() {
        Ok(c) => c,
        Err(e) => return (None, Err(ApiError::internal(e))),
    };
    let accept = Accept {
        oauth1: input.api == Api::V1p1,
        basic: false,
        ws_security: false,
        body_hash_of: None,
    };
    let caller = match authenticate(&mut conn, state, &input.cred, accept, input.peer.as_deref()) {
        Ok(c) => c,
        Err(f) => return (None, Err(auth_error(f))),
    };
    let client = Some(caller.client_id.clone());
    if let Some(limiter) = &state.limiter {
        if let Err(wait) = limiter.check(&caller.client_id) {
            return (client, Err(ApiError::busy(wait)));
        }
    }
    let need = input.route.scope_uris(input.api);
    if !caller.holds(&need) {
        return (client, Err(forbidden(input.route, &need)));
    }
    let mut roster = Roster::new(&mut conn, &caller, Some(&state.caches));
    (client, read_records(&mut roster, input, &need))
}

fn forbidden(route: &Route, need: &[String]) -> ApiError {
    ApiError::forbidden(format!(
        "{} needs one of the scopes: {}",
        route.operation,
        need.join(" ")
    ))
}

fn read_records(
    roster: &mut Roster<'_>,
    input: ReadInput,
    need: &[String],
) -> Result<ReadOutput, ApiError> {
    let ReadInput {
        route,
        api,
        ids,
        params,
        base_url,
        ..
    } = input;
    let params = params?;
    let entity = route.entity;
    let v1p1 = api == Api::V1p1;
    let mut warnings: Vec<Json> = Vec::new();

    // Field selection: unknown names are a 1.2 error and a 1.1 warning (all fields returned).
    let mut fields = params.fields.clone();
    if let Some(sel) = &fields {
        let known = render::json_keys(entity, v1p1);
        let unknown: Vec<&String> = sel.iter().filter(|f| !known.contains(f)).collect();
        if !unknown.is_empty() {
            let names: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
            let msg = format!("unknown field(s) in fields: {}", names.join(", "));
            if v1p1 {
                warnings.push(warning(CodeMinor::InvalidSelectionField, &msg));
                fields = None;
            } else {
                return Err(ApiError::bad(CodeMinor::InvalidSelectionField, msg));
            }
        }
    }
    // Sort: an unknown or non-scalar field falls back to the default order (1.1: warning).
    let sort = match &params.sort {
        None => None,
        Some(s) => {
            let path: Vec<String> = s.split('.').map(str::to_string).collect();
            match crate::query::fields::sort_column(entity, &path) {
                Some(col) => Some((col, params.desc)),
                None => {
                    if v1p1 {
                        warnings.push(warning(
                            CodeMinor::InvalidSortField,
                            &format!("cannot sort on '{s}'; default order used"),
                        ));
                    }
                    None
                }
            }
        }
    };

    let parents = route.parents(&ids);
    let mut conds = route.conds(&ids);
    if route.single {
        conds.push(Where::id(ids.first().cloned().unwrap_or_default()));
    }
    let spec = ReadSpec {
        entity,
        need: Need::OneOf(need),
        parents: parents.iter().map(|(e, _, c)| (*e, c.clone())).collect(),
        conds,
        filter: if route.single {
            None
        } else {
            params.filter.as_ref()
        },
        sort,
        limit: if route.single { 1 } else { params.limit },
        offset: if route.single { 0 } else { params.offset },
        count: !route.single,
    };
    let rows = match roster.read(&spec) {
        Ok(page) => page,
        // The parents a nested path names must exist (and be visible): 1.2 404, 1.1 empty list.
        Err(ReadError::NoParent(_)) if v1p1 => {
            return Ok(ReadOutput {
                body: Chunks::new(vec![body(route.key, &warnings, 64, |out| {
                    out.extend_from_slice(b"[]");
                    Ok(())
                })?]),
                total: Some(0),
            });
        }
        Err(ReadError::NoParent(i)) => {
            let (parent, at, _) = &parents[i.min(parents.len().saturating_sub(1))];
            return Err(ApiError::not_found(format!(
                "no {} with sourcedId '{}'{}",
                parent.name(),
                ids.get(*at).map(String::as_str).unwrap_or(""),
                if *at > 0 {
                    format!(
                        " at org '{}'",
                        ids.first().map(String::as_str).unwrap_or("")
                    )
                } else {
                    String::new()
                }
            )));
        }
        Err(ReadError::Forbidden) => return Err(forbidden(route, need)),
        Err(ReadError::Filter(f)) => {
            return Err(ApiError::bad(CodeMinor::InvalidFilterField, f.to_string()))
        }
        Err(ReadError::Db(d)) => return Err(ApiError::internal(d)),
    };
    let (rows, total) = (rows.records, rows.total);
    // Associations are loaded and records rendered a slice at a time, so a 10,000-record page
    // never holds every record's associations at once (memory, and pages faulted in per request).
    let renderer = Renderer {
        base_url: &base_url,
    };
    let select = fields.as_deref();
    if route.single {
        let Some(rec) = rows.first() else {
            return Err(ApiError::not_found(format!(
                "no {} with sourcedId '{}'",
                route.key,
                ids.first().map(String::as_str).unwrap_or("")
            )));
        };
        let related = roster.related(entity, std::slice::from_ref(rec))?;
        Ok(ReadOutput {
            body: Chunks::new(vec![body(route.key, &warnings, 1024, |out| {
                renderer.write(out, rec, &related, v1p1, select);
                Ok(())
            })?]),
            total: None,
        })
    } else {
        // `{"<key>":[` + one piece per slice + `]…}`, as `body` writes a single piece. The
        // opening and closing go into the first and last pieces: sent as pieces of their own,
        // the small last write met Nagle's algorithm and delayed ACKs (40 ms stalls).
        let (head, tail) = envelope(route.key, &warnings).map_err(ApiError::internal)?;
        let mut parts: Vec<Vec<u8>> = Vec::new();
        for (i, slice) in rows.chunks(RENDER_SLICE).enumerate() {
            let related = roster.related(entity, slice)?;
            let mut out = crate::buffers::take(slice.len() * 700 + head.len() + 1);
            if i == 0 {
                out.extend_from_slice(&head);
                out.push(b'[');
            }
            for (j, rec) in slice.iter().enumerate() {
                if i > 0 || j > 0 {
                    out.push(b',');
                }
                renderer.write(&mut out, rec, &related, v1p1, select);
            }
            parts.push(out);
        }
        if parts.is_empty() {
            let mut empty = head;
            empty.push(b'[');
            parts.push(empty);
        }
        if let Some(last) = parts.last_mut() {
            last.push(b']');
            last.extend_from_slice(&tail);
        }
        Ok(ReadOutput {
            body: Chunks::new(parts),
            total: Some(total),
        })
    }
}

/// Records rendered per slice of a collection page (with their associations).
const RENDER_SLICE: usize = 1000;

/// A 1.1 warning for `statusInfoSet`.
fn warning(minor: CodeMinor, description: &str) -> Json {
    status_info("success", "warning", minor, description)
}

/// `{"<key>": <value>, "statusInfoSet": [...]}` (the set only when there are warnings), with
/// the value written by `value` straight into the buffer: record by record for collections,
/// so a 10,000-record page never exists as one JSON tree.
fn body(
    key: &str,
    warnings: &[Json],
    capacity: usize,
    value: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> Result<Vec<u8>, ApiError> {
    let (mut out, tail) = envelope(key, warnings).map_err(ApiError::internal)?;
    out.reserve(capacity);
    value(&mut out).map_err(ApiError::internal)?;
    out.extend_from_slice(&tail);
    Ok(out)
}

/// What goes before and after a response's value: `{"<key>":` and
/// `,"statusInfoSet":[...]}` (the set only when there are warnings) or `}`.
fn envelope(key: &str, warnings: &[Json]) -> serde_json::Result<(Vec<u8>, Vec<u8>)> {
    let mut head = b"{".to_vec();
    serde_json::to_writer(&mut head, key)?;
    head.push(b':');
    let mut tail = Vec::new();
    if !warnings.is_empty() {
        tail.extend_from_slice(b",\"statusInfoSet\":");
        serde_json::to_writer(&mut tail, warnings)?;
    }
    tail.push(b'}');
    Ok((head, tail))
}

/// An error in the binding's own form: a SOAP 1.1 Fault (with the imsx status header) on a
/// LIS service path, else the OneRoster imsx status body.
pub fn binding_error(req: &HttpRequest, status: StatusCode, why: &str) -> HttpResponse {
    use actix_web::ResponseError;
    if let Some(service) = crate::soap::wsdl::SERVICES
        .iter()
        .find(|s| s.path == req.path())
    {
        let minor = if status == StatusCode::METHOD_NOT_ALLOWED {
            crate::soap::envelope::Minor::UnsupportedOperation
        } else {
            crate::soap::envelope::Minor::InvalidData
        };
        return HttpResponse::build(status)
            .content_type(crate::soap::envelope::SoapVersion::V11.content_type())
            .body(crate::soap::envelope::fault(
                &service.def,
                crate::soap::envelope::SoapVersion::V11,
                "",
                &crate::soap::envelope::Status::failure(minor, why),
                crate::soap::envelope::FaultCode::Client,
            ));
    }
    ApiError::new(status, CodeMinor::InvalidData, why).error_response()
}

/// 405 with `Allow` for a method a path does not take.
pub async fn method_not_allowed(req: HttpRequest, allow: &'static str) -> HttpResponse {
    let mut res = binding_error(
        &req,
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("{} is not allowed here; use {allow}", req.method()),
    );
    if let Ok(v) = header::HeaderValue::from_str(allow) {
        res.headers_mut().insert(header::ALLOW, v);
    }
    res
}

/// Another method than GET under a version's base path: 405 for a path of the route table,
/// 404 for any other.
pub async fn rostering_method_not_allowed(req: HttpRequest) -> HttpResponse {
    let tail = req.match_info().get("tail").unwrap_or("");
    if super::routes::find(tail).is_some() {
        method_not_allowed(req, "GET").await
    } else {
        not_found(req).await
    }
}

/// Unknown paths: 404 with the imsx body.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    no_endpoint(&req).error_response()
}

fn no_endpoint(req: &HttpRequest) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {} {}", req.method(), req.path()))
}

pub fn bad_request(msg: String) -> actix_web::Error {
    ApiError::invalid_data(msg).into()
}

/// `GET /healthz`: 200 when the store answers a query, 503 otherwise.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let st = state.clone();
    let ok = web::block(move || -> Result<(), crate::store::StoreError> {
        let mut conn = st.store.conn()?;
        records::generation(&mut conn)?;
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r.map_err(|e| e.to_string()));
    match ok {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok"})),
        Err(e) => {
            HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable", "error": e}))
        }
    }
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.store.pool_state();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(pool))
}

/// The official rostering OpenAPI, as published; localised per request.
const ROSTERING_OPENAPI: &str =
    include_str!("openapi/onerosterv1p2rostersservice_openapi3_v1p0.json");

/// `GET …/rostering/v1p2/discovery/{file}`: the official OpenAPI with this server's URL and
/// token URL (both file names of ONEROSTER.md §1 are served).
pub async fn discovery(
    req: HttpRequest,
    state: web::Data<AppState>,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !matches!(
        file.as_str(),
        "onerosterv1p2rostersservice_openapi3_v1p0.json" | "imsorv1p2_rostering_openapi3_v1p0.json"
    ) {
        return Err(ApiError::not_found(format!("no discovery file '{file}'")));
    }
    let base = base_url(&req, &state);
    let mut doc: Json = serde_json::from_str(ROSTERING_OPENAPI).map_err(ApiError::internal)?;
    doc["servers"] = json!([{
        "url": format!("{base}{}", Api::V1p2.base()),
        "description": "rosterbridge",
    }]);
    if let Some(flow) = doc
        .pointer_mut("/components/securitySchemes/OAuth2CC/flows/clientCredentials")
        .and_then(Json::as_object_mut)
    {
        flow.insert("tokenUrl".into(), json!(format!("{base}/oauth/token")));
    }
    Ok(HttpResponse::Ok().json(doc))
}

/// RFC 6749 §5.2 error response.
fn oauth_error(status: StatusCode, error: &str, description: &str, basic: bool) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    if basic && status == StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"rosterbridge\""));
    }
    res.json(json!({"error": error, "error_description": description}))
}

/// `POST /oauth/token`: OAuth 2 client credentials. The client authenticates with HTTP Basic,
/// form fields or (a tolerance for Ed-Fi's suite) a JSON body.
pub async fn token(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    let mut fields: Vec<(String, String)> = Vec::new();
    if is_json {
        match serde_json::from_slice::<Map<String, Json>>(&body) {
            Ok(m) => {
                for (k, v) in m {
                    if let Some(s) = v.as_str() {
                        fields.push((k, s.to_string()));
                    }
                }
            }
            Err(_) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "the JSON body is malformed",
                    false,
                )
            }
        }
    } else {
        fields = super::params::query_pairs(&body);
    }
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(super::auth::parse_basic);
    let used_basic = basic.is_some();
    let (id, secret) =
        match (basic, get("client_id"), get("client_secret")) {
            (Some(b), _, _) => b,
            (None, Some(id), Some(secret)) => (id, secret),
            _ => return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication is required (HTTP Basic, or client_id and client_secret)",
                true,
            ),
        };
    match get("grant_type").as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant_type '{other}' is not supported; use client_credentials"),
                false,
            )
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
                false,
            )
        }
    }
    let peer = peer_ip(&req);
    if let Err(wait) = state.auth_throttle.check(Some(&id), peer.as_deref()) {
        return throttled(wait);
    }
    let scope = get("scope");
    let st = state.clone();
    let id2 = id.clone();
    let issued =
        web::block(move || auth::issue_token(&st.store, &id2, &secret, scope.as_deref())).await;
    if matches!(issued, Ok(Ok(Err(auth::OAuthError::InvalidClient)))) {
        state.auth_throttle.failed(Some(&id), peer.as_deref());
    }
    req.extensions_mut().insert(ClientId(id));
    match issued {
        Ok(Ok(Ok(t))) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(json!({
                "access_token": t.access_token,
                "token_type": "bearer",
                "expires_in": t.expires_in,
                "scope": t.scope,
            })),
        Ok(Ok(Err(auth::OAuthError::InvalidClient))) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
            used_basic,
        ),
        Ok(Ok(Err(auth::OAuthError::InvalidScope))) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "none of the requested scopes is allowed for this client",
            false,
        ),
        Ok(Err(e)) => server_error(&e),
        Err(e) => server_error(&e),
    }
}

/// The peer's IP address (the failed-authentication throttle's second key).
pub fn peer_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// 429 for a client or address that failed authentication too often (RFC 6749 has no code
/// for it; `slow_down` is RFC 8628's word for the same thing).
fn throttled(wait: u64) -> HttpResponse {
    let mut res = oauth_error(
        StatusCode::TOO_MANY_REQUESTS,
        "slow_down",
        "too many failed authentications; retry later",
        false,
    );
    if let Ok(v) = header::HeaderValue::from_str(&wait.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

fn server_error(e: &dyn std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "token issue failed");
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "internal error",
        false,
    )
}

/// A JSON body of exactly `bytes` bytes (at least a few), for `GET /bench/fixed`.
pub fn fixed_body(bytes: usize) -> web::Bytes {
    let pad = bytes.saturating_sub(12).max(1);
    web::Bytes::from(format!("{{\"fixed\":\"{}\"}}", "x".repeat(pad)))
}

/// `GET /bench/fixed`: the benchmark's ceiling (enabled by `--bench-fixed-bytes`).
pub async fn fixed(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.fixed_body.clone().unwrap_or_default())
}

/// `GET <LIS service URL>?wsdl`: the published WSDL with this server's address in it.
pub async fn wsdl(
    req: HttpRequest,
    service: &'static crate::soap::wsdl::Service,
) -> Result<HttpResponse, ApiError> {
    if !req.query_string().eq_ignore_ascii_case("wsdl") {
        return Err(ApiError::not_found(format!(
            "{}: GET serves the WSDL only (append ?wsdl)",
            service.path
        )));
    }
    let state = req.app_data::<web::Data<AppState>>();
    let base = match state {
        Some(s) => base_url(&req, s),
        None => String::new(),
    };
    let body = crate::soap::wsdl::localise(service.wsdl, &format!("{base}{}", service.path));
    Ok(HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(body))
}
