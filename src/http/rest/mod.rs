//! The OneRoster REST encoding over the roster service: the route table ([`routes`]), query
//! parameters ([`params`]), errors in the imsx form ([`error`]), JSON rendering ([`render`]) and
//! the read handler ([`read`]), request bodies ([`input`]) and the write handler ([`write`]).

pub mod error;
pub mod input;
pub mod params;
pub mod read;
pub mod render;
pub mod routes;
pub mod write;
