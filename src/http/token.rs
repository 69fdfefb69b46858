//! `POST /oauth/token`: OAuth 2 client credentials (RFC 6749 §4.4). The client authenticates
//! with HTTP Basic, form fields or (a tolerance for Ed-Fi's suite) a JSON body; errors are
//! RFC 6749 §5.2 bodies; failed secrets drain the authentication throttle.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value as Json};

use super::handlers::peer_ip;
use super::server::{AppState, ClientId};
use crate::auth;

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
        fields = super::rest::params::query_pairs(&body);
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
