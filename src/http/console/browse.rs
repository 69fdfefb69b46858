//! The roster browser: search users (family name, given name, e-mail or username starting
//! with the text, or an exact identifier or id, from indexes), classes, courses and orgs (the
//! OneRoster filter grammar's "contains"), all through the roster service, and a page per record with what it is
//! tied to: a class's teachers, students and terms; a user's roles, enrollments and
//! demographics; an org's schools, courses and classes; a course's classes.

use actix_web::{web, HttpRequest};
use minijinja::context;
use serde::Serialize;

use super::apps::console_caller;
use super::{ok_page, signed_in, templates, ConsoleError, Form, Reply};
use crate::http::server::AppState;
use crate::model::catalog::{Entity, Kind};
use crate::model::record::Record;
use crate::roster::{Need, ReadSpec, Roster, Where};

/// What can be browsed: the URL segment, its entity and the fields searched ("contains";
/// users are searched by prefix, [`Where::UserNamed`]).
const KINDS: &[(&str, Entity, &[&str])] = &[
    (
        "users",
        Entity::Users,
        &["givenName", "familyName", "username", "email", "identifier"],
    ),
    ("classes", Entity::Classes, &["title", "classCode"]),
    ("courses", Entity::Courses, &["title", "courseCode"]),
    ("orgs", Entity::Orgs, &["name", "identifier"]),
];

const MAX_RESULTS: i64 = 50;
/// Most related records listed per section of a record page.
const MAX_RELATED: i64 = 500;

fn kind_of(entity: Entity) -> Option<&'static str> {
    KINDS.iter().find(|k| k.1 == entity).map(|k| k.0)
}

/// A record's one-line label.
fn label(r: &Record) -> String {
    let g = |f: &str| r.get(f).unwrap_or("").to_string();
    let s = match r.entity {
        Entity::Users => {
            let name = format!("{} {}", g("givenName"), g("familyName"));
            match r.get("username") {
                Some(u) => format!("{} ({u})", name.trim()),
                None => name.trim().to_string(),
            }
        }
        Entity::Orgs => format!("{} ({})", g("name"), g("type")),
        Entity::Classes | Entity::Courses | Entity::AcademicSessions => g("title"),
        Entity::Roles => format!("{} {} at {}", g("roleType"), g("role"), g("orgSourcedId")),
        Entity::Enrollments => format!("{} in {}", g("role"), g("classSourcedId")),
        _ => String::new(),
    };
    if s.trim().is_empty() {
        r.sourced_id.clone()
    } else {
        s
    }
}

#[derive(Serialize)]
struct Line {
    id: String,
    kind: Option<&'static str>,
    label: String,
    status: &'static str,
    detail: String,
}

fn line(r: &Record, detail: String) -> Line {
    Line {
        id: r.sourced_id.clone(),
        kind: kind_of(r.entity),
        label: label(r),
        status: r.status.as_str(),
        detail,
    }
}

