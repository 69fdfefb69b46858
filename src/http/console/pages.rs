//! Sign-in and sign-out, the overview (what the store holds, the last imports, each app's last
//! call and errors) and the audit log.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use minijinja::context;
use serde::Serialize;

use super::{
    html, ok_page, redirect, session, signed_in, templates, ConsoleError, Form, Reply, BASE,
};
use crate::http::handlers::peer_ip;
use crate::http::server::AppState;
use crate::model::catalog::Entity;
use crate::store::{admins, clients, records};

/// Add a `Set-Cookie` header (a value from `session`) to `res`.
fn set_cookie(res: &mut HttpResponse, value: &str) -> Result<(), ConsoleError> {
    let v =
        header::HeaderValue::from_str(value).map_err(|e| ConsoleError::Internal(e.to_string()))?;
    res.headers_mut().append(header::SET_COOKIE, v);
    Ok(())
}

/// Whether the console is served over HTTPS (its cookie is then `Secure`).
pub fn secure(state: &AppState) -> bool {
    state.settings.tls.is_some()
        || state
            .settings
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
}

/// Where to go after signing in: a console path only (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with(BASE) && !n.starts_with("//") && !n.contains("\\") => {
            n.to_string()
        }
        _ => BASE.to_string(),
    }
}

fn login_page(next: &str, name: &str, message: Option<&str>, token: &str) -> String {
    templates::render(
        "login.html",
        context! { next => next, name => name, message => message, login_token => token },
    )
}

/// `GET /console/login`: the form, with a fresh sign-in token in a cookie and in the form
/// (double submit: a sign-in posted from another site carries no matching pair).
pub async fn login_form(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let q = Form::parse(req.query_string().as_bytes());
    let token = session::login_token()?;
    let mut res = html(login_page(&safe_next(q.get("next")), "", None, &token));
    set_cookie(&mut res, &session::set_login_cookie(&token, secure(&state)))?;
    Ok(res)
}

/// `POST /console/login`: name and password; failures are throttled per name and per address.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form = Form::parse(&body);
    let name = form.get("name").unwrap_or_default().to_string();
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let next = safe_next(form.get("next"));
    let login_token = form.get("login_token").unwrap_or_default().to_string();
    let paired = session::login_cookie(&req)
        .is_some_and(|c| crate::http::auth::ct_eq(c.as_bytes(), login_token.as_bytes()));
    if !paired {
        return Err(ConsoleError::Csrf);
    }
    let peer = peer_ip(&req);
    let key = format!("admin:{name}");
    if let Err(wait) = state.console.logins.check(Some(&key), peer.as_deref()) {
        let mut res = html(login_page(
            &next,
            &name,
            Some(&ConsoleError::Throttled(wait).to_string()),
            &login_token,
        ));
        *res.status_mut() = actix_web::http::StatusCode::TOO_MANY_REQUESTS;
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
        return Ok(res);
    }
    let st = state.clone();
    let n = name.clone();
    let token = web::block(move || -> Result<Option<String>, ConsoleError> {
        let mut conn = st.store.conn()?;
        let ok = crate::auth::admins::verify(&mut conn, &n, &password)
            .map_err(|e| ConsoleError::Internal(e.to_string()))?;
        if !ok {
            return Ok(None);
        }
        let token = session::start(&mut conn, &n)?;
        admins::audit(
            &mut conn,
            &crate::model::time::now(),
            &n,
            "console.sign-in",
            "",
        )?;
        Ok(Some(token))
    })
    .await
    .map_err(|e| ConsoleError::Internal(e.to_string()))??;
    match token {
        Some(token) => {
            let mut res = redirect(&next);
            set_cookie(&mut res, &session::set_cookie(Some(&token), secure(&state)))?;
            Ok(res)
        }
        None => {
            state.console.logins.failed(Some(&key), peer.as_deref());
            let mut res = html(login_page(
                &next,
                &name,
                Some("Unknown administrator or wrong password."),
                &login_token,
            ));
            *res.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
            Ok(res)
        }
    }
}

/// `POST /console/logout`: ends the session in the store (on every instance) and clears the
/// cookie.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form = Form::parse(&body);
    let token = session::cookie(&req);
    signed_in(&req, &state, Some(&form), move |_, conn, admin| {
        if let Some(t) = token {
            session::end(conn, &t)?;
        }
        admins::audit(
            conn,
            &crate::model::time::now(),
            &admin.name,
            "console.sign-out",
            "",
        )?;
        Ok(())
    })
    .await?;
    let mut res = redirect(&format!("{BASE}/login"));
    set_cookie(&mut res, &session::set_cookie(None, secure(&state)))?;
    Ok(res)
}

#[derive(Serialize, Clone)]
pub struct EntityCount {
    pub entity: &'static str,
    pub active: i64,
    pub tombstoned: i64,
}

#[derive(Serialize)]
struct ImportLine {
    id: i64,
    started_at: String,
    source: String,
    version: String,
    outcome: String,
    changes: String,
    errors: i64,
    warnings: i64,
}

#[derive(Serialize)]
struct AppLine {
    client_id: String,
    name: String,
    disabled: bool,
    last_call: String,
    requests_today: i64,
    errors_7d: i64,
}

