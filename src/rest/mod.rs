//! The OneRoster REST binding's wire formats. For now: rendering stored records as OneRoster
//! 1.2 JSON ([`render`]); the HTTP server, route table and 1.1 rendering come with the REST
//! issue.

pub mod render;
