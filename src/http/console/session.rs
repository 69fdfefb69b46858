//! Console sessions: a random token in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` when
//! the console is served over HTTPS), its SHA-256 digest in the store (so every instance on one
//! database knows every session), an idle and an absolute expiry, and a CSRF token derived from
//! the session token (never stored; compared in constant time).

use sha2::{Digest, Sha256};

use super::ConsoleError;
use crate::model::time;
use crate::store::sessions::{self, SessionRow};
use crate::store::DbConnection;

/// The session cookie's name.
pub const COOKIE: &str = "rb_console";
/// A session unused this long ends.
pub const IDLE_SECS: i64 = 30 * 60;
/// A session ends this long after sign-in, used or not.
pub const ABSOLUTE_SECS: i64 = 12 * 3600;
/// `last_seen` is written at most this often (not on every page).
const TOUCH_SECS: i64 = 60;

/// A signed-in administrator.
#[derive(Debug, Clone)]
pub struct Admin {
    pub name: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The CSRF token of a session.
pub fn csrf_of(token: &str) -> String {
    hex(&Sha256::digest(
        format!("rosterbridge-console-csrf\u{0}{token}").as_bytes(),
    ))
}

/// The session token the request's cookie carries.
pub fn cookie(req: &actix_web::HttpRequest) -> Option<String> {
    cookie_named(req, COOKIE)
}

/// The sign-in form's cookie (double-submit token of the form before there is a session).
pub const LOGIN_COOKIE: &str = "rb_console_login";

/// A fresh sign-in token.
pub fn login_token() -> Result<String, ConsoleError> {
    let mut raw = [0u8; 32];
    getrandom::getrandom(&mut raw).map_err(|e| ConsoleError::Internal(e.to_string()))?;
    Ok(hex(&raw))
}

/// The `Set-Cookie` value of the sign-in form's token (an hour, sign-in path only).
pub fn set_login_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{LOGIN_COOKIE}={token}; Path={}/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}",
        super::BASE
    )
}

fn cookie_named(req: &actix_web::HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The sign-in token the request's cookie carries.
pub fn login_cookie(req: &actix_web::HttpRequest) -> Option<String> {
    cookie_named(req, LOGIN_COOKIE)
}

/// The `Set-Cookie` value for `token` (`None`: clear the cookie).
pub fn set_cookie(token: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => format!(
            "{COOKIE}={t}; Path={}; HttpOnly; SameSite=Strict; Max-Age={ABSOLUTE_SECS}{secure}",
            super::BASE
        ),
        None => format!(
            "{COOKIE}=; Path={}; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
            super::BASE
        ),
    }
}

fn ago(secs: i64) -> String {
    time::format(chrono::Utc::now() - chrono::Duration::seconds(secs))
}

/// Start a session for `admin`; its token (for the cookie only).
pub fn start(conn: &mut DbConnection, admin: &str) -> Result<String, ConsoleError> {
    let mut raw = [0u8; 32];
    getrandom::getrandom(&mut raw).map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let token = hex(&raw);
    let now = time::now();
    sessions::purge(conn, &ago(IDLE_SECS), &ago(ABSOLUTE_SECS))?;
    sessions::insert(
        conn,
        &SessionRow {
            token_hash: digest(&token),
            admin: admin.to_string(),
            created_at: now.clone(),
            last_seen: now,
        },
    )?;
    Ok(token)
}

/// The administrator of a live session; an expired one is deleted.
pub fn check(conn: &mut DbConnection, token: &str) -> Result<Option<Admin>, ConsoleError> {
    let hash = digest(token);
    let Some(row) = sessions::get(conn, &hash)? else {
        return Ok(None);
    };
    if row.last_seen < ago(IDLE_SECS) || row.created_at < ago(ABSOLUTE_SECS) {
        sessions::remove(conn, &hash)?;
        return Ok(None);
    }
    if row.last_seen < ago(TOUCH_SECS) {
        sessions::touch(conn, &hash, &time::now())?;
    }
    Ok(Some(Admin {
        name: row.admin,
        csrf: csrf_of(token),
    }))
}

/// End the session of `token`.
pub fn end(conn: &mut DbConnection, token: &str) -> Result<(), ConsoleError> {
    sessions::remove(conn, &digest(token))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_strict_and_csrf_tokens_differ_per_session() {
        let c = set_cookie(Some("ab"), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("Secure"));
        assert!(!set_cookie(Some("ab"), false).contains("Secure"));
        assert!(set_cookie(None, false).contains("Max-Age=0"));
        assert_ne!(csrf_of("a"), csrf_of("b"));
        assert_eq!(csrf_of("a").len(), 64);
    }
}
