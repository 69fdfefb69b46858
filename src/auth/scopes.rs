//! OneRoster OAuth 2 scope URIs (ONEROSTER.md §6.3), and short-name tolerance.

pub const V1P2: &str = "https://purl.imsglobal.org/spec/or/v1p2/scope/";
pub const V1P1: &str = "https://purl.imsglobal.org/spec/or/v1p1/scope/";

/// Every scope rosterbridge knows, 1.1 then 1.2.
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
    [V1P1, V1P2]
        .iter()
        .map(|prefix| format!("{prefix}{requested}"))
        .filter(|uri| ALL.contains(&uri.as_str()))
        .collect()
}
