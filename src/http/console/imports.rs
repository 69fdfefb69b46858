//! Package imports from the console: upload (streamed to a private temporary folder), then a
//! background validation and preview (the importer applying in a transaction it rolls back),
//! shown as the validation report (file, line, column, rule; paged) or as what would change per
//! entity, with the mass-deletion guard's findings; then apply (with the guard's confirmation
//! when it objects) or cancel. The server never blocks on a package: the work runs on a thread
//! of its own and the page refreshes itself (no JavaScript) while it runs. Every run lands in
//! the import history. Jobs are this instance's own; the store's import lock serialises applies
//! across instances.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use minijinja::context;
use serde::Serialize;

use super::pages::import_lines;
use super::{ok_page, see_other, signed_in, templates, Admin, ConsoleError, Form, Reply, BASE};
use crate::http::server::AppState;
use crate::ingest::{self, ImportOptions, ImportReport, MassDeleteGuard, Outcome};
use crate::store::admins;

/// The largest package accepted.
pub const MAX_UPLOAD: u64 = 2 << 30;
/// Diagnostics per page of the validation report.
const PER_PAGE: usize = 50;
/// Jobs left alone this long are forgotten (and their upload deleted).
const JOB_TTL_SECS: u64 = 6 * 3600;

#[derive(Debug, Clone, Serialize)]
pub struct DiagLine {
    severity: &'static str,
    file: String,
    line: u64,
    column: String,
    rule: &'static str,
    message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CountLine {
    entity: &'static str,
    rows: u64,
    inserted: u64,
    updated: u64,
    unchanged: u64,
    tombstoned: u64,
}

/// What a validation, preview or apply found.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    outcome: &'static str,
    version: String,
    errors: u64,
    warnings: u64,
    diags: Vec<DiagLine>,
    counts: Vec<CountLine>,
    /// The mass-deletion guard's objections.
    mass_delete: Vec<String>,
    secs: f64,
}

impl Summary {
    fn of(r: &ImportReport, secs: f64) -> Summary {
        Summary {
            outcome: r.outcome.as_str(),
            version: r
                .version
                .map(|v| v.as_str().to_string())
                .unwrap_or_default(),
            errors: r.diags.errors,
            warnings: r.diags.warnings,
            diags: r
                .diags
                .list
                .iter()
                .map(|d| DiagLine {
                    severity: match d.severity {
                        ingest::Severity::Error => "error",
                        ingest::Severity::Warning => "warning",
                    },
                    file: d.file.clone(),
                    line: d.line,
                    column: d.column.clone(),
                    rule: d.rule,
                    message: d.message.clone(),
                })
                .collect(),
            counts: r
                .counts
                .iter()
                .map(|(e, c)| CountLine {
                    entity: e.name(),
                    rows: r.rows.get(e).copied().unwrap_or(0),
                    inserted: c.inserted,
                    updated: c.updated,
                    unchanged: c.unchanged,
                    tombstoned: c.tombstoned,
                })
                .collect(),
            mass_delete: r.mass_delete.iter().map(|m| m.to_string()).collect(),
            secs,
        }
    }
}

#[derive(Debug, Clone)]
pub enum JobState {
    Validating,
    Previewed(Summary),
    Applying,
    Done(Summary),
    Failed(String),
    Cancelled,
}

pub struct Job {
    pub id: String,
    pub file_name: String,
    dir: PathBuf,
    path: PathBuf,
    pub admin: String,
    pub bytes: u64,
    rows: Arc<AtomicU64>,
    /// Validation has finished (the preview's apply may still run).
    validated: Arc<std::sync::atomic::AtomicBool>,
    since: Mutex<Instant>,
    created: Instant,
    state: Mutex<JobState>,
}

