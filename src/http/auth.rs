//! One authentication for every binding: the credential a request carries ([`Credential`]:
//! an OAuth 2 bearer token, an OAuth 1.0a signature, HTTP Basic, a WS-Security UsernameToken)
//! becomes a [`Caller`] through [`authenticate`], against the one client registry, with one
//! cache of verified credentials ([`CredentialCache`]: bearer tokens and Basic pairs) and one
//! throttle of failed secret checks (`ratelimit::AuthThrottle`). Each binding says which
//! schemes it accepts ([`Accept`]) and words the failures in its own form (imsx body, SOAP
//! status or Fault).
//!
//! Header-borne credentials are read by the [`Credential`] extractor; WS-Security travels in
//! the SOAP header, which the LIS endpoint reads ([`Credential::ws_security`]).

use std::time::Instant;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine as _;
use sha1::Digest as _;

use super::oauth1::Signed;
use super::server::AppState;
use crate::auth::{self, Bearer};
use crate::roster::Caller;
use crate::soap::bind::Node;
use crate::store::{clients, DbConnection};

/// What a request presents to prove who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    None,
    Bearer(String),
    /// HTTP Basic: the raw header (the cache key) and the decoded pair (`None`: malformed).
    Basic {
        header: String,
        pair: Option<(String, String)>,
    },
    /// OAuth 1.0a, from the `Authorization` header or the query string (`Err`: malformed).
    OAuth1(Result<Signed, String>),
    WsSecurity(UsernameToken),
    /// An `Authorization` header of another scheme (or a bearer without a token).
    Unsupported(String),
}

/// A WS-Security UsernameToken (OASIS WSS UsernameToken Profile 1.1).
#[derive(Debug, Clone)]
pub struct UsernameToken {
    pub username: String,
    /// The Password element's text; `None` when absent.
    pub password: Option<String>,
    /// `PasswordDigest` rather than `PasswordText`.
    pub digest: bool,
    pub nonce: Option<String>,
    pub created: Option<String>,
}

impl Credential {
    /// The credential of `req`'s `Authorization` header, or, with `query_oauth`, an OAuth 1.0a
    /// signature in the query string (`base_url`: the external scheme and host, which the
    /// signature covers; asked for only when there is a signature).
    pub fn from_request(
        req: &HttpRequest,
        base_url: impl Fn() -> String,
        query_oauth: bool,
    ) -> Credential {
        let h = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok());
        match h {
            Some(h) => {
                let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h.trim(), ""));
                if scheme.eq_ignore_ascii_case("bearer") && !rest.trim().is_empty() {
                    Credential::Bearer(rest.trim().to_string())
                } else if scheme.eq_ignore_ascii_case("basic") {
                    Credential::Basic {
                        header: h.to_string(),
                        pair: parse_basic(h),
                    }
                } else if scheme.eq_ignore_ascii_case("oauth") {
                    Credential::OAuth1(Signed::from_request(req, &base_url(), Some(rest)))
                } else {
                    Credential::Unsupported(scheme.to_string())
                }
            }
            None if query_oauth && req.query_string().contains("oauth_signature=") => {
                Credential::OAuth1(Signed::from_request(req, &base_url(), None))
            }
            None => Credential::None,
        }
    }

    /// A UsernameToken in a SOAP `Security` header.
    pub fn ws_security(security: &Node) -> Option<Credential> {
        let token = security.child(&["UsernameToken"])?;
        let password = token.child(&["Password"]);
        Some(Credential::WsSecurity(UsernameToken {
            username: token.child_text("Username").unwrap_or("").to_string(),
            password: password.map(|p| p.text.clone()),
            digest: password
                .and_then(|p| p.attr("Type"))
                .is_some_and(|t| t.ends_with("#PasswordDigest")),
            nonce: token.child_text("Nonce").map(str::to_string),
            created: token.child_text("Created").map(str::to_string),
        }))
    }

    /// The client id a secret-bearing credential names (HTTP Basic, OAuth 1.0a's consumer key,
    /// a UsernameToken's Username; empty when unreadable), for the failed-authentication
    /// throttle. `None` for bearer tokens, which cannot be guessed.
    pub fn claimed_client(&self) -> Option<String> {
        match self {
            Credential::Basic { pair, .. } => {
                Some(pair.as_ref().map(|(id, _)| id.clone()).unwrap_or_default())
            }
            Credential::OAuth1(Ok(s)) => Some(s.consumer_key.clone()),
            Credential::OAuth1(Err(_)) => Some(String::new()),
            Credential::WsSecurity(t) => Some(t.username.clone()),
            Credential::None | Credential::Bearer(_) | Credential::Unsupported(_) => None,
        }
    }
}

