//! LIS Outcomes ↔ the OneRoster gradebook (LIS.md §4.8, §9; `docs/LIS-MAPPING.md`): a LIS line
//! item is a gradebook line item, a LIS result a gradebook result (same sourcedIds, so a result
//! written over SOAP is the one a REST gradebook client reads, and the reverse), a result value
//! (a grading scale) is either a line item's own range (`<lineItem>:rv`, from
//! `resultValueMin`/`resultValueMax`) or a score scale. Both directions, between the domain
//! records and the generated OMS types.

use super::bind::Str;
use super::gen::oms::{
    Context, ExtensionField, ImsExtension, LineItem, LineItemRecord, LineItemType, LisResult,
    OrderedValue, ResultRecord, ResultStatus, ResultValue, ResultValueRecord, SourcedGuid, Text,
    ValueList, ValueRange,
};
use super::person::EXTENSION_VOCABULARY;
use crate::model::catalog::{Entity, SCORE_STATUSES};
use crate::model::record::{format_float, list_items, Record, Status};

/// The suffix of a line item's own result value id.
pub const RANGE: &str = ":rv";

/// The vocabulary of the line item types rosterbridge writes (the values are category ids).
pub const CATEGORY_VOCABULARY: &str = "urn:rosterbridge:lis:category";
/// The vocabulary of result statuses (the values are OneRoster score statuses).
pub const STATUS_VOCABULARY: &str = "urn:rosterbridge:lis:scoreStatus";

fn text(s: impl Into<Str>) -> Text {
    Text {
        language: Str::Borrowed("en-US"),
        text_string: s.into(),
    }
}

fn extension(rec: &Record, structural: &[&str]) -> ImsExtension {
    ImsExtension {
        extension_name_vocabulary: EXTENSION_VOCABULARY.into(),
        extension_value_vocabulary: Str::Borrowed("String"),
        extension_field: super::kept::extension_fields(rec, structural)
            .into_iter()
            .map(|(n, v)| ExtensionField {
                field_name: n.into(),
                field_type: Str::Borrowed("String"),
                field_value: v.into(),
            })
            .collect(),
    }
}

fn apply(
    rec: &mut Record,
    ext: &Option<ImsExtension>,
    structural: &[&str],
    path: &str,
) -> Result<(), Invalid> {
    let Some(ext) = ext else { return Ok(()) };
    let pairs = ext
        .extension_field
        .iter()
        .map(|f| (f.field_name.as_ref(), f.field_value.as_ref()));
    super::kept::apply_fields(rec, pairs, structural)
        .map_err(|m| invalid(&format!("{path}/extension/extensionField"), m))
}

/// An Outcomes write that could not be mapped: `path` names the element.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct Invalid {
    pub path: String,
    pub message: String,
}

fn invalid(path: &str, message: impl Into<String>) -> Invalid {
    Invalid {
        path: path.to_string(),
        message: message.into(),
    }
}

