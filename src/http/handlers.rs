//! The server's own endpoints and shared request helpers: the external base URL and the peer
//! address, errors in the binding's form for paths and methods the route tables do not take
//! (405 with `Allow`, 404), `/healthz`, `/metrics`, the 1.2 discovery files, the LIS WSDLs and
//! the benchmark's fixed body.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value as Json};

use super::rest::error::{ApiError, CodeMinor};
use super::rest::routes::{Api, Service};
use super::server::AppState;
use crate::store::records;

/// The external base URL: configured, or from the request (scheme and Host).
pub fn base_url(req: &HttpRequest, state: &AppState) -> String {
    match &state.settings.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None if state.settings.trust_forwarded => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
        // Forwarded headers are not trusted: the connection's own scheme and the Host header.
        None => {
            let scheme = if state.settings.tls.is_some() {
                "https"
            } else {
                "http"
            };
            let host = req
                .headers()
                .get(actix_web::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
                .or_else(|| req.uri().authority().map(|a| a.to_string()))
                .unwrap_or_else(|| state.settings.bind.clone());
            format!("{scheme}://{host}")
        }
    }
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
pub async fn method_not_allowed(req: HttpRequest, allow: &str) -> HttpResponse {
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

/// Unknown paths: 404 with the imsx body.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    no_endpoint(&req).error_response()
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

/// The official 1.2 OpenAPI of each service, as published (kept unchanged in
/// `src/http/rest/openapi/`), and the two names each is served under (ONEROSTER.md §1).
fn openapi(service: Service) -> (&'static str, [&'static str; 2]) {
    match service {
        Service::Rostering => (
            include_str!("rest/openapi/onerosterv1p2rostersservice_openapi3_v1p0.json"),
            [
                "onerosterv1p2rostersservice_openapi3_v1p0.json",
                "imsorv1p2_rostering_openapi3_v1p0.json",
            ],
        ),
        Service::Gradebook => (
            include_str!("rest/openapi/onerosterv1p2gradebookservice_openapi3_v1p0.json"),
            [
                "onerosterv1p2gradebookservice_openapi3_v1p0.json",
                "imsorv1p2_gradebook_openapi3_v1p0.json",
            ],
        ),
        Service::Resources => (
            include_str!("rest/openapi/onerosterv1p2resourcesservice_openapi3_v1p0.json"),
            [
                "onerosterv1p2resourcesservice_openapi3_v1p0.json",
                "imsorv1p2_resources_openapi3_v1p0.json",
            ],
        ),
    }
}

/// `GET <1.2 service base>/discovery/{file}`: the service's official OpenAPI with this
/// server's URL and token URL, localised per request (both file names are served).
pub async fn discovery(
    req: HttpRequest,
    state: web::Data<AppState>,
    file: &str,
    service: Service,
) -> Result<HttpResponse, ApiError> {
    let (text, names) = openapi(service);
    if !names.contains(&file) {
        return Err(ApiError::not_found(format!("no discovery file '{file}'")));
    }
    let base = base_url(&req, &state);
    let mut doc: Json = serde_json::from_str(text).map_err(ApiError::internal)?;
    doc["servers"] = json!([{
        "url": format!("{base}{}", Api::V1p2.base_of(service)),
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

/// The peer's IP address (the failed-authentication throttle's second key).
pub fn peer_ip(req: &HttpRequest) -> Option<String> {
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.trust_forwarded);
    if trusted {
        // The proxy's view of the client (Forwarded `for=`, else the first X-Forwarded-For).
        if let Some(ip) = req.connection_info().realip_remote_addr() {
            return Some(ip.to_string());
        }
    }
    req.peer_addr().map(|a| a.ip().to_string())
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

/// 404 with the imsx body naming the method and path.
pub(crate) fn no_endpoint(req: &HttpRequest) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {} {}", req.method(), req.path()))
}
