//! The single integration-test binary. Store and import tests run on SQLite and on PostgreSQL
//! (the server named by TEST_DATABASE_URL); each test gets its own fresh database.

#![allow(clippy::unwrap_used)]

mod common;

mod auth;
mod cli;
mod console;
mod export_roundtrip;
mod fixtures;
mod generate;
mod gradebook;
mod gradebook_write;
mod http;
mod import;
mod invalid;
mod probing;
mod query;
mod render;
mod resources;
mod rest;
mod schema;
mod security;
mod sharing;
mod snapshot;
mod soap;
mod soap_course;
mod soap_group;
mod soap_outcome;
mod soap_parity;
mod upstream;
