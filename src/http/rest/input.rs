//! Request bodies → domain records: the JSON object of a PUT or of a POST's list read into a
//! [`Record`] of the 1.2 layout, driven by the catalogue (the inverse of `render`). Lenient the
//! way real clients need (GUIDRefs with only `sourcedId`, no `status`, `dateLastModified` or
//! `metadata`, booleans as strings or JSON booleans, a line item's dates as date-times); the
//! values themselves are checked afterwards by the importer's rules (enums, dates, numbers,
//! required fields, references), which name the field and the rule.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value as Json};

use crate::model::catalog::{Entity, Field, Kind};
use crate::model::record::{format_float, Record, Status};

/// A body that is not what the operation takes (its wire shape, not its values).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// What the readers here ask of a JSON object. Implemented by serde_json's `Map` (request
/// bodies) and by the pull's borrowed tree (`upstream::json`, pages of an upstream), so that a
/// record is read by the same rules from either.
pub trait JsonObject {
    type Value: JsonValue<Object = Self>;
    /// The member named `key`.
    fn member(&self, key: &str) -> Option<&Self::Value>;
    /// Every member, in order.
    fn members(&self) -> impl Iterator<Item = (&str, &Self::Value)>;
}

/// What the readers here ask of a JSON value (see [`JsonObject`]).
pub trait JsonValue: Sized {
    type Object: JsonObject<Value = Self>;
    fn object(&self) -> Option<&Self::Object>;
    fn array(&self) -> Option<&[Self]>;
    fn text(&self) -> Option<&str>;
    fn boolean(&self) -> Option<bool>;
    fn number(&self) -> Option<f64>;
    fn is_null(&self) -> bool;
    /// The value written as JSON (a metadata value that is not a string).
    fn json_text(&self) -> String;
    /// The member `key` of an object.
    fn member(&self, key: &str) -> Option<&Self> {
        self.object()?.member(key)
    }
}

impl JsonObject for Map<String, Json> {
    type Value = Json;
    fn member(&self, key: &str) -> Option<&Json> {
        self.get(key)
    }
    fn members(&self) -> impl Iterator<Item = (&str, &Json)> {
        self.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl JsonValue for Json {
    type Object = Map<String, Json>;
    fn object(&self) -> Option<&Map<String, Json>> {
        self.as_object()
    }
    fn array(&self) -> Option<&[Json]> {
        self.as_array().map(Vec::as_slice)
    }
    fn text(&self) -> Option<&str> {
        self.as_str()
    }
    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn is_null(&self) -> bool {
        Json::is_null(self)
    }
    fn json_text(&self) -> String {
        self.to_string()
    }
}

/// The record `obj` describes, as `entity` in `version` (1.1's names where they differ; keys
/// the version does not have are ignored, as are unknown keys). `sourcedId` is the body's
/// (empty when it has none); the caller decides the id.
pub fn record<O: JsonObject>(entity: Entity, obj: &O, v1p1: bool) -> Result<Record, Malformed> {
    let mut rec = Record::new(entity, text_of(obj, "sourcedId")?.unwrap_or_default());
    if let Some(s) = text_of(obj, "status")? {
        rec.status = Status::parse(&s)
            .ok_or_else(|| Malformed(format!("status: '{s}' is not active or tobedeleted")))?;
    }
    match obj.member("metadata") {
        None => {}
        Some(m) if m.is_null() => {}
        Some(m) => {
            let m = m
                .object()
                .ok_or_else(|| Malformed("metadata: not an object".into()))?;
            for (k, v) in m.members() {
                let v = match v.text() {
                    Some(s) => s.to_string(),
                    None if v.is_null() => continue,
                    None => v.json_text(),
                };
                rec.metadata.insert(k.to_string(), v);
            }
        }
    }
    for (f, key) in wire_fields(entity, v1p1) {
        let mut value = obj.member(key);
        // 1.2 line items: `gradingPeriod` is the older name of `academicSession`.
        if value.is_none() && entity == Entity::LineItems && key == "academicSession" {
            value = obj.member("gradingPeriod");
        }
        let Some(value) = value else { continue };
        if let Some(text) = cell(entity, f.kind, key, value)? {
            rec.set(f.name, text);
        }
    }
    Ok(rec)
}

/// The fields of `entity` a JSON object can carry, with their JSON names in `v1p1` or 1.2
/// (worked out once per entity and version: records are read by the hundred thousand).
fn wire_fields(entity: Entity, v1p1: bool) -> &'static [(&'static Field, String)] {
    type Table = HashMap<(Entity, bool), Vec<(&'static Field, String)>>;
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            let mut t = Table::new();
            for e in Entity::ALL {
                for v in [false, true] {
                    let fields = e
                        .fields()
                        .iter()
                        // A link file's parent column is not a JSON field.
                        .filter(|f| e.parent().map(|(_, c)| c) != Some(f.column))
                        .filter_map(|f| super::render::wire_name(e, f, v).map(|k| (f, k)))
                        .collect();
                    t.insert((e, v), fields);
                }
            }
            t
        })
        .get(&(entity, v1p1))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A string field of `obj`, if present and not null.
