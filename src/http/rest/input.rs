//! Request bodies → domain records: the JSON object of a PUT or of a POST's list read into a
//! [`Record`] of the 1.2 layout, driven by the catalogue (the inverse of `render`). Lenient the
//! way real clients need (GUIDRefs with only `sourcedId`, no `status`, `dateLastModified` or
//! `metadata`, booleans as strings or JSON booleans, a line item's dates as date-times); the
//! values themselves are checked afterwards by the importer's rules (enums, dates, numbers,
//! required fields, references), which name the field and the rule.

use serde_json::{Map, Value as Json};

use crate::model::catalog::{Entity, Kind};
use crate::model::record::{format_float, Record, Status};

/// A body that is not what the operation takes (its wire shape, not its values).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// The record `obj` describes, as `entity` in `version` (1.1's names where they differ; keys
/// the version does not have are ignored, as are unknown keys). `sourcedId` is the body's
/// (empty when it has none); the caller decides the id.
pub fn record(entity: Entity, obj: &Map<String, Json>, v1p1: bool) -> Result<Record, Malformed> {
    let mut rec = Record::new(entity, text_of(obj, "sourcedId")?.unwrap_or_default());
    if let Some(s) = text_of(obj, "status")? {
        rec.status = Status::parse(&s)
            .ok_or_else(|| Malformed(format!("status: '{s}' is not active or tobedeleted")))?;
    }
    match obj.get("metadata") {
        None | Some(Json::Null) => {}
        Some(Json::Object(m)) => {
            for (k, v) in m {
                let v = match v {
                    Json::String(s) => s.clone(),
                    Json::Null => continue,
                    other => other.to_string(),
                };
                rec.metadata.insert(k.clone(), v);
            }
        }
        Some(_) => return Err(Malformed("metadata: not an object".into())),
    }
    for f in entity.fields() {
        // A link file's parent column is not a JSON field.
        if entity.parent().map(|(_, c)| c) == Some(f.column) {
            continue;
        }
        let Some(key) = super::render::wire_name(entity, f, v1p1) else {
            continue;
        };
        let mut value = obj.get(&key);
        // 1.2 line items: `gradingPeriod` is the older name of `academicSession`.
        if value.is_none() && entity == Entity::LineItems && key == "academicSession" {
            value = obj.get("gradingPeriod");
        }
        let Some(value) = value else { continue };
        if let Some(text) = cell(entity, f.kind, &key, value)? {
            rec.set(f.name, text);
        }
    }
    Ok(rec)
}

/// A string field of `obj`, if present and not null.
fn text_of(obj: &Map<String, Json>, key: &str) -> Result<Option<String>, Malformed> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Malformed(format!("{key}: not a string"))),
    }
}

/// The CSV cell text of one JSON value of a field of `kind` (`None`: null).
fn cell(entity: Entity, kind: Kind, key: &str, v: &Json) -> Result<Option<String>, Malformed> {
    let bad = |what: &str| Malformed(format!("{key}: {what}"));
    if v.is_null() {
        return Ok(None);
    }
    let text = match kind {
        Kind::Ref(_) => guid_ref(v).ok_or_else(|| bad("not a GUIDRef with a sourcedId"))?,
        Kind::RefList(_) => items(v, key, guid_ref)?,
        Kind::List | Kind::EnumList(..) => items(v, key, |x| x.as_str().map(str::to_string))?,
        Kind::UserIds | Kind::ScoreScaleValue => {
            let (l, r) = if kind == Kind::UserIds {
                ("type", "identifier")
            } else {
                ("itemValueLHS", "itemValueRHS")
            };
            items(v, key, |x| {
                let a = x.get(l)?.as_str()?;
                let b = x.get(r)?.as_str()?;
                Some(format!("{{{a}:{b}}}"))
            })?
        }
        Kind::Float => match v {
            Json::Number(n) => n
                .as_f64()
                .map(format_float)
                .ok_or_else(|| bad("not a number"))?,
            Json::String(s) => s.clone(),
            _ => return Err(bad("not a number")),
        },
        Kind::Bool => match v {
            Json::Bool(b) => b.to_string(),
            Json::String(s) => s.clone(),
            _ => return Err(bad("not true or false")),
        },
        // A line item's dates are date-times in JSON: the date is kept.
        Kind::Date if entity == Entity::LineItems => {
            let s = v.as_str().ok_or_else(|| bad("not a string"))?;
            match s.split_once('T') {
                Some((date, _)) if crate::model::time::parse_datetime(s).is_some() => {
                    date.to_string()
                }
                _ => s.to_string(),
            }
        }
        _ => v.as_str().ok_or_else(|| bad("not a string"))?.to_string(),
    };
    Ok((!text.is_empty()).then_some(text))
}

/// A GUIDRef's `sourcedId` (a bare string is taken as the id too; `href` is never trusted).
pub fn ref_id(v: &Json) -> Option<&str> {
    match v {
        Json::String(s) => Some(s),
        Json::Object(o) => o.get("sourcedId")?.as_str(),
        _ => None,
    }
}

/// [`ref_id`], owned.
fn guid_ref(v: &Json) -> Option<String> {
    ref_id(v).map(str::to_string)
}

/// An array's items as one list cell (`a,b`); an item holding a comma cannot be listed.
fn items(v: &Json, key: &str, item: impl Fn(&Json) -> Option<String>) -> Result<String, Malformed> {
    let arr = v
        .as_array()
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
    link.parent()
        .and_then(|(_, column)| link.fields().iter().find(|f| f.column == column))
        .map_or("", |f| f.name)
}
