//! The console's templates and assets, compiled into the binary (no CDN: the console works
//! offline). Templates are Jinja (minijinja), HTML-escaped by default.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use minijinja::Environment;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("error.html", include_str!("templates/error.html")),
    ("login.html", include_str!("templates/login.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("imports.html", include_str!("templates/imports.html")),
    ("import_job.html", include_str!("templates/import_job.html")),
    ("apps.html", include_str!("templates/apps.html")),
    ("app_form.html", include_str!("templates/app_form.html")),
    ("app_secret.html", include_str!("templates/app_secret.html")),
    ("app.html", include_str!("templates/app.html")),
    ("app_view.html", include_str!("templates/app_view.html")),
    (
        "scopes_orgs.html",
        include_str!("templates/scopes_orgs.html"),
    ),
    ("search.html", include_str!("templates/search.html")),
    ("record.html", include_str!("templates/record.html")),
];

const CSS: &str = include_str!("templates/console.css");

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "console template does not parse");
            }
        }
        env
    })
}

/// Render template `name` with `ctx`; a template error becomes a plain error page (and is
/// logged), never a panic.
pub fn render(name: &str, ctx: minijinja::Value) -> String {
    match env().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(template = name, error = %e, "console template failed");
            format!(
                "<!doctype html><title>Error</title><p>The page could not be drawn ({name}).</p>"
            )
        }
    }
}

/// `GET /console/assets/{name}`: the embedded stylesheet.
pub async fn asset(name: web::Path<String>) -> HttpResponse {
    match name.as_str() {
        "console.css" => HttpResponse::Ok()
            .content_type("text/css; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(CSS),
        _ => HttpResponse::NotFound().finish(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        for (name, _) in super::TEMPLATES {
            assert!(super::env().get_template(name).is_ok(), "{name}");
        }
    }
}