/// The header-borne credential of a request; an OAuth 1.0a signature in the query string
/// counts (OneRoster 1.1 clients send it there).
impl FromRequest for Credential {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Credential, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let base = || match req.app_data::<web::Data<AppState>>() {
            Some(state) => super::handlers::base_url(req, state),
            None => String::new(),
        };
        std::future::ready(Ok(Credential::from_request(req, base, true)))
    }
}

/// The schemes a binding accepts.
#[derive(Debug, Clone, Copy)]
pub struct Accept<'b> {
    pub oauth1: bool,
    pub basic: bool,
    pub ws_security: bool,
    /// The raw body an OAuth 1.0a signature must cover with `oauth_body_hash` (LIS).
    pub body_hash_of: Option<&'b [u8]>,
}

/// Why authentication failed.
#[derive(Debug)]
pub enum AuthFailure {
    /// No credential at all.
    Missing,
    /// A credential of a scheme this binding does not take.
    Unsupported(String),
    /// The credential was checked and refused (the reason is safe to tell the client).
    Refused(Refusal),
    /// Too many failed authentications for this client or address: retry after this many
    /// seconds.
    Busy(u64),
    /// The store failed while checking (logged; the client is told only that).
    Internal(String),
}

/// A refused credential and its scheme (for the challenge a binding sends back).
#[derive(Debug)]
pub struct Refusal {
    pub scheme: Scheme,
    pub why: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    Basic,
    OAuth1,
    WsSecurity,
}

/// Verified credentials, kept [`CREDENTIAL_CACHE_SECS`] seconds (never past the credential's
/// own expiry), keyed by the SHA-256 of the token or Basic header: bearer tokens and HTTP Basic
/// pairs (OAuth 1.0a and WS-Security carry a fresh nonce on every request). Saves the lookups
/// (and, for Basic, the secret derivation) on most requests; removing a client therefore takes
/// effect on running servers within that time.
#[derive(Default)]
pub struct CredentialCache {
    map: std::sync::Mutex<std::collections::HashMap<[u8; 32], (Bearer, Instant)>>,
}

pub const CREDENTIAL_CACHE_SECS: u64 = 10;

impl CredentialCache {
    fn key(token: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes()).into()
    }

    fn get(&self, token: &str) -> Option<Bearer> {
        let map = self.map.lock().ok()?;
        let (b, at) = map.get(&Self::key(token))?;
        (at.elapsed().as_secs() < CREDENTIAL_CACHE_SECS && b.expires_at > crate::model::time::now())
            .then(|| b.clone())
    }

    /// Forget every cached credential of `client_id` (its secret was rotated, or it was
    /// disabled, changed or removed): on this server the change holds from the next request.
    pub fn forget(&self, client_id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, (b, _)| b.client_id != client_id);
        }
    }

    fn put(&self, token: &str, bearer: &Bearer) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() > 10_000 {
                map.retain(|_, (_, at)| at.elapsed().as_secs() < CREDENTIAL_CACHE_SECS);
            }
            map.insert(Self::key(token), (bearer.clone(), Instant::now()));
        }
    }
}

