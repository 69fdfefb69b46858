//! The generator behind [`super::gen`]: reads the inline XML Schema of a published LIS WSDL
//! (the I-BAT "salami-slice" style: global elements typed by named complex and simple types,
//! sequences of `ref`s, inline complex types only on the operation wrappers) and its port type,
//! and writes one Rust module: a struct per complex type and per request/response wrapper, an
//! enum per enumerated simple type, their [`super::bind::XmlValue`] impls in schema order, the
//! namespace, the operation list with SOAPActions, and the service's codeMinor vocabulary.
//!
//! The `imsx_*` header and status types are skipped: they are identical in every service but
//! for the namespace, and are written once, by hand, in [`super::envelope`].
//!
//! Overrides of the published schema, kept few and listed here so that the generated code stays
//! the schema otherwise:
//! - [`REPEATED`]: fields read (and held) as repeated although the 2010 schema says 0..1,
//!   because final-release traffic repeats them (LIS.md §2.3).
//! - [`ALIASES`]: element spellings accepted for one another on input (LIS.md §7 rule 5).
//!
//! `cargo test soap::codegen` fails when the checked-in modules differ from what this produces;
//! `RB_REGENERATE=1 cargo test soap::codegen` rewrites them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::bind::{self, Node};
use super::xml::Limits;

/// (complex type, element) pairs held as `Vec` although the schema says `maxOccurs=1`.
pub const REPEATED: &[(&str, &str)] = &[("EnterpriseRoles.Type", "userId")];

/// Element names accepted for one another when reading.
pub const ALIASES: &[&[&str]] = &[&[
    "extensionValueVocabulary",
    "extensionTypeVocabulary",
    "extensionValueType",
]];

#[derive(Debug, Clone)]
struct Particle {
    name: String,
    min: u32,
    /// `None` = unbounded.
    max: Option<u32>,
}

#[derive(Debug, Default)]
struct Schema {
    namespace: String,
    /// simple type → enumeration values (empty: a plain string restriction)
    simple: BTreeMap<String, Vec<String>>,
    /// complex type → sequence
    complex: BTreeMap<String, Vec<Particle>>,
    /// global element → type QName (`tns:X.Type`, `xs:string`), or inline sequence
    elements: BTreeMap<String, ElementDef>,
    /// element order as declared (inline wrappers are emitted in this order)
    inline_order: Vec<String>,
    operations: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
enum ElementDef {
    Typed(String),
    Inline(Vec<Particle>),
}

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("WSDL is not readable XML: {0}")]
    Xml(#[from] super::xml::XmlError),
    #[error("WSDL schema: {0}")]
    Schema(String),
}

fn strip(q: &str) -> &str {
    q.rsplit(':').next().unwrap_or(q)
}

/// The particles of a complex type's content model, in order. An `xs:choice` (the Outcomes
/// schema nests them in sequences, and its `ResultValue.Type` is one) contributes each of its
/// elements as optional: the types hold every alternative, and a writer sets one.
fn sequence(ct: &Node) -> Vec<Particle> {
    let mut out = Vec::new();
    if let Some(group) = ct.child(&["sequence", "choice"]) {
        particles(group, group.name == "choice", &mut out);
    }
    out
}

fn particles(group: &Node, optional: bool, out: &mut Vec<Particle>) {
    for c in &group.children {
        match c.name.as_str() {
            "element" => {
                let Some(name) = c.attr("ref").or(c.attr("name")) else {
                    continue;
                };
                let min = c
                    .attr("minOccurs")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                out.push(Particle {
                    name: strip(name).to_string(),
                    min: if optional { 0 } else { min },
                    max: match c.attr("maxOccurs") {
                        Some("unbounded") => None,
                        Some(v) => v.parse().ok().or(Some(1)),
                        None => Some(1),
                    },
                });
            }
            "choice" => particles(c, true, out),
            "sequence" => particles(c, optional, out),
            _ => {}
        }
    }
}