/// `GET /console/roster?kind=users&q=…`.
pub async fn search(req: HttpRequest, state: web::Data<AppState>) -> Result<Reply, ConsoleError> {
    let q = Form::parse(req.query_string().as_bytes());
    let kind = q.get("kind").unwrap_or("users").to_string();
    // Quotes would end the filter's string: the search text is taken without them.
    let text: String = q
        .get("q")
        .unwrap_or_default()
        .chars()
        .filter(|c| *c != '\'')
        .take(100)
        .collect();
    signed_in(&req, &state, None, move |st, conn, admin| {
        let (_, entity, fields) = *KINDS
            .iter()
            .find(|k| k.0 == kind)
            .ok_or_else(|| ConsoleError::BadRequest(format!("cannot search '{kind}'")))?;
        let mut results = Vec::new();
        let mut total = 0;
        if !text.trim().is_empty() {
            let t = text.trim();
            // Users (the big table): prefixes from indexes. The others: "contains", by the
            // filter grammar (a district has a few thousand classes at most).
            let filter = if entity == Entity::Users {
                None
            } else {
                let mut clauses: Vec<String> =
                    fields.iter().map(|f| format!("{f}~'{t}'")).collect();
                clauses.push(format!("sourcedId='{t}'"));
                Some(
                    crate::query::filter::parse(&clauses.join(" OR "))
                        .map_err(|e| ConsoleError::BadRequest(e.to_string()))?,
                )
            };
            let caller = console_caller(None, conn)?;
            let mut roster = Roster::new(conn, &caller, Some(&st.caches));
            let mut spec = ReadSpec::new(
                entity,
                Need::OneOf(&caller.scopes),
                match entity {
                    Entity::Users => vec![Where::Active, Where::UserNamed(t.to_string())],
                    _ => vec![Where::Active],
                },
                MAX_RESULTS + 1,
            );
            // Not counted: counting every match scans the whole table for each new search
            // (~170 ms over 100,000 users); one more than shown says whether there are more.
            spec.filter = filter.as_ref();
            let page = roster.read(&spec)?;
            total = page.records.len() as i64;
            results = page
                .records
                .iter()
                .take(MAX_RESULTS as usize)
                .map(|r| {
                    line(
                        r,
                        r.get(if entity == Entity::Users {
                            "email"
                        } else {
                            "identifier"
                        })
                        .unwrap_or("")
                        .to_string(),
                    )
                })
                .collect::<Vec<_>>();
        }
        let kinds: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
        Ok(ok_page(templates::render(
            "search.html",
            context! { admin => admin.name, csrf => admin.csrf, section => "roster",
            kinds, kind, q => text, results, total, max => MAX_RESULTS },
        )))
    })
    .await
}

#[derive(Serialize)]
struct FieldLine {
    name: &'static str,
    value: String,
    link: Option<String>,
}

#[derive(Serialize)]
struct Section {
    title: String,
    lines: Vec<Line>,
    more: bool,
}

fn related(
    roster: &mut Roster<'_>,
    title: &str,
    entity: Entity,
    conds: Vec<Where>,
    detail: impl Fn(&Record) -> String,
) -> Result<Section, ConsoleError> {
    let all = roster.caller().scopes.clone();
    let mut conds = conds;
    conds.push(Where::Active);
    let mut spec = ReadSpec::new(entity, Need::OneOf(&all), conds, MAX_RELATED);
    spec.count = true;
    let page = roster.read(&spec)?;
    Ok(Section {
        title: format!("{title} ({})", page.total),
        more: page.total > page.records.len() as i64,
        lines: page.records.iter().map(|r| line(r, detail(r))).collect(),
    })
}

