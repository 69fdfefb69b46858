//! The actix-web server: settings, shared state, the route registration driven by
//! [`super::routes::ROSTERING`], the request log/metrics middleware, and start/stop. Handlers live in
//! [`super::handlers`]; they are thin and push every Diesel call onto the blocking pool.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::{ServerHandle, Service};
use actix_web::{web, App, HttpMessage, HttpServer};

use super::handlers;
use super::metrics::Metrics;
use super::ratelimit::RateLimiter;

use crate::store::Store;

/// Resolved server settings (flags > environment > TOML file > defaults; see the CLI).
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: String,
    /// External base URL (`https://rb.example.org`) used in hrefs, links and discovery;
    /// `None`: taken from each request's Host header.
    pub public_url: Option<String>,
    /// Largest `limit` honoured (larger ones are clamped).
    pub max_limit: i64,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// Requests per second per client; `None`: no limit.
    pub rate_limit: Option<f64>,
    /// OAuth 1.0a timestamp window: seconds in the past and in the future accepted.
    pub oauth1_past_secs: i64,
    pub oauth1_future_secs: i64,
    /// The key client secrets are derived from (needed to verify OAuth 1.0a signatures).
    pub server_key: Option<crate::auth::oauth1::ServerKey>,
    /// Benchmarks only: serve `GET /bench/fixed`, a constant JSON body of this many bytes
    /// (no auth, no database), as the ceiling of the HTTP stack.
    pub bench_fixed_bytes: Option<usize>,
    /// HTTPS: PEM certificate chain and private key files; `None`: plain HTTP.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Trust a reverse proxy's forwarded headers (client address, scheme, host); off: the
    /// peer address and the Host header only.
    pub trust_forwarded: bool,
    /// The SIS upstream synced on a schedule and from the console (`--upstream …`).
    pub upstream: Option<crate::upstream::Syncer>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            max_limit: 10_000,
            workers: 0,
            rate_limit: None,
            oauth1_past_secs: 600,
            oauth1_future_secs: 300,
            server_key: None,
            bench_fixed_bytes: None,
            tls: None,
            trust_forwarded: false,
            upstream: None,
        }
    }
}

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    pub settings: Settings,
    pub metrics: Metrics,
    pub limiter: Option<RateLimiter>,
    /// The constant body of `GET /bench/fixed`, when enabled.
    pub fixed_body: Option<web::Bytes>,
    /// Recently verified bearer tokens and HTTP Basic pairs.
    pub credentials: super::auth::CredentialCache,
    /// The roster service's caches (counts and page ends, empty tables), per store generation.
    pub caches: crate::roster::Caches,
    /// Failed authentications per client id and peer address.
    pub auth_throttle: super::ratelimit::AuthThrottle,
    /// Group commit of the REST writes.
    pub writes: super::rest::write::Writes,
    /// The web console's upload jobs, sign-in throttle and overview cache.
    pub console: super::console::Console,
    /// Per-app request counts, written to the store every few seconds.
    pub usage: super::usage::Usage,
}

/// The route-table pattern a request matched, for the request log and metrics.
#[derive(Debug, Clone)]
pub struct RoutePattern(pub String);

/// The client id a handler authenticated, for the request log.
#[derive(Debug, Clone)]
pub struct ClientId(pub String);

