//! OneRoster OAuth 2 scope URIs (ONEROSTER.md §6.3), and short-name tolerance.

pub const V1P2: &str = "https://purl.imsglobal.org/spec/or/v1p2/scope/";
pub const V1P1: &str = "https://purl.imsglobal.org/spec/or/v1p1/scope/";

/// rosterbridge's own scope for roster writes (LIS replace/create/update/delete/change); no
/// OneRoster version has one.
pub const ROSTER_WRITE: &str = "https://rosterbridge.dev/scope/roster.write";

/// Every scope rosterbridge knows, 1.1 then 1.2, then rosterbridge's own.
pub const ALL: &[&str] = &[
    "https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly",
    "https://purl.imsglobal.org/spec/or/v1p1/scope/roster.readonly",
    "https://purl.imsglobal.org/spec/or/v1p1/scope/roster-demographics.readonly",
    "https://purl.imsglobal.org/spec/or/v1p1/scope/resource.readonly",
    "https://purl.imsglobal.org/spec/or/v1p1/scope/gradebook.readonly",
    "https://purl.imsglobal.org/spec/or/v1p1/scope/gradebook.createput",
    "https://purl.imsglobal.org/spec/or/v1p1/scope/gradebook.delete",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook-core.readonly",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.readonly",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.createput",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.createpost",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.delete",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/assessment.readonly",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/assessment.createput",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/assessment.delete",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/resource-core.readonly",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/resource.readonly",
    ROSTER_WRITE,
];

/// The known scope URIs a requested scope names: itself when it is a known URI; for a short
/// name (`roster-core.readonly`), the URI of every version that has it; otherwise none.
pub fn expand(requested: &str) -> Vec<String> {
    if ALL.contains(&requested) {
        return vec![requested.to_string()];
    }
    if requested.contains('/') {
        return Vec::new();
    }
    [V1P1, V1P2, "https://rosterbridge.dev/scope/"]
        .iter()
        .map(|prefix| format!("{prefix}{requested}"))
        .filter(|uri| ALL.contains(&uri.as_str()))
        .collect()
}
