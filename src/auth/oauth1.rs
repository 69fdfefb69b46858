//! OAuth 1.0a two-legged request signing (RFC 5849, ONEROSTER.md §6.1): the signature base
//! string, HMAC-SHA256 / HMAC-SHA1 signatures, constant-time verification, the timestamp
//! window and nonce replay protection (nonces kept in the store, so every instance on one
//! PostgreSQL sees them).
//!
//! HMAC needs the client secret itself, yet the store keeps only hashes. Client secrets are
//! therefore *derived*: `secret = hex(HMAC-SHA256(server key, per-client salt))`. The store
//! holds the salt and the secret's argon2id hash; the server key lives in a file outside the
//! database ([`ServerKey`]). A copy of the database alone reveals no secret.

use std::path::Path;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The server's 256-bit secret from which client secrets are derived.
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(…)")
    }
}

impl ServerKey {
    /// Read the key file (64 hex digits), creating it (mode 0600) with a random key when
    /// missing.
    pub fn load_or_create(path: &Path) -> std::io::Result<ServerKey> {
        match std::fs::read_to_string(path) {
            Ok(text) => ServerKey::from_hex(text.trim()).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: expected 64 hex digits", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = ServerKey::random()?;
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                use std::io::Write;
                let mut f = opts.open(path)?;
                writeln!(f, "{}", hex(&key.0))?;
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    pub fn random() -> std::io::Result<ServerKey> {
        let mut k = [0u8; 32];
        getrandom::getrandom(&mut k).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(ServerKey(k))
    }

    pub fn from_hex(s: &str) -> Option<ServerKey> {
        if s.len() != 64 {
            return None;
        }
        let mut k = [0u8; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(ServerKey(k))
    }

    /// The client secret for `salt`.
    pub fn client_secret(&self, salt: &str) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        mac.update(b"rosterbridge client secret v1:");
        mac.update(salt.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// RFC 3986 percent-encoding as RFC 5849 §3.6 wants it: unreserved characters kept, every
/// other byte `%XX` in upper case.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decoding that leaves `+` alone (RFC 3986, not forms); invalid escapes stay as
/// they are.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    HmacSha1,
    HmacSha256,
}

impl Method {
    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "HMAC-SHA1" => Some(Method::HmacSha1),
            "HMAC-SHA256" => Some(Method::HmacSha256),
            _ => None,
        }
    }
}

/// The signature base string: `METHOD&enc(url)&enc(sorted encoded params)`. `params` are the
/// decoded query (and form) parameters plus the `oauth_*` ones, without `oauth_signature`
/// and `realm`.
pub fn base_string(method: &str, url: &str, params: &[(String, String)]) -> String {
    let mut enc: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "oauth_signature" && k != "realm")
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    enc.sort();
    let joined: Vec<String> = enc.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(url),
        encode(&joined.join("&"))
    )
}

/// `base64(HMAC(enc(secret)&, base))`.
pub fn sign(method: Method, secret: &str, base: &str) -> String {
    let key = format!("{}&", encode(secret));
    let bytes = match method {
        Method::HmacSha1 => Hmac::<Sha1>::new_from_slice(key.as_bytes())
            .map(|mut m| {
                m.update(base.as_bytes());
                m.finalize().into_bytes().to_vec()
            })
            .unwrap_or_default(),
        Method::HmacSha256 => Hmac::<Sha256>::new_from_slice(key.as_bytes())
            .map(|mut m| {
                m.update(base.as_bytes());
                m.finalize().into_bytes().to_vec()
            })
            .unwrap_or_default(),
    };
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Constant-time check of `signature` (base64) against the expected one.
pub fn verify(method: Method, secret: &str, base: &str, signature: &str) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature) else {
        return false;
    };
    let key = format!("{}&", encode(secret));
    match method {
        Method::HmacSha1 => Hmac::<Sha1>::new_from_slice(key.as_bytes())
            .map(|mut m| {
                m.update(base.as_bytes());
                m.verify_slice(&given).is_ok()
            })
            .unwrap_or(false),
        Method::HmacSha256 => Hmac::<Sha256>::new_from_slice(key.as_bytes())
            .map(|mut m| {
                m.update(base.as_bytes());
                m.verify_slice(&given).is_ok()
            })
            .unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of ONEROSTER.md §6.1 (cross-checked there with Python oauthlib).
    #[test]
    fn oneroster_doc_vector() {
        let mut params = vec![
            ("limit".to_string(), "2".to_string()),
            ("filter".to_string(), "role='teacher'".to_string()),
            ("oauth_consumer_key".to_string(), "demo-key".to_string()),
            ("oauth_nonce".to_string(), "n0nce123".to_string()),
            (
                "oauth_signature_method".to_string(),
                "HMAC-SHA256".to_string(),
            ),
            ("oauth_timestamp".to_string(), "1700000000".to_string()),
            ("oauth_version".to_string(), "1.0".to_string()),
        ];
        let url = "https://rb.example.org/ims/oneroster/v1p1/users";
        let base = base_string("GET", url, &params);
        assert_eq!(base, "GET&https%3A%2F%2Frb.example.org%2Fims%2Foneroster%2Fv1p1%2Fusers&filter%3Drole%253D%2527teacher%2527%26limit%3D2%26oauth_consumer_key%3Ddemo-key%26oauth_nonce%3Dn0nce123%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1700000000%26oauth_version%3D1.0");
        let sig = sign(Method::HmacSha256, "demo-secret", &base);
        assert_eq!(sig, "W03Ggi4hnjI2HiAvYbYKHoSORYp8dUCzXqW0XOFk+BQ=");
        assert!(verify(Method::HmacSha256, "demo-secret", &base, &sig));
        assert!(!verify(Method::HmacSha256, "other", &base, &sig));
        params[4].1 = "HMAC-SHA1".into();
        let base1 = base_string("GET", url, &params);
        assert_eq!(
            sign(Method::HmacSha1, "demo-secret", &base1),
            "iFyhRUlevSxWo0ZsbxsPxIW1YBc="
        );
    }

    #[test]
    fn derived_secrets_depend_on_key_and_salt() {
        let k = ServerKey::from_hex(&"ab".repeat(32));
        let Some(k) = k else { panic!("hex") };
        assert_eq!(k.client_secret("s1"), k.client_secret("s1"));
        assert_ne!(k.client_secret("s1"), k.client_secret("s2"));
        assert_eq!(k.client_secret("s1").len(), 64);
        let other = ServerKey::from_hex(&"cd".repeat(32));
        let Some(other) = other else { panic!("hex") };
        assert_ne!(k.client_secret("s1"), other.client_secret("s1"));
    }
}
