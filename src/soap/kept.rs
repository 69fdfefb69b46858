//! What the record mappings of the object services share (`course`, `group`): LIS elements
//! OneRoster has no field for, kept in a record's `metadata` as XML (`lis.<element>`) and
//! written back as sent; and the extension-field rule (OneRoster fields the LIS structure does
//! not carry travel as `oneroster.<field>`, metadata as `metadata.<key>`, a client's foreign
//! extension fields are kept as `lis.ext.<name>`), as plain name/value pairs each service
//! wraps in its own namespace's extension type.

use super::bind::{self, Out, Str, XmlValue};
use super::person::ONEROSTER;
use crate::model::record::Record;

/// Serialise an unmapped LIS element for `metadata` (an XML fragment in `namespace`).
pub fn keep<T: XmlValue>(namespace: &str, name: &str, value: &Option<T>) -> Option<String> {
    let value = value.as_ref()?;
    let mut out = Out::default();
    out.buf
        .push_str(&format!("<keep xmlns:tns=\"{namespace}\">"));
    value.write_value(&bind::TagBuf::new(name).tag(), &mut out);
    out.buf.push_str("</keep>");
    Some(out.into_string())
}

/// The element `name` kept in `rec`'s metadata, if any.
pub fn kept<T: XmlValue>(rec: &Record, name: &str) -> Option<T> {
    if rec.metadata.is_empty() {
        return None;
    }
    let xml = rec.metadata.get(&format!("lis.{name}"))?;
    let node = bind::parse(xml.as_bytes(), super::xml::Limits::default()).ok()?;
    bind::read_opt(&node, &[name]).ok().flatten()
}

/// Put (or remove) the kept element `name` in `rec`'s metadata.
pub fn store<T: XmlValue>(namespace: &str, rec: &mut Record, name: &str, value: &Option<T>) {
    match keep(namespace, name, value) {
        Some(x) => rec.metadata.insert(format!("lis.{name}"), x),
        None => rec.metadata.remove(&format!("lis.{name}")),
    };
}

/// `oneroster.<field>` for every field of `entity`, in catalogue order (built once).
fn oneroster_names(entity: crate::model::catalog::Entity) -> &'static [String] {
    static NAMES: std::sync::OnceLock<
        std::collections::HashMap<crate::model::catalog::Entity, Vec<String>>,
    > = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            crate::model::catalog::Entity::ALL
                .iter()
                .map(|e| {
                    let names = e
                        .fields()
                        .iter()
                        .map(|f| format!("{ONEROSTER}{}", f.name))
                        .collect();
                    (*e, names)
                })
                .collect()
        })
        .get(&entity)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A kept plain-text LIS value (`lis.<name>`), if any.
pub fn text(rec: &Record, name: &str) -> Option<Str> {
    if rec.metadata.is_empty() {
        return None;
    }
    rec.metadata
        .get(&format!("lis.{name}"))
        .map(|s| Str::Owned(s.clone()))
}

/// Keep the plain-text LIS value `name` (trimmed); absent or blank removes it.
pub fn store_text(rec: &mut Record, name: &str, value: Option<&str>) {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        Some(v) => rec.metadata.insert(format!("lis.{name}"), v.to_string()),
        None => rec.metadata.remove(&format!("lis.{name}")),
    };
}

/// A date (`YYYY-MM-DD`) as the `xs:dateTime` LIS time frames and dates carry; anything else
/// as it is.
pub fn date_time(d: &str) -> String {
    if d.len() == 10 {
        format!("{d}T00:00:00Z")
    } else {
        d.to_string()
    }
}

/// The extension fields of a record: its status and timestamp, the catalogue fields the LIS
/// structure does not carry (`structural` does), the metadata (`metadata.*`), and foreign
/// extension fields a client sent (`lis.ext.*`).
pub fn extension_fields(rec: &Record, structural: &[&str]) -> Vec<(String, String)> {
    let mut fields = vec![(
        format!("{ONEROSTER}status"),
        rec.status.as_str().to_string(),
    )];
    if let Some(d) = &rec.date_last_modified {
        fields.push((format!("{ONEROSTER}dateLastModified"), d.clone()));
    }
    for (f, name) in rec.entity.fields().iter().zip(oneroster_names(rec.entity)) {
        if structural.contains(&f.name) {
            continue;
        }
        if let Some(v) = rec.cell(f.name) {
            fields.push((name.clone(), v));
        }
    }
    for (k, v) in &rec.metadata {
        if let Some(name) = k.strip_prefix("lis.ext.") {
            fields.push((name.to_string(), v.clone()));
        } else if !k.starts_with("lis.") {
            fields.push((format!("metadata.{k}"), v.clone()));
        }
    }
    fields
}

/// Apply a request's extension fields to `rec`: `oneroster.<field>` sets a catalogue field
/// (not a `structural` one, which the LIS elements set), `metadata.<key>` a metadata entry,
/// anything else is kept as `lis.ext.<name>`. `Err`: the message for a `oneroster.` name that
/// is no field of the entity.
pub fn apply_fields<'a>(
    rec: &mut Record,
    fields: impl Iterator<Item = (&'a str, &'a str)>,
    structural: &[&str],
) -> Result<(), String> {
    rec.metadata.retain(|k, _| !k.starts_with("lis.ext."));
    for (name, value) in fields {
        let (name, value) = (name.trim(), value.trim());
        if let Some(field) = name.strip_prefix(ONEROSTER) {
            match field {
                "status" | "dateLastModified" => {}
                f if structural.contains(&f) => {}
                f if rec.entity.field_index(f).is_some() => {
                    rec.set(f, value);
                }
                other => {
                    return Err(format!(
                        "'{ONEROSTER}{other}' is not a OneRoster {} field",
                        rec.entity.name()
                    ))
                }
            }
        } else if let Some(key) = name.strip_prefix("metadata.") {
            rec.metadata.insert(key.to_string(), value.to_string());
        } else if !name.is_empty() {
            rec.metadata
                .insert(format!("lis.ext.{name}"), value.to_string());
        }
    }
    Ok(())
}
