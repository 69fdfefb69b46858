//! Console administrators: names and argon2id password hashes (`store::admins`), added,
//! removed and reset from the command line (and later the console), every change recorded in
//! the audit log; verification in constant time whether or not the name exists.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Argon2;

use super::{dummy_hash, random_hex, verify_secret, AuthError};
use crate::model::time;
use crate::store::admins::{self, AdminRow};
use crate::store::DbConnection;

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// Why an administrator change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("'{0}' is not a usable name: 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    BadName(String),
    #[error("the password is too short: at least {MIN_PASSWORD} characters")]
    ShortPassword,
    #[error("an administrator named '{0}' exists already")]
    Exists(String),
    #[error("no administrator named '{0}'")]
    Unknown(String),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<diesel::result::Error> for AdminError {
    fn from(e: diesel::result::Error) -> Self {
        AdminError::Auth(AuthError::Db(e))
    }
}

fn check_name(name: &str) -> Result<(), AdminError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AdminError::BadName(name.to_string()))
    }
}

fn hash(password: &str) -> Result<String, AdminError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AdminError::ShortPassword);
    }
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| AuthError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AuthError::Hash(e.to_string()))?
        .to_string())
}

/// A random password to print once (24 hex digits: 96 bits).
pub fn generate_password() -> Result<String, AuthError> {
    random_hex(12)
}

/// Add administrator `name`; `actor` is recorded in the audit log.
pub fn add(
    conn: &mut DbConnection,
    actor: &str,
    name: &str,
    password: &str,
) -> Result<(), AdminError> {
    check_name(name)?;
    let password_hash = hash(password)?;
    diesel::Connection::transaction(conn, |conn| {
        if admins::get(conn, name)?.is_some() {
            return Err(AdminError::Exists(name.to_string()));
        }
        let now = time::now();
        admins::insert(
            conn,
            &AdminRow {
                name: name.to_string(),
                password_hash,
                created_at: now.clone(),
            },
        )?;
        admins::audit(conn, &now, actor, "admin.add", name)?;
        Ok(())
    })
}

/// Remove administrator `name`.
pub fn remove(conn: &mut DbConnection, actor: &str, name: &str) -> Result<(), AdminError> {
    diesel::Connection::transaction(conn, |conn| {
        if !admins::remove(conn, name)? {
            return Err(AdminError::Unknown(name.to_string()));
        }
        crate::store::sessions::remove_of(conn, name)?;
        admins::audit(conn, &time::now(), actor, "admin.remove", name)?;
        Ok(())
    })
}

/// Give administrator `name` a new password.
pub fn reset_password(
    conn: &mut DbConnection,
    actor: &str,
    name: &str,
    password: &str,
) -> Result<(), AdminError> {
    let h = hash(password)?;
    diesel::Connection::transaction(conn, |conn| {
        if !admins::set_password(conn, name, &h)? {
            return Err(AdminError::Unknown(name.to_string()));
        }
        crate::store::sessions::remove_of(conn, name)?;
        admins::audit(conn, &time::now(), actor, "admin.reset-password", name)?;
        Ok(())
    })
}

/// Whether `password` is administrator `name`'s; as slow for an unknown name as for a known
/// one (the dummy hash is verified instead).
pub fn verify(conn: &mut DbConnection, name: &str, password: &str) -> Result<bool, AdminError> {
    let row = admins::get(conn, name)?;
    let hash = row
        .as_ref()
        .map_or(dummy_hash(), |r| r.password_hash.as_str());
    let ok = verify_secret(hash, password);
    Ok(ok && row.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(check_name("ops.admin@district").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(matches!(hash("short"), Err(AdminError::ShortPassword)));
        let h = hash("correct horse battery").expect("hashes");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_secret(&h, "correct horse battery"));
        assert!(!verify_secret(&h, "correct horse battery!"));
        assert_eq!(generate_password().expect("random").len(), 24);
    }
}
