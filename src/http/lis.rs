//! The HTTP side of the LIS SOAP services: `POST <service URL>` reads the envelope (untrusted
//! XML guard, lenient header), authenticates the caller (HTTP Basic, WS-Security
//! UsernameToken with PasswordText or PasswordDigest, OAuth 1.0a with `oauth_body_hash`, or an
//! OAuth 2 bearer token; the same client registry and org restrictions as REST), and runs the
//! operation in one `web::block` closure. Authentication failures are HTTP 401 carrying an
//! imsx `unauthorizedrequest` status; an unusable envelope is a SOAP Fault (HTTP 500).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};

use super::auth::{authenticate, Accept, AuthFailure, Credential};
use super::body::Chunks;
use super::server::{AppState, ClientId, RoutePattern};
use crate::roster::Roster;
use crate::soap::envelope::{self, FaultCode, Minor, SoapVersion, Status};
use crate::soap::service::{self, Ctx, Reply};
use crate::soap::wsdl::Service;
use crate::soap::xml::Limits;

/// Largest SOAP request body accepted.
pub const MAX_BODY: usize = 4 << 20;

/// What the HTTP request carries besides the body.
struct Incoming {
    /// The credential of the `Authorization` header (WS-Security is read from the envelope).
    cred: Credential,
    soap_action: Option<String>,
    /// The peer's address (the failed-authentication throttle's second key).
    peer: Option<String>,
}

pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
    service: &'static Service,
) -> HttpResponse {
    let incoming = Incoming {
        cred: Credential::from_request(&req, || super::handlers::base_url(&req, &state), false),
        soap_action: req
            .headers()
            .get("SOAPAction")
            .and_then(|h| h.to_str().ok())
            .map(|s| s.trim().trim_matches('"').to_string()),
        peer: super::handlers::peer_ip(&req),
    };
    let st = state.clone();
    let result = web::block(move || handle(&st, service, incoming, &body)).await;
    let h = result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "LIS request failed");
        Handled::fault(
            service,
            SoapVersion::V11,
            "",
            Status::failure(Minor::TargetIsBusy, service::INTERNAL_FAILURE),
            FaultCode::Server,
        )
    });
    req.extensions_mut().insert(RoutePattern(format!(
        "{} {}",
        service.path,
        h.operation.as_deref().unwrap_or("")
    )));
    if let Some(c) = h.client {
        req.extensions_mut().insert(ClientId(c));
    }
    let mut resp = HttpResponse::build(h.code);
    resp.content_type(h.soap.content_type());
    if h.code == StatusCode::UNAUTHORIZED {
        resp.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"rosterbridge\""));
    }
    if let Some(wait) = h.retry_after {
        resp.insert_header((header::RETRY_AFTER, wait.to_string()));
    }
    resp.body(Chunks::new(
        h.text.into_iter().map(String::into_bytes).collect(),
    ))
}

/// What answering one request produced.
struct Handled {
    code: StatusCode,
    soap: SoapVersion,
    /// The authenticated client, for the request log.
    client: Option<String>,
    /// The operation answered (the metrics route label); `None` for Faults and 401s.
    operation: Option<String>,
    /// The response, in the pieces it was written in.
    text: Vec<String>,
    /// `Retry-After` seconds (429).
    retry_after: Option<u64>,
}

impl Handled {
    /// A SOAP Fault (HTTP 500) carrying `status` in the imsx header.
    fn fault(
        service: &Service,
        soap: SoapVersion,
        message_ref: &str,
        status: Status,
        code: FaultCode,
    ) -> Handled {
        Handled {
            code: StatusCode::INTERNAL_SERVER_ERROR,
            soap,
            client: None,
            operation: None,
            text: vec![envelope::fault(
                &service.def,
                soap,
                message_ref,
                &status,
                code,
            )],
            retry_after: None,
        }
    }
}