fn read_schema(wsdl: &str) -> Result<Schema, CodegenError> {
    let limits = Limits {
        max_bytes: 16 << 20,
        ..Limits::default()
    };
    let root = bind::parse(wsdl.as_bytes(), limits)?;
    let schema = root
        .child(&["types"])
        .and_then(|t| t.child(&["schema"]))
        .ok_or_else(|| CodegenError::Schema("no types/schema".into()))?;
    let mut s = Schema {
        namespace: schema.attr("targetNamespace").unwrap_or("").to_string(),
        ..Schema::default()
    };
    for item in &schema.children {
        let Some(name) = item.attr("name") else {
            continue;
        };
        match item.name.as_str() {
            "simpleType" => {
                let values = item
                    .child(&["restriction"])
                    .map(|r| {
                        r.children_named(&["enumeration"])
                            .filter_map(|e| e.attr("value").map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                s.simple.insert(name.to_string(), values);
            }
            "complexType" => {
                s.complex.insert(name.to_string(), sequence(item));
            }
            "element" => {
                let def = match (item.attr("type"), item.child(&["complexType"])) {
                    (Some(t), _) => ElementDef::Typed(t.to_string()),
                    (None, Some(ct)) => {
                        s.inline_order.push(name.to_string());
                        ElementDef::Inline(sequence(ct))
                    }
                    (None, None) => ElementDef::Typed("xs:string".into()),
                };
                s.elements.insert(name.to_string(), def);
            }
            _ => {}
        }
    }
    // Operations and SOAPActions from the SOAP binding.
    for binding in root.children_named(&["binding"]) {
        for op in binding.children_named(&["operation"]) {
            let name = op.attr("name").unwrap_or("").to_string();
            let action = op
                .child(&["operation"])
                .and_then(|o| o.attr("soapAction"))
                .unwrap_or("")
                .to_string();
            s.operations.push((name, action));
        }
    }
    if s.namespace.is_empty() || s.operations.is_empty() {
        return Err(CodegenError::Schema(
            "no target namespace or no operations".into(),
        ));
    }
    Ok(s)
}

/// `Person.Type` → `Person`; `readPersonRequest` → `ReadPersonRequest`; `sourcedGUID.Type` →
/// `SourcedGuid`.
fn type_ident(name: &str) -> String {
    let base = name.strip_suffix(".Type").unwrap_or(name);
    // A schema type named like a prelude type (Outcomes' `Result.Type`) gets a prefix.
    if matches!(base, "Result" | "Option" | "Box" | "Vec" | "String") {
        return format!("Lis{base}");
    }
    let snake = snake(base);
    snake
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `sourcedGUID` → `sourced_guid`, `userIdValue` → `user_id_value`.
fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    out
}

fn field_ident(name: &str) -> String {
    let s = snake(name);
    match s.as_str() {
        "type" | "ref" | "use" | "match" | "mod" | "move" | "static" | "struct" | "enum" | "fn"
        | "impl" | "in" | "loop" | "where" | "self" => format!("r#{s}"),
        _ => s,
    }
}

fn variant_ident(value: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in value.chars() {
        if !c.is_ascii_alphanumeric() {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// What an element's values are in Rust.
enum Ty {
    Struct(String),
    Enum(String),
    Bool,
    Str,
}

impl Schema {
    fn element_type(&self, element: &str) -> Ty {
        match self.elements.get(element) {
            Some(ElementDef::Inline(_)) => Ty::Struct(type_ident(element)),
            Some(ElementDef::Typed(t)) => {
                let local = strip(t);
                if t.starts_with("xs:") {
                    if local == "boolean" {
                        Ty::Bool
                    } else {
                        Ty::Str
                    }
                } else if self.complex.contains_key(local) {
                    Ty::Struct(type_ident(local))
                } else if self.simple.get(local).is_some_and(|v| !v.is_empty()) {
                    Ty::Enum(type_ident(local))
                } else {
                    Ty::Str
                }
            }
            None => Ty::Str,
        }
    }
}

fn rust_ty(t: &Ty) -> String {
    match t {
        Ty::Struct(n) | Ty::Enum(n) => n.clone(),
        Ty::Bool => "bool".into(),
        Ty::Str => "Str".into(),
    }
}

fn names_literal(name: &str) -> String {
    let group = ALIASES
        .iter()
        .find(|g| g.contains(&name))
        .map(|g| {
            std::iter::once(name)
                .chain(g.iter().copied().filter(|n| *n != name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_else(|| vec![name]);
    let quoted: Vec<String> = group.iter().map(|n| format!("{n:?}")).collect();
    format!("&[{}]", quoted.join(", "))
}

/// How a field of `owner` holds its element: once, optionally, or repeated (also when
/// [`REPEATED`] overrides the schema).
#[derive(Clone, Copy)]
enum Occurs {
    One,
    Optional,
    Many,
}

impl Occurs {
    /// The binding runtime's reader or writer for it (`read_one`, `write_vec`, …).
    fn suffix(self, verb: &str) -> String {
        let s = match self {
            Occurs::One => "one",
            Occurs::Optional => "opt",
            Occurs::Many => "vec",
        };
        format!("{verb}_{s}")
    }
}

fn occurs(owner: &str, p: &Particle) -> Occurs {
    if p.max != Some(1) || REPEATED.contains(&(owner, p.name.as_str())) {
        Occurs::Many
    } else if p.min == 0 {
        Occurs::Optional
    } else {
        Occurs::One
    }
}

/// The generated statement writing field `p` of `owner` as its element.
fn write_call(owner: &str, p: &Particle) -> String {
    format!(
        "{}(&self.{}, tag!({:?}), out);",
        occurs(owner, p).suffix("write"),
        field_ident(&p.name),
        p.name
    )
}

fn emit_struct(
    out: &mut String,
    s: &Schema,
    owner: &str,
    ident: &str,
    seq: &[Particle],
    doc: &str,
) {
    let _ = writeln!(out, "/// {doc}");
    let _ = writeln!(out, "#[derive(Debug, Clone, Default, PartialEq)]");
    if seq.is_empty() {
        let _ = writeln!(out, "pub struct {ident} {{}}\n");
    } else {
        let _ = writeln!(out, "pub struct {ident} {{");
        for p in seq {
            let ty = rust_ty(&s.element_type(&p.name));
            let full = match occurs(owner, p) {
                Occurs::Many => format!("Vec<{ty}>"),
                Occurs::Optional => format!("Option<{ty}>"),
                Occurs::One => ty,
            };
            let _ = writeln!(out, "    pub {}: {full},", field_ident(&p.name));
        }
        let _ = writeln!(out, "}}\n");
    }
    let _ = writeln!(out, "impl XmlValue for {ident} {{");
    let node = if seq.is_empty() { "_node" } else { "node" };
    let _ = writeln!(
        out,
        "    fn read_value({node}: &Node) -> Result<Self, BindError> {{"
    );
    let _ = writeln!(out, "        Ok({ident} {{");
    for p in seq {
        let reader = occurs(owner, p).suffix("read");
        let _ = writeln!(
            out,
            "            {}: {reader}(node, {})?,",
            field_ident(&p.name),
            names_literal(&p.name)
        );
    }
    let _ = writeln!(out, "        }})\n    }}");
    let _ = writeln!(
        out,
        "    fn write_value(&self, tag: &Tag<'_>, out: &mut Out) {{"
    );
    if seq.is_empty() {
        let _ = writeln!(out, "        write_complex(tag, out, |_| {{}});");
    } else {
        let _ = writeln!(out, "        write_complex(tag, out, |out| {{");
        for p in seq {
            let _ = writeln!(out, "            {}", write_call(owner, p));
        }
        let _ = writeln!(out, "        }});");
    }
    let _ = writeln!(out, "    }}\n}}\n");
}

fn emit_enum(out: &mut String, name: &str, values: &[String]) {
    let ident = type_ident(name);
    let _ = writeln!(out, "/// `{name}`.");
    let _ = writeln!(
        out,
        "#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]"
    );
    let _ = writeln!(out, "pub enum {ident} {{");
    for (i, v) in values.iter().enumerate() {
        if i == 0 {
            let _ = writeln!(out, "    #[default]");
        }
        let _ = writeln!(out, "    {},", variant_ident(v));
    }
    let _ = writeln!(out, "}}\n");
    let _ = writeln!(out, "impl {ident} {{");
    let _ = writeln!(out, "    pub const VALUES: &'static [&'static str] = &[");
    for v in values {
        let _ = writeln!(out, "        {v:?},");
    }
    let _ = writeln!(out, "    ];");
    let _ = writeln!(out, "    pub fn as_str(self) -> &'static str {{");
    let _ = writeln!(out, "        match self {{");
    for v in values {
        let _ = writeln!(out, "            {ident}::{} => {v:?},", variant_ident(v));
    }
    let _ = writeln!(out, "        }}\n    }}");
    let _ = writeln!(out, "    pub fn parse(s: &str) -> Option<{ident}> {{");
    let _ = writeln!(out, "        match s {{");
    for v in values {
        let _ = writeln!(
            out,
            "            {v:?} => Some({ident}::{}),",
            variant_ident(v)
        );
    }
    let _ = writeln!(out, "            _ => None,\n        }}\n    }}\n}}\n");
    let _ = writeln!(out, "impl XmlValue for {ident} {{");
    let _ = writeln!(
        out,
        "    fn read_value(node: &Node) -> Result<Self, BindError> {{"
    );
    let _ = writeln!(out, "        let v = node.text.trim();");
    let _ = writeln!(out, "        {ident}::parse(v).ok_or_else(|| {{");
    let _ = writeln!(
        out,
        "            BindError::new(&node.name, format!(\"'{{v}}' is not one of {{}}\", Self::VALUES.join(\", \")))"
    );
    let _ = writeln!(out, "        }})\n    }}");
    let _ = writeln!(
        out,
        "    fn write_value(&self, tag: &Tag<'_>, out: &mut Out) {{"
    );
    let _ = writeln!(
        out,
        "        out.constant_text(tag, self.as_str());\n    }}\n}}\n"
    );
}

/// The Rust module for one WSDL (`source` names the file in the header comment).
pub fn generate(wsdl: &str, source: &str) -> Result<String, CodegenError> {
    let s = read_schema(wsdl)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "//! Generated by `src/soap/codegen.rs` from `{source}`: do not edit.\n\
         //! Regenerate with `RB_REGENERATE=1 cargo test soap::codegen`.\n"
    );
    let _ = writeln!(out, "use crate::soap::bind::*;\n");
    let _ = writeln!(out, "/// The service namespace (WSDL target namespace).");
    let _ = writeln!(out, "pub const NAMESPACE: &str = {:?};\n", s.namespace);
    let _ = writeln!(
        out,
        "/// Every operation of the SOAP binding, with its SOAPAction."
    );
    let _ = writeln!(out, "pub const OPERATIONS: &[(&str, &str)] = &[");
    for (op, action) in &s.operations {
        let _ = writeln!(out, "    ({op:?}, {action:?}),");
    }
    let _ = writeln!(out, "];\n");
    let minor = s
        .simple
        .get("imsx_CodeMinorValue.Type")
        .cloned()
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "/// The `imsx_codeMinorFieldValue` vocabulary of this service, as its schema spells it."
    );
    let _ = writeln!(out, "pub const CODE_MINOR_VALUES: &[&str] = &[");
    for v in &minor {
        let _ = writeln!(out, "    {v:?},");
    }
    let _ = writeln!(out, "];\n");
    for (name, values) in &s.simple {
        if !values.is_empty() && !name.starts_with("imsx_") {
            emit_enum(&mut out, name, values);
        }
    }
    for (name, seq) in &s.complex {
        if !name.starts_with("imsx_") {
            emit_struct(
                &mut out,
                &s,
                name,
                &type_ident(name),
                seq,
                &format!("`{name}`."),
            );
        }
    }
    for name in &s.inline_order {
        if let Some(ElementDef::Inline(seq)) = s.elements.get(name) {
            emit_struct(
                &mut out,
                &s,
                name,
                &type_ident(name),
                seq,
                &format!("Body element `{name}`."),
            );
        }
    }
    Ok(out)
}

/// The generated modules: (WSDL file in `wsdl/`, module file in `src/soap/gen/`).
pub const MODULES: &[(&str, &str)] = &[
    ("lis-person.wsdl", "pms.rs"),
    ("lis-membership.wsdl", "mms.rs"),
    ("lis-coursesection.wsdl", "cms.rs"),
    ("lis-group.wsdl", "gms.rs"),
    ("lis-lineitem.wsdl", "oms.rs"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(type_ident("SourcedGUID.Type"), "SourcedGuid");
        assert_eq!(type_ident("readPersonRequest"), "ReadPersonRequest");
        assert_eq!(snake("userIdValue"), "user_id_value");
        assert_eq!(snake("sourcedGUID"), "sourced_guid");
        assert_eq!(field_ident("type"), "r#type");
        assert_eq!(
            variant_ident("unsupportedLISIOperation"),
            "UnsupportedLISIOperation"
        );
    }

    /// The checked-in generated modules are exactly what the generator makes of the WSDLs.
    #[test]
    fn regenerating_changes_nothing() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let regenerate = std::env::var_os("RB_REGENERATE").is_some();
        for (wsdl, module) in MODULES {
            let text = std::fs::read_to_string(root.join("wsdl").join(wsdl)).expect("wsdl");
            let code = generate(&text, &format!("wsdl/{wsdl}")).expect("generates");
            let path = root.join("src/soap/gen").join(module);
            if regenerate {
                std::fs::write(&path, &code).expect("write");
            }
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                current == code,
                "{} is stale: run RB_REGENERATE=1 cargo test soap::codegen",
                path.display()
            );
        }
    }
}
