//! API clients and access tokens: rows in `clients` and `access_tokens`. Only hashes of secrets
//! and tokens are ever written; hashing and verification live in `auth`.

use diesel::QueryResult;

use super::connection::DbConnection;
use super::sql::{Cell, DynRow, Sql, P};

#[derive(Debug, Clone, PartialEq, Eq)]
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub client_id: String,
    pub scopes: String,
    pub expires_at: String,
}

pub fn insert(conn: &mut DbConnection, c: &ClientRow) -> QueryResult<()> {
    let mut q = Sql::new(conn);
    q.push("INSERT INTO clients (client_id, name, secret_hash, scopes, orgs, created_at, secret_salt) VALUES (");
    q.bind_str(&c.client_id).push(", ");
    q.bind_str(&c.name).push(", ");
    q.bind_str(&c.secret_hash).push(", ");
    q.bind_str(&c.scopes).push(", ");
    q.bind(P::Text(c.orgs.as_deref())).push(", ");
    q.bind_str(&c.created_at).push(", ");
    q.bind(P::Text(c.secret_salt.as_deref())).push(")");
    q.execute(conn).map(|_| ())
}

fn client_of(r: DynRow) -> ClientRow {
    let t = |i: usize| r.0.get(i).and_then(Cell::text).unwrap_or("").to_string();
    ClientRow {
        client_id: t(0),
        name: t(1),
        secret_hash: t(2),
        scopes: t(3),
        orgs: r.0.get(4).and_then(Cell::text).map(str::to_string),
        created_at: t(5),
        secret_salt: r.0.get(6).and_then(Cell::text).map(str::to_string),
    }
}

const CLIENT_COLUMNS: &str =
    "SELECT client_id AS t0, name AS t1, secret_hash AS t2, scopes AS t3, \
                              orgs AS t4, created_at AS t5, secret_salt AS t6 FROM clients";

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<ClientRow>> {
    let mut q = Sql::new(conn);
    q.push(CLIENT_COLUMNS)
        .push(" ORDER BY created_at, client_id");
    Ok(q.load::<DynRow>(conn)?.into_iter().map(client_of).collect())
}

pub fn get(conn: &mut DbConnection, client_id: &str) -> QueryResult<Option<ClientRow>> {
    let mut q = Sql::new(conn);
    q.push(CLIENT_COLUMNS).push(" WHERE client_id = ");
    q.bind_str(client_id);
    Ok(q.load::<DynRow>(conn)?.into_iter().next().map(client_of))
}

/// Remove a client and (by cascade, and explicitly for SQLite connections without foreign
/// keys) its tokens. Returns whether it existed.
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
    if let Some(scopes) = scopes {
        let mut q = Sql::new(conn);
        q.push("UPDATE clients SET scopes = ");
        q.bind_str(scopes).push(" WHERE client_id = ");
        q.bind_str(client_id);
        q.execute(conn)?;
    }
    if let Some(orgs) = orgs {
        let mut q = Sql::new(conn);
        q.push("UPDATE clients SET orgs = ");
        q.bind(P::Text(orgs)).push(" WHERE client_id = ");
        q.bind_str(client_id);
        q.execute(conn)?;
    }
    let mut q = Sql::new(conn);
    q.push("DELETE FROM access_tokens WHERE client_id = ");
    q.bind_str(client_id);
    q.execute(conn)?;
    Ok(true)
}

pub fn remove(conn: &mut DbConnection, client_id: &str) -> QueryResult<bool> {
    let mut q = Sql::new(conn);
    q.push("DELETE FROM access_tokens WHERE client_id = ");
    q.bind_str(client_id);
    q.execute(conn)?;
    let mut q = Sql::new(conn);
    q.push("DELETE FROM clients WHERE client_id = ");
    q.bind_str(client_id);
    Ok(q.execute(conn)? > 0)
}

pub fn insert_token(
    conn: &mut DbConnection,
    token_hash: &str,
    client_id: &str,
    scopes: &str,
    issued_at: &str,
    expires_at: &str,
) -> QueryResult<()> {
    let mut q = Sql::new(conn);
    q.push(
        "INSERT INTO access_tokens (token_hash, client_id, scopes, issued_at, expires_at) VALUES (",
    );
    q.bind_str(token_hash).push(", ");
    q.bind_str(client_id).push(", ");
    q.bind_str(scopes).push(", ");
    q.bind_str(issued_at).push(", ");
    q.bind_str(expires_at).push(")");
    q.execute(conn).map(|_| ())
}

/// Delete every token that expired before `now` (by the `expires_at` index); the number
/// deleted. Run whenever a token is issued, so the table holds about one hour of tokens.
pub fn purge_expired_tokens(conn: &mut DbConnection, now: &str) -> QueryResult<usize> {
    let mut q = Sql::new(conn);
    q.push("DELETE FROM access_tokens WHERE expires_at < ");
    q.bind_str(now);
    q.execute(conn)
}

/// The unexpired token with this hash, if any.
pub fn find_token(
    conn: &mut DbConnection,
    token_hash: &str,
    now: &str,
) -> QueryResult<Option<TokenRow>> {
    let mut q = Sql::new(conn);
    q.push("SELECT client_id AS t0, scopes AS t1, expires_at AS t2 FROM access_tokens WHERE token_hash = ");
    q.bind_str(token_hash).push(" AND expires_at > ");
    q.bind_str(now);
    Ok(q.load::<DynRow>(conn)?.into_iter().next().map(|r| {
        let t = |i: usize| r.0.get(i).and_then(Cell::text).unwrap_or("").to_string();
        TokenRow {
            client_id: t(0),
            scopes: t(1),
            expires_at: t(2),
        }
    }))
}

/// Record an OAuth 1.0a nonce; `false` when (client, timestamp, nonce) was seen before.
/// Nonces older than `oldest_ts` are dropped first.
pub fn record_nonce(
    conn: &mut DbConnection,
    client_id: &str,
    ts: i64,
    nonce: &str,
    oldest_ts: i64,
) -> QueryResult<bool> {
    // Nonces past the window, of every client (a client that stopped calling leaves none
    // behind); by the `ts` index.
    let mut q = Sql::new(conn);
    q.push("DELETE FROM oauth1_nonces WHERE ts < ");
    q.bind(P::Int(oldest_ts));
    q.execute(conn)?;
    let mut q = Sql::new(conn);
    q.push("INSERT INTO oauth1_nonces (client_id, ts, nonce) VALUES (");
    q.bind_str(client_id).push(", ");
    q.bind(P::Int(ts)).push(", ");
    q.bind_str(nonce)
        .push(") ON CONFLICT (client_id, ts, nonce) DO NOTHING");
    Ok(q.execute(conn)? == 1)
}
