//! The runtime the generated LIS types ([`super::gen`]) bind to: a small element tree read
//! from untrusted XML (local names only, so every namespace variant seen in the wild matches),
//! lenient field readers (unknown elements ignored, values trimmed, a missing required value
//! left at its default for the mapping layer to judge), and a writer that emits elements in
//! schema order under the `tns` prefix of the service namespace.

use quick_xml::events::Event;
use quick_xml::NsReader;

use super::xml::{Limits, XmlError};

/// One element of a parsed document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// Local name (prefix and namespace stripped).
    pub name: String,
    /// Namespace URI, when the element had one.
    pub ns: Option<String>,
    /// Attributes by local name.
    pub attrs: Vec<(String, String)>,
    /// Concatenated text content (unescaped, untrimmed).
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The first child with one of `names`.
    pub fn child(&self, names: &[&str]) -> Option<&Node> {
        self.children
            .iter()
            .find(|c| names.contains(&c.name.as_str()))
    }

    /// Every child with one of `names`, in document order.
    pub fn children_named<'a>(&'a self, names: &'a [&'a str]) -> impl Iterator<Item = &'a Node> {
        self.children
            .iter()
            .filter(move |c| names.contains(&c.name.as_str()))
    }

    /// Text of the first child named `name`, trimmed.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(&[name]).map(|c| c.text.trim())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse an untrusted document into a tree, enforcing the [`Limits`] and refusals of
/// [`super::xml`] (no DTD, no entity but the predefined five and character references) in the
/// same pass: the first offending event ends the parse with that error.
pub fn parse(body: &[u8], limits: Limits) -> Result<Node, XmlError> {
    if body.len() > limits.max_bytes {
        return Err(XmlError::TooLarge(body.len(), limits.max_bytes));
    }
    let mut reader = NsReader::from_reader(body);
    // Namespace declarations in scope at once: quick-xml refuses more before resolving a
    // name, so a start tag with 100,000 declarations costs one pass, not a quadratic scan.
    reader
        .resolver_mut()
        .set_max_namespace_bindings(limits.max_namespaces);
    let mut buf = Vec::new();
    let mut stack: Vec<Node> = vec![Node::default()];
    let malformed = |r: &NsReader<&[u8]>, e: String| XmlError::Malformed(r.buffer_position(), e);
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| match e {
            quick_xml::Error::Namespace(quick_xml::name::NamespaceError::TooManyBindings(_)) => {
                XmlError::TooManyNamespaces(limits.max_namespaces)
            }
            e => malformed(&reader, e.to_string()),
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let (ns, local) = reader.resolver().resolve_element(e.name());
                let ns = match ns {
                    quick_xml::name::ResolveResult::Bound(n) => Some(n.as_ref().to_string()),
                    _ => None,
                };
                let mut node = Node {
                    name: local.as_ref().to_string(),
                    ns,
                    ..Node::default()
                };
                // Counted as they are read: duplicate checks make each attribute cost as much
                // as those before it, so the cap keeps a start tag linear.
                // (Namespace declarations are capped by the resolver and not counted here.)
                let mut count = 0;
                for a in e.attributes() {
                    let a = a.map_err(|e| malformed(&reader, e.to_string()))?;
                    if a.key.as_namespace_binding().is_some() {
                        continue;
                    }
                    count += 1;
                    if count > limits.max_attributes {
                        return Err(XmlError::TooManyAttributes(limits.max_attributes));
                    }
                    let key = a.key.local_name().as_ref().to_string();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| malformed(&reader, e.to_string()))?
                        .into_owned();
                    node.attrs.push((key, value));
                }
                if matches!(event, Event::Empty(_)) {
                    if let Some(parent) = stack.last_mut() {
                        parent.children.push(node);
                    }
                } else {
                    stack.push(node);
                    // The stack holds the document node under the open elements.
                    if stack.len() - 1 > limits.max_depth {
                        return Err(XmlError::TooDeep(limits.max_depth));
                    }
                }
            }
            Event::End(_) => {
                let done = stack.pop().unwrap_or_default();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Err(malformed(&reader, "unbalanced end tag".into())),
                }
            }
            Event::Text(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t.xml10_content());
                }
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::GeneralRef(r) => {
                let text = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => String::new(),
                        Err(e) => return Err(malformed(&reader, e.to_string())),
                    }
                } else {
                    let name = r.xml10_content().into_owned();
                    quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or(XmlError::Entity(name.clone()))?
                        .to_string()
                };
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&text);
                }
            }
            Event::CData(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t.xml10_content());
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let mut root = stack.pop().unwrap_or_default();
    if !stack.is_empty() {
        return Err(XmlError::Malformed(
            body.len() as u64,
            "unclosed element".into(),
        ));
    }
    root.children
        .pop()
        .ok_or_else(|| XmlError::Malformed(0, "no root element".into()))
}

