//! A real server on a loopback port over a test database, and a small blocking HTTP client.

use rosterbridge::auth::{self, oauth1::ServerKey};
use rosterbridge::http::server::{self, Running, Settings};
use serde_json::Value as Json;

use crate::common::TestDb;

pub struct Server {
    running: Option<Running>,
    pub base: String,
    pub db: TestDb,
    pub key: ServerKey,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The imsx codeMinor of an error body.
    pub fn code_minor(&self) -> String {
        let j = self.json();
        j["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
            .as_str()
            .unwrap_or_else(|| panic!("no codeMinor in {j}"))
            .to_string()
    }

    /// sourcedIds of the collection under `key`.
    pub fn ids(&self, key: &str) -> Vec<String> {
        ids_of(&self.json(), key)
    }
}

/// sourcedIds of the collection under `key` of a response body.
pub fn ids_of(j: &Json, key: &str) -> Vec<String> {
    let arr = j[key]
        .as_array()
        .unwrap_or_else(|| panic!("no array '{key}' in {j}"));
    arr.iter()
        .map(|o| o["sourcedId"].as_str().unwrap().to_string())
        .collect()
}

fn to_resp(r: ureq::Response) -> Resp {
    let status = r.status();
    let headers = r
        .headers_names()
        .into_iter()
        .flat_map(|n| {
            r.all(&n)
                .into_iter()
                .map(|v| (n.clone(), v.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let text = r.into_string().unwrap();
    Resp {
        status,
        headers,
        text,
    }
}

pub fn send(req: ureq::Request, body: Option<&str>) -> Resp {
    let res = match body {
        Some(b) => req.send_string(b),
        None => req.call(),
    };
    match res {
        Ok(r) => to_resp(r),
        Err(ureq::Error::Status(_, r)) => to_resp(r),
        Err(e) => panic!("HTTP transport error: {e}"),
    }
}

impl Server {
    pub fn start(db: TestDb, settings: Settings) -> Server {
        let key = ServerKey::random().unwrap();
        let settings = Settings {
            bind: "127.0.0.1:0".into(),
            workers: 2,
            server_key: Some(key.clone()),
            ..settings
        };
        let running = server::start(db.store.clone(), settings).unwrap();
        Server {
            base: format!("http://{}", running.addr),
            running: Some(running),
            db,
            key,
        }
    }

    /// Register a client; returns (id, secret).
    pub fn client(&self, scopes: &[&str], orgs: &[&str]) -> (String, String) {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let orgs: Vec<String> = orgs.iter().map(|s| s.to_string()).collect();
        let c = auth::add_client(&self.db.store, &self.key, "test", &scopes, &orgs).unwrap();
        (c.client_id, c.client_secret)
    }

    /// A token for a client with `scopes` restricted to `orgs` (HTTP Basic, all its scopes).
    pub fn token(&self, scopes: &[&str], orgs: &[&str]) -> String {
        let (id, secret) = self.client(scopes, orgs);
        let r = self.post_token(Some((&id, &secret)), "grant_type=client_credentials");
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()["access_token"].as_str().unwrap().to_string()
    }

    pub fn post_token(&self, basic: Option<(&str, &str)>, form: &str) -> Resp {
        use base64::Engine;
        let mut req = ureq::post(&format!("{}/oauth/token", self.base))
            .set("Content-Type", "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            let b = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            req = req.set("Authorization", &format!("Basic {b}"));
        }
        send(req, Some(form))
    }

    /// GET `path` (absolute path with query) with a bearer token.
    pub fn get(&self, path: &str, token: &str) -> Resp {
        send(
            ureq::get(&format!("{}{path}", self.base))
                .set("Authorization", &format!("Bearer {token}")),
            None,
        )
    }

    /// `method` (PUT, POST, DELETE) on `path` with a bearer token and a JSON body (or none).
    pub fn send(&self, method: &str, path: &str, token: &str, body: Option<&Json>) -> Resp {
        let req = ureq::request(method, &format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {token}"));
        match body {
            Some(b) => send(
                req.set("Content-Type", "application/json"),
                Some(&b.to_string()),
            ),
            None => send(req, None),
        }
    }

    pub fn put(&self, path: &str, token: &str, body: &Json) -> Resp {
        self.send("PUT", path, token, Some(body))
    }

    pub fn post(&self, path: &str, token: &str, body: &Json) -> Resp {
        self.send("POST", path, token, Some(body))
    }

    pub fn delete(&self, path: &str, token: &str) -> Resp {
        self.send("DELETE", path, token, None)
    }

    pub fn get_anon(&self, path: &str) -> Resp {
        send(ureq::get(&format!("{}{path}", self.base)), None)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop();
        }
    }
}

/// Percent-encode a query value (RFC 3986 unreserved kept).
pub fn enc(s: &str) -> String {
    rosterbridge::auth::oauth1::encode(s)
}
