//! `rosterbridge client …`: register, list, update and remove API clients.

use clap::Subcommand;

use super::{server_key, Cli};
use crate::model::catalog::Entity;
use crate::model::sharing::{parse_mask, parse_rules, rules_text, Rule};
use crate::store::{records, Store};

#[derive(Subcommand, Debug)]
pub enum ClientAction {
    /// Register a client; its secret is shown once and stored only as an argon2id hash.
    Add {
        /// A name for the client (the app), shown by `client list`.
        name: String,
        /// Scope URIs or short names (roster-core.readonly, roster.write, …), comma- or
        /// space-separated; default: every read-only scope (writes must be asked for).
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Restrict the client to these org sourcedIds (comma-separated; each must be in the
        /// store); default: every org.
        #[arg(long, value_delimiter = ',')]
        orgs: Vec<String>,
        /// Print one JSON line {"client_id":…,"client_secret":…} for scripts.
        #[arg(long)]
        json: bool,
    },
    /// List clients with their scopes and orgs (never their secrets).
    List,
    /// Change a client's scopes or orgs; its tokens are revoked (the secret stays).
    Update {
        /// The client's id.
        client_id: String,
        /// New scopes (URIs or short names, comma- or space-separated), replacing the old.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// New org restriction (comma-separated sourcedIds in the store), replacing the old.
        #[arg(long, value_delimiter = ',', conflicts_with = "all_orgs")]
        orgs: Vec<String>,
        /// Lift the org restriction: the client may see every org.
        #[arg(long)]
        all_orgs: bool,
        /// Sharing rules replacing the client's whole rule set, repeated for a union:
        /// `org=ID,ID;course=ID;class=ID;grades=09,10;classType=scheduled;from=DATE;until=DATE`
        /// (every part optional, parts AND-ed, values OR-ed), or `all` for everything.
        #[arg(long, conflicts_with_all = ["orgs", "all_orgs"])]
        share: Vec<String>,
        /// JSON fields removed from everything the client receives and refused in its filters
        /// and sorts (comma-separated, e.g. `phone,sms,birthDate`; `none` to unmask).
        #[arg(long)]
        mask: Option<String>,
    },
    /// Remove a client and its tokens.
    Remove {
        /// The client's id.
        client_id: String,
    },
}

/// Run a client command.
pub(super) fn run(cli: &Cli, action: &ClientAction) -> anyhow::Result<i32> {
    let store = Store::open(&cli.database_url)?;
    match action {
        ClientAction::Add {
            name,
            scopes,
            orgs,
            json,
        } => {
            let scopes: Vec<String> = scopes
                .iter()
                .flat_map(|s| s.split_whitespace())
                .map(str::to_string)
                .collect();
            if let Err(msg) = check_orgs(&store, orgs) {
                eprintln!("rosterbridge: {msg}");
                return Ok(1);
            }
            let key = server_key(cli.key_file.as_deref(), &cli.database_url, &store)?;
            let c = crate::auth::add_client(&store, &key, name, &scopes, orgs)?;
            if *json {
                out!(
                    "{}",
                    serde_json::json!({"client_id": c.client_id, "client_secret": c.client_secret})
                );
            } else {
                out!("client_id:     {}", c.client_id);
                out!("client_secret: {}", c.client_secret);
                out!("(the secret is shown only now; rosterbridge keeps a hash)");
                out!("scopes:        {}", c.scopes.join(" "));
            }
        }
        ClientAction::List => {
            let rows = crate::store::clients::list(&mut *store.conn()?)?;
            out!(
                "{:<32}  {:<20}  {:<20}  scopes",
                "client_id",
                "name",
                "orgs"
            );
            for c in rows {
                let rules = c.rules();
                let whole = match &rules {
                    None => "(every org)".to_string(),
                    Some(r)
                        if r.len() == 1
                            && !r[0].selects_classes()
                            && r[0].from.is_none()
                            && r[0].until.is_none() =>
                    {
                        r[0].orgs.join(",")
                    }
                    Some(_) => "(by rules)".to_string(),
                };
                out!(
                    "{:<32}  {:<20}  {:<20}  {}",
                    c.client_id,
                    c.name,
                    whole,
                    short_scopes(&c.scopes)
                );
                if let Some(r) = rules.as_ref().filter(|_| c.sharing.is_some()) {
                    for rule in r {
                        out!("    share: {rule}");
                    }
                }
                let masked = c.masked();
                if !masked.is_empty() {
                    out!("    mask:  {}", masked.join(","));
                }
                if c.disabled_at.is_some() {
                    out!("    (disabled)");
                }
            }
        }
        ClientAction::Update {
            client_id,
            scopes,
            orgs,
            all_orgs,
            share,
            mask,
        } => {
            if scopes.is_empty()
                && orgs.is_empty()
                && !all_orgs
                && share.is_empty()
                && mask.is_none()
            {
                eprintln!(
                    "rosterbridge: nothing to change: give --scopes, --orgs, --all-orgs, --share or --mask"
                );
                return Ok(1);
            }
            let rules = if share.is_empty() {
                None
            } else {
                match parse_rules(share) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        eprintln!("rosterbridge: {e}");
                        return Ok(2);
                    }
                }
            };
            if let Some(Some(rules)) = &rules {
                if let Err(msg) = check_named(&store, rules) {
                    eprintln!("rosterbridge: {msg}");
                    return Ok(2);
                }
            }
            let mask = match mask.as_deref() {
                None => None,
                Some("none") => Some(String::new()),
                Some(m) => match parse_mask(m) {
                    Ok(fields) => Some(fields.join(",")),
                    Err(e) => {
                        eprintln!("rosterbridge: {e}");
                        return Ok(2);
                    }
                },
            };
            if let Err(msg) = check_orgs(&store, orgs) {
                eprintln!("rosterbridge: {msg}");
                return Ok(1);
            }
            let scopes: Vec<String> = scopes
                .iter()
                .flat_map(|s| s.split_whitespace())
                .map(str::to_string)
                .collect();
            let new_scopes = if scopes.is_empty() {
                None
            } else {
                Some(crate::auth::resolve_scopes(&scopes)?.join(" "))
            };
            let joined = orgs.join(",");
            let new_orgs = if *all_orgs {
                Some(None)
            } else if orgs.is_empty() {
                None
            } else {
                Some(Some(joined.as_str()))
            };
            let text = rules.as_ref().map(|r| rules_text(r.as_deref()));
            let reshared = text.is_some() || !orgs.is_empty() || *all_orgs;
            if reshared {
                // What the app sees before the change, so its next delta read learns what left.
                crate::roster::remember_view(&mut *store.conn()?, client_id, true)?;
            }
            let found = store.transaction(|c| {
                let mut found =
                    crate::store::clients::update(c, client_id, new_scopes.as_deref(), new_orgs)?;
                if found && (text.is_some() || mask.is_some()) {
                    found = crate::store::clients::set_sharing(
                        c,
                        client_id,
                        text.as_ref().map(Option::as_deref),
                        mask.as_deref(),
                    )?;
                }
                Ok::<_, crate::store::StoreError>(found)
            })?;
            if !found {
                eprintln!("rosterbridge: no client {client_id}");
                return Ok(1);
            }
            if reshared {
                // And what it sees after: what left or entered is stamped now.
                crate::roster::remember_view(&mut *store.conn()?, client_id, false)?;
            }
            if text.is_some() || mask.is_some() {
                out!("updated {client_id} (running servers apply it within 10 s)");
            } else {
                out!("updated {client_id} (its tokens are revoked)");
            }
        }
        ClientAction::Remove { client_id } => {
            let removed = crate::store::clients::remove(&mut *store.conn()?, client_id)?;
            if !removed {
                eprintln!("rosterbridge: no client {client_id}");
                return Ok(1);
            }
            out!("removed {client_id}");
        }
    }
    Ok(0)
}