fn guid(id: &str) -> SourcedGuid {
    SourcedGuid {
        ref_agent_instance_id: None,
        sourced_id: id.to_string().into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Line items.

const LINE_ITEM_STRUCTURAL: &[&str] = &[
    "title",
    "classSourcedId",
    "categorySourcedId",
    "resultValueMin",
    "resultValueMax",
];

/// The LIS line item of a gradebook line item; `category`: its category (for the type's
/// display name).
pub fn line_item_to_lis(li: &Record, category: Option<&Record>) -> LineItemRecord {
    LineItemRecord {
        sourced_guid: guid(&li.sourced_id),
        line_item: LineItem {
            context: li.get("classSourcedId").map(|c| Context {
                context_identifier: c.to_string().into(),
                context_type: Str::Borrowed("courseSection"),
            }),
            line_item_type: li.get("categorySourcedId").map(|c| LineItemType {
                line_item_type_vocabulary: CATEGORY_VOCABULARY.into(),
                line_item_type_value: text(c.to_string()),
                resource_handler_id: None,
                locale_key: None,
                default_display_name: category
                    .and_then(|c| c.get("title"))
                    .map(|t| t.to_string().into()),
            }),
            label: li.get("title").map(|t| t.to_string().into()),
            result_value_sourced_id: Some(format!("{}{RANGE}", li.sourced_id).into()),
            result_value: None,
            line_item_settings: None,
            outcomes_handler_sourced_id: None,
            data_source: super::kept::text(li, "dataSource"),
            record_info: None,
            extension: Some(extension(li, LINE_ITEM_STRUCTURAL)),
        },
    }
}

/// What a line item write names that the service resolves.
#[derive(Debug, Default)]
pub struct LineItemRefs {
    /// The `lineItemType` value (a category id or title), if any.
    pub category: Option<String>,
    /// `resultValueSourcedId`: another line item's range or a score scale.
    pub result_value: Option<String>,
}

/// A gradebook line item from a LIS one, over `base` (the stored one, for an update).
pub fn line_item_from_lis(
    id: &str,
    l: &LineItem,
    base: Option<&Record>,
) -> Result<(Record, LineItemRefs), Invalid> {
    let mut rec = base
        .cloned()
        .unwrap_or_else(|| Record::new(Entity::LineItems, id));
    rec.sourced_id = id.to_string();
    rec.status = Status::Active;
    if let Some(c) = &l.context {
        let class = c.context_identifier.trim();
        if !class.is_empty() {
            rec.set("classSourcedId", class);
        }
    }
    if rec.get("classSourcedId").is_none() {
        return Err(invalid(
            "lineItem/context/contextIdentifier",
            "a line item needs its course section",
        ));
    }
    match l.label.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(t) => {
            rec.set("title", t);
        }
        None if rec.get("title").is_none() => {
            rec.set("title", id);
        }
        None => {}
    }
    if let Some(range) = l.result_value.as_ref().and_then(|v| v.value_range.as_ref()) {
        set_range(&mut rec, range, "lineItem/resultValue/valueRange")?;
    }
    super::kept::store_text(&mut rec, "dataSource", l.data_source.as_deref());
    apply(&mut rec, &l.extension, LINE_ITEM_STRUCTURAL, "lineItem")?;
    Ok((
        rec,
        LineItemRefs {
            category: l
                .line_item_type
                .as_ref()
                .map(|t| t.line_item_type_value.text_string.trim().to_string())
                .filter(|s| !s.is_empty()),
            result_value: l
                .result_value_sourced_id
                .as_deref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        },
    ))
}

/// `resultValueMin` / `resultValueMax` from a value range (numbers, or absent).
pub fn set_range(rec: &mut Record, range: &ValueRange, path: &str) -> Result<(), Invalid> {
    for (v, field) in [
        (&range.min, "resultValueMin"),
        (&range.max, "resultValueMax"),
    ] {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(x) => {
                let n: f64 = x
                    .parse()
                    .map_err(|_| invalid(path, format!("'{x}' is not a number")))?;
                rec.set(field, format_float(n));
            }
            None => {
                rec.set(field, "");
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Results.

const RESULT_STRUCTURAL: &[&str] = &[
    "lineItemSourcedId",
    "studentSourcedId",
    "scoreStatus",
    "score",
    "scoreDate",
];

/// The LIS result of a gradebook result.
pub fn result_to_lis(r: &Record) -> ResultRecord {
    let score = r.cell("score").or(r.cell("textScore"));
    ResultRecord {
        sourced_guid: guid(&r.sourced_id),
        result: LisResult {
            statusof_result: r.get("scoreStatus").map(|s| ResultStatus {
                result_status_vocabulary: STATUS_VOCABULARY.into(),
                result_status_value: text(s.to_string()),
                locale_key: None,
                default_display_name: None,
            }),
            line_item_sourced_id: r.get("lineItemSourcedId").unwrap_or("").to_string().into(),
            person_sourced_id: r.get("studentSourcedId").map(|s| s.to_string().into()),
            date: r.get("scoreDate").map(|d| super::kept::date_time(d).into()),
            result_value_sourced_id: r
                .get("lineItemSourcedId")
                .map(|l| format!("{l}{RANGE}").into()),
            result_value: None,
            result_score: score.map(text),
            result_message_settings: None,
            data_source: super::kept::text(r, "dataSource"),
            record_info: None,
            extension: Some(extension(r, RESULT_STRUCTURAL)),
        },
    }
}

/// A score status from LIS: a OneRoster status (any case), or the LIS words for them
/// (`final`/`complete`/`graded` → fully graded, `partial` → partially graded, `pending` →
/// submitted, `missing`/`notsubmitted` → not submitted).
pub fn score_status(v: &str) -> Option<&'static str> {
    let t = v.trim().to_ascii_lowercase();
    if let Some(s) = SCORE_STATUSES.iter().find(|s| s.eq_ignore_ascii_case(&t)) {
        return Some(s);
    }
    Some(match t.replace([' ', '_', '-'], "").as_str() {
        "final" | "complete" | "completed" | "graded" | "fullygraded" => "fully graded",
        "partial" | "partiallygraded" => "partially graded",
        "pending" | "submitted" => "submitted",
        "missing" | "notsubmitted" => "not submitted",
        "exempt" | "excused" => "exempt",
        _ => return None,
    })
}

/// A gradebook result from a LIS one, over `base`. A new result without a status is `fully
/// graded` when it has a score (else `not submitted`); without a date, `today`.
pub fn result_from_lis(
    id: &str,
    r: &LisResult,
    base: Option<&Record>,
    today: &str,
) -> Result<Record, Invalid> {
    let mut rec = base
        .cloned()
        .unwrap_or_else(|| Record::new(Entity::Results, id));
    rec.sourced_id = id.to_string();
    rec.status = Status::Active;
    let li = r.line_item_sourced_id.trim();
    if !li.is_empty() {
        rec.set("lineItemSourcedId", li);
    }
    if rec.get("lineItemSourcedId").is_none() {
        return Err(invalid(
            "result/lineItemSourcedId",
            "a result needs its line item",
        ));
    }
    if let Some(p) = r
        .person_sourced_id
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        rec.set("studentSourcedId", p);
    }
    if rec.get("studentSourcedId").is_none() {
        return Err(invalid(
            "result/personSourcedId",
            "a result needs its person",
        ));
    }
    if let Some(score) = r
        .result_score
        .as_ref()
        .map(|s| s.text_string.trim().to_string())
    {
        match score.parse::<f64>() {
            Ok(n) => {
                rec.set("score", format_float(n));
            }
            Err(_) if score.is_empty() => {
                rec.set("score", "").set("textScore", "");
            }
            Err(_) => {
                rec.set("textScore", score).set("score", "");
            }
        }
    }
    if let Some(st) = &r.statusof_result {
        let v = st.result_status_value.text_string.trim();
        let s = score_status(v).ok_or_else(|| {
            invalid(
                "result/statusofResult/resultStatusValue",
                format!(
                    "'{v}' is not a score status ({}, or final, partial, pending, missing)",
                    SCORE_STATUSES.join(", ")
                ),
            )
        })?;
        rec.set("scoreStatus", s);
    }
    if rec.get("scoreStatus").is_none() {
        let graded = rec.cell("score").is_some() || rec.cell("textScore").is_some();
        rec.set(
            "scoreStatus",
            if graded {
                "fully graded"
            } else {
                "not submitted"
            },
        );
    }
    match r.date.as_deref().and_then(super::course::date_of) {
        Some(d) => {
            rec.set("scoreDate", d);
        }
        None if rec.get("scoreDate").is_none() => {
            rec.set("scoreDate", today);
        }
        None => {}
    }
    super::kept::store_text(&mut rec, "dataSource", r.data_source.as_deref());
    apply(&mut rec, &r.extension, RESULT_STRUCTURAL, "result")?;
    Ok(rec)
}

// ---------------------------------------------------------------------------------------------
// Result values.

/// The LIS result value of a line item's range (`rec` a line item, its id `<li>:rv`) or of a
/// score scale (its values as ordered grades).
pub fn result_value_to_lis(rec: &Record) -> ResultValueRecord {
    let value = if rec.entity == Entity::LineItems {
        // The draft schema makes a result value's content a choice of one element (LIS.md
        // §4.11 lists its generator defects): the range alone, no label.
        ResultValue {
            label: None,
            value_list: None,
            value_range: Some(ValueRange {
                min: rec.cell("resultValueMin").map(Str::from),
                max: rec.cell("resultValueMax").map(Str::from),
            }),
            ..ResultValue::default()
        }
    } else {
        let values: Vec<OrderedValue> = rec
            .get("scoreScaleValue")
            .map(|v| {
                list_items(v)
                    .enumerate()
                    .map(|(i, item)| {
                        let item = item.trim_start_matches('{').trim_end_matches('}');
                        let (grade, value) = item.split_once(':').unwrap_or((item, ""));
                        OrderedValue {
                            ordinal: (i + 1).to_string().into(),
                            grade: Some(text(grade.to_string())),
                            value_range: (!value.is_empty()).then(|| ValueRange {
                                min: Some(value.to_string().into()),
                                max: Some(value.to_string().into()),
                            }),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        ResultValue {
            label: None,
            value_list: Some(ValueList {
                order_value: values,
            }),
            ..ResultValue::default()
        }
    };
    ResultValueRecord {
        sourced_guid: guid(&rec.sourced_id),
        result_value: value,
    }
}

/// A score scale's values from a LIS value list (`{grade:value}` items, in order).
pub fn scale_values(list: &ValueList) -> String {
    list.order_value
        .iter()
        .map(|o| {
            let grade = o
                .grade
                .as_ref()
                .map(|g| g.text_string.trim().to_string())
                .unwrap_or_else(|| o.ordinal.trim().to_string());
            let value = o
                .value_range
                .as_ref()
                .and_then(|r| r.max.as_deref().or(r.min.as_deref()))
                .map(str::trim)
                .unwrap_or("");
            format!("{{{grade}:{value}}}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_items_and_results_round_trip() {
        let mut li = Record::new(Entity::LineItems, "li1");
        li.set("title", "Essay")
            .set("classSourcedId", "k1")
            .set("categorySourcedId", "cat1")
            .set("assignDate", "2026-01-05")
            .set("dueDate", "2026-01-20")
            .set("academicSessionSourcedId", "t1")
            .set("resultValueMax", "100");
        let lis = line_item_to_lis(&li, None);
        assert_eq!(
            lis.line_item.result_value_sourced_id.as_deref(),
            Some("li1:rv")
        );
        let (back, refs) = line_item_from_lis("li1", &lis.line_item, None).expect("maps");
        assert_eq!(refs.category.as_deref(), Some("cat1"));
        for f in [
            "title",
            "classSourcedId",
            "assignDate",
            "dueDate",
            "academicSessionSourcedId",
        ] {
            assert_eq!(back.get(f), li.get(f), "{f}");
        }
        let mut r = Record::new(Entity::Results, "r1");
        r.set("lineItemSourcedId", "li1")
            .set("studentSourcedId", "u1")
            .set("score", "87.5")
            .set("scoreStatus", "exempt")
            .set("scoreDate", "2026-01-21")
            .set("comment", "well done");
        let lis = result_to_lis(&r);
        let back = result_from_lis("r1", &lis.result, None, "2026-12-03").expect("maps");
        for f in [
            "lineItemSourcedId",
            "studentSourcedId",
            "score",
            "scoreStatus",
            "scoreDate",
            "comment",
        ] {
            assert_eq!(back.get(f), r.get(f), "{f}");
        }
        assert_eq!(score_status("Final"), Some("fully graded"));
        assert_eq!(score_status("bogus"), None);
    }
}
