//! OneRoster 1.1's view of a user's roles (ONEROSTER.md §3.5): one `role` and a list of
//! orgs, derived from the stored 1.2 role rows. Shared by the CSV export and the JSON renderer.

use super::catalog::role_v12_to_v11;
use super::record::Record;

/// The orgs of the user's (active) roles: the primary org first, then the others in id order.
pub fn orgs<'a>(user: &Record, roles: &[&'a Record]) -> Vec<&'a str> {
    let primary = user.get("primaryOrgSourcedId");
    let mut orgs: Vec<&str> = roles.iter().filter_map(|r| r.get("orgSourcedId")).collect();
    orgs.sort_by_key(|o| (Some(*o) != primary, *o));
    orgs.dedup();
    orgs
}

/// The role held at the primary org (else the first primary role, else any), in the 1.1
/// vocabulary.
pub fn role<'a>(user: &Record, roles: &[&'a Record]) -> &'a str {
    let primary = user.get("primaryOrgSourcedId");
    roles
        .iter()
        .find(|r| r.get("orgSourcedId") == primary && r.get("roleType") == Some("primary"))
        .or_else(|| roles.iter().find(|r| r.get("roleType") == Some("primary")))
        .or(roles.first())
        .and_then(|r| r.get("role"))
        .map(role_v12_to_v11)
        .unwrap_or("")
}