fn text_of<O: JsonObject>(obj: &O, key: &str) -> Result<Option<String>, Malformed> {
    match obj.member(key) {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => v
            .text()
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| Malformed(format!("{key}: not a string"))),
    }
}

/// The CSV cell text of one JSON value of a field of `kind` (`None`: null).
fn cell<V: JsonValue>(
    entity: Entity,
    kind: Kind,
    key: &str,
    v: &V,
) -> Result<Option<String>, Malformed> {
    let bad = |what: &str| Malformed(format!("{key}: {what}"));
    if v.is_null() {
        return Ok(None);
    }
    let text = match kind {
        Kind::Ref(_) => guid_ref(v).ok_or_else(|| bad("not a GUIDRef with a sourcedId"))?,
        Kind::RefList(_) => items(v, key, guid_ref)?,
        Kind::List | Kind::EnumList(..) => items(v, key, |x| x.text().map(str::to_string))?,
        Kind::UserIds | Kind::ScoreScaleValue => {
            let (l, r) = if kind == Kind::UserIds {
                ("type", "identifier")
            } else {
                ("itemValueLHS", "itemValueRHS")
            };
            items(v, key, |x| {
                let a = x.member(l)?.text()?;
                let b = x.member(r)?.text()?;
                Some(format!("{{{a}:{b}}}"))
            })?
        }
        Kind::Float => match (v.number(), v.text()) {
            (Some(n), _) => format_float(n),
            (None, Some(s)) => s.to_string(),
            _ => return Err(bad("not a number")),
        },
        Kind::Bool => match (v.boolean(), v.text()) {
            (Some(b), _) => b.to_string(),
            (None, Some(s)) => s.to_string(),
            _ => return Err(bad("not true or false")),
        },
        // A line item's dates are date-times in JSON: the date is kept.
        Kind::Date if entity == Entity::LineItems => {
            let s = v.text().ok_or_else(|| bad("not a string"))?;
            match s.split_once('T') {
                Some((date, _)) if crate::model::time::parse_datetime(s).is_some() => {
                    date.to_string()
                }
                _ => s.to_string(),
            }
        }
        _ => v.text().ok_or_else(|| bad("not a string"))?.to_string(),
    };
    Ok((!text.is_empty()).then_some(text))
}

/// A GUIDRef's `sourcedId` (a bare string is taken as the id too; `href` is never trusted).
pub fn ref_id<V: JsonValue>(v: &V) -> Option<&str> {
    match v.text() {
        Some(s) => Some(s),
        None => v.member("sourcedId")?.text(),
    }
}

/// [`ref_id`], owned.
fn guid_ref<V: JsonValue>(v: &V) -> Option<String> {
    ref_id(v).map(str::to_string)
}