/// Register every route on `cfg`.
/// Register every route on `cfg`: per version, one handler for the whole base path that
/// looks the operation up in [`super::routes::ROSTERING`] (actix would otherwise try one regex per route).
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Every path answers another method with 405 and `Allow` (imsx body; a Fault on LIS).
    let only = |allow: &'static str| web::to(move |req| handlers::method_not_allowed(req, allow));
    cfg.service(
        web::resource("/oauth/token")
            .route(web::post().to(super::token::token))
            .default_service(only("POST")),
    )
    .service(
        web::resource("/healthz")
            .route(web::get().to(handlers::healthz))
            .default_service(only("GET")),
    )
    .service(
        web::resource("/metrics")
            .route(web::get().to(handlers::metrics))
            .default_service(only("GET")),
    );
    for service in crate::soap::wsdl::SERVICES {
        cfg.service(
            web::resource(service.path)
                .app_data(web::PayloadConfig::new(super::lis::MAX_BODY))
                .route(web::get().to(move |req| handlers::wsdl(req, service)))
                .route(
                    web::post()
                        .to(move |req, state, body| super::lis::post(req, state, body, service)),
                )
                .default_service(only("GET, POST")),
        );
    }
    super::console::configure(cfg);
    cfg.service(
        web::resource(super::lis::BULK_PATH)
            .app_data(web::PayloadConfig::new(super::lis::MAX_BODY))
            .route(web::post().to(super::lis::post_bulk))
            .default_service(only("POST")),
    );
    // Every REST service of both versions, and the 1.2 discovery documents: one resource,
    // dispatched by base-path prefix in code (actix would otherwise try a regex per service).
    cfg.service(
        web::resource("/ims/oneroster/{tail:.*}")
            .app_data(web::PayloadConfig::new(super::rest::write::MAX_BODY))
            .route(web::get().to(super::rest::read::get))
            .default_service(web::to(super::rest::read::other_method)),
    );
}

/// Errors actix answers by itself (a body over the size limit, 413; an unreadable body, 400)
/// come as plain text; they are given the binding's error form: the imsx status body on
/// REST, a SOAP Fault on the LIS services.
fn binding_error_body(res: actix_web::dev::ServiceResponse) -> actix_web::dev::ServiceResponse {
    let status = res.status();
    use actix_web::http::StatusCode;
    if !(status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE) {
        return res;
    }
    let plain = res
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !plain {
        return res;
    }
    let why = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "the request body is larger than this endpoint accepts".to_string()
    } else {
        "the request could not be read".to_string()
    };
    let req = res.request().clone();
    let body = handlers::binding_error(&req, status, &why);
    actix_web::dev::ServiceResponse::new(req, body)
}

/// A running server (tests and `serve`).
pub struct Running {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Stop gracefully (in-flight requests finish) and wait.
    pub fn stop(mut self) {
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(handle.stop(true));
        })
        .join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Block until the server exits (on SIGINT/SIGTERM, after in-flight requests finish).
    pub fn wait(mut self) -> std::io::Result<()> {
        match self.thread.take() {
            Some(t) => t.join().unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

/// The TLS settings of `serve --tls-cert CERT --tls-key KEY`: the PEM certificate chain and
/// private key, TLS 1.2 and 1.3 (rustls with the ring provider); actix offers HTTP/2 and
/// HTTP/1.1 by ALPN.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> std::io::Result<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &std::path::Path, e: &dyn std::fmt::Display| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}: {e}", what.display()),
        )
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, &e))?;
    if certs.is_empty() {
        return Err(bad(cert, &"no PEM certificate in the file"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, &e))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(cert, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| bad(key, &e))
}

