//! The LIS 2.0 SOAP binding (issue #4, in progress). Today: the published WSDLs, kept unchanged
//! in `wsdl/` (their IMS notice allows unchanged copies only), served at `<service URL>?wsdl`
//! with the `soap:address` locations set, at serve time, to this server's own service URLs.
//! [`xml`] is the guard for untrusted request bodies. The operations themselves come next.

pub mod wsdl;
pub mod xml;
