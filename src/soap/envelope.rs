//! SOAP envelopes and the shared `imsx_*` header and status types, written once and
//! parametrised by the service (its namespace and codeMinor spellings): reading a request
//! leniently (SOAP 1.1 or 1.2, any namespace or none on the header and body, empty or missing
//! message identifier, any `imsx_version`), and writing a response in the request's SOAP
//! version with every LIS element in the service namespace under the `tns` prefix
//! (LIS.md §5, §7, §12.4), or a SOAP Fault when the envelope itself is unusable.

use super::bind::{self, escape_into, tag, Node, Out};

use super::xml::{Limits, XmlError};

/// One LIS service as the generated module describes it.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDef {
    /// Short name for messages and metrics (`Person`, `Membership`).
    pub name: &'static str,
    pub namespace: &'static str,
    pub operations: &'static [(&'static str, &'static str)],
    pub code_minor_values: &'static [&'static str],
}

pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoapVersion {
    V11,
    V12,
}

impl SoapVersion {
    pub fn namespace(self) -> &'static str {
        match self {
            SoapVersion::V11 => SOAP11,
            SoapVersion::V12 => SOAP12,
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            SoapVersion::V11 => "text/xml; charset=utf-8",
            SoapVersion::V12 => "application/soap+xml; charset=utf-8",
        }
    }
}

/// A request envelope, read leniently.
#[derive(Debug, Clone)]
pub struct Request {
    pub soap: SoapVersion,
    /// `imsx_messageIdentifier` of the request header ("" when absent).
    pub message_id: String,
    /// The WS-Security `Security` header, when present.
    pub security: Option<Node>,
    /// The first element of the Body.
    pub body: Node,
    /// The operation: the body element's local name without `Request`.
    pub operation: String,
}

/// Why an envelope could not be used at all (answered with a SOAP Fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("the document is not a SOAP envelope (root element '{0}')")]
    NotEnvelope(String),
    #[error("the SOAP envelope has no Body element, or an empty one")]
    NoBody,
    #[error("header '{0}' is marked mustUnderstand and is not understood")]
    MustUnderstand(String),
}

/// Headers this server understands (others marked mustUnderstand are refused).
const UNDERSTOOD: &[&str] = &["imsx_syncRequestHeaderInfo", "Security"];

/// Read a request envelope from untrusted bytes.
pub fn read(body: &[u8], limits: Limits) -> Result<Request, EnvelopeError> {
    let root = bind::parse(body, limits)?;
    let soap = match (root.name.as_str(), root.ns.as_deref()) {
        ("Envelope", Some(SOAP12)) => SoapVersion::V12,
        ("Envelope", _) => SoapVersion::V11,
        (other, _) => return Err(EnvelopeError::NotEnvelope(other.to_string())),
    };
    let header = root.child(&["Header"]);
    let mut message_id = String::new();
    let mut security = None;
    if let Some(h) = header {
        for child in &h.children {
            let must = child
                .attr("mustUnderstand")
                .is_some_and(|v| v == "1" || v == "true");
            if must && !UNDERSTOOD.contains(&child.name.as_str()) {
                return Err(EnvelopeError::MustUnderstand(child.name.clone()));
            }
        }
        if let Some(info) = h.child(&["imsx_syncRequestHeaderInfo"]) {
            message_id = info
                .child_text("imsx_messageIdentifier")
                .unwrap_or("")
                .to_string();
        }
        security = h.child(&["Security"]).cloned();
    }
    let body = root
        .child(&["Body"])
        .and_then(|b| b.children.first())
        .cloned()
        .ok_or(EnvelopeError::NoBody)?;
    let operation = body
        .name
        .strip_suffix("Request")
        .unwrap_or(&body.name)
        .to_string();
    Ok(Request {
        soap,
        message_id,
        security,
        body,
        operation,
    })
}

/// `imsx_codeMajor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Major {
    Success,
    Failure,
    Unsupported,
}