fn handle(state: &AppState, service: &Service, incoming: Incoming, body: &[u8]) -> Handled {
    let limits = Limits {
        max_bytes: MAX_BODY,
        ..Limits::default()
    };
    let request = match envelope::read(body, limits) {
        Ok(r) => r,
        Err(e) => {
            // The SOAP version is unknown when the envelope is unreadable: answer in 1.2 only
            // when the body plainly says so.
            let soap = if body
                .windows(envelope::SOAP12.len())
                .any(|w| w == envelope::SOAP12.as_bytes())
            {
                SoapVersion::V12
            } else {
                SoapVersion::V11
            };
            return Handled::fault(
                service,
                soap,
                "",
                Status::failure(Minor::InvalidData, e.to_string()),
                FaultCode::Client,
            );
        }
    };
    let soap = request.soap;
    let op = request.operation.clone();
    let Some((_, action)) = service.def.operations.iter().find(|(o, _)| *o == op) else {
        return Handled::fault(
            service,
            soap,
            &request.message_id,
            Status::failure(
                Minor::UnsupportedOperation,
                format!(
                    "'{}' is not an operation of the LIS {} service",
                    request.body.name, service.def.name
                ),
            ),
            FaultCode::Client,
        );
    };
    if let Some(sent) = incoming.soap_action.as_deref().filter(|s| !s.is_empty()) {
        if sent != *action {
            tracing::warn!(soap_action = sent, body = %op, "SOAPAction does not match the body element; the body wins");
        }
    }
    let respond = |code: StatusCode, client: Option<String>, reply: Reply| {
        let text = envelope::response(
            &service.def,
            soap,
            &request.message_id,
            &op,
            &reply.status,
            reply.body,
        );
        Handled {
            code,
            soap,
            operation: (code == StatusCode::OK).then(|| op.clone()),
            client,
            text,
            retry_after: None,
        }
    };
    let mut conn = match state.store.conn() {
        Ok(c) => c,
        Err(e) => return respond(StatusCode::OK, None, service::internal(&e)),
    };
    // Without an Authorization header, a WS-Security UsernameToken in the SOAP header.
    let cred = match incoming.cred {
        Credential::None => request
            .security
            .as_ref()
            .and_then(Credential::ws_security)
            .unwrap_or(Credential::None),
        other => other,
    };
    let accept = Accept {
        oauth1: true,
        basic: true,
        ws_security: true,
        body_hash_of: Some(body),
    };
    let caller = match authenticate(&mut conn, state, &cred, accept, incoming.peer.as_deref()) {
        Ok(c) => c,
        Err(AuthFailure::Busy(wait)) => {
            let mut h = respond(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                Reply::fail(
                    Minor::TargetIsBusy,
                    "too many failed authentications; retry later",
                ),
            );
            h.retry_after = Some(wait);
            return h;
        }
        Err(f) => {
            let why = match f {
                AuthFailure::Missing => {
                    "no credentials: send HTTP Basic, a WS-Security UsernameToken or OAuth 1.0a"
                        .to_string()
                }
                AuthFailure::Unsupported(s) => format!("unsupported authorization scheme '{s}'"),
                AuthFailure::Refused(r) => r.why,
                AuthFailure::Internal(_) => {
                    "the credentials could not be checked (server error, logged)".to_string()
                }
                AuthFailure::Busy(_) => String::new(),
            };
            // A WS-Security token is judged at the SOAP level: the OASIS WSS fault, which
            // SOAP stacks report with its reason; transport-level schemes get HTTP 401.
            if matches!(cred, Credential::WsSecurity(_)) {
                return Handled::fault(
                    service,
                    soap,
                    &request.message_id,
                    Status::failure(
                        Minor::UnauthorizedRequest,
                        format!(
                            "The security token could not be authenticated or authorized: {why}"
                        ),
                    ),
                    FaultCode::FailedAuthentication,
                );
            }
            return respond(
                StatusCode::UNAUTHORIZED,
                None,
                Reply::fail(Minor::UnauthorizedRequest, why),
            );
        }
    };
    let client = Some(caller.client_id.clone());
    if let Some(limiter) = &state.limiter {
        if limiter.check(&caller.client_id).is_err() {
            return respond(
                StatusCode::OK,
                client,
                Reply::fail(Minor::TargetIsBusy, "rate limit exceeded; retry later"),
            );
        }
    }
    let mut ctx = Ctx::new(Roster::new(&mut conn, &caller, Some(&state.caches)));
    let reply = (service.run)(&mut ctx, &op, &request.body);
    respond(StatusCode::OK, client, reply)
}