/// `GET /console/roster/{kind}/{id}`.
pub async fn record(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<Reply, ConsoleError> {
    let (kind, id) = path.into_inner();
    signed_in(&req, &state, None, move |_, conn, admin| {
        let (_, entity, _) = *KINDS
            .iter()
            .find(|k| k.0 == kind)
            .ok_or_else(|| ConsoleError::NotFound(format!("no such kind '{kind}'")))?;
        let caller = console_caller(None, conn)?;
        let mut roster = Roster::new(conn, &caller, None);
        let all = caller.scopes.clone();
        let page = roster.read(&ReadSpec::new(
            entity,
            Need::OneOf(&all),
            vec![Where::id(id.clone())],
            1,
        ))?;
        let rec = page
            .records
            .into_iter()
            .next()
            .ok_or_else(|| ConsoleError::NotFound(format!("no {kind} '{id}'")))?;
        let mut fields = vec![
            FieldLine {
                name: "sourcedId",
                value: rec.sourced_id.clone(),
                link: None,
            },
            FieldLine {
                name: "status",
                value: rec.status.as_str().into(),
                link: None,
            },
            FieldLine {
                name: "dateLastModified",
                value: rec.date_last_modified.clone().unwrap_or_default(),
                link: None,
            },
        ];
        for (f, v) in entity.fields().iter().zip(&rec.values) {
            let value = v.to_cell();
            if value.is_empty() || f.name == "password" {
                continue;
            }
            let link = match f.kind {
                Kind::Ref(e) => kind_of(e).map(|k| format!("/console/roster/{k}/{value}")),
                _ => None,
            };
            fields.push(FieldLine {
                name: f.name,
                value,
                link,
            });
        }
        let mut sections = Vec::new();
        let rid = rec.sourced_id.clone();
        match entity {
            Entity::Classes => {
                for (title, role) in [("Teachers", "teacher"), ("Students", "student")] {
                    sections.push(related(
                        &mut roster,
                        title,
                        Entity::Users,
                        vec![Where::EnrolledIn {
                            class: rid.clone(),
                            role: role.into(),
                        }],
                        |r| r.get("email").unwrap_or("").to_string(),
                    )?);
                }
                let terms: Vec<String> = rec
                    .get("termSourcedIds")
                    .map(|t| {
                        crate::model::record::list_items(t)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                sections.push(related(
                    &mut roster,
                    "Terms",
                    Entity::AcademicSessions,
                    vec![Where::IdIn(terms)],
                    |r| {
                        format!(
                            "{} {} – {}",
                            r.get("type").unwrap_or(""),
                            r.get("startDate").unwrap_or(""),
                            r.get("endDate").unwrap_or("")
                        )
                    },
                )?);
            }
            Entity::Users => {
                sections.push(related(
                    &mut roster,
                    "Roles",
                    Entity::Roles,
                    vec![Where::Is("userSourcedId", rid.clone())],
                    |_| String::new(),
                )?);
                sections.push(related(
                    &mut roster,
                    "Classes",
                    Entity::Classes,
                    vec![Where::ClassesOf {
                        user: rid.clone(),
                        role: None,
                    }],
                    |r| r.get("classCode").unwrap_or("").to_string(),
                )?);
                sections.push(related(
                    &mut roster,
                    "Enrollments",
                    Entity::Enrollments,
                    vec![Where::Is("userSourcedId", rid.clone())],
                    |r| {
                        if r.get("primary") == Some("true") {
                            "primary".into()
                        } else {
                            String::new()
                        }
                    },
                )?);
                let demo = roster.read(&ReadSpec::new(
                    Entity::Demographics,
                    Need::OneOf(&all),
                    vec![Where::id(rid.clone())],
                    1,
                ))?;
                if let Some(d) = demo.records.first() {
                    let lines = Entity::Demographics
                        .fields()
                        .iter()
                        .zip(&d.values)
                        .filter(|(_, v)| !v.to_cell().is_empty())
                        .map(|(f, v)| Line {
                            id: String::new(),
                            kind: None,
                            label: f.name.to_string(),
                            status: "",
                            detail: v.to_cell(),
                        })
                        .collect();
                    sections.push(Section {
                        title: "Demographics".into(),
                        lines,
                        more: false,
                    });
                }
            }
            Entity::Orgs => {
                sections.push(related(
                    &mut roster,
                    "Orgs below",
                    Entity::Orgs,
                    vec![Where::Is("parentSourcedId", rid.clone())],
                    |_| String::new(),
                )?);
                sections.push(related(
                    &mut roster,
                    "Courses",
                    Entity::Courses,
                    vec![Where::Is("orgSourcedId", rid.clone())],
                    |r| r.get("courseCode").unwrap_or("").to_string(),
                )?);
                sections.push(related(
                    &mut roster,
                    "Classes",
                    Entity::Classes,
                    vec![Where::Is("schoolSourcedId", rid.clone())],
                    |r| r.get("classCode").unwrap_or("").to_string(),
                )?);
            }
            Entity::Courses => {
                sections.push(related(
                    &mut roster,
                    "Classes",
                    Entity::Classes,
                    vec![Where::Is("courseSourcedId", rid.clone())],
                    |r| r.get("classCode").unwrap_or("").to_string(),
                )?);
            }
            _ => {}
        }
        Ok(ok_page(templates::render(
            "record.html",
            context! { admin => admin.name, csrf => admin.csrf, section => "roster",
            kind, title => label(&rec), fields, sections, max => MAX_RELATED },
        )))
    })
    .await
}