/// A value that does not fit its schema type, with the element path to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct BindError {
    pub path: String,
    pub message: String,
}

impl BindError {
    pub fn new(name: &str, message: impl Into<String>) -> BindError {
        BindError {
            path: name.to_string(),
            message: message.into(),
        }
    }
    /// Prefix the path with the enclosing element.
    pub fn within(mut self, parent: &str) -> BindError {
        self.path = format!("{parent}/{}", self.path);
        self
    }
}

/// An element's start, end and empty tags under the `tns` prefix. The generated writers use
/// constants ([`tag!`](crate::tag)), so writing an element copies one string per tag instead
/// of assembling it from three pieces (a LIS person is ~130 elements, most of them a few bytes
/// of text); [`TagBuf`] makes one for a name known only at run time.
#[derive(Debug, Clone, Copy)]
pub struct Tag<'a> {
    pub open: &'a str,
    pub close: &'a str,
    pub empty: &'a str,
}

/// `tag!("name")`: the constant [`Tag`] of the element `tns:name`.
#[macro_export]
macro_rules! tag {
    ($name:literal) => {
        &$crate::soap::bind::Tag {
            open: concat!("<tns:", $name, ">"),
            close: concat!("</tns:", $name, ">"),
            empty: concat!("<tns:", $name, "/>"),
        }
    };
}
pub use crate::tag;

/// The tags of an element named at run time (a response's body element).
#[derive(Debug, Clone)]
pub struct TagBuf {
    open: String,
    close: String,
    empty: String,
}

impl TagBuf {
    pub fn new(name: &str) -> TagBuf {
        TagBuf {
            open: format!("<tns:{name}>"),
            close: format!("</tns:{name}>"),
            empty: format!("<tns:{name}/>"),
        }
    }
    pub fn tag(&self) -> Tag<'_> {
        Tag {
            open: &self.open,
            close: &self.close,
            empty: &self.empty,
        }
    }
}

/// Response writer: elements under the `tns` prefix, text escaped. Output is kept in pieces of
/// about [`PIECE`] bytes, cut after an element closes, so a large record set is sent as it was
/// written instead of growing (and later freeing) one buffer of hundreds of kilobytes.
#[derive(Debug, Default)]
pub struct Out {
    pub buf: String,
    /// Finished pieces, before `buf`.
    done: Vec<String>,
    /// Bytes in `done`.
    flushed: usize,
}

/// Target size of an output piece. Pieces come out a little larger (cut after the element
/// that reaches this), and must stay under 64 KiB so that the HTTP layer's write buffer, which
/// holds one piece per flush (`http::server`), never grows past twice a piece, 128 KiB, the
/// capacity actix keeps between flushes.
pub const PIECE: usize = 60 * 1024;

/// An empty piece buffer from [`crate::buffers`].
fn pooled_buffer() -> String {
    // An empty vector is valid UTF-8.
    String::from_utf8(crate::buffers::take(PIECE + PIECE / 4)).unwrap_or_default()
}

impl Out {
    /// A writer whose pieces come from the response buffer pool (for responses sent with
    /// `http::body::Chunks`, which gives them back).
    pub fn pooled() -> Out {
        Out {
            buf: pooled_buffer(),
            ..Out::default()
        }
    }

    /// Bytes written so far.
    pub fn pos(&self) -> usize {
        self.flushed + self.buf.len()
    }

    /// Drop what was written after `pos` (which must be in the current piece).
    fn truncate_to(&mut self, pos: usize) {
        self.buf.truncate(pos.saturating_sub(self.flushed));
    }

    /// Start a new piece when the current one is full.
    fn maybe_cut(&mut self) {
        if self.buf.len() >= PIECE {
            let full = std::mem::replace(&mut self.buf, pooled_buffer());
            self.flushed += full.len();
            self.done.push(full);
        }
    }

    /// Everything written, in order.
    pub fn into_pieces(mut self) -> Vec<String> {
        if !self.buf.is_empty() || self.done.is_empty() {
            self.done.push(self.buf);
        }
        self.done
    }

