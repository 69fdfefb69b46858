//! Who may read what: the API client registry (secrets hashed with argon2id), OAuth 2 client
//! credentials token issuing and bearer verification (tokens stored as SHA-256 digests), and
//! the OneRoster scope vocabulary. No HTTP here: the REST layer maps [`OAuthError`] to
//! RFC 6749 / RFC 6750 responses.

pub mod admins;
pub mod oauth1;
pub mod scopes;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

use crate::model::time;
use crate::store::clients::{self, ClientRow};
use crate::store::{Store, StoreError};

/// Lifetime of an access token, in seconds.
pub const TOKEN_TTL_SECS: i64 = 3600;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("no randomness available: {0}")]
    Random(String),
    #[error("unknown scope '{0}'")]
    UnknownScope(String),
    #[error("cannot hash the secret: {0}")]
    Hash(String),
}

/// RFC 6749 §5.2 token endpoint errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_scope")]
    InvalidScope,
}

/// `bytes` random bytes as lowercase hex (secrets, ids, nonces).
pub(crate) fn random_hex(bytes: usize) -> Result<String, AuthError> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A newly registered client: the only moment its secret exists in clear.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
}

/// The scopes a client gets when none are asked for: every read-only scope (least
/// privilege: writes, gradebook and assessment changes need asking for).
pub fn default_scopes() -> Vec<String> {
    scopes::ALL
        .iter()
        .filter(|s| s.ends_with(".readonly"))
        .map(|s| s.to_string())
        .collect()
}

/// The scope URIs `requested` (URIs or short names) name; empty: [`default_scopes`].
pub fn resolve_scopes(requested: &[String]) -> Result<Vec<String>, AuthError> {
    if requested.is_empty() {
        return Ok(default_scopes());
    }
    let mut out = Vec::new();
    for s in requested {
        let uris = scopes::expand(s);
        if uris.is_empty() {
            return Err(AuthError::UnknownScope(s.clone()));
        }
        out.extend(uris);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Register a client allowed `scopes` (URIs or short names; default: [`default_scopes`]) and
/// restricted to `orgs` (default: every org).
pub fn add_client(
    store: &Store,
    key: &oauth1::ServerKey,
    name: &str,
    scopes: &[String],
    orgs: &[String],
) -> Result<NewClient, AuthError> {
    let scopes = resolve_scopes(scopes)?;
    let client_id = random_hex(16)?;
    let (client_secret, secret_hash, secret_salt) = new_secret(key)?;
    let row = ClientRow {
        client_id: client_id.clone(),
        name: name.to_string(),
        secret_hash,
        scopes: scopes.join(" "),
        orgs: (!orgs.is_empty()).then(|| orgs.join(",")),
        created_at: time::now(),
        secret_salt: Some(secret_salt),
        disabled_at: None,
        sharing: None,
        mask: None,
    };
    store.transaction(|c| clients::insert(c, &row).map_err(AuthError::from))?;
    Ok(NewClient {
        client_id,
        client_secret,
        scopes,
    })
}

/// A fresh client secret (derived from the server key and a new salt, so OAuth 1.0a can check
/// signatures made with it): the secret, its argon2id hash and the salt.
fn new_secret(key: &oauth1::ServerKey) -> Result<(String, String, String), AuthError> {
    let secret_salt = random_hex(16)?;
    let client_secret = key.client_secret(&secret_salt);
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| AuthError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    let secret_hash = Argon2::default()
        .hash_password(client_secret.as_bytes(), &salt)
        .map_err(|e| AuthError::Hash(e.to_string()))?
        .to_string();
    Ok((client_secret, secret_hash, secret_salt))
}

/// Give a client a new secret: the old one and every token issued with it stop working. The
/// new secret (shown once), or `None` when there is no such client.
pub fn rotate_secret(
    conn: &mut crate::store::DbConnection,
    key: &oauth1::ServerKey,
    client_id: &str,
) -> Result<Option<String>, AuthError> {
    let (client_secret, secret_hash, secret_salt) = new_secret(key)?;
    let found = clients::set_secret(conn, client_id, &secret_hash, &secret_salt)?;
    Ok(found.then_some(client_secret))
}

/// A successful client-credentials grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: i64,
    /// Granted scope URIs, space-separated.
    pub scope: String,
}

/// OAuth 2 client credentials: authenticate the client, grant the intersection of the requested
/// scopes (URIs or short names; none requested: all of the client's) and its allowed ones, and
/// store the new token's hash. Earlier tokens stay valid; expired ones (of every client) are
/// deleted.
pub fn issue_token(
    store: &Store,
    client_id: &str,
    client_secret: &str,
    requested: Option<&str>,
) -> Result<Result<IssuedToken, OAuthError>, AuthError> {
    let mut conn = store.conn()?;
    let Some(client) = clients::get_enabled(&mut conn, client_id)? else {
        // Spend the same work as a real verification so ids cannot be probed by timing.
        let _ = verify_secret(dummy_hash(), client_secret);
        return Ok(Err(OAuthError::InvalidClient));
    };
    if !verify_secret(&client.secret_hash, client_secret) {
        return Ok(Err(OAuthError::InvalidClient));
    }
    let allowed: Vec<&str> = client.scopes.split_whitespace().collect();
    let granted: Vec<String> = match requested.map(str::trim).filter(|r| !r.is_empty()) {
        None => allowed.iter().map(|s| s.to_string()).collect(),
        Some(req) => {
            let mut g: Vec<String> = req
                .split_whitespace()
                .flat_map(scopes::expand)
                .filter(|s| allowed.contains(&s.as_str()))
                .collect();
            g.sort();
            g.dedup();
            g
        }
    };
    if granted.is_empty() {
        return Ok(Err(OAuthError::InvalidScope));
    }
    let token = random_hex(32)?;
    let issued = chrono::Utc::now();
    let expires = issued + chrono::Duration::seconds(TOKEN_TTL_SECS);
    let scope = granted.join(" ");
    clients::purge_expired_tokens(&mut conn, &time::format(issued))?;
    clients::insert_token(
        &mut conn,
        &sha256_hex(&token),
        client_id,
        &scope,
        &time::format(issued),
        &time::format(expires),
    )?;
    Ok(Ok(IssuedToken {
        access_token: token,
        expires_in: TOKEN_TTL_SECS,
        scope,
    }))
}

/// A verified bearer: the client, its granted scopes, its sharing rules and mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bearer {
    pub client_id: String,
    pub scopes: Vec<String>,
    /// The app's sharing rules (`model::sharing`); `None`: everything.
    pub rules: Option<Vec<crate::model::sharing::Rule>>,
    /// JSON field names removed from everything the app receives.
    pub mask: Vec<String>,
    /// When the credential expires (store timestamp form); for OAuth 1.0a, which is verified
    /// anew on every request, the moment of verification.
    pub expires_at: String,
}

