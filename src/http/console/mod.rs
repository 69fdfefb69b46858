//! The administrators' web console at `/console`: server-rendered pages (minijinja templates
//! compiled into the binary, [`templates`]), sessions in the store ([`session`]), and the pages
//! themselves: the overview and audit log ([`pages`]), package imports with a validation report
//! and a preview ([`imports`]), apps and what each may see ([`apps`]) and the roster browser
//! ([`browse`]). Every page reads and writes through the same store, roster service and client
//! registry as the APIs; every change is recorded in the audit log. Forms work without
//! JavaScript; every POST carries the session's CSRF token.

pub mod apps;
pub mod browse;
pub mod imports;
pub mod pages;
pub mod session;
pub mod templates;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use super::server::AppState;
use crate::store::DbConnection;
pub use session::Admin;

/// Where the console is mounted.
pub const BASE: &str = "/console";

/// What the console keeps besides the store: upload jobs and the login throttle.
#[derive(Default)]
pub struct Console {
    pub jobs: imports::Jobs,
    pub logins: super::ratelimit::AuthThrottle,
    /// The overview's per-entity counts and the store generation they were taken at.
    pub counts: std::sync::Mutex<Option<(i64, Vec<pages::EntityCount>)>>,
}

/// Why a console request failed; answered as an HTML page (or a redirect to the login).
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("please sign in")]
    SignedOut(String),
    #[error(
        "this form has expired or did not come from the console; reload the page and try again"
    )]
    Csrf,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("too many failed sign-ins; try again in {0} seconds")]
    Throttled(u64),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for ConsoleError {
    fn from(e: diesel::result::Error) -> Self {
        ConsoleError::Internal(e.to_string())
    }
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(e: crate::store::StoreError) -> Self {
        ConsoleError::Internal(e.to_string())
    }
}

impl From<crate::auth::AuthError> for ConsoleError {
    fn from(e: crate::auth::AuthError) -> Self {
        ConsoleError::Internal(e.to_string())
    }
}

impl From<crate::roster::ReadError> for ConsoleError {
    fn from(e: crate::roster::ReadError) -> Self {
        match e {
            crate::roster::ReadError::Filter(f) => ConsoleError::BadRequest(f.to_string()),
            e @ crate::roster::ReadError::Masked(_) => ConsoleError::BadRequest(e.to_string()),
            other => ConsoleError::Internal(other.to_string()),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignedOut(_) => StatusCode::SEE_OTHER,
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ConsoleError::SignedOut(next) = self {
            let to = format!(
                "{BASE}/login?next={}",
                form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            return redirect(&to);
        }
        if let ConsoleError::Internal(e) = self {
            tracing::error!(error = %e, "console");
        }
        let body = templates::render(
            "error.html",
            minijinja::context! { status => self.status_code().as_u16(), message => self.to_string() },
        );
        let mut res = html(body);
        *res.status_mut() = self.status_code();
        res
    }
}

/// A `303 See Other` to `to` (after a POST, the page to show next).
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// An HTML page with the console's security headers: never cached, never framed, scripts,
/// styles and form targets from the console itself only.
pub fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ))
        .body(body)
}

/// What a console handler answers, built off the async workers (an `HttpResponse` cannot
/// cross threads): a page (with its status) or a redirect.
#[derive(Debug)]
pub enum Reply {
    Page(String, StatusCode),
    Redirect(String),
}

impl Reply {
    /// The same page with another status.
    pub fn with_status(self, status: StatusCode) -> Reply {
        match self {
            Reply::Page(body, _) => Reply::Page(body, status),
            other => other,
        }
    }
}

/// A `200 OK` page.
pub fn ok_page(body: String) -> Reply {
    Reply::Page(body, StatusCode::OK)
}

/// A `303 See Other` to `to`.
pub fn see_other(to: String) -> Reply {
    Reply::Redirect(to)
}

impl actix_web::Responder for Reply {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        match self {
            Reply::Page(body, status) => {
                let mut res = html(body);
                *res.status_mut() = status;
                res
            }
            Reply::Redirect(to) => redirect(&to),
        }
    }
}

/// A form body (`application/x-www-form-urlencoded`), with repeated keys kept (checkboxes).
#[derive(Debug, Default, Clone)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `key`, trimmed.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim())
    }

    /// Every non-empty value of `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }
}

/// Run `f` for a signed-in administrator on a pooled connection, off the async workers. The
/// session comes from the request's cookie; a POST must carry its CSRF token in `form`.
pub async fn signed_in<T, F>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    form: Option<&Form>,
    f: F,
) -> Result<T, ConsoleError>
where
    T: Send + 'static,
    F: FnOnce(&AppState, &mut DbConnection, &Admin) -> Result<T, ConsoleError> + Send + 'static,
{
    let token = session::cookie(req);
    let next = match req.method() == actix_web::http::Method::GET {
        true => req
            .uri()
            .path_and_query()
            .map_or(BASE.to_string(), |p| p.to_string()),
        false => BASE.to_string(),
    };
    let csrf = form.map(|form| form.get("csrf").unwrap_or_default().to_string());
    let st = state.clone();
    web::block(move || {
        let mut conn = st.store.conn()?;
        let admin = match token {
            Some(t) => session::check(&mut conn, &t)?,
            None => None,
        };
        let Some(admin) = admin else {
            return Err(ConsoleError::SignedOut(next));
        };
        if let Some(given) = csrf {
            if !super::auth::ct_eq(given.as_bytes(), admin.csrf.as_bytes()) {
                return Err(ConsoleError::Csrf);
            }
        }
        f(&st, &mut conn, &admin)
    })
    .await
    .map_err(|e| ConsoleError::Internal(e.to_string()))?
}

/// The console's routes, under [`BASE`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .app_data(web::PayloadConfig::new(64 * 1024))
            .route("", web::get().to(pages::overview))
            .route("/", web::get().to(pages::overview))
            .route("/login", web::get().to(pages::login_form))
            .route("/login", web::post().to(pages::login))
            .route("/logout", web::post().to(pages::logout))
            .route("/audit", web::get().to(pages::audit))
            .route("/assets/{name}", web::get().to(templates::asset))
            .route("/imports", web::get().to(imports::list))
            .route("/imports", web::post().to(imports::upload))
            .route("/imports/{job}", web::get().to(imports::show))
            .route("/imports/{job}/apply", web::post().to(imports::apply))
            .route("/imports/{job}/cancel", web::post().to(imports::cancel))
            .route("/imports/runs/{id}/undo", web::post().to(imports::undo))
            .route("/imports/sync", web::post().to(imports::sync_now))
            .route("/apps", web::get().to(apps::list))
            .route("/apps/new", web::get().to(apps::new_form))
            .route("/apps/new", web::post().to(apps::create))
            .route("/apps/{id}", web::get().to(apps::show))
            .route("/apps/{id}", web::post().to(apps::change))
            .route("/apps/{id}/view", web::get().to(apps::view_as))
            .route("/roster", web::get().to(browse::search))
            .route("/roster/{kind}/{id}", web::get().to(browse::record)),
    );
}
