//! Limits and errors for untrusted XML (SOAP requests). [`super::bind::parse`] enforces them
//! in its one streaming pass with quick-xml, before anything binds a body to types: a DOCTYPE
//! is refused (so no DTD, no entity declarations, no external entities), as is a reference to
//! any entity other than the five predefined ones and character references, a body over the
//! size cap, nesting over the depth cap, more attributes on one element or namespace
//! declarations in scope than their caps (each would otherwise cost time quadratic in their
//! number). quick-xml never expands entities itself; the
//! refusal is explicit so that it comes with a clear message.

/// Limits for one untrusted document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    /// Attributes on one element.
    pub max_attributes: usize,
    /// Namespace declarations in scope at once (all open elements together).
    pub max_namespaces: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 64,
            // Real LIS messages carry a handful of each (the most seen: 9 declarations on a
            // Banner envelope); the caps only stop hostile documents.
            max_attributes: 64,
            max_namespaces: 256,
        }
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("the XML body is {0} bytes; the limit is {1}")]
    TooLarge(usize, usize),
    #[error("the XML nests deeper than {0} elements")]
    TooDeep(usize),
    #[error("an element carries more than {0} attributes")]
    TooManyAttributes(usize),
    #[error("more than {0} namespace declarations are in scope")]
    TooManyNamespaces(usize),
    #[error("DOCTYPE declarations (DTDs, entity declarations) are not accepted")]
    Doctype,
    #[error("entity reference '&{0};' is not accepted (only the five predefined entities)")]
    Entity(String),
    #[error("malformed XML at byte {0}: {1}")]
    Malformed(u64, String),
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENVELOPE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body><readPersonRequest><sourcedId>u1 &amp; &#233;</sourcedId></readPersonRequest></soapenv:Body>
</soapenv:Envelope>"#;

    fn check(body: &[u8], limits: Limits) -> Result<(), XmlError> {
        super::super::bind::parse(body, limits).map(|_| ())
    }

    #[test]
    fn a_plain_envelope_passes() {
        assert_eq!(check(ENVELOPE.as_bytes(), Limits::default()), Ok(()));
        let n = super::super::bind::parse(ENVELOPE.as_bytes(), Limits::default()).expect("parses");
        assert_eq!(n.children[0].children[0].children[0].text, "u1 & é");
    }

    #[test]
    fn dtds_entities_size_and_depth_are_refused() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>"#;
        assert_eq!(
            check(laughs.as_bytes(), Limits::default()),
            Err(XmlError::Doctype)
        );
        // A DOCTYPE after the root element is refused too.
        assert_eq!(
            check(b"<a/><!DOCTYPE a>", Limits::default()),
            Err(XmlError::Doctype)
        );
        let external = "<a>&xxe;</a>";
        assert_eq!(
            check(external.as_bytes(), Limits::default()),
            Err(XmlError::Entity("xxe".into()))
        );
        let nested = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert_eq!(check(nested(64).as_bytes(), Limits::default()), Ok(()));
        assert_eq!(
            check(nested(65).as_bytes(), Limits::default()),
            Err(XmlError::TooDeep(64))
        );
        let small = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(
            check(ENVELOPE.as_bytes(), small),
            Err(XmlError::TooLarge(ENVELOPE.len(), 10))
        );
        assert!(matches!(
            check(b"<a><b></a>", Limits::default()),
            Err(XmlError::Malformed(..))
        ));
        assert!(matches!(
            check(b"<a>&#xFFFFFFFF;</a>", Limits::default()),
            Err(XmlError::Malformed(..))
        ));
    }

    /// A start tag with `n` attributes (or namespace declarations when `ns`).
    fn wide(n: usize, ns: bool) -> String {
        let mut s = String::from("<a");
        for i in 0..n {
            if ns {
                s.push_str(&format!(" xmlns:p{i}=\"urn:x:{i}\""));
            } else {
                s.push_str(&format!(" a{i}=\"v\""));
            }
        }
        s.push_str("/>");
        s
    }

    #[test]
    fn attributes_and_namespace_declarations_are_capped() {
        assert_eq!(check(wide(64, false).as_bytes(), Limits::default()), Ok(()));
        assert_eq!(
            check(wide(65, false).as_bytes(), Limits::default()),
            Err(XmlError::TooManyAttributes(64))
        );
        assert_eq!(check(wide(200, true).as_bytes(), Limits::default()), Ok(()));
        assert_eq!(
            check(wide(300, true).as_bytes(), Limits::default()),
            Err(XmlError::TooManyNamespaces(256))
        );
        // Declarations of nested elements count together while both are open.
        let nested = format!(
            "<r{}>{}</r>",
            &wide(200, true)[2..wide(200, true).len() - 2],
            wide(100, true)
        );
        assert_eq!(
            check(nested.as_bytes(), Limits::default()),
            Err(XmlError::TooManyNamespaces(256))
        );
    }
}