/// An array's items as one list cell (`a,b`); an item holding a comma cannot be listed.
fn items<V: JsonValue>(
    v: &V,
    key: &str,
    item: impl Fn(&V) -> Option<String>,
) -> Result<String, Malformed> {
    let arr = v
        .array()
        .ok_or_else(|| Malformed(format!("{key}: not an array")))?;
    let mut out = Vec::with_capacity(arr.len());
    for x in arr {
        let s = item(x).ok_or_else(|| Malformed(format!("{key}: an item has the wrong form")))?;
        if s.contains(',') || s.is_empty() {
            return Err(Malformed(format!(
                "{key}: '{s}' cannot be stored as a list item (empty, or holds a comma)"
            )));
        }
        out.push(s);
    }
    Ok(out.join(","))
}

/// The association rows a 1.2 gradebook record's JSON carries, for the keys the body has:
/// a line item's or result's `scoreScale` (a score-scale link) and the `learningObjectiveSet`
/// of those and of assessment line items and results (one learning-objective row per id, a
/// result's with its score). `None` for a key the body leaves out (the stored rows stay as
/// they are); an empty list when it is null or empty (they go). Each row's id is derived from
/// its parent and content (`li1:ss1`, `li1:case:lo-7`); the caller keeps a stored row's id
/// when its content matches.
pub fn links(
    entity: Entity,
    obj: &Map<String, Json>,
    parent: &str,
) -> Result<Vec<(Entity, Vec<Record>)>, Malformed> {
    let (scales, objectives) = entity.gradebook_links();
    let mut out = Vec::new();
    if let (Some(scales), Some(v)) = (scales, obj.get("scoreScale")) {
        let mut rows = Vec::new();
        if !v.is_null() {
            let scale = guid_ref(v)
                .ok_or_else(|| Malformed("scoreScale: not a GUIDRef with a sourcedId".into()))?;
            let mut r = Record::new(scales, format!("{parent}:{scale}"));
            r.set(parent_field(scales), parent)
                .set("scoreScaleSourcedId", scale);
            rows.push(r);
        }
        out.push((scales, rows));
    }
    if let (Some(objectives), Some(v)) = (objectives, obj.get("learningObjectiveSet")) {
        let bad = |what: &str| Malformed(format!("learningObjectiveSet: {what}"));
        let mut rows = Vec::new();
        let sets = match v {
            Json::Null => &[][..],
            Json::Array(a) => a.as_slice(),
            _ => return Err(bad("not an array")),
        };
        for set in sets {
            let source = set
                .get("source")
                .and_then(Json::as_str)
                .ok_or_else(|| bad("a set without a source"))?;
            let result = objectives.field_index("score").is_some();
            let key = if result {
                "learningObjectiveResults"
            } else {
                "learningObjectiveIds"
            };
            let items = set
                .get(key)
                .and_then(Json::as_array)
                .ok_or_else(|| bad(&format!("a set without {key}")))?;
            for item in items {
                let (lo, score, text) = if result {
                    let lo = item.get("learningObjectiveId").and_then(Json::as_str);
                    (
                        lo,
                        item.get("score").and_then(Json::as_f64),
                        item.get("textScore").and_then(Json::as_str),
                    )
                } else {
                    (item.as_str(), None, None)
                };
                let lo = lo.ok_or_else(|| bad("an item without a learningObjectiveId"))?;
                let mut r = Record::new(objectives, format!("{parent}:{source}:{lo}"));
                r.set(parent_field(objectives), parent)
                    .set("source", source)
                    .set("learningObjectiveId", lo);
                if let Some(x) = score {
                    r.set("score", format_float(x));
                }
                if let Some(t) = text {
                    r.set("textScore", t);
                }
                rows.push(r);
            }
        }
        out.push((objectives, rows));
    }
    Ok(out)
}

/// The field of an association row naming the record it belongs to.
fn parent_field(link: Entity) -> &'static str {
    link.parent_field().map_or("", |(_, f)| f.name)
}
