//! Apps (API clients), ClassLink-style "select and deliver": register an app with scopes
//! chosen in plain language and the orgs it may see (whole district or some schools, from the
//! org tree), with a preview of what it will see; its credentials shown once with every
//! connection detail a vendor needs; later edit, rotate, disable, delete; its usage; and
//! "view as app": exactly the records the app receives, through the roster service with the
//! app's own scopes and orgs.

use std::collections::{BTreeMap, HashSet};

use actix_web::{web, HttpRequest};
use minijinja::context;
use serde::Serialize;

use super::pages::day_ago;
use super::{ok_page, see_other, signed_in, templates, Admin, ConsoleError, Form, Reply, BASE};
use crate::auth::scopes;
use crate::http::handlers::base_url;
use crate::http::rest::render::Renderer;
use crate::http::rest::routes::{self, Api, Method, Service};
use crate::http::server::AppState;
use crate::model::catalog::Entity;
use crate::model::sharing::{maskable, parse_mask, parse_rules, rules_text, Rule};
use crate::roster::{compare_views, Caller, Need, ReadError, ReadSpec, Roster, ViewChange, Where};
use crate::store::clients::{self, ClientRow};
use crate::store::{admins, DbConnection};

/// A scope choice in plain language, and the scopes (short names, every version) it grants.
pub struct Choice {
    pub key: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub scopes: &'static [&'static str],
}

pub const CHOICES: &[Choice] = &[
    Choice {
        key: "rosters",
        label: "Rosters",
        help: "schools, terms, courses, classes, students, teachers and enrollments (REST and LIS reads)",
        scopes: &["roster-core.readonly", "roster.readonly"],
    },
    Choice {
        key: "demographics",
        label: "Rosters with demographics",
        help: "the rosters, and each person's demographics (birth date, sex, race and ethnicity)",
        scopes: &["roster-core.readonly", "roster.readonly", "roster-demographics.readonly"],
    },
    Choice {
        key: "gradebook-read",
        label: "Gradebook read",
        help: "line items, categories, score scales, results and assessments",
        scopes: &["gradebook-core.readonly", "gradebook.readonly", "assessment.readonly"],
    },
    Choice {
        key: "gradebook-write",
        label: "Gradebook write",
        help: "create, change and delete line items, results and assessments (grades sent back)",
        scopes: &[
            "gradebook.createput",
            "gradebook.createpost",
            "gradebook.delete",
            "assessment.createput",
            "assessment.delete",
        ],
    },
    Choice {
        key: "resources",
        label: "Resources",
        help: "learning resources and which classes, courses and people use them",
        scopes: &["resource-core.readonly", "resource.readonly"],
    },
    Choice {
        key: "lis-writes",
        label: "LIS SOAP writes",
        help: "create, change and delete people, courses, sections, groups and memberships over LIS 2.0",
        scopes: &["roster.write"],
    },
];

