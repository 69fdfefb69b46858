//! OAuth 1.0a (the REST 1.1 endpoints and LIS): collect the signed parameters of a request
//! (from the `Authorization: OAuth …` header or the query string), then verify them against the
//! client registry ([`crate::auth::oauth1`] does the cryptography; `auth` calls [`verify`]).

use actix_web::HttpRequest;

use super::server::AppState;
use crate::auth::oauth1::{self as sig, Method};
use crate::auth::Bearer;
use crate::store::clients;
use crate::store::DbConnection;

/// Why a signed request was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Refused; the reason can be told to the client.
    #[error("{0}")]
    Refused(String),
    #[error("store error: {0}")]
    Db(#[from] diesel::result::Error),
}

/// What a signed request presents.
#[derive(Debug, Clone)]
pub struct Signed {
    pub consumer_key: String,
    pub method: Method,
    pub timestamp: i64,
    pub nonce: String,
    pub signature: String,
    /// `oauth_body_hash`, when signed (LIS: base64 of the SHA-1 of the raw body).
    pub body_hash: Option<String>,
    /// The signature base string this server computes for the request.
    pub base: String,
}

/// `k="v", k2="v2"` (percent-encoded values) → decoded pairs.
fn header_params(h: &str) -> Vec<(String, String)> {
    h.split(',')
        .filter_map(|part| {
            let (k, v) = part.trim().split_once('=')?;
            let v = v.trim().trim_matches('"');
            Some((sig::decode(k.trim()), sig::decode(v)))
        })
        .collect()
}

impl Signed {
    /// Collect the signature inputs of `req` as the client addressed it (`base_url` is the
    /// external scheme and host). `header`: the part after `OAuth ` of the Authorization
    /// header, when the parameters travel there.
    pub fn from_request(
        req: &HttpRequest,
        base_url: &str,
        header: Option<&str>,
    ) -> Result<Signed, String> {
        // `+` is taken as a space, as form decoding does: clients encode spaces in `filter` either
        // way (ONEROSTER.md §6.1, "the filter trap").
        let mut params = super::rest::params::query_pairs(req.query_string().as_bytes());
        if let Some(h) = header {
            params.extend(
                header_params(h)
                    .into_iter()
                    .filter(|(k, _)| k.starts_with("oauth_")),
            );
        }
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let need = |name: &str| get(name).ok_or_else(|| format!("OAuth 1.0a: {name} is missing"));
        let consumer_key = need("oauth_consumer_key")?;
        let method_name = need("oauth_signature_method")?;
        let method = Method::parse(&method_name).ok_or_else(|| {
            format!("OAuth 1.0a: signature method {method_name} is not supported (HMAC-SHA256, HMAC-SHA1)")
        })?;
        let timestamp = need("oauth_timestamp")?
            .parse::<i64>()
            .map_err(|_| "OAuth 1.0a: oauth_timestamp is not a number".to_string())?;
        let nonce = need("oauth_nonce")?;
        let signature = need("oauth_signature")?;
        let body_hash = get("oauth_body_hash");
        if let Some(v) = get("oauth_version") {
            if v != "1.0" {
                return Err(format!("OAuth 1.0a: oauth_version {v} is not 1.0"));
            }
        }
        let url = format!("{}{}", base_url.to_ascii_lowercase(), req.path());
        let base = sig::base_string(req.method().as_str(), &url, &params);
        Ok(Signed {
            consumer_key,
            method,
            timestamp,
            nonce,
            signature,
            body_hash,
            base,
        })
    }
}

/// Verify a signed request: known client with a derived secret, fresh timestamp, valid
/// signature (constant-time), unseen nonce.
pub fn verify(
    conn: &mut DbConnection,
    state: &AppState,
    signed: &Signed,
) -> Result<Bearer, VerifyError> {
    let fail = |why: &str| VerifyError::Refused(format!("OAuth 1.0a: {why}"));
    let Some(key) = &state.settings.server_key else {
        return Err(fail("not configured on this server"));
    };
    let now = chrono::Utc::now().timestamp();
    let (past, future) = (
        state.settings.oauth1_past_secs,
        state.settings.oauth1_future_secs,
    );
    if signed.timestamp < now - past || signed.timestamp > now + future {
        return Err(fail("oauth_timestamp is outside the accepted window"));
    }
    let client = clients::get_enabled(conn, &signed.consumer_key)?;
    let Some((client, salt)) = client.and_then(|c| {
        let salt = c.secret_salt.clone()?;
        Some((c, salt))
    }) else {
        // Same work as a real check, so unknown keys cannot be told apart by timing.
        let _ = sig::verify(signed.method, "x", &signed.base, &signed.signature);
        return Err(fail("invalid signature"));
    };
    let secret = key.client_secret(&salt);
    if !sig::verify(signed.method, &secret, &signed.base, &signed.signature) {
        return Err(fail("invalid signature"));
    }
    if !clients::record_nonce(
        conn,
        &client.client_id,
        signed.timestamp,
        &signed.nonce,
        now - past - future,
    )? {
        return Err(fail("oauth_nonce was already used"));
    }
    let scopes = client.scopes.clone();
    Ok(Bearer::new(client, &scopes, crate::model::time::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parameters_are_decoded() {
        let p = header_params(
            "realm=\"x\", oauth_consumer_key=\"k%20y\", oauth_signature=\"a%2Bb%3D\"",
        );
        assert_eq!(p[1], ("oauth_consumer_key".into(), "k y".into()));
        assert_eq!(p[2], ("oauth_signature".into(), "a+b=".into()));
        assert_eq!(sig::decode("100%"), "100%");
    }
}
