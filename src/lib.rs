//! rosterbridge: a OneRoster (CSV, REST 1.1/1.2) and LIS 2.0 roster gateway over one store.
//!
//! Layers (docs/ARCHITECTURE.md): `model` (domain, no I/O) ← `store` (Diesel) ← `ingest`
//! (CSV packages in), `export` (CSV packages out), `generate` (synthetic districts), `query`
//! (filters → SQL), `auth` (clients, tokens, visibility), `rest` (the OneRoster HTTP server),
//! `soap` (LIS 2.0 Person and Membership services); `cli` wires them to the `rosterbridge` binary.

pub mod auth;
pub mod buffers;
pub mod cli;
pub mod export;
pub mod generate;
pub mod http;
pub mod ingest;
pub mod model;
pub mod native;
pub mod query;
pub mod roster;
pub mod soap;
pub mod store;