impl Bearer {
    /// `client` acting with `scopes` (space-separated URIs) until `expires_at`.
    pub fn new(client: ClientRow, scopes: &str, expires_at: String) -> Bearer {
        Bearer {
            rules: client.rules(),
            mask: client.masked(),
            client_id: client.client_id,
            scopes: scopes.split_whitespace().map(str::to_string).collect(),
            expires_at,
        }
    }
}

/// Look up an access token (by its hash); `None` when unknown or expired.
pub fn verify_bearer(store: &Store, token: &str) -> Result<Option<Bearer>, AuthError> {
    let mut conn = store.conn()?;
    Ok(verify_bearer_on(&mut conn, token)?)
}

/// [`verify_bearer`] on a connection the caller already holds.
pub fn verify_bearer_on(
    conn: &mut crate::store::DbConnection,
    token: &str,
) -> diesel::QueryResult<Option<Bearer>> {
    let Some(t) = clients::find_token(conn, &sha256_hex(token), &time::now())? else {
        return Ok(None);
    };
    let Some(client) = clients::get_enabled(conn, &t.client_id)? else {
        return Ok(None);
    };
    Ok(Some(Bearer::new(client, &t.scopes, t.expires_at)))
}

/// A valid argon2id hash of a random value, verified against when the client id is unknown,
/// so that unknown and known ids cost the same.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::encode_b64(b"rosterbridge-dum").ok();
        salt.and_then(|s| {
            Argon2::default()
                .hash_password(b"unguessable", &s)
                .ok()
                .map(|h| h.to_string())
        })
        .unwrap_or_default()
    })
}

/// Constant-time verification of a secret against its PHC hash.
fn verify_secret(hash: &str, secret: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}