impl Job {
    fn state(&self) -> JobState {
        match self.state.lock() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set(&self, s: JobState) {
        match self.state.lock() {
            Ok(mut g) => *g = s,
            Err(p) => *p.into_inner() = s,
        }
    }

    fn restart_clock(&self) {
        self.rows.store(0, Ordering::Relaxed);
        self.validated.store(false, Ordering::Relaxed);
        if let Ok(mut t) = self.since.lock() {
            *t = Instant::now();
        }
    }

    fn elapsed(&self) -> f64 {
        self.since
            .lock()
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(0.0)
    }

    fn remove_upload(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// This instance's upload jobs.
#[derive(Default)]
pub struct Jobs {
    map: Mutex<HashMap<String, Arc<Job>>>,
}

impl Jobs {
    fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.map.lock().ok()?.get(id).cloned()
    }

    fn add(&self, job: Arc<Job>) {
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, j| {
                let keep = j.created.elapsed().as_secs() < JOB_TTL_SECS
                    || matches!(j.state(), JobState::Validating | JobState::Applying);
                if !keep {
                    j.remove_upload();
                }
                keep
            });
            map.insert(job.id.clone(), job);
        }
    }

    fn active(&self) -> Vec<Arc<Job>> {
        let mut v: Vec<Arc<Job>> = self
            .map
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        v.retain(|j| {
            matches!(
                j.state(),
                JobState::Validating | JobState::Previewed(_) | JobState::Applying
            )
        });
        v.sort_by_key(|j| std::cmp::Reverse(j.created));
        v
    }
}

fn random_id() -> Result<String, ConsoleError> {
    let mut raw = [0u8; 12];
    getrandom::getrandom(&mut raw).map_err(|e| ConsoleError::Internal(e.to_string()))?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// A file name safe to keep: the upload's base name, letters, digits, `.`, `-`, `_` only.
fn safe_name(given: &str) -> String {
    let base = given.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.').to_string();
    if clean.is_empty() {
        "package.zip".into()
    } else if clean.to_ascii_lowercase().ends_with(".zip") {
        clean
    } else {
        format!("{clean}.zip")
    }
}

#[derive(Serialize)]
struct JobLine {
    id: String,
    file_name: String,
    state: &'static str,
}

fn state_name(s: &JobState) -> &'static str {
    match s {
        JobState::Validating => "validating",
        JobState::Previewed(_) => "waiting for your decision",
        JobState::Applying => "applying",
        JobState::Done(_) => "done",
        JobState::Failed(_) => "failed",
        JobState::Cancelled => "cancelled",
    }
}

