//! The query parameters of a read (ONEROSTER.md §4): `limit`, `offset`, `sort`, `orderBy`,
//! `filter`, `fields`, parsed from the raw query string with the errors of §5.4. Unknown
//! parameters are ignored; a repeated known one is `invaliddata`.

use super::error::{ApiError, CodeMinor};
use super::routes::Api;
use crate::query::{filter, Filter};

/// Parameters of a collection or single read, checked but not yet resolved against an entity.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadParams {
    pub limit: i64,
    pub offset: i64,
    pub sort: Option<String>,
    pub desc: bool,
    pub filter: Option<Filter>,
    /// The raw filter text (kept for links).
    pub fields: Option<Vec<String>>,
    /// The query's pairs other than limit/offset (decoded), for paging links.
    pub rest: Vec<(String, String)>,
}

/// `application/x-www-form-urlencoded` pairs (a query string or a form body), decoded.
pub fn query_pairs(encoded: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(encoded)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

const KNOWN: &[&str] = &["limit", "offset", "sort", "orderBy", "filter", "fields"];

fn parse_int(name: &str, v: &str, min: i64) -> Result<i64, ApiError> {
    let ok = !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit());
    let n = if ok { v.parse::<i64>().ok() } else { None };
    match n {
        Some(n) if n >= min && n <= i64::from(i32::MAX) => Ok(n),
        _ => Err(ApiError::invalid_data(format!(
            "{name} must be an integer from {min} to {}, got '{v}'",
            i32::MAX
        ))),
    }
}

impl ReadParams {
    /// Parse `query` (the raw, still-encoded query string). `single`: a by-id read, which
    /// takes `fields` only and ignores the rest.
    pub fn parse(
        query: &str,
        api: Api,
        single: bool,
        max_limit: i64,
    ) -> Result<ReadParams, ApiError> {
        let pairs = query_pairs(query.as_bytes());
        let mut seen: Vec<&str> = Vec::new();
        for (k, _) in &pairs {
            if let Some(known) = KNOWN.iter().find(|n| **n == k.as_str()) {
                if seen.contains(known) {
                    return Err(ApiError::invalid_data(format!(
                        "query parameter '{k}' is repeated"
                    )));
                }
                seen.push(known);
            }
        }
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let mut p = ReadParams {
            limit: 100,
            offset: 0,
            sort: None,
            desc: false,
            filter: None,
            fields: None,
            rest: pairs
                .iter()
                .filter(|(k, _)| k != "limit" && k != "offset")
                .cloned()
                .collect(),
        };
        if let Some(f) = get("fields") {
            let items: Vec<String> = f.split(',').map(|s| s.trim().to_string()).collect();
            if items.iter().any(String::is_empty) {
                let minor = match api {
                    Api::V1p1 => CodeMinor::InvalidBlankSelectionField,
                    Api::V1p2 => CodeMinor::InvalidSelectionField,
                };
                return Err(ApiError::bad(minor, "fields has a blank selection"));
            }
            p.fields = Some(items);
        }
        if single {
            return Ok(p);
        }
        if let Some(v) = get("limit") {
            p.limit = parse_int("limit", v, 1)?.min(max_limit);
        }
        if let Some(v) = get("offset") {
            p.offset = parse_int("offset", v, 0)?;
        }
        if let Some(v) = get("orderBy") {
            p.desc = match v.to_ascii_lowercase().as_str() {
                "asc" | "acs" => false,
                "desc" => true,
                _ => {
                    return Err(ApiError::invalid_data(format!(
                        "orderBy must be asc or desc, got '{v}'"
                    )))
                }
            };
        }
        if let Some(v) = get("sort") {
            if v.trim().is_empty() {
                return Err(ApiError::invalid_data("sort is blank"));
            }
            p.sort = Some(v.trim().to_string());
        }
        if let Some(v) = get("filter") {
            let f = filter::parse(v)
                .map_err(|e| ApiError::bad(CodeMinor::InvalidFilterField, e.to_string()))?;
            p.filter = Some(f);
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<ReadParams, ApiError> {
        ReadParams::parse(q, Api::V1p2, false, 10_000)
    }

    #[test]
    fn limits_are_checked_and_clamped() {
        assert_eq!(parse("").map(|p| (p.limit, p.offset)).ok(), Some((100, 0)));
        assert_eq!(parse("limit=99999").map(|p| p.limit).ok(), Some(10_000));
        for bad in [
            "limit=0",
            "limit=-1",
            "limit=abc",
            "limit=1e3",
            "offset=-5",
            "limit=1&limit=2",
            "offset=99999999999",
            "orderBy=up",
            "limit=",
        ] {
            let e = parse(bad).err();
            assert_eq!(e.map(|e| e.minor), Some(CodeMinor::InvalidData), "{bad}");
        }
    }

    #[test]
    fn fields_blank_and_filter_errors() {
        let e = parse("fields=a,,b").err().map(|e| e.minor);
        assert_eq!(e, Some(CodeMinor::InvalidSelectionField));
        let e = ReadParams::parse("fields=", Api::V1p1, true, 10)
            .err()
            .map(|e| e.minor);
        assert_eq!(e, Some(CodeMinor::InvalidBlankSelectionField));
        let e = parse("filter=name%3D'x").err().map(|e| e.minor);
        assert_eq!(e, Some(CodeMinor::InvalidFilterField));
        // single reads ignore collection parameters
        assert!(ReadParams::parse("limit=abc", Api::V1p2, true, 10).is_ok());
    }
}
