//! The OneRoster query language, shared by the REST and SOAP reads: `filter` parsing
//! ([`filter`]), the per-entity catalogue of filterable and sortable JSON field paths
//! ([`fields`]), and their compilation to SQL with bound parameters ([`plan`]). Nothing is ever
//! filtered in memory after fetching.

pub mod fields;
pub mod filter;
pub mod plan;

pub use filter::{Clause, Filter, FilterError, Logical, Op};