/// `POST /console/imports/runs/{id}/undo`: undo a committed import (`ingest::undo`); refused
/// with its reason (later imports changed the same records, naming them).
pub async fn undo(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<Reply, ConsoleError> {
    let id = id.into_inner();
    let form = Form::parse(&body);
    signed_in(
        &req,
        &state,
        Some(&form),
        move |st, conn, admin| match crate::ingest::undo::undo(&st.store, id) {
            Ok(report) if report.outcome == crate::ingest::Outcome::Committed => {
                admins::audit(
                    conn,
                    &crate::model::time::now(),
                    &admin.name,
                    "import.undo",
                    &format!("import {id}"),
                )?;
                Ok(see_other(format!("{BASE}/imports?undone={id}")))
            }
            Ok(report) => {
                let first: Vec<String> = report
                    .diags
                    .errors()
                    .take(5)
                    .map(|d| format!("{} line {}, {}: {}", d.file, d.line, d.column, d.message))
                    .collect();
                Err(ConsoleError::BadRequest(format!(
                    "The undo of import {id} was refused: {}",
                    first.join("; ")
                )))
            }
            Err(e) => Err(ConsoleError::BadRequest(format!(
                "Import {id} cannot be undone: {e}"
            ))),
        },
    )
    .await
}

/// `POST /console/imports/sync` (`full=1`: a full sync): start a sync of the configured
/// upstream now, on a thread of its own; the page says whether it started or one was running.
pub async fn sync_now(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<Reply, ConsoleError> {
    let form = Form::parse(&body);
    let full = form.get("full") == Some("1");
    signed_in(&req, &state, Some(&form), move |st, conn, admin| {
        let Some(u) = st.settings.upstream.clone() else {
            return Err(ConsoleError::BadRequest(
                "No SIS upstream is configured (serve --upstream URL …).".into(),
            ));
        };
        let started = u.start(st.store.clone(), full);
        if started {
            let kind = if full { "full" } else { "delta" };
            admins::audit(
                conn,
                &crate::model::time::now(),
                &admin.name,
                "import.sync",
                &format!("{kind} sync of {}", u.config().base),
            )?;
        }
        let outcome = if started { "started" } else { "busy" };
        Ok(see_other(format!("{BASE}/imports?sync={outcome}")))
    })
    .await
}

/// What the imports page shows of the SIS upstream.
#[derive(Serialize)]
struct UpstreamLine {
    url: String,
    version: &'static str,
    schedule: String,
    running: bool,
    last: Option<String>,
    push: bool,
}

/// `GET /console/imports`: the upload form, the SIS upstream (sync now), jobs in progress and
/// the history of runs.
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<Reply, ConsoleError> {
    let q = Form::parse(req.query_string().as_bytes());
    let undone: Option<i64> = q.get("undone").and_then(|v| v.parse().ok());
    let sync: Option<String> = q
        .get("sync")
        .filter(|v| *v == "started" || *v == "busy")
        .map(str::to_string);
    signed_in(&req, &state, None, move |st, conn, admin| {
        let runs = import_lines(conn, 100)?;
        let jobs: Vec<JobLine> = st
            .console
            .jobs
            .active()
            .iter()
            .map(|j| JobLine {
                id: j.id.clone(),
                file_name: j.file_name.clone(),
                state: state_name(&j.state()),
            })
            .collect();
        let upstream = st.settings.upstream.as_ref().map(|u| {
            let every = |d: std::time::Duration| format!("{} min", d.as_secs().div_ceil(60));
            UpstreamLine {
                url: u.config().base.clone(),
                version: u.config().version.as_str(),
                schedule: match u.schedule() {
                    Some(s) => match s.full_every {
                        Some(f) => format!("every {}, full every {}", every(s.every), every(f)),
                        None => format!("every {}", every(s.every)),
                    },
                    None => "on demand only".into(),
                },
                running: u.running(),
                last: u.last(),
                push: u.config().push_grades,
            }
        });
        Ok(ok_page(templates::render(
            "imports.html",
            context! { admin => admin.name, csrf => admin.csrf, section => "imports", runs, jobs, undone, upstream, sync },
        )))
    })
    .await
}

/// `POST /console/imports` (multipart: `csrf`, then `package`): store the upload and start its
/// validation and preview; answers at once with the job's page.
pub async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    mut payload: actix_multipart::Multipart,
) -> Result<Reply, ConsoleError> {
    let mut admin: Option<Admin> = None;
    let mut saved: Option<(String, PathBuf, PathBuf, u64)> = None;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
        let name = field.name().unwrap_or_default().to_string();
        if name == "csrf" {
            let mut value = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
                if value.len() + chunk.len() > 256 {
                    return Err(ConsoleError::Csrf);
                }
                value.extend_from_slice(&chunk);
            }
            let form = Form(vec![(
                "csrf".into(),
                String::from_utf8_lossy(&value).into_owned(),
            )]);
            admin = Some(signed_in(&req, &state, Some(&form), |_, _, a| Ok(a.clone())).await?);
        } else if name == "package" {
            // The session and token come first in the form: nothing is written for a forged post.
            if admin.is_none() {
                return Err(ConsoleError::Csrf);
            }
            let file_name = safe_name(
                field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .unwrap_or("package.zip"),
            );
            let dir = std::env::temp_dir().join(format!("rosterbridge-upload-{}", random_id()?));
            let path = dir.join(&file_name);
            let (d, p) = (dir.clone(), path.clone());
            let mut file = web::block(move || -> std::io::Result<std::fs::File> {
                std::fs::create_dir_all(&d)?;
                std::fs::File::create(&p)
            })
            .await
            .map_err(|e| ConsoleError::Internal(e.to_string()))?
            .map_err(|e| ConsoleError::Internal(e.to_string()))?;
            let mut bytes = 0u64;
            let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
                bytes += chunk.len() as u64;
                if bytes > MAX_UPLOAD {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(ConsoleError::BadRequest(format!(
                        "the package is larger than {} GiB",
                        MAX_UPLOAD >> 30
                    )));
                }
                buf.extend_from_slice(&chunk);
                if buf.len() >= 4 << 20 {
                    let out = std::mem::take(&mut buf);
                    file = web::block(move || file.write_all(&out).map(|_| file))
                        .await
                        .map_err(|e| ConsoleError::Internal(e.to_string()))?
                        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
                }
            }
            web::block(move || file.write_all(&buf).and_then(|_| file.sync_all()))
                .await
                .map_err(|e| ConsoleError::Internal(e.to_string()))?
                .map_err(|e| ConsoleError::Internal(e.to_string()))?;
            saved = Some((file_name, dir, path, bytes));
        }
    }
    let Some(admin) = admin else {
        return Err(ConsoleError::Csrf);
    };
    let Some((file_name, dir, path, bytes)) = saved.filter(|s| s.3 > 0) else {
        return Err(ConsoleError::BadRequest(
            "choose a package (a .zip file) to upload".into(),
        ));
    };
    let job = Arc::new(Job {
        id: random_id()?,
        file_name,
        dir,
        path,
        admin: admin.name.clone(),
        bytes,
        rows: Arc::new(AtomicU64::new(0)),
        validated: Default::default(),
        since: Mutex::new(Instant::now()),
        created: Instant::now(),
        state: Mutex::new(JobState::Validating),
    });
    state.console.jobs.add(job.clone());
    run_job(state.clone(), job.clone(), true, false);
    Ok(see_other(format!("{BASE}/imports/{}", job.id)))
}

