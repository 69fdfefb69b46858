//! The HTTP layer: the actix-web server and its one route table ([`server`]), authentication
//! of every binding ([`auth`], [`oauth1`]), the OneRoster REST encoding ([`rest`]: routes,
//! parameters, imsx errors, JSON rendering, the read handler), the LIS SOAP endpoint ([`lis`];
//! the LIS bindings themselves are `crate::soap`), the OAuth 2 token endpoint ([`token`]), the
//! server's own endpoints ([`handlers`]), the pieced response body ([`body`]), metrics and rate
//! limits, per-app usage ([`usage`]) and the administrators' web console ([`console`]). Handlers are thin: they pull what the request carries and call the roster service.

pub mod auth;
pub mod body;
pub mod console;
pub mod handlers;
pub mod lis;
pub mod metrics;
pub mod oauth1;
pub mod ratelimit;
pub mod rest;
pub mod server;
pub mod token;
pub mod usage;
