//! Guard for untrusted XML (SOAP requests): before anything binds a body to types, one
//! streaming pass with quick-xml rejects a DOCTYPE (so no DTD, no entity declarations, no
//! external entities), references to any entity other than the five predefined ones and
//! character references, bodies over a size cap and nesting over a depth cap. quick-xml never
//! expands entities itself; this pass makes the refusal explicit and gives it a clear message.

use quick_xml::events::Event;
use quick_xml::Reader;

/// Limits for one untrusted document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 64,
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
    #[error("DOCTYPE declarations (DTDs, entity declarations) are not accepted")]
    Doctype,
    #[error("entity reference '&{0};' is not accepted (only the five predefined entities)")]
    Entity(String),
    #[error("malformed XML at byte {0}: {1}")]
    Malformed(u64, String),
}

const PREDEFINED: &[&[u8]] = &[b"lt", b"gt", b"amp", b"apos", b"quot"];

/// Check `body` against `limits`; `Ok` means it is safe to parse into types.
pub fn check_untrusted(body: &[u8], limits: Limits) -> Result<(), XmlError> {
    if body.len() > limits.max_bytes {
        return Err(XmlError::TooLarge(body.len(), limits.max_bytes));
    }
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| XmlError::Malformed(reader.buffer_position(), e.to_string()))?;
        match event {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::GeneralRef(r) if !r.is_char_ref() && !PREDEFINED.contains(&r.as_ref()) => {
                return Err(XmlError::Entity(String::from_utf8_lossy(&r).into_owned()));
            }
            Event::Start(_) => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENVELOPE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body><readPersonRequest><sourcedId>u1 &amp; &#233;</sourcedId></readPersonRequest></soapenv:Body>
</soapenv:Envelope>"#;

    #[test]
    fn a_plain_envelope_passes() {
        assert_eq!(
            check_untrusted(ENVELOPE.as_bytes(), Limits::default()),
            Ok(())
        );
    }

    #[test]
    fn dtds_entities_size_and_depth_are_refused() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>"#;
        assert_eq!(
            check_untrusted(laughs.as_bytes(), Limits::default()),
            Err(XmlError::Doctype)
        );
        let external = "<a>&xxe;</a>";
        assert_eq!(
            check_untrusted(external.as_bytes(), Limits::default()),
            Err(XmlError::Entity("xxe".into()))
        );
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert_eq!(
            check_untrusted(deep.as_bytes(), Limits::default()),
            Err(XmlError::TooDeep(64))
        );
        let small = Limits {
            max_bytes: 10,
            max_depth: 64,
        };
        assert_eq!(
            check_untrusted(ENVELOPE.as_bytes(), small),
            Err(XmlError::TooLarge(ENVELOPE.len(), 10))
        );
        assert!(matches!(
            check_untrusted(b"<a><b></a>", Limits::default()),
            Err(XmlError::Malformed(..))
        ));
    }
}