// Every org of `orgs` must be in the store: a typo would otherwise restrict a client to an
/// org that does not exist, and it would silently see nothing.
fn check_orgs(store: &Store, orgs: &[String]) -> anyhow::Result<(), String> {
    if orgs.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = orgs.iter().map(String::as_str).collect();
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    let found = records::existing_ids(&mut conn, Entity::Orgs, &ids).map_err(|e| e.to_string())?;
    let missing: Vec<&str> = ids.into_iter().filter(|o| !found.contains(*o)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "no org {} in the store (import the roster first, or check the sourcedId)",
            missing.join(", ")
        ))
    }
}

/// Every org, course and class the rules name must be in the store (a typo would share
/// nothing, silently).
fn check_named(store: &Store, rules: &[Rule]) -> anyhow::Result<(), String> {
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    let missing = crate::roster::missing_named(&mut conn, rules).map_err(|e| e.to_string())?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "not in the store: {} (import the roster first, or check the sourcedId)",
            missing.join(", ")
        ))
    }
}

/// Scope URIs as short names (`v1p2:roster.readonly`), space-separated.
fn short_scopes(scopes: &str) -> String {
    scopes
        .split_whitespace()
        .map(|s| {
            if let Some(x) = s.strip_prefix(crate::auth::scopes::V1P1) {
                format!("v1p1:{x}")
            } else if let Some(x) = s.strip_prefix(crate::auth::scopes::V1P2) {
                format!("v1p2:{x}")
            } else {
                s.rsplit('/').next().unwrap_or(s).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
