//! The OneRoster REST encoding over the roster service: the route table ([`routes`]), query
//! parameters ([`params`]), errors in the imsx form ([`error`]), JSON rendering ([`render`]) and
//! the read handler ([`read`]).

pub mod error;
pub mod params;
pub mod read;
pub mod render;
pub mod routes;
