//! The HTTP side of the upstream: one ureq agent on rustls (the system's CA roots plus an
//! optional extra CA file), authentication (OAuth 2 client credentials through the `oauth2`
//! crate with the token cached and renewed before expiry and once on a 401; or OAuth 1.0a
//! HMAC-SHA256 signatures for 1.1 upstreams), and politeness: retries of 429 / 502 / 503 / 504,
//! timeouts and broken connections, waiting `Retry-After` when the upstream says how long,
//! else exponential backoff with jitter, a bounded number of times.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use serde_json::{Map, Value as Json};

use super::{Auth, UpstreamConfig};

/// Largest response body read (a page of 10,000 users with everything is a few MB).
const MAX_BODY: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The upstream could not be reached or kept failing after every retry.
    #[error("{0}")]
    Unreachable(String),
    /// The upstream refused the request (a 4xx status): the status and what it said.
    #[error("{1}")]
    Refused(u16, String),
    /// The upstream answered, but not with what was asked (a body of the wrong shape, a 5xx).
    #[error("{0}")]
    Protocol(String),
    #[error("TLS configuration: {0}")]
    Tls(String),
}

/// An upstream answer: its body (`None` when empty) read as a JSON object, or by the caller's
/// reader ([`Client::get_with`]).
pub struct Answer<T = Map<String, Json>> {
    pub status: u16,
    pub body: Option<T>,
    /// `X-Total-Count`, when sent.
    pub total: Option<u64>,
}

/// Counters of one run, for its summary.
#[derive(Debug, Default)]
pub struct Tally {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub tokens: AtomicU64,
}

pub struct Client {
    agent: ureq::Agent,
    cfg: UpstreamConfig,
    token: Mutex<Option<(String, Instant)>>,
    pub tally: Tally,
}

impl Client {
    pub fn new(cfg: &UpstreamConfig) -> Result<Client, ClientError> {
        let tls = tls_config(cfg.ca_file.as_deref())?;
        let agent = ureq::AgentBuilder::new()
            .tls_config(Arc::new(tls))
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(cfg.timeout)
            .timeout_write(cfg.timeout)
            .max_idle_connections_per_host(cfg.concurrency.max(1) * 2)
            .user_agent(concat!("rosterbridge/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            agent,
            cfg: cfg.clone(),
            token: Mutex::new(None),
            tally: Tally::default(),
        })
    }

    /// `GET base + path` with `query`, retried as the module says; the body parsed as a JSON
    /// object (`None` for an empty body).
    pub fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Answer, ClientError> {
        self.call("GET", path, query, None, &json_object)
    }

