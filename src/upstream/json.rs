//! The borrowed JSON tree an upstream page is read into: strings point into the page's bytes
//! unless they hold escapes, objects are short lists of (key, value) searched in order. A page
//! of 1,000 users is some 30,000 values; as `serde_json::Value` each object is an ordered hash
//! map (a SipHash per key inserted and looked up) and each string an allocation, which made
//! up most of the pull's own CPU time (docs/PERFORMANCE.md). `http::rest::input` reads either
//! tree through [`crate::http::rest::input::JsonValue`], so a record is read by one set of
//! rules whether it came in a request body or from an upstream.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value as Json};

use crate::http::rest::input::{JsonObject, JsonValue};

/// One JSON value borrowed from the bytes it was read from.
#[derive(Debug, Clone, PartialEq)]
pub enum Light<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Array(Vec<Light<'a>>),
    Object(Obj<'a>),
}

/// A JSON object: its members in the order sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Obj<'a>(pub Vec<(Cow<'a, str>, Light<'a>)>);

impl<'a> Light<'a> {
    /// Read `bytes` (one JSON value).
    pub fn parse(bytes: &'a [u8]) -> Result<Light<'a>, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The same value as a `serde_json::Value` (for the rare value kept as JSON text).
    pub fn to_value(&self) -> Json {
        match self {
            Light::Null => Json::Null,
            Light::Bool(b) => Json::Bool(*b),
            Light::Number(n) => Json::Number(n.clone()),
            Light::Str(s) => Json::String(s.to_string()),
            Light::Array(a) => Json::Array(a.iter().map(Light::to_value).collect()),
            Light::Object(o) => Json::Object(
                o.0.iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect::<Map<String, Json>>(),
            ),
        }
    }
}

impl<'a> JsonObject for Obj<'a> {
    type Value = Light<'a>;

    /// The member named `key` (the last one, as serde_json keeps, when sent twice).
    fn member(&self, key: &str) -> Option<&Light<'a>> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn members(&self) -> impl Iterator<Item = (&str, &Light<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<'a> JsonValue for Light<'a> {
    type Object = Obj<'a>;

    fn object(&self) -> Option<&Obj<'a>> {
        match self {
            Light::Object(o) => Some(o),
            _ => None,
        }
    }

    fn array(&self) -> Option<&[Light<'a>]> {
        match self {
            Light::Array(a) => Some(a),
            _ => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Light::Str(s) => Some(s),
            _ => None,
        }
    }

    fn boolean(&self) -> Option<bool> {
        match self {
            Light::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Light::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Light::Null)
    }

    fn json_text(&self) -> String {
        self.to_value().to_string()
    }
}

impl<'de> Deserialize<'de> for Light<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Light<'de>, D::Error> {
        d.deserialize_any(LightVisitor)
    }
}

struct LightVisitor;