/// Authenticate `cred` on `conn` for a binding accepting `accept`: the caller, with its orgs
/// expanded. Secret-bearing credentials (Basic, OAuth 1.0a, WS-Security) are refused
/// without a check while their client or `peer` address is throttled, and drain the throttle
/// when refused.
pub fn authenticate(
    conn: &mut DbConnection,
    state: &AppState,
    cred: &Credential,
    accept: Accept<'_>,
    peer: Option<&str>,
) -> Result<Caller, AuthFailure> {
    let taken = match cred {
        Credential::None => return Err(AuthFailure::Missing),
        Credential::Unsupported(scheme) => return Err(AuthFailure::Unsupported(scheme.clone())),
        Credential::Basic { header, .. } if !accept.basic => {
            let scheme = header.split(' ').next().unwrap_or("Basic");
            return Err(AuthFailure::Unsupported(scheme.to_string()));
        }
        Credential::OAuth1(_) if !accept.oauth1 => {
            return Err(AuthFailure::Unsupported("OAuth".into()))
        }
        Credential::WsSecurity(_) if !accept.ws_security => {
            return Err(AuthFailure::Unsupported("WS-Security".into()))
        }
        _ => cred,
    };
    let claimed = taken.claimed_client();
    if claimed.is_some() {
        state
            .auth_throttle
            .check(claimed.as_deref(), peer)
            .map_err(AuthFailure::Busy)?;
    }
    let verified = verify(conn, state, taken, accept);
    if let (Err(AuthFailure::Refused(_)), Some(_)) = (&verified, &claimed) {
        state.auth_throttle.failed(claimed.as_deref(), peer);
    }
    let bearer = verified?;
    Caller::new(
        conn,
        bearer.client_id,
        bearer.scopes,
        bearer.rules.as_deref(),
        bearer.mask,
    )
    .map_err(|e| internal(&e))
}

fn refuse(scheme: Scheme, why: impl Into<String>) -> AuthFailure {
    AuthFailure::Refused(Refusal {
        scheme,
        why: why.into(),
    })
}

/// Log a store error met while checking credentials.
fn internal(e: &dyn std::fmt::Display) -> AuthFailure {
    tracing::error!(error = %e, "credentials could not be checked");
    AuthFailure::Internal(e.to_string())
}

fn verify(
    conn: &mut DbConnection,
    state: &AppState,
    cred: &Credential,
    accept: Accept<'_>,
) -> Result<Bearer, AuthFailure> {
    match cred {
        Credential::Bearer(token) => {
            if let Some(b) = state.credentials.get(token) {
                return Ok(b);
            }
            let b = auth::verify_bearer_on(conn, token)
                .map_err(|e| internal(&e))?
                .ok_or_else(|| refuse(Scheme::Bearer, "the access token is unknown or expired"))?;
            state.credentials.put(token, &b);
            Ok(b)
        }
        Credential::Basic { header, pair } => {
            if let Some(b) = state.credentials.get(header) {
                return Ok(b);
            }
            let (id, secret) = pair
                .as_ref()
                .ok_or_else(|| refuse(Scheme::Basic, "HTTP Basic: malformed credentials"))?;
            let (client, expected) = client_secret(conn, state, id, Scheme::Basic)?;
            if !ct_eq(expected.as_bytes(), secret.as_bytes()) {
                return Err(refuse(Scheme::Basic, "unknown client or wrong secret"));
            }
            let mut b = bearer_of(client);
            b.expires_at =
                crate::model::time::format(chrono::Utc::now() + chrono::Duration::minutes(1));
            state.credentials.put(header, &b);
            Ok(b)
        }
        Credential::OAuth1(signed) => {
            let signed = signed
                .as_ref()
                .map_err(|e| refuse(Scheme::OAuth1, e.clone()))?;
            if let Some(body) = accept.body_hash_of {
                let hash = signed.body_hash.as_deref().ok_or_else(|| {
                    refuse(
                        Scheme::OAuth1,
                        "OAuth 1.0a: oauth_body_hash is required on LIS requests",
                    )
                })?;
                let expected =
                    base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(body));
                if !ct_eq(expected.as_bytes(), hash.as_bytes()) {
                    return Err(refuse(
                        Scheme::OAuth1,
                        "OAuth 1.0a: oauth_body_hash does not match the body",
                    ));
                }
            }
            super::oauth1::verify(conn, state, signed).map_err(|e| match e {
                super::oauth1::VerifyError::Refused(why) => refuse(Scheme::OAuth1, why),
                super::oauth1::VerifyError::Db(d) => internal(&d),
            })
        }
        Credential::WsSecurity(token) => ws_security(conn, state, token),
        Credential::None | Credential::Unsupported(_) => Err(AuthFailure::Missing),
    }
}