impl Major {
    pub fn as_str(self) -> &'static str {
        match self {
            Major::Success => "success",
            Major::Failure => "failure",
            Major::Unsupported => "unsupported",
        }
    }
}

/// `imsx_severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Status,
    Warning,
    Error,
}

/// `imsx_codeMinorFieldValue`, in the canonical spelling; [`Minor::spelling`] gives a
/// service's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Minor {
    FullSuccess,
    NoSourcedIds,
    IdAlloc,
    IdAllocInUseFail,
    InvalidData,
    IncompleteData,
    PartialDataStorage,
    UnknownObject,
    DeleteFailure,
    SavepointError,
    UnknownQuery,
    OverflowFail,
    TargetIsBusy,
    UnauthorizedRequest,
    UnsupportedOperation,
}

impl Minor {
    /// The value as `service`'s schema spells it (PMS: `unsupportedLISIOperation`).
    pub fn spelling(self, service: &ServiceDef) -> &'static str {
        let canonical = match self {
            Minor::FullSuccess => "fullsuccess",
            Minor::NoSourcedIds => "nosourcedids",
            Minor::IdAlloc => "idalloc",
            Minor::IdAllocInUseFail => "idallocinusefail",
            Minor::InvalidData => "invaliddata",
            Minor::IncompleteData => "incompletedata",
            Minor::PartialDataStorage => "partialdatastorage",
            Minor::UnknownObject => "unknownobject",
            Minor::DeleteFailure => "deletefailure",
            Minor::SavepointError => "savepointerror",
            Minor::UnknownQuery => "unknownquery",
            Minor::OverflowFail => "overflowfail",
            Minor::TargetIsBusy => "targetisbusy",
            Minor::UnauthorizedRequest => "unauthorizedrequest",
            Minor::UnsupportedOperation => "unsupportedLISoperation",
        };
        if service.code_minor_values.contains(&canonical) {
            return canonical;
        }
        match self {
            Minor::UnsupportedOperation
                if service
                    .code_minor_values
                    .contains(&"unsupportedLISIOperation") =>
            {
                "unsupportedLISIOperation"
            }
            Minor::IdAlloc if service.code_minor_values.contains(&"idallocfail") => "idallocfail",
            _ => canonical,
        }
    }
}

/// The outcome of an operation, for `imsx_statusInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub major: Major,
    pub severity: Severity,
    pub minor: Minor,
    pub description: String,
}

impl Status {
    pub fn success(description: impl Into<String>) -> Status {
        Status {
            major: Major::Success,
            severity: Severity::Status,
            minor: Minor::FullSuccess,
            description: description.into(),
        }
    }
    pub fn failure(minor: Minor, description: impl Into<String>) -> Status {
        Status {
            major: if minor == Minor::UnsupportedOperation {
                Major::Unsupported
            } else {
                Major::Failure
            },
            severity: Severity::Error,
            minor,
            description: description.into(),
        }
    }
    pub fn warning(minor: Minor, description: impl Into<String>) -> Status {
        Status {
            major: Major::Success,
            severity: Severity::Warning,
            minor,
            description: description.into(),
        }
    }
}