impl<'de> Visitor<'de> for LightVisitor {
    type Value = Light<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Light<'de>, E> {
        Ok(Light::Null)
    }

    fn visit_none<E>(self) -> Result<Light<'de>, E> {
        Ok(Light::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Light<'de>, E> {
        Ok(Light::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Light<'de>, E> {
        Ok(Light::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Light<'de>, E> {
        Ok(Light::Number(n.into()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Light<'de>, E> {
        Number::from_f64(n)
            .map(Light::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Light<'de>, E> {
        Ok(Light::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Light<'de>, E> {
        Ok(Light::Str(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Light<'de>, E> {
        Ok(Light::Str(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Light<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Light::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Light<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(Key(k)) = map.next_key()? {
            members.push((k, map.next_value()?));
        }
        Ok(Light::Object(Obj(members)))
    }
}

/// An object key, borrowed when it holds no escapes (serde's own `Cow<str>` always copies).
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key<'de>, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_same_tree_as_serde_json_and_borrows_plain_strings() {
        let text = r#"{"users":[{"sourcedId":"u1","givenName":"Zo\u00eb","n":-3,"f":2.5,
            "ok":true,"none":null,"agents":[{"sourcedId":"g1","type":"user"}],
            "metadata":{"x":{"deep":[1,"two"]}},"dup":"first","dup":"last"}]}"#;
        let light = Light::parse(text.as_bytes()).expect("parses");
        let value: Json = serde_json::from_str(text).expect("parses");
        assert_eq!(light.to_value(), value);
        let user = light
            .object()
            .and_then(|o| o.member("users"))
            .and_then(JsonValue::array)
            .and_then(|a| a.first())
            .and_then(JsonValue::object)
            .expect("a user");
        assert!(matches!(
            user.member("sourcedId"),
            Some(Light::Str(Cow::Borrowed("u1")))
        ));
        // An escaped string is decoded (and owned).
        assert!(matches!(user.member("givenName"), Some(Light::Str(Cow::Owned(s))) if s == "Zoë"));
        assert_eq!(user.member("dup").and_then(JsonValue::text), Some("last"));
        assert_eq!(user.member("f").and_then(JsonValue::number), Some(2.5));
        assert!(user.member("none").is_some_and(JsonValue::is_null));
        assert_eq!(
            user.member("metadata").map(JsonValue::json_text).as_deref(),
            Some(r#"{"x":{"deep":[1,"two"]}}"#)
        );
    }

    #[test]
    fn a_cut_short_page_is_an_end_of_file_error() {
        let e = Light::parse(br#"{"users":[{"sourcedId":"u1"},{"sourc"#).expect_err("cut");
        assert!(e.is_eof());
        assert!(!Light::parse(b"{]").expect_err("bad").is_eof());
    }

    #[test]
    fn a_record_reads_the_same_from_either_tree() {
        use crate::model::catalog::Entity;
        let text = r#"{"sourcedId":"u1","status":"active","dateLastModified":"2026-01-02T03:04:05.000Z",
            "enabledUser":true,"username":"zo\u00eb","givenName":"Zoë","familyName":"Ng",
            "userIds":[{"type":"LDAP","identifier":"77"}],"grades":["09","10"],
            "agents":[{"href":"x","sourcedId":"g1","type":"user"},"g2"],
            "primaryOrg":{"sourcedId":"org-1","type":"org"},
            "metadata":{"nick":"Z","pets":2,"tags":["a"],"gone":null}}"#;
        let light = Light::parse(text.as_bytes()).expect("parses");
        let value: Json = serde_json::from_str(text).expect("parses");
        let (Some(lo), Some(vo)) = (light.object(), value.as_object()) else {
            panic!("objects");
        };
        for v1p1 in [false, true] {
            let a = crate::http::rest::input::record(Entity::Users, lo, v1p1).expect("reads");
            let b = crate::http::rest::input::record(Entity::Users, vo, v1p1).expect("reads");
            assert_eq!(a, b);
        }
        let rec = crate::http::rest::input::record(Entity::Users, lo, false).expect("reads");
        assert_eq!(rec.get("username"), Some("zoë"));
        assert_eq!(rec.get("agentSourcedIds"), Some("g1,g2"));
        assert_eq!(rec.get("userIds"), Some("{LDAP:77}"));
        assert_eq!(rec.metadata.get("pets").map(String::as_str), Some("2"));
        assert_eq!(
            rec.metadata.get("tags").map(String::as_str),
            Some(r#"["a"]"#)
        );
        assert!(!rec.metadata.contains_key("gone"));
        // The same wire-shape errors from both.
        let bad = r#"{"sourcedId":"u2","agents":"g1"}"#;
        let light = Light::parse(bad.as_bytes()).expect("parses");
        let value: Json = serde_json::from_str(bad).expect("parses");
        let (Some(lo), Some(vo)) = (light.object(), value.as_object()) else {
            panic!("objects");
        };
        let ea = crate::http::rest::input::record(Entity::Users, lo, false).expect_err("bad");
        let eb = crate::http::rest::input::record(Entity::Users, vo, false).expect_err("bad");
        assert_eq!(ea.0, eb.0);
        assert!(ea.0.starts_with("agents:"), "{}", ea.0);
    }
}
