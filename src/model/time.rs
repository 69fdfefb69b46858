//! Timestamps as the store keeps them: UTC, millisecond precision, `YYYY-MM-DDTHH:MM:SS.sssZ`.
//! Fixed width, so text order equals time order on both backends.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Now, in the store's timestamp form.
pub fn now() -> String {
    format(Utc::now())
}

pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parse a OneRoster DateTime strictly (`YYYY-MM-DDTHH:MM:SS[.fff]Z` or with an offset).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Parse a date-time or a bare date (read as midnight UTC), returning the canonical form and
/// whether the input was a bare date. Used for `--since` and lenient delta timestamps.
pub fn parse_lenient(s: &str) -> Option<(String, bool)> {
    if let Some(t) = parse_datetime(s) {
        return Some((format(t), false));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some((format(t.and_utc()), false));
    }
    parse_date(s).map(|d| (format(d.and_time(chrono::NaiveTime::MIN).and_utc()), true))
}

/// `YYYY-MM-DD`, exactly.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}