    /// Everything written, as one string.
    pub fn into_string(self) -> String {
        self.into_pieces().concat()
    }

    pub fn open(&mut self, tag: &Tag<'_>) {
        self.buf.push_str(tag.open);
    }
    pub fn close(&mut self, tag: &Tag<'_>) {
        self.buf.push_str(tag.close);
    }
    pub fn empty(&mut self, tag: &Tag<'_>) {
        self.buf.push_str(tag.empty);
    }
    /// A text element, its text escaped.
    pub fn text(&mut self, tag: &Tag<'_>, value: &str) {
        self.buf.push_str(tag.open);
        escape_text_into(&mut self.buf, value);
        self.buf.push_str(tag.close);
    }
    /// A text element whose text is a constant of this program (an enumeration value, a
    /// vocabulary), known to need no escaping.
    pub fn constant_text(&mut self, tag: &Tag<'_>, value: &'static str) {
        debug_assert!(
            !needs_escape(value.as_bytes()),
            "constant {value:?} needs escaping"
        );
        self.buf.push_str(tag.open);
        self.buf.push_str(value);
        self.buf.push_str(tag.close);
    }
}

fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().any(|b| matches!(b, b'&' | b'<' | b'>'))
}

/// Escape text for element content or a double-quoted attribute (runs without special
/// characters are copied whole).
pub fn escape_into(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(rep);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Escape element content: `&`, `<` and `>` (a quote needs no escape there), found with a SIMD
/// search, so the usual value (nothing to escape) is one scan and one copy.
pub fn escape_text_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    // Most values are short: a plain loop beats setting up the SIMD search.
    if bytes.len() <= 32 && !needs_escape(bytes) {
        out.push_str(s);
        return;
    }
    let mut start = 0;
    for i in memchr::memchr3_iter(b'&', b'<', b'>', bytes) {
        out.push_str(s.get(start..i).unwrap_or_default());
        out.push_str(match bytes.get(i) {
            Some(b'&') => "&amp;",
            Some(b'<') => "&lt;",
            _ => "&gt;",
        });
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
}

/// A schema type the generated code can read from and write to an element.
pub trait XmlValue: Sized + Default {
    fn read_value(node: &Node) -> Result<Self, BindError>;
    /// Write `self` as the element `tag`.
    fn write_value(&self, tag: &Tag<'_>, out: &mut Out);
}

/// The generated types' string: borrowed for the constant vocabulary, language and identifier
/// strings the writers fill in (one LIS person carries ~40 of them), owned for data.
pub type Str = std::borrow::Cow<'static, str>;

impl XmlValue for Str {
    fn read_value(node: &Node) -> Result<Self, BindError> {
        Ok(Str::Owned(node.text.trim().to_string()))
    }
    fn write_value(&self, tag: &Tag<'_>, out: &mut Out) {
        match self {
            // Borrowed strings are the writers' constants (vocabularies, `en-US`, small
            // identifiers: most of a person's ~130 text elements), never data.
            Str::Borrowed(s) => out.constant_text(tag, s),
            Str::Owned(s) => out.text(tag, s),
        }
    }
}

impl XmlValue for bool {
    fn read_value(node: &Node) -> Result<Self, BindError> {
        match node.text.trim() {
            "true" | "1" | "TRUE" | "True" => Ok(true),
            "false" | "0" | "FALSE" | "False" => Ok(false),
            other => Err(BindError::new(
                &node.name,
                format!("'{other}' is not a boolean (true or false)"),
            )),
        }
    }
    fn write_value(&self, tag: &Tag<'_>, out: &mut Out) {
        out.constant_text(tag, if *self { "true" } else { "false" });
    }
}

/// Required element (`minOccurs=1 maxOccurs=1`): read leniently, a missing one is the default.
pub fn read_one<T: XmlValue>(parent: &Node, names: &[&str]) -> Result<T, BindError> {
    match parent.child(names) {
        Some(n) => T::read_value(n).map_err(|e| e.within(&parent.name)),
        None => Ok(T::default()),
    }
}

/// Optional element (`maxOccurs=1`).
pub fn read_opt<T: XmlValue>(parent: &Node, names: &[&str]) -> Result<Option<T>, BindError> {
    parent
        .child(names)
        .map(|n| T::read_value(n).map_err(|e| e.within(&parent.name)))
        .transpose()
}

/// Repeated element (`maxOccurs=unbounded`).
pub fn read_vec<T: XmlValue>(parent: &Node, names: &[&str]) -> Result<Vec<T>, BindError> {
    parent
        .children_named(names)
        .map(|n| T::read_value(n).map_err(|e| e.within(&parent.name)))
        .collect()
}

pub fn write_one<T: XmlValue>(value: &T, tag: &Tag<'_>, out: &mut Out) {
    value.write_value(tag, out);
}

pub fn write_opt<T: XmlValue>(value: &Option<T>, tag: &Tag<'_>, out: &mut Out) {
    if let Some(v) = value {
        v.write_value(tag, out);
    }
}

pub fn write_vec<T: XmlValue>(values: &[T], tag: &Tag<'_>, out: &mut Out) {
    for v in values {
        v.write_value(tag, out);
    }
}

/// Write a complex value: the element, its children, the end tag (empty element when it has
/// no children).
pub fn write_complex(tag: &Tag<'_>, out: &mut Out, children: impl FnOnce(&mut Out)) {
    let start = out.pos();
    out.open(tag);
    let after_open = out.pos();
    children(out);
    if out.pos() == after_open {
        // Nothing was written since the start tag, so no piece was cut after it.
        out.truncate_to(start);
        out.empty(tag);
    } else {
        out.close(tag);
        out.maybe_cut();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_namespaces_text_and_attributes() {
        let doc = br#"<s:Envelope xmlns:s="urn:s" xmlns="urn:d"><s:Body><a x:y="1" xmlns:x="urn:x"> u&amp;1 &#233;<b/></a></s:Body></s:Envelope>"#;
        let root = parse(doc, Limits::default()).expect("parses");
        assert_eq!(root.name, "Envelope");
        assert_eq!(root.ns.as_deref(), Some("urn:s"));
        let a = &root.children[0].children[0];
        assert_eq!(a.name, "a");
        assert_eq!(a.ns.as_deref(), Some("urn:d"));
        assert_eq!(a.attr("y"), Some("1"));
        assert_eq!(a.text, " u&1 é");
        assert_eq!(a.children[0].name, "b");
        assert!(parse(b"<!DOCTYPE a []><a/>", Limits::default()).is_err());
        assert!(parse(b"<a><b></a>", Limits::default()).is_err());
    }

    #[test]
    fn bad_booleans_name_their_path() {
        let n = parse(b"<r><p>maybe</p></r>", Limits::default()).expect("parses");
        let e = read_one::<bool>(&n, &["p"]).expect_err("not a boolean");
        assert_eq!(e.path, "r/p");
        assert_eq!(read_one::<bool>(&n, &["q"]), Ok(false));
    }

    #[test]
    fn large_output_is_cut_into_pieces_after_elements_and_reads_the_same() {
        let mut out = Out::default();
        let mut expected = String::new();
        write_complex(tag!("set"), &mut out, |o| {
            for i in 0..2000 {
                write_complex(tag!("r"), o, |o| o.text(tag!("v"), &format!("{i:040}")));
                // An element left empty right after a cut still collapses to `<x/>`.
                write_complex(tag!("x"), o, |_| {});
            }
        });
        expected.push_str("<tns:set>");
        for i in 0..2000 {
            expected.push_str(&format!("<tns:r><tns:v>{i:040}</tns:v></tns:r><tns:x/>"));
        }
        expected.push_str("</tns:set>");
        let pieces = out.into_pieces();
        assert!(pieces.len() > 1, "{} piece(s)", pieces.len());
        assert!(pieces.iter().all(|p| p.len() < PIECE + 200));
        assert_eq!(pieces.concat(), expected);
    }

    #[test]
    fn writer_escapes_and_collapses_empty_elements() {
        let mut out = Out::default();
        write_complex(tag!("a"), &mut out, |o| o.text(tag!("b"), "x<&\"y>é&"));
        write_complex(tag!("c"), &mut out, |_| {});
        assert_eq!(
            out.into_string(),
            "<tns:a><tns:b>x&lt;&amp;\"y&gt;é&amp;</tns:b></tns:a><tns:c/>"
        );
        let mut attr = String::new();
        escape_into(&mut attr, "a\"<&>b");
        assert_eq!(attr, "a&quot;&lt;&amp;&gt;b");
    }

    #[test]
    fn generated_writers_write_constants_and_data_alike() {
        use crate::soap::gen::pms::{BaseValueToken, Text};
        let text = |lang: Str, s: Str| Text {
            language: lang,
            text_string: s,
        };
        let render = |v: &dyn Fn(&mut Out)| {
            let mut out = Out::default();
            v(&mut out);
            out.into_string()
        };
        let full = text(Str::Borrowed("en-US"), Str::Borrowed("Full"));
        let first = render(&|o| full.write_value(tag!("formattedName"), o));
        let again = render(&|o| full.write_value(tag!("formattedName"), o));
        let expected = "<tns:formattedName><tns:language>en-US</tns:language>\
            <tns:textString>Full</tns:textString></tns:formattedName>";
        assert_eq!(first, expected);
        assert_eq!(again, expected);
        // The same constants under another tag.
        let other = render(&|o| full.write_value(tag!("agentDomain"), o));
        assert!(other.starts_with("<tns:agentDomain>") && other.ends_with("</tns:agentDomain>"));
        // Data: two owned values under one tag each come out whole and as themselves.
        for v in ["Ann", "Bob"] {
            let t = text(Str::Borrowed("en-US"), Str::Owned(v.to_string()));
            let xml = render(&|o| t.write_value(tag!("formattedName"), o));
            assert_eq!(
                xml,
                format!(
                    "<tns:formattedName><tns:language>en-US</tns:language>\
                     <tns:textString>{v}</tns:textString></tns:formattedName>"
                )
            );
        }
        // Data first, then a constant.
        let data_first = text(Str::Owned("xx".into()), Str::Borrowed("Full"));
        let xml = render(&|o| data_first.write_value(tag!("formattedName"), o));
        assert!(xml.contains("<tns:language>xx</tns:language>"), "{xml}");
        // An absent optional element before data writes nothing.
        let guid = crate::soap::gen::pms::SourcedGuid {
            ref_agent_instance_id: None,
            sourced_id: Str::Owned("u1".into()),
        };
        assert_eq!(
            render(&|o| guid.write_value(tag!("sourcedGUID"), o)),
            "<tns:sourcedGUID><tns:sourcedId>u1</tns:sourcedId></tns:sourcedGUID>"
        );
        let none = crate::soap::gen::pms::SourcedGuid {
            ref_agent_instance_id: None,
            sourced_id: Str::Borrowed(""),
        };
        assert_eq!(
            render(&|o| none.write_value(tag!("sourcedGUID"), o)),
            "<tns:sourcedGUID><tns:sourcedId></tns:sourcedId></tns:sourcedGUID>"
        );
        // Two constants at one address that differ in length.
        const MEMBER2: &str = "Member2";
        let short = text(Str::Borrowed("en-US"), Str::Borrowed(&MEMBER2[..6]));
        let long = text(Str::Borrowed("en-US"), Str::Borrowed(MEMBER2));
        let s = render(&|o| short.write_value(tag!("formattedName"), o));
        let l = render(&|o| long.write_value(tag!("formattedName"), o));
        assert!(s.contains(">Member<") && l.contains(">Member2<"), "{s} {l}");
        // A tag named at run time.
        let name = TagBuf::new("runTime");
        let r = render(&|o| full.write_value(&name.tag(), o));
        assert!(r.starts_with("<tns:runTime><tns:language>"), "{r}");
        // A nested constant token, byte-equal to writing it element by element.
        let token = BaseValueToken {
            instance_identifier: text(Str::Borrowed("en-US"), Str::Borrowed("1")),
            instance_vocabulary: Str::Borrowed("urn:v"),
            instance_value: text(Str::Borrowed("en-US"), Str::Borrowed("Full")),
        };
        let generated = render(&|o| token.write_value(tag!("nameType"), o));
        let plain = render(&|o| {
            write_complex(tag!("nameType"), o, |o| {
                for (t, v) in [("instanceIdentifier", "1"), ("instanceValue", "Full")] {
                    let tb = TagBuf::new(t);
                    write_complex(&tb.tag(), o, |o| {
                        o.text(tag!("language"), "en-US");
                        o.text(tag!("textString"), v);
                    });
                    if t == "instanceIdentifier" {
                        o.text(tag!("instanceVocabulary"), "urn:v");
                    }
                }
            })
        });
        assert_eq!(generated, plain);
        assert_eq!(render(&|o| token.write_value(tag!("nameType"), o)), plain);
    }
}
