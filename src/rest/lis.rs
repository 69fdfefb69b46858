//! The HTTP side of the LIS SOAP services: `POST <service URL>` reads the envelope (untrusted
//! XML guard, lenient header), authenticates the caller (HTTP Basic, WS-Security
//! UsernameToken with PasswordText or PasswordDigest, OAuth 1.0a with `oauth_body_hash`, or an
//! OAuth 2 bearer token; the same client registry and org restrictions as REST), and runs the
//! operation in one `web::block` closure. Authentication failures are HTTP 401 carrying an
//! imsx `unauthorizedrequest` status; an unusable envelope is a SOAP Fault (HTTP 500).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use base64::Engine as _;
use sha1::Digest as _;

use super::body::Chunks;
use super::server::{AppState, ClientId, RoutePattern};
use crate::auth::{self, Bearer};
use crate::roster::{Caller, Roster};
use crate::soap::bind::Node;
use crate::soap::envelope::{self, FaultCode, Minor, SoapVersion, Status};
use crate::soap::service::{self, Ctx, Reply};
use crate::soap::wsdl::Service;
use crate::soap::xml::Limits;
use crate::store::{clients, DbConnection};

/// Largest SOAP request body accepted.
pub const MAX_BODY: usize = 4 << 20;

/// What the HTTP request carries besides the body.
struct Incoming {
    authorization: Option<String>,
    soap_action: Option<String>,
    oauth: Option<Result<super::oauth1::Signed, String>>,
    /// The peer's address (the failed-authentication throttle's second key).
    peer: Option<String>,
}

pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
    service: &'static Service,
) -> HttpResponse {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let oauth = authorization.as_deref().and_then(|h| {
        let (scheme, rest) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("oauth").then(|| {
            let base = super::handlers::base_url(&req, &state);
            super::oauth1::Signed::from_request(&req, &base, Some(rest))
        })
    });
    let incoming = Incoming {
        authorization,
        soap_action: req
            .headers()
            .get("SOAPAction")
            .and_then(|h| h.to_str().ok())
            .map(|s| s.trim().trim_matches('"').to_string()),
        oauth,
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
    // Secrets are checked for Basic, WS-Security and OAuth 1.0a: failures there are
    // throttled per claimed client and per address (bearer tokens cannot be guessed).
    let token = request
        .security
        .as_ref()
        .and_then(|s| s.child(&["UsernameToken"]));
    let wss = incoming.authorization.is_none() && token.is_some();
    let claimed = claimed_client(&incoming, token);
    let checks_secret = claimed.is_some();
    let peer = incoming.peer.as_deref();
    if checks_secret {
        if let Err(wait) = state.auth_throttle.check(claimed.as_deref(), peer) {
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
    }
    let bearer = match authenticate(&mut conn, state, &incoming, request.security.as_ref(), body) {
        Ok(b) => b,
        Err(why) => {
            if checks_secret {
                state.auth_throttle.failed(claimed.as_deref(), peer);
            }
            // A WS-Security token is judged at the SOAP level: the OASIS WSS fault, which
            // SOAP stacks report with its reason; transport-level schemes get HTTP 401.
            if wss {
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
    let client = Some(bearer.client_id.clone());
    if let Some(limiter) = &state.limiter {
        if limiter.check(&bearer.client_id).is_err() {
            return respond(
                StatusCode::OK,
                client,
                Reply::fail(Minor::TargetIsBusy, "rate limit exceeded; retry later"),
            );
        }
    }
    let caller = match Caller::new(
        &mut conn,
        bearer.client_id,
        bearer.scopes,
        bearer.orgs.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => return respond(StatusCode::OK, client, service::internal(&e)),
    };
    let mut ctx = Ctx::new(Roster::new(&mut conn, &caller, Some(&state.caches)));
    let reply = (service.run)(&mut ctx, &op, &request.body);
    respond(StatusCode::OK, client, reply)
}

/// The client id a request's secret-bearing credentials name (HTTP Basic, OAuth 1.0a's
/// consumer key, a UsernameToken's Username), for the failed-authentication throttle.
fn claimed_client(incoming: &Incoming, token: Option<&Node>) -> Option<String> {
    match incoming.authorization.as_deref() {
        Some(h) => {
            let scheme = h.trim().split(' ').next().unwrap_or("");
            if scheme.eq_ignore_ascii_case("basic") {
                super::handlers::parse_basic(h)
                    .map(|(id, _)| id)
                    .or(Some(String::new()))
            } else if scheme.eq_ignore_ascii_case("oauth") {
                match &incoming.oauth {
                    Some(Ok(s)) => Some(s.consumer_key.clone()),
                    _ => Some(String::new()),
                }
            } else {
                None
            }
        }
        None => token.map(|t| t.child_text("Username").unwrap_or("").to_string()),
    }
}

/// Log a store error met while checking credentials; the client is told only that.
fn store_failure(e: &dyn std::fmt::Display) -> String {
    tracing::error!(error = %e, "credentials could not be checked");
    "the credentials could not be checked (server error, logged)".to_string()
}

/// Constant-time equality (length is not secret).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A client and its derived secret (clients created before secrets were derived have none).
fn client_secret(
    conn: &mut DbConnection,
    state: &AppState,
    client_id: &str,
) -> Result<(clients::ClientRow, String), String> {
    let key = state
        .settings
        .server_key
        .as_ref()
        .ok_or("no server key is configured")?;
    let client = clients::get(conn, client_id)
        .map_err(|e| store_failure(&e))?
        .ok_or("unknown client or wrong secret")?;
    let salt = client
        .secret_salt
        .clone()
        .ok_or("this client has no derivable secret; re-create it")?;
    Ok((client, key.client_secret(&salt)))
}

fn authenticate(
    conn: &mut DbConnection,
    state: &AppState,
    incoming: &Incoming,
    security: Option<&Node>,
    body: &[u8],
) -> Result<Bearer, String> {
    let bearer_of = |c: clients::ClientRow| {
        let s = c.scopes.clone();
        Bearer::new(c, &s, crate::model::time::now())
    };
    if let Some(h) = incoming.authorization.as_deref() {
        let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h.trim(), ""));
        if scheme.eq_ignore_ascii_case("basic") {
            // Verified Basic credentials are kept a few seconds, like bearer tokens.
            if let Some(b) = state.bearers.get(h) {
                return Ok(b);
            }
            let (id, secret) =
                super::handlers::parse_basic(h).ok_or("HTTP Basic: malformed credentials")?;
            let (client, expected) = client_secret(conn, state, &id)?;
            if !ct_eq(expected.as_bytes(), secret.as_bytes()) {
                return Err("unknown client or wrong secret".into());
            }
            let mut b = bearer_of(client);
            b.expires_at =
                crate::model::time::format(chrono::Utc::now() + chrono::Duration::minutes(1));
            state.bearers.put(h, &b);
            return Ok(b);
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            return auth::verify_bearer_on(conn, rest.trim())
                .map_err(|e| store_failure(&e))?
                .ok_or_else(|| "the access token is unknown or expired".to_string());
        }
        if scheme.eq_ignore_ascii_case("oauth") {
            let signed = match &incoming.oauth {
                Some(Ok(s)) => s,
                Some(Err(e)) => return Err(e.clone()),
                None => return Err("OAuth 1.0a: malformed Authorization header".into()),
            };
            let hash = signed
                .body_hash
                .as_deref()
                .ok_or("OAuth 1.0a: oauth_body_hash is required on LIS requests")?;
            let expected =
                base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(body));
            if !ct_eq(expected.as_bytes(), hash.as_bytes()) {
                return Err("OAuth 1.0a: oauth_body_hash does not match the body".into());
            }
            return super::oauth1::verify(conn, state, signed).map_err(|e| e.to_string());
        }
        return Err(format!("unsupported authorization scheme '{scheme}'"));
    }
    let token = security
        .and_then(|s| s.child(&["UsernameToken"]))
        .ok_or("no credentials: send HTTP Basic, a WS-Security UsernameToken or OAuth 1.0a")?;
    let username = token.child_text("Username").unwrap_or("");
    let password = token
        .child(&["Password"])
        .ok_or("UsernameToken: no Password")?;
    let digest = password
        .attr("Type")
        .is_some_and(|t| t.ends_with("#PasswordDigest"));
    let nonce = token.child_text("Nonce");
    let created = token.child_text("Created");
    let (client, secret) = client_secret(conn, state, username)?;
    let ok = if digest {
        let (Some(nonce), Some(created)) = (nonce, created) else {
            return Err("UsernameToken: PasswordDigest needs Nonce and Created".into());
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(nonce)
            .map_err(|_| "UsernameToken: Nonce is not base64")?;
        let mut h = sha1::Sha1::new();
        h.update(&raw);
        h.update(created.as_bytes());
        h.update(secret.as_bytes());
        let expected = base64::engine::general_purpose::STANDARD.encode(h.finalize());
        ct_eq(expected.as_bytes(), password.text.trim().as_bytes())
    } else {
        ct_eq(secret.as_bytes(), password.text.as_bytes())
    };
    if !ok {
        return Err("unknown client or wrong secret".into());
    }
    // Replay protection: Created in the window, nonce never seen (when they are sent; a
    // digest always sends them).
    if let Some(created) = created {
        let t = crate::model::time::parse_datetime(created)
            .ok_or("UsernameToken: Created is not a date-time")?
            .timestamp();
        let now = chrono::Utc::now().timestamp();
        let (past, future) = (
            state.settings.oauth1_past_secs,
            state.settings.oauth1_future_secs,
        );
        if t < now - past || t > now + future {
            return Err("UsernameToken: Created is outside the accepted window".into());
        }
        if let Some(nonce) = nonce {
            let fresh = clients::record_nonce(
                conn,
                &client.client_id,
                t,
                &format!("wsse:{nonce}"),
                now - past - future,
            )
            .map_err(|e| store_failure(&e))?;
            if !fresh {
                return Err("UsernameToken: Nonce was already used".into());
            }
        }
    }
    Ok(bearer_of(client))
}