    /// `GET base + path` with `query`, retried as [`Client::get`], the body's bytes (when not
    /// empty) read by `read` (a page read straight into records). A reader's error that is an end of file (a
    /// body cut short) is retried like a broken connection; any other is the upstream's.
    pub fn get_with<T>(
        &self,
        path: &str,
        query: &[(&str, String)],
        read: &dyn Fn(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<Answer<T>, ClientError> {
        self.call("GET", path, query, None, read)
    }

    /// `PUT base + path` with a JSON body.
    pub fn put(&self, path: &str, body: &Json) -> Result<Answer, ClientError> {
        self.call("PUT", path, &[], Some(body), &json_object)
    }

    /// `DELETE base + path`.
    pub fn delete(&self, path: &str) -> Result<Answer, ClientError> {
        self.call("DELETE", path, &[], None, &json_object)
    }

    fn call<T>(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Json>,
        read: &dyn Fn(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<Answer<T>, ClientError> {
        let url = format!("{}{path}", self.cfg.base.trim_end_matches('/'));
        let mut renewed = false;
        let mut attempt: u32 = 0;
        loop {
            let auth = self.authorization(method, &url, query)?;
            let mut req = self
                .agent
                .request(method, &url)
                .set("Accept", "application/json");
            for (k, v) in query {
                req = req.query(k, v);
            }
            if let Some(a) = &auth {
                req = req.set("Authorization", a);
            }
            self.tally.requests.fetch_add(1, Ordering::Relaxed);
            let sent = match body {
                Some(b) => req
                    .set("Content-Type", "application/json")
                    .send_string(&b.to_string()),
                None => req.call(),
            };
            let wait = match sent {
                Ok(resp) => {
                    let status = resp.status();
                    let total = resp
                        .header("X-Total-Count")
                        .and_then(|t| t.trim().parse::<u64>().ok());
                    let body = read_body(resp).and_then(|b| {
                        if b.iter().all(u8::is_ascii_whitespace) {
                            return Ok(None);
                        }
                        read(&b).map(Some).map_err(json_failure)
                    });
                    match body {
                        Ok(body) => {
                            return Ok(Answer {
                                status,
                                body,
                                total,
                            })
                        }
                        // A connection reset or a truncated body mid-page: retried.
                        Err(ReadFailure::Io(e)) => {
                            Retry::After(None, format!("{method} {path}: reading the answer: {e}"))
                        }
                        Err(ReadFailure::Json(e)) => {
                            return Err(ClientError::Protocol(format!(
                                "{method} {path}: the answer is not a JSON object: {e}"
                            )))
                        }
                    }
                }
                Err(ureq::Error::Status(401, _))
                    if auth.is_some() && !renewed && self.cfg.auth.is_oauth2() =>
                {
                    // The token expired early or was revoked: one renewal, then the same request.
                    renewed = true;
                    *self.token.lock().unwrap_or_else(PoisonError::into_inner) = None;
                    continue;
                }
                Err(ureq::Error::Status(code @ (429 | 502 | 503 | 504), resp)) => {
                    let after = resp.header("Retry-After").and_then(retry_after);
                    Retry::After(after, format!("{method} {path}: HTTP {code}"))
                }
                Err(ureq::Error::Status(code, resp)) => {
                    let text = resp.into_string().unwrap_or_default();
                    let msg = format!("{method} {path}: HTTP {code}: {}", excerpt(&text));
                    return Err(if (400..500).contains(&code) {
                        ClientError::Refused(code, msg)
                    } else {
                        ClientError::Protocol(msg)
                    });
                }
                Err(ureq::Error::Transport(t)) => {
                    Retry::After(None, format!("{method} {path}: {t}"))
                }
            };
            let Retry::After(after, why) = wait;
            attempt += 1;
            if attempt > self.cfg.retries {
                return Err(ClientError::Unreachable(format!(
                    "{why} (gave up after {} attempts)",
                    attempt
                )));
            }
            self.tally.retries.fetch_add(1, Ordering::Relaxed);
            let delay = after.unwrap_or_else(|| backoff(self.cfg.retry_base, attempt));
            tracing::warn!(%why, attempt, delay_ms = delay.as_millis() as u64, "upstream: retrying");
            std::thread::sleep(delay.min(Duration::from_secs(300)));
        }
    }

    /// The `Authorization` header for one request.
    fn authorization(
        &self,
        method: &str,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<Option<String>, ClientError> {
        match &self.cfg.auth {
            Auth::None => Ok(None),
            Auth::OAuth1 { key, secret } => {
                oauth1_header(method, url, query, key, secret).map(Some)
            }
            Auth::OAuth2 { .. } => {
                let mut slot = self.token.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some((t, until)) = &*slot {
                    if Instant::now() < *until {
                        return Ok(Some(format!("Bearer {t}")));
                    }
                }
                let (token, life) = self.fetch_token()?;
                // Renewed a minute before it expires (or at half its life when shorter).
                let margin = Duration::from_secs(60).min(life / 2);
                *slot = Some((token.clone(), Instant::now() + life - margin));
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// A token by the client-credentials grant, through the `oauth2` crate over our agent
    /// (retried like any request).
    fn fetch_token(&self) -> Result<(String, Duration), ClientError> {
        let Auth::OAuth2 {
            token_url,
            client_id,
            secret,
            scopes,
            in_body,
        } = &self.cfg.auth
        else {
            return Err(ClientError::Protocol("no OAuth 2 settings".into()));
        };
        let url = TokenUrl::new(token_url.clone())
            .map_err(|e| ClientError::Protocol(format!("token URL '{token_url}': {e}")))?;
        let client = oauth2::basic::BasicClient::new(ClientId::new(client_id.clone()))
            .set_client_secret(ClientSecret::new(secret.clone()))
            .set_token_uri(url)
            .set_auth_type(if *in_body {
                AuthType::RequestBody
            } else {
                AuthType::BasicAuth
            });
        let mut attempt = 0;
        loop {
            self.tally.tokens.fetch_add(1, Ordering::Relaxed);
            let mut req = client.exchange_client_credentials();
            for s in scopes {
                req = req.add_scope(Scope::new(s.clone()));
            }
            let http = |r: oauth2::HttpRequest| self.send_raw(r);
            match req.request(&http) {
                Ok(tok) => {
                    let life = tok.expires_in().unwrap_or(Duration::from_secs(3600));
                    return Ok((tok.access_token().secret().clone(), life));
                }
                Err(oauth2::RequestTokenError::Request(e)) if attempt < self.cfg.retries => {
                    attempt += 1;
                    self.tally.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, attempt, "upstream token endpoint: retrying");
                    std::thread::sleep(backoff(self.cfg.retry_base, attempt));
                }
                Err(e) => {
                    let detail = match &e {
                        oauth2::RequestTokenError::ServerResponse(r) => format!("{r}"),
                        oauth2::RequestTokenError::Parse(_, body) => {
                            format!(
                                "unreadable answer: {}",
                                excerpt(&String::from_utf8_lossy(body))
                            )
                        }
                        other => other.to_string(),
                    };
                    return Err(ClientError::Protocol(format!(
                        "token endpoint {token_url} refused the client credentials: {detail}"
                    )));
                }
            }
        }
    }

    /// One request of the `oauth2` crate over the agent (no retry here; 5xx answers are
    /// returned as they are, transport failures as errors).
    fn send_raw(&self, r: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, std::io::Error> {
        self.tally.requests.fetch_add(1, Ordering::Relaxed);
        let mut req = self
            .agent
            .request(r.method().as_str(), &r.uri().to_string());
        for (k, v) in r.headers() {
            if let Ok(v) = v.to_str() {
                req = req.set(k.as_str(), v);
            }
        }
        let resp = match req.send_bytes(r.body()) {
            Ok(x) | Err(ureq::Error::Status(_, x)) => x,
            Err(e) => return Err(std::io::Error::other(e.to_string())),
        };
        let status = resp.status();
        if matches!(status, 429 | 502 | 503 | 504) {
            return Err(std::io::Error::other(format!("HTTP {status}")));
        }
        let ct = resp.header("content-type").unwrap_or("").to_string();
        let mut body = Vec::new();
        resp.into_reader().take(1 << 20).read_to_end(&mut body)?;
        oauth2::http::Response::builder()
            .status(status)
            .header("content-type", ct)
            .body(body)
            .map_err(std::io::Error::other)
    }
}

enum Retry {
    After(Option<Duration>, String),
}

enum ReadFailure {
    Io(std::io::Error),
    Json(serde_json::Error),
}

/// The body's bytes (up to [`MAX_BODY`]).
fn read_body(resp: ureq::Response) -> Result<Vec<u8>, ReadFailure> {
    // Sized by Content-Length when sent: no regrowing (and copying) a page's body as it comes.
    let size = resp
        .header("Content-Length")
        .and_then(|l| l.trim().parse::<u64>().ok())
        .unwrap_or(1 << 16)
        .min(MAX_BODY);
    let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(1 << 16));
    resp.into_reader()
        .take(MAX_BODY)
        .read_to_end(&mut buf)
        .map_err(ReadFailure::Io)?;
    Ok(buf)
}

/// A reader's JSON error: a body cut short by a broken connection reads as an end of file in
/// the middle of the JSON, and is retried; any other is the body's.
fn json_failure(e: serde_json::Error) -> ReadFailure {
    if e.is_eof() {
        ReadFailure::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the answer ended early",
        ))
    } else {
        ReadFailure::Json(e)
    }
}

/// A body as a JSON object.
fn json_object(buf: &[u8]) -> Result<Map<String, Json>, serde_json::Error> {
    match serde_json::from_slice::<Json>(buf)? {
        Json::Object(m) => Ok(m),
        _ => Err(serde::de::Error::custom("not an object")),
    }
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let secs = (when.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(secs as u64))
}

/// `base · 2^(attempt-1)`, at most 30 s, with ±50 % jitter so parallel clients spread out.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(Duration::from_secs(30));
    let mut b = [0u8; 2];
    let r = if getrandom::getrandom(&mut b).is_ok() {
        u16::from_le_bytes(b) as f64 / u16::MAX as f64
    } else {
        0.5
    };
    capped.mul_f64(0.5 + r)
}

fn excerpt(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// OAuth 1.0a `Authorization` header, HMAC-SHA256 (as OneRoster 1.1 requires), no token.
fn oauth1_header(
    method: &str,
    url: &str,
    query: &[(&str, String)],
    key: &str,
    secret: &str,
) -> Result<String, ClientError> {
    use crate::auth::oauth1::{base_string, encode, sign, Method};
    let nonce = crate::auth::random_hex(16)
        .map_err(|e| ClientError::Protocol(format!("OAuth 1.0a nonce: {e}")))?;
    let oauth = [
        ("oauth_consumer_key".to_string(), key.to_string()),
        ("oauth_nonce".to_string(), nonce),
        (
            "oauth_signature_method".to_string(),
            "HMAC-SHA256".to_string(),
        ),
        (
            "oauth_timestamp".to_string(),
            chrono::Utc::now().timestamp().to_string(),
        ),
        ("oauth_version".to_string(), "1.0".to_string()),
    ];
    let mut params: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    params.extend(oauth.iter().cloned());
    let base = base_string(method, url, &params);
    let sig = sign(Method::HmacSha256, secret, &base);
    let mut parts: Vec<String> = oauth
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", encode(v)))
        .collect();
    parts.push(format!("oauth_signature=\"{}\"", encode(&sig)));
    Ok(format!("OAuth {}", parts.join(", ")))
}

/// rustls with the system's CA roots and, when given, the CAs of `extra` (PEM).
fn tls_config(extra: Option<&std::path::Path>) -> Result<rustls::ClientConfig, ClientError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, errors = native.errors.len(), "system CA roots");
    if let Some(path) = extra {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect())
            .map_err(|e| ClientError::Tls(format!("{}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(ClientError::Tls(format!(
                "{}: no PEM certificate in it",
                path.display()
            )));
        }
        for c in certs {
            roots
                .add(c)
                .map_err(|e| ClientError::Tls(format!("{}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}