/// A fresh message identifier (random, UUID v4 form).
pub fn message_id() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::getrandom(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A complete response envelope: the header with `status` (echoing `message_ref`, naming
/// `operation`) and the body element `<operation>Response`, written by `body` (given the
/// element name).
pub fn response(
    service: &ServiceDef,
    soap: SoapVersion,
    message_ref: &str,
    operation: &str,
    status: &Status,
    body: impl FnOnce(&mut Out, &str),
) -> Vec<String> {
    let mut out = Out::pooled();
    open_envelope(&mut out, soap, service);
    status_header(&mut out, service, message_ref, Some(operation), status);
    out.buf.push_str("</soapenv:Header><soapenv:Body>");
    body(&mut out, &format!("{operation}Response"));
    out.buf.push_str("</soapenv:Body></soapenv:Envelope>");
    out.into_pieces()
}

fn open_envelope(out: &mut Out, soap: SoapVersion, service: &ServiceDef) {
    out.buf
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"");
    out.buf.push_str(soap.namespace());
    out.buf.push_str("\" xmlns:tns=\"");
    out.buf.push_str(service.namespace);
    out.buf.push_str("\"><soapenv:Header>");
}

/// `imsx_syncResponseHeaderInfo` with `status`.
fn status_header(
    out: &mut Out,
    service: &ServiceDef,
    message_ref: &str,
    operation: Option<&str>,
    status: &Status,
) {
    out.open(tag!("imsx_syncResponseHeaderInfo"));
    out.constant_text(tag!("imsx_version"), "V1.0");
    out.text(tag!("imsx_messageIdentifier"), &message_id());
    out.open(tag!("imsx_statusInfo"));
    out.constant_text(tag!("imsx_codeMajor"), status.major.as_str());
    out.constant_text(
        tag!("imsx_severity"),
        match status.severity {
            Severity::Status => "status",
            Severity::Warning => "warning",
            Severity::Error => "error",
        },
    );
    out.text(tag!("imsx_messageRefIdentifier"), message_ref);
    if let Some(op) = operation {
        out.text(tag!("imsx_operationRefIdentifier"), op);
    }
    if !status.description.is_empty() {
        out.text(tag!("imsx_description"), &status.description);
    }
    out.open(tag!("imsx_codeMinor"));
    out.open(tag!("imsx_codeMinorField"));
    out.constant_text(tag!("imsx_codeMinorFieldName"), "TargetEndSystem");
    out.constant_text(
        tag!("imsx_codeMinorFieldValue"),
        status.minor.spelling(service),
    );
    out.close(tag!("imsx_codeMinorField"));
    out.close(tag!("imsx_codeMinor"));
    out.close(tag!("imsx_statusInfo"));
    out.close(tag!("imsx_syncResponseHeaderInfo"));
}

/// A SOAP Fault (the envelope itself was unusable: not XML, hostile XML, no Body, an unknown
/// body element): `client` says whose fault it was. The header still carries the service's
/// imsx status (`invaliddata`, or `unsupportedLISoperation` for an unknown operation), so
/// clients that read only the imsx header get a clear answer too.
/// Whose fault a SOAP Fault reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    /// The request (SOAP 1.1 `Client`, 1.2 `Sender`).
    Client,
    /// The server (`Server`, `Receiver`).
    Server,
    /// A WS-Security token that could not be authenticated: OASIS WSS 1.1
    /// `wsse:FailedAuthentication` (LIS.md §5.1), as the faultcode (SOAP 1.1) or the subcode
    /// under `Sender` (SOAP 1.2).
    FailedAuthentication,
}

/// The OASIS WS-Security 1.0 secext namespace (`wsse`).
pub const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";

