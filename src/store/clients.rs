//! API clients and access tokens: rows in `clients` and `access_tokens`. Only hashes of secrets
//! and tokens are ever written; hashing and verification live in `auth`.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

use super::connection::DbConnection;
use super::schema::{access_tokens, client_usage, clients, oauth1_nonces};
use crate::model::sharing::{parse_rules, Rule};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    /// Space-separated scope URIs.
    pub scopes: String,
    /// Comma-separated org sourcedIds; `None`: every org.
    pub orgs: Option<String>,
    pub created_at: String,
    /// Salt of the derived secret (OAuth 1.0a); `None` for clients without one.
    pub secret_salt: Option<String>,
    /// When the app was disabled (its credentials are refused); `None`: enabled.
    pub disabled_at: Option<String>,
    /// Sharing rules, one per line (`model::sharing`); `None`: `orgs` decides.
    pub sharing: Option<String>,
    /// Masked JSON field names, comma-separated.
    pub mask: Option<String>,
}

impl ClientRow {
    /// The app's sharing rules (`None`: everything): its `sharing` lines, or else one rule
    /// sharing its `orgs` whole. A stored rule that no longer parses shares nothing (it was
    /// checked when written; never widen on a surprise).
    pub fn rules(&self) -> Option<Vec<Rule>> {
        if let Some(text) = &self.sharing {
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            return match parse_rules(&lines) {
                Ok(rules) => rules,
                Err(e) => {
                    tracing::error!(client = %self.client_id, error = %e, "stored sharing rule unreadable");
                    Some(Vec::new())
                }
            };
        }
        self.orgs.as_ref().map(|o| {
            vec![Rule::orgs(
                &o.split(',').map(str::to_string).collect::<Vec<_>>(),
            )]
        })
    }