/// Per-entity counts, cached per store generation (recounting a district's enrollments on
/// every overview would take most of the page's time).
pub fn entity_counts(
    state: &AppState,
    conn: &mut crate::store::DbConnection,
) -> Result<Vec<EntityCount>, ConsoleError> {
    let generation = records::generation(conn)?;
    if let Ok(cache) = state.console.counts.lock() {
        if let Some((g, counts)) = cache.as_ref() {
            if *g == generation {
                return Ok(counts.clone());
            }
        }
    }
    let mut out = Vec::new();
    for e in Entity::ALL {
        let (active, tombstoned) = records::counts(conn, e)?;
        out.push(EntityCount {
            entity: e.name(),
            active,
            tombstoned,
        });
    }
    if let Ok(mut cache) = state.console.counts.lock() {
        *cache = Some((generation, out.clone()));
    }
    Ok(out)
}

/// Take the per-entity counts again when the store changed since they were taken (run by the
/// server's background thread every few seconds, so the overview rarely waits for them).
pub fn refresh_counts(state: &AppState) -> Result<(), ConsoleError> {
    let mut conn = state.store.conn()?;
    entity_counts(state, &mut conn).map(|_| ())
}

/// A run's summary as one line: "users +10 ~2 -1".
pub fn changes_line(summary: &str) -> String {
    let parsed: std::collections::BTreeMap<String, crate::ingest::Counts> =
        serde_json::from_str(summary).unwrap_or_default();
    let parts: Vec<String> = parsed
        .iter()
        .filter(|(_, c)| c.changed() > 0)
        .map(|(e, c)| format!("{e} +{} ~{} −{}", c.inserted, c.updated, c.tombstoned))
        .collect();
    if parts.is_empty() {
        "no changes".into()
    } else {
        parts.join(", ")
    }
}

/// The last `n` import runs, for the overview and the imports page.
pub fn import_lines(
    conn: &mut crate::store::DbConnection,
    n: i64,
) -> Result<Vec<impl Serialize>, ConsoleError> {
    Ok(crate::store::imports::list(conn, n)?
        .into_iter()
        .map(|r| ImportLine {
            id: r.id,
            started_at: r.started_at,
            // A package's file name; an upstream sync's label whole ("upstream full URL").
            source: if r.source.starts_with("upstream ") {
                r.source.clone()
            } else {
                std::path::Path::new(&r.source)
                    .file_name()
                    .map_or(r.source.clone(), |f| f.to_string_lossy().into_owned())
            },
            version: r.oneroster_version.unwrap_or_default(),
            changes: changes_line(&r.summary),
            outcome: r.outcome,
            errors: r.error_count,
            warnings: r.warning_count,
        })
        .collect())
}

/// The UTC day `days` ago (`YYYY-MM-DD`).
pub fn day_ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// `GET /console`: the overview.
pub async fn overview(req: HttpRequest, state: web::Data<AppState>) -> Result<Reply, ConsoleError> {
    signed_in(&req, &state, None, |st, conn, admin| {
        let counts: Vec<EntityCount> = entity_counts(st, conn)?
            .into_iter()
            .filter(|c| c.active + c.tombstoned > 0)
            .collect();
        let imports = import_lines(conn, 8)?;
        let _ = st.usage.flush(&st.store);
        let usage = clients::usage(conn, None, &day_ago(6))?;
        let today = day_ago(0);
        let apps: Vec<AppLine> = clients::list(conn)?
            .into_iter()
            .map(|c| {
                let mine = usage.iter().filter(|u| u.client_id == c.client_id);
                AppLine {
                    last_call: mine
                        .clone()
                        .map(|u| u.last_call.clone())
                        .max()
                        .unwrap_or_else(|| "never (last 7 days)".into()),
                    requests_today: mine
                        .clone()
                        .filter(|u| u.day == today)
                        .map(|u| u.requests)
                        .sum(),
                    errors_7d: mine.map(|u| u.errors).sum(),
                    disabled: c.disabled_at.is_some(),
                    client_id: c.client_id,
                    name: c.name,
                }
            })
            .collect();
        Ok(ok_page(templates::render(
            "overview.html",
            context! { admin => admin.name, csrf => admin.csrf, section => "overview",
            counts, imports, apps },
        )))
    })
    .await
}

/// `GET /console/audit`: the newest 500 administrative changes.
pub async fn audit(req: HttpRequest, state: web::Data<AppState>) -> Result<Reply, ConsoleError> {
    signed_in(&req, &state, None, |_, conn, admin| {
        #[derive(Serialize)]
        struct Line {
            at: String,
            actor: String,
            action: String,
            detail: String,
        }
        let entries: Vec<Line> = admins::audit_entries(conn, 500)?
            .into_iter()
            .map(|a| Line {
                at: a.at,
                actor: a.actor,
                action: a.action,
                detail: a.detail,
            })
            .collect();
        Ok(ok_page(templates::render(
            "audit.html",
            context! { admin => admin.name, csrf => admin.csrf, section => "audit", entries },
        )))
    })
    .await
}