pub fn fault(
    service: &ServiceDef,
    soap: SoapVersion,
    message_ref: &str,
    status: &Status,
    code: FaultCode,
) -> String {
    let mut out = Out::default();
    open_envelope(&mut out, soap, service);
    status_header(&mut out, service, message_ref, None, status);
    out.buf
        .push_str("</soapenv:Header><soapenv:Body><soapenv:Fault>");
    let s = &mut out.buf;
    let wsse = format!(" xmlns:wsse=\"{WSSE}\"");
    match soap {
        SoapVersion::V11 => {
            match code {
                FaultCode::Client => s.push_str("<faultcode>soapenv:Client"),
                FaultCode::Server => s.push_str("<faultcode>soapenv:Server"),
                FaultCode::FailedAuthentication => {
                    s.push_str(&format!("<faultcode{wsse}>wsse:FailedAuthentication"))
                }
            }
            s.push_str("</faultcode><faultstring>");
            escape_into(s, &status.description);
            s.push_str("</faultstring>");
        }
        SoapVersion::V12 => {
            s.push_str("<soapenv:Code><soapenv:Value>soapenv:");
            s.push_str(if code == FaultCode::Server {
                "Receiver"
            } else {
                "Sender"
            });
            s.push_str("</soapenv:Value>");
            if code == FaultCode::FailedAuthentication {
                s.push_str(&format!(
                    "<soapenv:Subcode><soapenv:Value{wsse}>wsse:FailedAuthentication</soapenv:Value></soapenv:Subcode>"
                ));
            }
            s.push_str("</soapenv:Code><soapenv:Reason><soapenv:Text xml:lang=\"en\">");
            escape_into(s, &status.description);
            s.push_str("</soapenv:Text></soapenv:Reason>");
        }
    }
    s.push_str("</soapenv:Fault></soapenv:Body></soapenv:Envelope>");
    out.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PMS: ServiceDef = ServiceDef {
        name: "Person",
        namespace: crate::soap::gen::pms::NAMESPACE,
        operations: crate::soap::gen::pms::OPERATIONS,
        code_minor_values: crate::soap::gen::pms::CODE_MINOR_VALUES,
    };
    const MMS: ServiceDef = ServiceDef {
        name: "Membership",
        namespace: crate::soap::gen::mms::NAMESPACE,
        operations: crate::soap::gen::mms::OPERATIONS,
        code_minor_values: crate::soap::gen::mms::CODE_MINOR_VALUES,
    };

    #[test]
    fn lenient_reading() {
        // No namespace on header or body, SOAP 1.2, no message id.
        let doc = br#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>
            <readPersonRequest><sourcedId> u1 </sourcedId></readPersonRequest></e:Body></e:Envelope>"#;
        let r = read(doc, Limits::default()).expect("reads");
        assert_eq!(r.soap, SoapVersion::V12);
        assert_eq!(r.operation, "readPerson");
        assert_eq!(r.message_id, "");
        assert_eq!(r.body.child_text("sourcedId"), Some("u1"));
        assert_eq!(
            read(b"<a/>", Limits::default()).map(|_| ()),
            Err(EnvelopeError::NotEnvelope("a".into()))
        );
        let must = br#"<Envelope><Header><x:Foo xmlns:x="urn:x" mustUnderstand="1"/></Header><Body><a/></Body></Envelope>"#;
        assert_eq!(
            read(must, Limits::default()).map(|_| ()),
            Err(EnvelopeError::MustUnderstand("Foo".into()))
        );
    }

    #[test]
    fn code_minor_spellings_follow_the_service_schema() {
        assert_eq!(
            Minor::UnsupportedOperation.spelling(&PMS),
            "unsupportedLISIOperation"
        );
        assert_eq!(
            Minor::UnsupportedOperation.spelling(&MMS),
            "unsupportedLISoperation"
        );
        assert_eq!(Minor::UnknownObject.spelling(&PMS), "unknownobject");
    }

    #[test]
    fn response_echoes_and_orders_the_status() {
        let s = response(
            &MMS,
            SoapVersion::V11,
            "m&1",
            "readMembership",
            &Status::failure(Minor::UnknownObject, "no such membership"),
            |o, name| o.empty(&bind::TagBuf::new(name).tag()),
        )
        .concat();
        let order = [
            "imsx_codeMajor>failure",
            "imsx_severity>error",
            "imsx_messageRefIdentifier>m&amp;1",
            "imsx_operationRefIdentifier>readMembership",
            "imsx_description>no such membership",
            "imsx_codeMinorFieldValue>unknownobject",
            "<tns:readMembershipResponse/>",
        ];
        let mut at = 0;
        for o in order {
            let found = s[at..]
                .find(o)
                .unwrap_or_else(|| panic!("{o} after {at} in {s}"));
            at += found;
        }
        assert!(s.contains(&format!("xmlns:tns=\"{}\"", MMS.namespace)));
        assert_ne!(message_id(), message_id());
    }
}