/// Bind and start serving on a thread of its own; returns once the socket is bound.
pub fn start(store: Store, settings: Settings) -> std::io::Result<Running> {
    let limiter = settings.rate_limit.map(RateLimiter::new);
    let workers = if settings.workers == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        settings.workers
    };
    // Blocking threads per worker: together, as many as the pool has connections. More only
    // wait for a connection, and each request then lands on a different thread whose memory
    // the allocator has meanwhile returned to the OS (10 ms purge) and must fault in again
    // (measured: see docs/PERFORMANCE.md).
    let blocking = (store.max_connections() as usize).div_ceil(workers).max(1);
    let bind = settings.bind.clone();
    let fixed_body = settings.bench_fixed_bytes.map(handlers::fixed_body);
    let bench = fixed_body.is_some();
    let state = Arc::new(AppState {
        store,
        settings,
        metrics: Metrics::default(),
        limiter,
        fixed_body,
        caches: Default::default(),
        auth_throttle: Default::default(),
        credentials: Default::default(),
        writes: Default::default(),
        console: Default::default(),
        usage: Default::default(),
    });
    // Every few seconds, until the server's state is dropped: usage counts reach the store,
    // and the console's per-entity counts are taken again if the store changed.
    let weak = Arc::downgrade(&state);
    std::thread::spawn(move || loop {
        match weak.upgrade() {
            Some(s) => {
                if let Err(e) = s.usage.flush(&s.store) {
                    tracing::warn!(error = %e, "usage counts not written");
                }
                if let Err(e) = super::console::pages::refresh_counts(&s) {
                    tracing::warn!(error = %e, "console counts not taken");
                }
            }
            None => break,
        }
        std::thread::sleep(std::time::Duration::from_secs(super::usage::FLUSH_SECS));
    });
    // The upstream's schedule: a sync every `every` (full when due), until the state is dropped.
    if let Some(schedule) = state.settings.upstream.as_ref().and_then(|u| u.schedule()) {
        let weak = Arc::downgrade(&state);
        std::thread::spawn(move || loop {
            std::thread::sleep(schedule.every);
            let Some(s) = weak.upgrade() else { break };
            if let Some(u) = s.settings.upstream.clone() {
                let store = s.store.clone();
                drop(s);
                let full = u.full_due(&store);
                u.run(&store, full);
            }
        });
    }
    let state = web::Data::from(state);
    let tls = match &state.settings.tls {
        Some((cert, key)) => Some(tls_config(cert, key)?),
        None => None,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(state.clone())
                    .app_data(
                        web::QueryConfig::default()
                            .error_handler(|e, _| handlers::bad_request(e.to_string())),
                    )
                    .configure(configure)
                    .configure(|cfg| {
                        if bench {
                            cfg.route("/bench/fixed", web::get().to(handlers::fixed));
                        }
                    })
                    .default_service(web::to(handlers::not_found))
                    .wrap_fn(|req, srv| {
                        let start = Instant::now();
                        let state = req.app_data::<web::Data<AppState>>().cloned();
                        let fut = srv.call(req);
                        async move {
                            let res = binding_error_body(fut.await?);
                            let route = res
                                .request()
                                .extensions()
                                .get::<RoutePattern>()
                                .map(|p| p.0.clone())
                                .or_else(|| res.request().match_pattern())
                                .unwrap_or_else(|| "(unmatched)".into());
                            let status = res.status().as_u16();
                            let secs = start.elapsed().as_secs_f64();
                            let client = res
                                .request()
                                .extensions()
                                .get::<ClientId>()
                                .map(|c| c.0.clone())
                                .unwrap_or_else(|| "-".into());
                            if let Some(s) = state {
                                s.metrics.observe(&route, status, secs);
                                if client != "-" {
                                    s.usage.record(&client, status >= 400);
                                }
                            }
                            tracing::info!(
                                target: "rosterbridge::access",
                                client_id = %client,
                                method = %res.request().method(),
                                route = %route,
                                status,
                                duration_ms = secs * 1000.0,
                                "request"
                            );
                            Ok(res)
                        }
                    })
            })
            .workers(workers)
            // No Nagle delay: a collection page goes out as several body pieces, and a short
            // final write must not wait for the client's delayed ACK.
            .on_connect(|conn, _| {
                if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                    let _ = tcp.set_nodelay(true);
                }
            })
            // Flush a response after each body piece of 60 KiB or more (LIS responses are
            // written in pieces of 60-61 KiB, `soap::bind::PIECE`): the connection's write buffer
            // then holds one piece at a time and settles at a capacity below actix's 128 KiB
            // retention limit. With 128 KiB here, two pieces overfilled the buffer past that
            // limit on every flush, so actix dropped it and regrew it from 8 KiB, reallocating
            // and copying ~10 times per 600 KB response (callgrind readPersons(100): 7,321k ->
            // 6,977k instructions; server kernel time per request about -35 %,
            // docs/PERFORMANCE.md).
            .h1_write_buffer_size(60 * 1024)
            .worker_max_blocking_threads(blocking)
            .shutdown_timeout(30);
            let bound = match &tls {
                Some(config) => server.bind_rustls_0_23(&bind, config.clone()),
                None => server.bind(&bind),
            };
            let server = match bound {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return Ok(());
                }
            };
            let addr = server.addrs().first().copied();
            let server = server.run();
            let _ = tx.send(Ok((addr, server.handle())));
            server.await
        })
    });
    match rx.recv() {
        Ok(Ok((Some(addr), handle))) => Ok(Running {
            addr,
            handle,
            thread: Some(thread),
        }),
        Ok(Ok((None, _))) => Err(std::io::Error::other("bound to no address")),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => Err(std::io::Error::other("server thread ended before binding")),
    }
}