    /// The app's masked field names.
    pub fn masked(&self) -> Vec<String> {
        self.mask
            .as_deref()
            .map(|m| {
                m.split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = access_tokens)]
pub struct TokenRow {
    pub client_id: String,
    pub scopes: String,
    pub expires_at: String,
}

pub fn insert(conn: &mut DbConnection, c: &ClientRow) -> QueryResult<()> {
    diesel::insert_into(clients::table)
        .values(c)
        .execute(conn)
        .map(|_| ())
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<ClientRow>> {
    clients::table
        .order((clients::created_at, clients::client_id))
        .select(ClientRow::as_select())
        .load(conn)
}

pub fn get(conn: &mut DbConnection, client_id: &str) -> QueryResult<Option<ClientRow>> {
    clients::table
        .find(client_id)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()
}

/// The client, when it exists and is not disabled: what every credential check looks up.
pub fn get_enabled(conn: &mut DbConnection, client_id: &str) -> QueryResult<Option<ClientRow>> {
    Ok(get(conn, client_id)?.filter(|c| c.disabled_at.is_none()))
}

/// Disable (`Some(when)`) or enable (`None`) a client; a disabled one loses its tokens.
/// Whether the client exists.
pub fn set_disabled(
    conn: &mut DbConnection,
    client_id: &str,
    disabled_at: Option<&str>,
) -> QueryResult<bool> {
    let n = diesel::update(clients::table.find(client_id))
        .set(clients::disabled_at.eq(disabled_at))
        .execute(conn)?;
    if disabled_at.is_some() {
        revoke_tokens(conn, client_id)?;
    }
    Ok(n > 0)
}

/// Give a client a new secret (its hash and, for OAuth 1.0a, its derivation salt) and revoke
/// its tokens, so the old secret and every token issued with it stop working. Whether the
/// client exists.
pub fn set_secret(
    conn: &mut DbConnection,
    client_id: &str,
    secret_hash: &str,
    secret_salt: &str,
) -> QueryResult<bool> {
    let n = diesel::update(clients::table.find(client_id))
        .set((
            clients::secret_hash.eq(secret_hash),
            clients::secret_salt.eq(secret_salt),
        ))
        .execute(conn)?;
    revoke_tokens(conn, client_id)?;
    Ok(n > 0)
}

/// Whether a client was ever used: it holds an access token or has calls on record.
pub fn ever_used(conn: &mut DbConnection, client_id: &str) -> QueryResult<bool> {
    let tokens: i64 = access_tokens::table
        .filter(access_tokens::client_id.eq(client_id))
        .count()
        .get_result(conn)?;
    let days: i64 = client_usage::table
        .filter(client_usage::client_id.eq(client_id))
        .count()
        .get_result(conn)?;
    Ok(tokens + days > 0)
}

/// Delete every access token of a client.
pub fn revoke_tokens(conn: &mut DbConnection, client_id: &str) -> QueryResult<usize> {
    diesel::delete(access_tokens::table.filter(access_tokens::client_id.eq(client_id)))
        .execute(conn)
}

/// One app's calls on one day (UTC, `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = client_usage)]
pub struct UsageRow {
    pub client_id: String,
    pub day: String,
    pub requests: i64,
    pub errors: i64,
    pub last_call: String,
}

/// Add `requests` calls (`errors` of them answered 4xx/5xx) to a client's day.
pub fn add_usage(conn: &mut DbConnection, u: &UsageRow) -> QueryResult<()> {
    let key = client_usage::table.find((&u.client_id, &u.day));
    let updated = diesel::update(key)
        .set((
            client_usage::requests.eq(client_usage::requests + u.requests),
            client_usage::errors.eq(client_usage::errors + u.errors),
            client_usage::last_call.eq(&u.last_call),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(client_usage::table)
            .values((
                client_usage::client_id.eq(&u.client_id),
                client_usage::day.eq(&u.day),
                client_usage::requests.eq(u.requests),
                client_usage::errors.eq(u.errors),
                client_usage::last_call.eq(&u.last_call),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Usage rows on or after `since_day`, of one client or of all, newest day first.
pub fn usage(
    conn: &mut DbConnection,
    client_id: Option<&str>,
    since_day: &str,
) -> QueryResult<Vec<UsageRow>> {
    let mut q = client_usage::table
        .filter(client_usage::day.ge(since_day))
        .into_boxed();
    if let Some(c) = client_id {
        q = q.filter(client_usage::client_id.eq(c));
    }
    q.order((client_usage::day.desc(), client_usage::client_id))
        .select(UsageRow::as_select())
        .load(conn)
}

/// Change a client's allowed scopes (space-separated URIs) and/or org restriction
/// (`Some(None)`: every org); its tokens are revoked, so the change holds from the next token
/// on. Whether the client exists.
pub fn update(
    conn: &mut DbConnection,
    client_id: &str,
    scopes: Option<&str>,
    orgs: Option<Option<&str>>,
) -> QueryResult<bool> {
    if get(conn, client_id)?.is_none() {
        return Ok(false);
    }
    let row = clients::table.find(client_id);
    if let Some(scopes) = scopes {
        diesel::update(row)
            .set(clients::scopes.eq(scopes))
            .execute(conn)?;
    }
    if let Some(orgs) = orgs {
        diesel::update(row)
            .set((clients::orgs.eq(orgs), clients::sharing.eq(None::<String>)))
            .execute(conn)?;
    }
    diesel::delete(access_tokens::table.filter(access_tokens::client_id.eq(client_id)))
        .execute(conn)?;
    Ok(true)
}

/// Replace a client's sharing: its rules (`None`: everything; stored one per line) and its
/// mask (empty: nothing masked). Its tokens stay: every credential check reads the client's
/// row (servers cache it up to 10 s), so the change reaches a running app without a new
/// token. Whether the client exists.
pub fn set_sharing(
    conn: &mut DbConnection,
    client_id: &str,
    rules: Option<Option<&str>>,
    mask: Option<&str>,
) -> QueryResult<bool> {
    if get(conn, client_id)?.is_none() {
        return Ok(false);
    }
    let row = clients::table.find(client_id);
    if let Some(rules) = rules {
        diesel::update(row)
            .set((clients::sharing.eq(rules), clients::orgs.eq(None::<String>)))
            .execute(conn)?;
    }
    if let Some(mask) = mask {
        let mask = (!mask.is_empty()).then_some(mask);
        diesel::update(row)
            .set(clients::mask.eq(mask))
            .execute(conn)?;
    }
    Ok(true)
}

/// Remove a client and its tokens (explicitly: SQLite connections may run without foreign
/// keys). Returns whether it existed.
pub fn remove(conn: &mut DbConnection, client_id: &str) -> QueryResult<bool> {
    revoke_tokens(conn, client_id)?;
    diesel::delete(client_usage::table.filter(client_usage::client_id.eq(client_id)))
        .execute(conn)?;
    super::ledger::forget(conn, client_id)?;
    Ok(diesel::delete(clients::table.find(client_id)).execute(conn)? > 0)
}

pub fn insert_token(
    conn: &mut DbConnection,
    token_hash: &str,
    client_id: &str,
    scopes: &str,
    issued_at: &str,
    expires_at: &str,
) -> QueryResult<()> {
    diesel::insert_into(access_tokens::table)
        .values((
            access_tokens::token_hash.eq(token_hash),
            access_tokens::client_id.eq(client_id),
            access_tokens::scopes.eq(scopes),
            access_tokens::issued_at.eq(issued_at),
            access_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Delete every token that expired before `now` (by the `expires_at` index); the number
/// deleted. Run whenever a token is issued, so the table holds about one hour of tokens.
pub fn purge_expired_tokens(conn: &mut DbConnection, now: &str) -> QueryResult<usize> {
    diesel::delete(access_tokens::table.filter(access_tokens::expires_at.lt(now))).execute(conn)
}

/// The unexpired token with this hash, if any.
pub fn find_token(
    conn: &mut DbConnection,
    token_hash: &str,
    now: &str,
) -> QueryResult<Option<TokenRow>> {
    access_tokens::table
        .find(token_hash)
        .filter(access_tokens::expires_at.gt(now))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()
}

/// Record an OAuth 1.0a / WS-Security nonce; `false` when (client, timestamp, nonce) was seen
/// before. Nonces older than `oldest_ts`, of every client (one that stopped calling leaves none
/// behind), are dropped first, by the `ts` index.
pub fn record_nonce(
    conn: &mut DbConnection,
    client_id: &str,
    ts: i64,
    nonce: &str,
    oldest_ts: i64,
) -> QueryResult<bool> {
    diesel::delete(oauth1_nonces::table.filter(oauth1_nonces::ts.lt(oldest_ts))).execute(conn)?;
    // In a transaction of its own (a savepoint when the caller has one open): PostgreSQL
    // aborts the enclosing transaction on a key violation otherwise.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(oauth1_nonces::table)
            .values((
                oauth1_nonces::client_id.eq(client_id),
                oauth1_nonces::ts.eq(ts),
                oauth1_nonces::nonce.eq(nonce),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(true),
        // The primary key refuses a nonce seen before: a replay.
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}
