//! The OneRoster REST binding: the route table ([`routes`]), query parameters ([`params`]),
//! errors in the imsx form ([`error`]), JSON rendering ([`render`]), OAuth 1.0a request
//! extraction ([`oauth1`]), the HTTP server and its handlers ([`server`], [`handlers`]), the
//! pieced response body ([`body`]), metrics and the rate limiter.

pub mod auth;
pub mod body;
pub mod error;
pub mod handlers;
pub mod lis;
pub mod metrics;
pub mod oauth1;
pub mod params;
pub mod ratelimit;
pub mod render;
pub mod routes;
pub mod server;
