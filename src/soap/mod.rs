//! The LIS 2.0 SOAP binding: the published WSDLs, kept unchanged in `wsdl/` and served at
//! `<service URL>?wsdl` with this server's addresses ([`wsdl`]); the guard for untrusted XML
//! ([`xml`]); the element tree and writer the generated types bind to ([`bind`]); the
//! generator ([`codegen`]) and its output ([`gen`]).

pub mod bind;
pub mod bulk;
pub mod codegen;
pub mod course;
pub mod envelope;
pub mod gen;
pub mod group;
pub mod kept;
pub mod membership;
pub mod outcome;
pub mod person;
pub mod service;
pub mod wsdl;
pub mod xml;
