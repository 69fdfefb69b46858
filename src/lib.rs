//! rosterbridge: a OneRoster (CSV, REST 1.1/1.2) and LIS 2.0 roster gateway over one store.
//!
//! Layers (docs/ARCHITECTURE.md): `model` (domain, no I/O) ← `query` (filters → plans) ←
//! `store` (Diesel, all SQL) ← `ingest` (packages and records in), `export`, `generate` ←
//! `roster` (the one door: `Caller`, `read(spec)`, `write(batch)`) ← `soap` (LIS 2.0 bindings)
//! ← `http` (actix-web: authentication, REST encoding, the SOAP endpoint); `auth` holds clients
//! and credentials without HTTP; `cli` wires them to the `rosterbridge` binary.

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
pub mod upstream;