/// The scope URIs of the chosen keys.
fn uris_of(keys: &[String]) -> Vec<String> {
    let mut out: Vec<String> = CHOICES
        .iter()
        .filter(|c| keys.iter().any(|k| k == c.key))
        .flat_map(|c| c.scopes.iter().flat_map(|s| scopes::expand(s)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The choices a client's scopes cover in full.
fn keys_of(scopes_held: &str) -> Vec<String> {
    let held: HashSet<&str> = scopes_held.split_whitespace().collect();
    CHOICES
        .iter()
        .filter(|c| {
            c.scopes
                .iter()
                .flat_map(|s| scopes::expand(s))
                .all(|u| held.contains(u.as_str()))
        })
        .map(|c| c.key.to_string())
        .collect()
}

/// Plain-language labels of a client's scopes (and any URI no choice covers).
fn labels_of(scopes_held: &str) -> Vec<String> {
    let keys = keys_of(scopes_held);
    let covered = uris_of(&keys);
    let mut out: Vec<String> = CHOICES
        .iter()
        .filter(|c| keys.iter().any(|k| k == c.key))
        .filter(|c| !(c.key == "rosters" && keys.iter().any(|k| k == "demographics")))
        .map(|c| c.label.to_string())
        .collect();
    out.extend(
        scopes_held
            .split_whitespace()
            .filter(|s| !covered.iter().any(|c| c == s))
            .map(str::to_string),
    );
    out
}

/// A caller with every scope and no org restriction (the console's own reads).
pub fn console_caller(
    orgs: Option<&[String]>,
    conn: &mut DbConnection,
) -> diesel::QueryResult<Caller> {
    Caller::with_orgs(
        conn,
        "console".into(),
        scopes::ALL.iter().map(|s| s.to_string()).collect(),
        orgs,
    )
}

#[derive(Serialize)]
struct OrgNode {
    id: String,
    name: String,
    kind: String,
    depth: usize,
    checked: bool,
}

/// The active orgs as a tree (depth-first, children by name), `chosen` checked.
fn org_tree(conn: &mut DbConnection, chosen: &[String]) -> Result<Vec<OrgNode>, ConsoleError> {
    let caller = console_caller(None, conn)?;
    let mut roster = Roster::new(conn, &caller, None);
    let all = Need::OneOf(&caller.scopes);
    let page = roster.read(&ReadSpec::new(
        Entity::Orgs,
        all,
        vec![Where::Active],
        100_000,
    ))?;
    let ids: HashSet<&str> = page.records.iter().map(|r| r.sourced_id.as_str()).collect();
    let mut children: BTreeMap<String, Vec<&crate::model::record::Record>> = BTreeMap::new();
    for r in &page.records {
        let parent = r
            .get("parentSourcedId")
            .filter(|p| ids.contains(p))
            .unwrap_or("")
            .to_string();
        children.entry(parent).or_default().push(r);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| a.get("name").cmp(&b.get("name")));
    }
    let mut out = Vec::new();
    let mut stack: Vec<(&str, usize)> = children
        .get("")
        .map(|l| l.iter().rev().map(|r| (r.sourced_id.as_str(), 0)).collect())
        .unwrap_or_default();
    let by_id: BTreeMap<&str, &crate::model::record::Record> = page
        .records
        .iter()
        .map(|r| (r.sourced_id.as_str(), r))
        .collect();
    let mut seen = HashSet::new();
    while let Some((id, depth)) = stack.pop() {
        if !seen.insert(id.to_string()) {
            continue;
        }
        let Some(r) = by_id.get(id) else { continue };
        out.push(OrgNode {
            id: id.to_string(),
            name: r.get("name").unwrap_or(id).to_string(),
            kind: r.get("type").unwrap_or("").to_string(),
            depth,
            checked: chosen.iter().any(|c| c == id),
        });
        if let Some(kids) = children.get(id) {
            stack.extend(
                kids.iter()
                    .rev()
                    .map(|k| (k.sourced_id.as_str(), depth + 1)),
            );
        }
    }
    Ok(out)
}

#[derive(Serialize)]
pub struct Reach {
    pub label: &'static str,
    pub count: i64,
}

/// How many active orgs, classes, users and enrollments a client shared by `rules` (`None`:
/// everything) sees: the roster service's own visibility rule.
pub fn reach(
    st: &AppState,
    conn: &mut DbConnection,
    rules: Option<&[Rule]>,
) -> Result<Vec<Reach>, ConsoleError> {
    const SHOWN: [(&str, Entity); 4] = [
        ("orgs", Entity::Orgs),
        ("classes", Entity::Classes),
        ("users", Entity::Users),
        ("enrollments", Entity::Enrollments),
    ];
    let Some(rules) = rules else {
        // The whole district: the overview's counts (cached per store generation).
        let counts = super::pages::entity_counts(st, conn)?;
        return Ok(SHOWN
            .iter()
            .map(|(label, e)| Reach {
                label,
                count: counts
                    .iter()
                    .find(|c| c.entity == e.name())
                    .map_or(0, |c| c.active),
            })
            .collect());
    };
    let caller = Caller::new(
        conn,
        "console".into(),
        scopes::ALL.iter().map(|s| s.to_string()).collect(),
        Some(rules),
        Vec::new(),
    )?;
    let mut roster = Roster::new(conn, &caller, None);
    let mut out = Vec::new();
    for (label, e) in SHOWN {
        let mut spec = ReadSpec::new(e, Need::OneOf(&caller.scopes), vec![Where::Active], 1);
        spec.count = true;
        let page = roster.read(&spec)?;
        out.push(Reach {
            label,
            count: page.total,
        });
    }
    Ok(out)
}

/// One rule sharing `orgs` whole (`None`: everything), as the app form chooses.
fn org_rules(orgs: Option<&[String]>) -> Option<Vec<Rule>> {
    orgs.map(|o| vec![Rule::orgs(o)])
}

/// What the app form holds.
struct AppForm {
    name: String,
    keys: Vec<String>,
    /// `None`: the whole district.
    orgs: Option<Vec<String>>,
}

impl AppForm {
    fn read(form: &Form) -> Result<AppForm, String> {
        let name = form.get("name").unwrap_or_default().to_string();
        let keys = form.all("scope");
        let some = form.get("reach") == Some("some");
        let orgs = form.all("org");
        if name.is_empty() || name.chars().count() > 100 {
            return Err("Give the app a name (up to 100 characters).".into());
        }
        if keys.is_empty() {
            return Err("Choose at least one thing the app may do.".into());
        }
        if some && orgs.is_empty() {
            return Err("Pick at least one org, or choose the whole district.".into());
        }
        Ok(AppForm {
            name,
            keys,
            orgs: some.then_some(orgs),
        })
    }
}

#[derive(Serialize)]
struct ChoiceView {
    key: &'static str,
    label: &'static str,
    help: &'static str,
    checked: bool,
}

fn choices(keys: &[String]) -> Vec<ChoiceView> {
    CHOICES
        .iter()
        .map(|c| ChoiceView {
            key: c.key,
            label: c.label,
            help: c.help,
            checked: keys.iter().any(|k| k == c.key),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    conn: &mut DbConnection,
    admin: &Admin,
    action: &str,
    client_id: Option<&str>,
    name: &str,
    keys: &[String],
    orgs: Option<&[String]>,
    message: Option<&str>,
    preview: Option<Vec<Reach>>,
) -> Result<Reply, ConsoleError> {
    let tree = org_tree(conn, orgs.unwrap_or_default())?;
    let mut res = ok_page(templates::render(
        "app_form.html",
        context! { admin => admin.name, csrf => admin.csrf, section => "apps",
        action, client_id, name, choices => choices(keys), tree,
        some => orgs.is_some(), message, preview },
    ));
    if message.is_some() {
        res = res.with_status(actix_web::http::StatusCode::BAD_REQUEST);
    }
    Ok(res)
}

#[derive(Serialize)]
struct Connection {
    base: String,
    token_url: String,
    v1p1: String,
    v1p2: Vec<String>,
    lis: Vec<(String, String)>,
}

fn connection(base: &str) -> Connection {
    Connection {
        base: base.to_string(),
        token_url: format!("{base}/oauth/token"),
        v1p1: format!("{base}/ims/oneroster/v1p1"),
        v1p2: [Service::Rostering, Service::Gradebook, Service::Resources]
            .iter()
            .map(|s| format!("{base}{}", Api::V1p2.base_of(*s)))
            .collect(),
        lis: crate::soap::wsdl::SERVICES
            .iter()
            .map(|s| {
                (
                    format!("{base}{}", s.path),
                    format!("{base}{}?wsdl", s.path),
                )
            })
            .collect(),
    }
}

/// The page that shows a secret, once (creation and rotation).
fn secret_page(
    admin: &Admin,
    base: &str,
    client: &ClientRow,
    secret: &str,
    rotated: bool,
) -> Reply {
    let scopes: Vec<&str> = client.scopes.split_whitespace().collect();
    ok_page(templates::render(
        "app_secret.html",
        context! { admin => admin.name, csrf => admin.csrf, section => "apps",
        name => client.name, client_id => client.client_id, secret, rotated,
        scopes, labels => labels_of(&client.scopes), conn => connection(base) },
    ))
}

fn audit(
    conn: &mut DbConnection,
    admin: &Admin,
    action: &str,
    detail: &str,
) -> Result<(), ConsoleError> {
    admins::audit(
        conn,
        &crate::model::time::now(),
        &admin.name,
        action,
        detail,
    )?;
    Ok(())
}

#[derive(Serialize)]
struct AppLine {
    client_id: String,
    name: String,
    labels: Vec<String>,
    orgs: String,
    created_at: String,
    disabled: bool,
}

fn orgs_label(c: &ClientRow) -> String {
    if c.sharing.is_some() {
        return match c.rules() {
            None => "whole district".into(),
            Some(r) if r.is_empty() => "nothing".into(),
            Some(r) => format!(
                "by rules: {}",
                r.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        };
    }
    match &c.orgs {
        None => "whole district".into(),
        Some(o) => o.split(',').collect::<Vec<_>>().join(", "),
    }
}

/// What an app's page shows besides the app: a refusal, a scope/org preview, the sharing form
/// as edited (with its preview).
#[derive(Default)]
struct Extra<'a> {
    message: Option<&'a str>,
    preview: Option<Vec<Reach>>,
    share: Option<SharePreview>,
}

/// The sharing section of an app's page: its rules (one per line) and mask as edited, and the
/// preview of what a change gains and loses.
#[derive(Serialize)]
struct SharePreview {
    rules: String,
    mask: String,
    changes: Option<Vec<ViewChange>>,
}

/// The rules and mask of the sharing form: (rules text as given, parsed rules, mask fields).
#[allow(clippy::type_complexity)]
fn read_share(
    conn: &mut DbConnection,
    f: &Form,
) -> Result<(String, Option<Vec<Rule>>, Vec<String>), String> {
    let text = f.get("rules").unwrap_or_default().replace('\r', "");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let rules = parse_rules(&lines)?;
    let missing = crate::roster::missing_named(conn, rules.as_deref().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    if !missing.is_empty() {
        return Err(format!("Not in the store: {}.", missing.join(", ")));
    }
    let mask = parse_mask(f.get("mask").unwrap_or_default())?;
    Ok((text, rules, mask))
}

/// `GET /console/apps`.
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<Reply, ConsoleError> {
    signed_in(&req, &state, None, |_, conn, admin| {
        let apps: Vec<AppLine> = clients::list(conn)?
            .into_iter()
            .map(|c| AppLine {
                labels: labels_of(&c.scopes),
                orgs: orgs_label(&c),
                disabled: c.disabled_at.is_some(),
                client_id: c.client_id,
                name: c.name,
                created_at: c.created_at,
            })
            .collect();
        Ok(ok_page(templates::render(
            "apps.html",
            context! { admin => admin.name, csrf => admin.csrf, section => "apps", apps },
        )))
    })
    .await
}

/// `GET /console/apps/new`.
pub async fn new_form(req: HttpRequest, state: web::Data<AppState>) -> Result<Reply, ConsoleError> {
    signed_in(&req, &state, None, |_, conn, admin| {
        form_page(
            conn,
            admin,
            "new",
            None,
            "",
            &["rosters".to_string()],
            None,
            None,
            None,
        )
    })
    .await
}

/// `POST /console/apps/new`: `action=preview` shows what the app would see; `action=create`
/// registers it and shows its credentials, once.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<Reply, ConsoleError> {
    let form = Form::parse(&body);
    let base = base_url(&req, &state);
    let f = form.clone();
    signed_in(&req, &state, Some(&form), move |st, conn, admin| {
        let parsed = AppForm::read(&f);
        let (name, keys, orgs) = match &parsed {
            Ok(a) => (a.name.clone(), a.keys.clone(), a.orgs.clone()),
            Err(_) => (
                f.get("name").unwrap_or_default().to_string(),
                f.all("scope"),
                (f.get("reach") == Some("some")).then(|| f.all("org")),
            ),
        };
        let app = match parsed {
            Err(why) => {
                return form_page(
                    conn,
                    admin,
                    "new",
                    None,
                    &name,
                    &keys,
                    orgs.as_deref(),
                    Some(&why),
                    None,
                )
            }
            Ok(app) => app,
        };
        if f.get("action") != Some("create") {
            let preview = reach(st, conn, org_rules(app.orgs.as_deref()).as_deref())?;
            return form_page(
                conn,
                admin,
                "new",
                None,
                &name,
                &keys,
                orgs.as_deref(),
                None,
                Some(preview),
            );
        }
        let key = st
            .settings
            .server_key
            .as_ref()
            .ok_or_else(|| ConsoleError::Internal("no server key is configured".into()))?;
        let created = crate::auth::add_client(
            &st.store,
            key,
            &app.name,
            &uris_of(&app.keys),
            app.orgs.as_deref().unwrap_or_default(),
        )?;
        let row = clients::get(conn, &created.client_id)?
            .ok_or_else(|| ConsoleError::Internal("the new app vanished".into()))?;
        audit(
            conn,
            admin,
            "app.create",
            &format!(
                "{} ({}): {}; orgs: {}",
                row.name,
                row.client_id,
                labels_of(&row.scopes).join(", "),
                orgs_label(&row)
            ),
        )?;
        Ok(secret_page(
            admin,
            &base,
            &row,
            &created.client_secret,
            false,
        ))
    })
    .await
}

#[derive(Serialize)]
struct UsageLine {
    day: String,
    requests: i64,
    errors: i64,
    last_call: String,
}

/// `GET /console/apps/{id}`.
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Reply, ConsoleError> {
    let id = id.into_inner();
    let base = base_url(&req, &state);
    signed_in(&req, &state, None, move |st, conn, admin| {
        let _ = st.usage.flush(&st.store);
        app_page(st, conn, admin, &id, &base, Extra::default())
    })
    .await
}

fn app_page(
    st: &AppState,
    conn: &mut DbConnection,
    admin: &Admin,
    id: &str,
    base: &str,
    extra: Extra<'_>,
) -> Result<Reply, ConsoleError> {
    let Extra {
        message,
        preview,
        share,
    } = extra;
    let c =
        clients::get(conn, id)?.ok_or_else(|| ConsoleError::NotFound(format!("no app '{id}'")))?;
    let ruled = c.sharing.is_some();
    let share = share.unwrap_or_else(|| SharePreview {
        rules: rules_text(c.rules().as_deref()).unwrap_or_else(|| "all".into()),
        mask: c.masked().join(","),
        changes: None,
    });
    let usage: Vec<UsageLine> = clients::usage(conn, Some(id), &day_ago(13))?
        .into_iter()
        .map(|u| UsageLine {
            day: u.day,
            requests: u.requests,
            errors: u.errors,
            last_call: u.last_call,
        })
        .collect();
    let orgs: Option<Vec<String>> = c
        .orgs
        .as_ref()
        .map(|o| o.split(',').map(str::to_string).collect());
    let keys = keys_of(&c.scopes);
    let tree = org_tree(conn, orgs.as_deref().unwrap_or_default())?;
    let sees = match &preview {
        Some(_) => None,
        None => Some(reach(st, conn, c.rules().as_deref())?),
    };
    let views: Vec<&str> = VIEWS.iter().map(|v| v.0).collect();
    let mut res = ok_page(templates::render(
        "app.html",
        context! { admin => admin.name, csrf => admin.csrf, section => "apps",
        client_id => c.client_id, name => c.name, created_at => c.created_at,
        disabled_at => c.disabled_at, labels => labels_of(&c.scopes),
        scopes => c.scopes.split_whitespace().collect::<Vec<_>>(),
        orgs_label => orgs_label(&c), usage, choices => choices(&keys), tree,
        some => orgs.is_some(), message, preview, sees, views, conn => connection(base),
        ruled, share, maskable => maskable().join(", ") },
    ));
    if message.is_some() {
        res = res.with_status(actix_web::http::StatusCode::BAD_REQUEST);
    }
    Ok(res)
}

/// `POST /console/apps/{id}`: `action` is `preview` or `save` (scopes and orgs), `rotate`,
/// `disable`, `enable` or `delete` (with `confirm`).
pub async fn change(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<Reply, ConsoleError> {
    let id = id.into_inner();
    let form = Form::parse(&body);
    let base = base_url(&req, &state);
    let f = form.clone();
    signed_in(&req, &state, Some(&form), move |st, conn, admin| {
        let c = clients::get(conn, &id)?
            .ok_or_else(|| ConsoleError::NotFound(format!("no app '{id}'")))?;
        let done = |conn: &mut DbConnection,
                    action: &str,
                    detail: String|
         -> Result<Reply, ConsoleError> {
            st.credentials.forget(&id);
            audit(conn, admin, action, &detail)?;
            Ok(see_other(format!("{BASE}/apps/{id}")))
        };
        match f.get("action").unwrap_or_default() {
            "preview" | "save" => {
                let mut f2 = f.clone();
                f2.0.push(("name".into(), c.name.clone()));
                let app = match AppForm::read(&f2) {
                    Ok(a) => a,
                    Err(why) => {
                        return app_page(
                            st,
                            conn,
                            admin,
                            &id,
                            &base,
                            Extra {
                                message: Some(&why),
                                ..Extra::default()
                            },
                        )
                    }
                };
                if f.get("action") == Some("preview") {
                    let preview = reach(st, conn, org_rules(app.orgs.as_deref()).as_deref())?;
                    return app_page(
                        st,
                        conn,
                        admin,
                        &id,
                        &base,
                        Extra {
                            preview: Some(preview),
                            ..Extra::default()
                        },
                    );
                }
                let uris = uris_of(&app.keys).join(" ");
                let orgs = app.orgs.as_ref().map(|o| o.join(","));
                // An app shared by rules keeps them (they are edited below); orgs otherwise.
                let new_orgs = c.sharing.is_none().then_some(orgs.as_deref());
                clients::update(conn, &id, Some(&uris), new_orgs)?;
                let detail = format!(
                    "{} ({id}): {}; orgs: {}",
                    c.name,
                    labels_of(&uris).join(", "),
                    orgs.unwrap_or_else(|| "whole district".into())
                );
                done(conn, "app.update", detail)
            }
            "share-preview" | "share-save" => {
                let (text, rules, mask) = match read_share(conn, &f) {
                    Ok(x) => x,
                    Err(why) => {
                        return app_page(
                            st,
                            conn,
                            admin,
                            &id,
                            &base,
                            Extra {
                                message: Some(&why),
                                ..Extra::default()
                            },
                        )
                    }
                };
                if f.get("action") == Some("share-preview") {
                    let old = Caller::new(
                        conn,
                        id.clone(),
                        Vec::new(),
                        c.rules().as_deref(),
                        Vec::new(),
                    )?;
                    let new =
                        Caller::new(conn, id.clone(), Vec::new(), rules.as_deref(), Vec::new())?;
                    let changes = compare_views(conn, &old, &new, 5)?;
                    let share = SharePreview {
                        rules: text,
                        mask: mask.join(","),
                        changes: Some(changes),
                    };
                    return app_page(
                        st,
                        conn,
                        admin,
                        &id,
                        &base,
                        Extra {
                            share: Some(share),
                            ..Extra::default()
                        },
                    );
                }
                // The view before and after, so its delta reads learn what left or entered.
                crate::roster::remember_view(conn, &id, true)?;
                let stored = rules_text(rules.as_deref());
                clients::set_sharing(conn, &id, Some(stored.as_deref()), Some(&mask.join(",")))?;
                crate::roster::remember_view(conn, &id, false)?;
                let detail = format!(
                    "{} ({id}): {}; masked: {}",
                    c.name,
                    stored.map_or_else(|| "all".to_string(), |t| t.replace('\n', " | ")),
                    if mask.is_empty() {
                        "nothing".to_string()
                    } else {
                        mask.join(",")
                    }
                );
                done(conn, "app.share", detail)
            }
            "rotate" => {
                let key =
                    st.settings.server_key.as_ref().ok_or_else(|| {
                        ConsoleError::Internal("no server key is configured".into())
                    })?;
                let secret = crate::auth::rotate_secret(conn, key, &id)?
                    .ok_or_else(|| ConsoleError::NotFound(format!("no app '{id}'")))?;
                st.credentials.forget(&id);
                audit(
                    conn,
                    admin,
                    "app.rotate-secret",
                    &format!("{} ({id})", c.name),
                )?;
                Ok(secret_page(admin, &base, &c, &secret, true))
            }
            "disable" => {
                clients::set_disabled(conn, &id, Some(&crate::model::time::now()))?;
                done(conn, "app.disable", format!("{} ({id})", c.name))
            }
            "enable" => {
                clients::set_disabled(conn, &id, None)?;
                done(conn, "app.enable", format!("{} ({id})", c.name))
            }
            "delete" => {
                if f.get("confirm") != Some("yes") {
                    return app_page(
                        st,
                        conn,
                        admin,
                        &id,
                        &base,
                        Extra {
                            message: Some("Tick the box to confirm the deletion."),
                            ..Extra::default()
                        },
                    );
                }
                clients::remove(conn, &id)?;
                st.credentials.forget(&id);
                audit(conn, admin, "app.delete", &format!("{} ({id})", c.name))?;
                Ok(see_other(format!("{BASE}/apps")))
            }
            other => Err(ConsoleError::BadRequest(format!(
                "unknown action '{other}'"
            ))),
        }
    })
    .await
}

/// What "view as app" can show: a REST 1.2 collection each.
pub const VIEWS: &[(&str, Service, &str)] = &[
    ("orgs", Service::Rostering, "/orgs"),
    ("academicSessions", Service::Rostering, "/academicSessions"),
    ("courses", Service::Rostering, "/courses"),
    ("classes", Service::Rostering, "/classes"),
    ("users", Service::Rostering, "/users"),
    ("enrollments", Service::Rostering, "/enrollments"),
    ("demographics", Service::Rostering, "/demographics"),
    ("lineItems", Service::Gradebook, "/lineItems"),
    ("results", Service::Gradebook, "/results"),
    ("resources", Service::Resources, "/resources"),
];

const VIEW_PAGE: i64 = 25;

/// `GET /console/apps/{id}/view?what=users&offset=0`: the records this app receives from the
/// REST 1.2 collection, read by the roster service as the app (its scopes, its orgs).
pub async fn view_as(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Reply, ConsoleError> {
    let id = id.into_inner();
    let q = Form::parse(req.query_string().as_bytes());
    let what = q.get("what").unwrap_or("users").to_string();
    let offset: i64 = q
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0)
        .max(0);
    let base = base_url(&req, &state);
    signed_in(&req, &state, None, move |_, conn, admin| {
        let c = clients::get(conn, &id)?
            .ok_or_else(|| ConsoleError::NotFound(format!("no app '{id}'")))?;
        let (service, tail) = VIEWS
            .iter()
            .find(|v| v.0 == what)
            .map(|v| (v.1, v.2))
            .ok_or_else(|| ConsoleError::BadRequest(format!("cannot show '{what}'")))?;
        let (route, _) = routes::find_in(Api::V1p2, service, Method::Get, tail)
            .ok_or_else(|| ConsoleError::Internal(format!("no route for {tail}")))?;
        let caller = Caller::new(
            conn,
            c.client_id.clone(),
            c.scopes.split_whitespace().map(str::to_string).collect(),
            c.rules().as_deref(),
            c.masked(),
        )?;
        let need = route.scope_uris(Api::V1p2);
        let mut roster = Roster::new(conn, &caller, None);
        let mut spec = ReadSpec::new(
            route.entity,
            Need::OneOf(&need),
            vec![Where::Active],
            VIEW_PAGE,
        );
        spec.count = true;
        spec.offset = offset;
        let url = format!("{base}{}{tail}", Api::V1p2.base_of(service));
        let (refused, total, json) = match roster.read(&spec) {
            Err(ReadError::Forbidden) => (Some(need.join(" ")), 0, Vec::new()),
            Err(e) => return Err(e.into()),
            Ok(page) => {
                let related = roster.related(route.entity, &page.records)?;
                let r = Renderer { base_url: &base };
                let json: Vec<String> = page
                    .records
                    .iter()
                    .map(|rec| {
                        serde_json::to_string_pretty(&r.v1p2(rec, &related)).unwrap_or_default()
                    })
                    .collect();
                (None, page.total, json)
            }
        };
        let views: Vec<&str> = VIEWS.iter().map(|v| v.0).collect();
        Ok(ok_page(templates::render(
            "app_view.html",
            context! { admin => admin.name, csrf => admin.csrf, section => "apps",
            client_id => c.client_id, name => c.name, what, views, url, refused, total,
            offset, json, next => (offset + VIEW_PAGE < total).then_some(offset + VIEW_PAGE),
            prev => (offset > 0).then_some((offset - VIEW_PAGE).max(0)),
            orgs_label => orgs_label(&c) },
        )))
    })
    .await
}
