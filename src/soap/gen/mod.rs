//! Rust types generated from the inline schemas of the published WSDLs by
//! [`super::codegen`] (checked in; a test fails when they are stale). One module per service,
//! each in its own namespace, as the WSDLs declare them.

#[rustfmt::skip]
pub mod cms;
#[rustfmt::skip]
pub mod gms;
#[rustfmt::skip]
pub mod mms;
#[rustfmt::skip]
pub mod oms;
#[rustfmt::skip]
pub mod pms;