/// Validate and preview (`preview`), or apply (with the guard's confirmation `allow`), on a
/// thread of its own.
fn run_job(state: web::Data<AppState>, job: Arc<Job>, preview: bool, allow: bool) {
    job.restart_clock();
    std::thread::spawn(move || {
        let opts = ImportOptions {
            preview,
            rows_done: Some(job.rows.clone()),
            validated: Some(job.validated.clone()),
            mass_delete: MassDeleteGuard {
                allow,
                ..MassDeleteGuard::default()
            },
            ..ImportOptions::default()
        };
        let t0 = Instant::now();
        let result = ingest::import(&state.store, &job.path, &opts);
        let secs = t0.elapsed().as_secs_f64();
        let next = match result {
            Ok(report) if preview && report.outcome == Outcome::Preview => {
                JobState::Previewed(Summary::of(&report, secs))
            }
            Ok(report) if preview => {
                // Rejected by validation: nothing to apply.
                job.remove_upload();
                JobState::Done(Summary::of(&report, secs))
            }
            Ok(report) => {
                job.remove_upload();
                let summary = Summary::of(&report, secs);
                let detail = format!(
                    "{}: {} ({})",
                    job.file_name,
                    summary.outcome,
                    summary
                        .counts
                        .iter()
                        .filter(|c| c.inserted + c.updated + c.tombstoned > 0)
                        .map(|c| format!(
                            "{} +{} ~{} -{}",
                            c.entity, c.inserted, c.updated, c.tombstoned
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let action = if allow {
                    "import.apply-confirmed-deletions"
                } else {
                    "import.apply"
                };
                if let Ok(mut conn) = state.store.conn() {
                    let _ = admins::audit(
                        &mut conn,
                        &crate::model::time::now(),
                        &job.admin,
                        action,
                        &detail,
                    );
                }
                JobState::Done(summary)
            }
            Err(e) => {
                job.remove_upload();
                JobState::Failed(e.to_string())
            }
        };
        job.set(next);
    });
}

fn job_of(state: &AppState, id: &str) -> Result<Arc<Job>, ConsoleError> {
    state.console.jobs.get(id).ok_or_else(|| {
        ConsoleError::NotFound(format!(
            "no upload '{id}' on this server (uploads are kept {} hours)",
            JOB_TTL_SECS / 3600
        ))
    })
}

/// `GET /console/imports/{job}?page=N`.
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Reply, ConsoleError> {
    let q = Form::parse(req.query_string().as_bytes());
    let page: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let id = id.into_inner();
    signed_in(&req, &state, None, move |st, _, admin| {
        let job = job_of(st, &id)?;
        let s = job.state();
        let running = matches!(s, JobState::Validating | JobState::Applying);
        let (summary, failed) = match &s {
            JobState::Previewed(x) | JobState::Done(x) => (Some(x.clone()), None),
            JobState::Failed(e) => (None, Some(e.clone())),
            _ => (None, None),
        };
        let (diags, pages) = match &summary {
            Some(x) => {
                let pages = x.diags.len().div_ceil(PER_PAGE).max(1);
                let start = (page.min(pages) - 1) * PER_PAGE;
                (
                    x.diags
                        .iter()
                        .skip(start)
                        .take(PER_PAGE)
                        .cloned()
                        .collect::<Vec<_>>(),
                    pages,
                )
            }
            None => (Vec::new(), 1),
        };
        Ok(ok_page(templates::render(
            "import_job.html",
            context! { admin => admin.name, csrf => admin.csrf, section => "imports",
            id => job.id, file_name => job.file_name, bytes => job.bytes,
            state => state_name(&s), running, previewed => matches!(s, JobState::Previewed(_)),
            rows => job.rows.load(Ordering::Relaxed), validated => job.validated.load(Ordering::Relaxed),
            elapsed => format!("{:.1}", job.elapsed()),
            summary, failed, diags, page => page.min(pages), pages,
            listed_max => ingest::diag::MAX_LISTED },
        )))
    })
    .await
}

/// `POST /console/imports/{job}/apply` (`confirm=yes` when the guard objected).
pub async fn apply(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<Reply, ConsoleError> {
    let form = Form::parse(&body);
    let id = id.into_inner();
    let confirm = form.get("confirm") == Some("yes");
    let st = state.clone();
    let job = signed_in(&req, &state, Some(&form), move |s, _, _| {
        let job = job_of(s, &id)?;
        let JobState::Previewed(summary) = job.state() else {
            return Err(ConsoleError::BadRequest("this upload is not waiting to be applied".into()));
        };
        if summary.errors > 0 {
            return Err(ConsoleError::BadRequest("a package with errors cannot be applied".into()));
        }
        if !summary.mass_delete.is_empty() && !confirm {
            return Err(ConsoleError::BadRequest(
                "this import would tombstone more than the mass-deletion guard allows; tick the confirmation to apply it".into(),
            ));
        }
        job.set(JobState::Applying);
        Ok(job)
    })
    .await?;
    run_job(st, job.clone(), false, confirm);
    Ok(see_other(format!("{BASE}/imports/{}", job.id)))
}

/// `POST /console/imports/{job}/cancel`.
pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<Reply, ConsoleError> {
    let form = Form::parse(&body);
    let id = id.into_inner();
    signed_in(&req, &state, Some(&form), move |s, conn, admin| {
        let job = job_of(s, &id)?;
        if !matches!(job.state(), JobState::Previewed(_)) {
            return Err(ConsoleError::BadRequest(
                "only an upload waiting to be applied can be cancelled".into(),
            ));
        }
        job.set(JobState::Cancelled);
        job.remove_upload();
        admins::audit(
            conn,
            &crate::model::time::now(),
            &admin.name,
            "import.cancel",
            &job.file_name,
        )?;
        Ok(see_other(format!("{BASE}/imports")))
    })
    .await
}