fn bearer_of(c: clients::ClientRow) -> Bearer {
    let s = c.scopes.clone();
    Bearer::new(c, &s, crate::model::time::now())
}

/// Constant-time equality (length is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A client and its derived secret (clients created before secrets were derived have none).
fn client_secret(
    conn: &mut DbConnection,
    state: &AppState,
    client_id: &str,
    scheme: Scheme,
) -> Result<(clients::ClientRow, String), AuthFailure> {
    let key = state
        .settings
        .server_key
        .as_ref()
        .ok_or_else(|| refuse(scheme, "no server key is configured"))?;
    let client = clients::get_enabled(conn, client_id)
        .map_err(|e| internal(&e))?
        .ok_or_else(|| refuse(scheme, "unknown client or wrong secret"))?;
    let salt = client
        .secret_salt
        .clone()
        .ok_or_else(|| refuse(scheme, "this client has no derivable secret; re-create it"))?;
    Ok((client, key.client_secret(&salt)))
}

/// A UsernameToken: PasswordText compared with the client's derived secret, or PasswordDigest
/// (`Base64(SHA-1(nonce + created + secret))`); `Created` within the window and the nonce
/// never seen before, when sent (a digest always sends them).
fn ws_security(
    conn: &mut DbConnection,
    state: &AppState,
    token: &UsernameToken,
) -> Result<Bearer, AuthFailure> {
    let fail = |why: &str| refuse(Scheme::WsSecurity, why);
    let password = token
        .password
        .as_deref()
        .ok_or_else(|| fail("UsernameToken: no Password"))?;
    let (client, secret) = client_secret(conn, state, &token.username, Scheme::WsSecurity)?;
    let (nonce, created) = (token.nonce.as_deref(), token.created.as_deref());
    let ok = if token.digest {
        let (Some(nonce), Some(created)) = (nonce, created) else {
            return Err(fail(
                "UsernameToken: PasswordDigest needs Nonce and Created",
            ));
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(nonce)
            .map_err(|_| fail("UsernameToken: Nonce is not base64"))?;
        let mut h = sha1::Sha1::new();
        h.update(&raw);
        h.update(created.as_bytes());
        h.update(secret.as_bytes());
        let expected = base64::engine::general_purpose::STANDARD.encode(h.finalize());
        ct_eq(expected.as_bytes(), password.trim().as_bytes())
    } else {
        ct_eq(secret.as_bytes(), password.as_bytes())
    };
    if !ok {
        return Err(fail("unknown client or wrong secret"));
    }
    if let Some(created) = created {
        let t = crate::model::time::parse_datetime(created)
            .ok_or_else(|| fail("UsernameToken: Created is not a date-time"))?
            .timestamp();
        let now = chrono::Utc::now().timestamp();
        let (past, future) = (
            state.settings.oauth1_past_secs,
            state.settings.oauth1_future_secs,
        );
        if t < now - past || t > now + future {
            return Err(fail(
                "UsernameToken: Created is outside the accepted window",
            ));
        }
        if let Some(nonce) = nonce {
            let fresh = clients::record_nonce(
                conn,
                &client.client_id,
                t,
                &format!("wsse:{nonce}"),
                now - past - future,
            )
            .map_err(|e| internal(&e))?;
            if !fresh {
                return Err(fail("UsernameToken: Nonce was already used"));
            }
        }
    }
    Ok(bearer_of(client))
}

/// `Basic base64(id:secret)` → (id, secret), both form-decoded per RFC 6749 §2.3.1.
pub fn parse_basic(h: &str) -> Option<(String, String)> {
    let (scheme, rest) = h.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let dec = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((dec(id), dec(secret)))
}