/// Where LIS bulk files are posted (`soap::bulk`): not a SOAP service (IMS published no
/// WSDL for bulk exchange), so one path beside the services'.
pub const BULK_PATH: &str = "/lis/v2p0/BulkDataService";

/// `POST /lis/v2p0/BulkDataService`: a `bulkDataRecord` file, authenticated like a SOAP
/// request (HTTP Basic, OAuth 1.0a with `oauth_body_hash`, or a bearer token); each of its
/// transactions is run by its service's own operation, each in its own transaction, in file
/// order, and the answer lists every transaction's status (`soap::bulk::response`). A file
/// that is not one is HTTP 400; failed authentication 401.
pub async fn post_bulk(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let cred = Credential::from_request(&req, || super::handlers::base_url(&req, &state), false);
    let peer = super::handlers::peer_ip(&req);
    let st = state.clone();
    let result = web::block(move || run_bulk(&st, cred, peer, &body)).await;
    let (code, text, client) = result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "LIS bulk request failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            service::INTERNAL_FAILURE.to_string(),
            None,
        )
    });
    req.extensions_mut()
        .insert(RoutePattern(format!("{BULK_PATH} bulk")));
    if let Some(c) = client {
        req.extensions_mut().insert(ClientId(c));
    }
    let mut resp = HttpResponse::build(code);
    if code == StatusCode::UNAUTHORIZED {
        resp.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"rosterbridge\""));
    }
    resp.content_type(if code == StatusCode::OK {
        "application/xml; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    })
    .body(text)
}

fn run_bulk(
    state: &AppState,
    cred: Credential,
    peer: Option<String>,
    body: &[u8],
) -> (StatusCode, String, Option<String>) {
    let limits = Limits {
        max_bytes: MAX_BODY,
        ..Limits::default()
    };
    let root = match crate::soap::bind::parse(body, limits) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string(), None),
    };
    let transactions = match crate::soap::bulk::transactions(&root) {
        Ok(t) => t,
        Err(e) => return (StatusCode::BAD_REQUEST, e, None),
    };
    let mut conn = match state.store.conn() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "LIS bulk request failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                service::INTERNAL_FAILURE.to_string(),
                None,
            );
        }
    };
    let accept = Accept {
        oauth1: true,
        basic: true,
        ws_security: false,
        body_hash_of: Some(body),
    };
    let caller = match authenticate(&mut conn, state, &cred, accept, peer.as_deref()) {
        Ok(c) => c,
        Err(AuthFailure::Busy(_)) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed authentications; retry later".into(),
                None,
            )
        }
        Err(_) => {
            return (
                StatusCode::UNAUTHORIZED,
                "the credentials are missing or were refused".into(),
                None,
            )
        }
    };
    let mut results = Vec::new();
    for t in transactions {
        let service = crate::soap::wsdl::SERVICES
            .iter()
            .find(|s| s.path.rsplit('/').next() == Some(t.service.as_str()));
        let reply = match service {
            Some(s) if s.def.operations.iter().any(|(o, _)| *o == t.operation) => {
                let mut ctx = Ctx::new(Roster::new(&mut conn, &caller, Some(&state.caches)));
                (s.run)(&mut ctx, &t.operation, &t.body)
            }
            Some(_) => Reply::fail(
                Minor::UnsupportedOperation,
                format!("'{}' is not an operation of {}", t.operation, t.service),
            ),
            None => Reply::fail(
                Minor::UnsupportedOperation,
                format!("'{}' is not a LIS service this server runs", t.service),
            ),
        };
        let def = service
            .map(|s| &s.def)
            .unwrap_or(&crate::soap::wsdl::SERVICES[0].def);
        let minor = reply.status.minor.spelling(def);
        results.push((t, reply.status, minor));
    }
    (
        StatusCode::OK,
        crate::soap::bulk::response(&results),
        Some(caller.client_id.clone()),
    )
}
