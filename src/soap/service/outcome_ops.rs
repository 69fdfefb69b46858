//! The Outcomes Management Service (LIS.md §4.8; `wsdl/lis-lineitem.wsdl`) as three [`Kind`]s
//! over the REST gradebook's records (`soap::outcome`): LIS line items are line items, results
//! are results, result values a line item's range (`<lineItem>:rv`) or a score scale. One
//! endpoint serves the three port types; each operation goes to the kind its name says
//! (`ops::Ports`). Writes go through the same door as REST gradebook writes, so a grade written
//! here is the record a REST client reads, is stamped, and reaches the SIS by
//! `export --since`.

use super::ops::{ids_answer, record_of, serve, Kind, Port, Ports, RecordWriter};
use super::*;
use crate::soap::bind::{tag, Tag};
use crate::soap::gen::oms;
use crate::soap::outcome::{self, RANGE};

fn today() -> String {
    time::now().get(..10).unwrap_or("").to_string()
}

fn invalid_data(e: impl std::fmt::Display) -> OpError {
    status(Minor::InvalidData, e.to_string())
}

/// The ids of the visible line items of `classes`.
fn line_items_of(ctx: &mut Ctx<'_>, classes: &[String]) -> Result<Vec<String>, OpError> {
    let mut ids = Vec::new();
    for c in classes {
        ids.extend(active_ids(
            ctx,
            Entity::LineItems,
            vec![Where::Is("classSourcedId", c.clone())],
        )?);
    }
    Ok(ids)
}

/// The ids of the visible results of `line_items`.
fn results_of(ctx: &mut Ctx<'_>, line_items: &[String]) -> Result<Vec<String>, OpError> {
    let mut ids = Vec::new();
    for l in line_items {
        ids.extend(active_ids(
            ctx,
            Entity::Results,
            vec![Where::Is("lineItemSourcedId", l.clone())],
        )?);
    }
    Ok(ids)
}

/// The classes of a course (an offering, option A).
fn classes_of_course(ctx: &mut Ctx<'_>, course: &str) -> Result<Vec<String>, OpError> {
    active_ids(
        ctx,
        Entity::Classes,
        vec![Where::Is("courseSourcedId", course.to_string())],
    )
}

// ---------------------------------------------------------------------------------------------
// Line items.

/// A line item write: the category its type names (found by id, else by title, else created),
/// the result value it names (another line item's range is copied; a score scale is linked),
/// and the dates and grading period OneRoster requires (today; the class's first term).
fn save_line_item(
    ctx: &mut Ctx<'_>,
    op: &str,
    id: &str,
    l: &oms::LineItem,
    partial: bool,
) -> Result<(), OpError> {
    let existing = stored(ctx, Entity::LineItems, id)?;
    let base = if partial { existing.as_ref() } else { None };
    let (mut li, refs) = outcome::line_item_from_lis(id, l, base).map_err(invalid_data)?;
    let mut out = Vec::new();
    // Category.
    let keep = existing
        .as_ref()
        .and_then(|e| e.get("categorySourcedId"))
        .map(str::to_string);
    let category = match (&refs.category, keep) {
        (Some(c), _) => {
            if stored(ctx, Entity::Categories, c)?.is_some() {
                c.clone()
            } else {
                let by_title = select(
                    &mut unrestricted(ctx),
                    Entity::Categories,
                    vec![Where::Active, Where::Is("title", c.clone())],
                    false,
                )?;
                match by_title.as_slice() {
                    [one] => one.sourced_id.clone(),
                    _ => {
                        let mut cat = Record::new(Entity::Categories, c.as_str());
                        cat.set("title", c.as_str());
                        out.push(cat);
                        c.clone()
                    }
                }
            }
        }
        (None, Some(k)) if li.get("categorySourcedId").is_none() => k,
        (None, _) => match li.get("categorySourcedId") {
            Some(c) => c.to_string(),
            None => {
                let id = "lis-grades".to_string();
                if stored(ctx, Entity::Categories, &id)?.is_none() {
                    let mut cat = Record::new(Entity::Categories, id.as_str());
                    cat.set("title", "Grades");
                    out.push(cat);
                }
                id
            }
        },
    };
    li.set("categorySourcedId", category);
    // Dates and grading period.
    for f in ["assignDate", "dueDate"] {
        if li.get(f).is_none() {
            li.set(f, today());
        }
    }
    if li.get("academicSessionSourcedId").is_none() {
        let class = li.get("classSourcedId").unwrap_or("").to_string();
        let term = stored(ctx, Entity::Classes, &class)?.and_then(|c| {
            c.get("termSourcedIds").and_then(|t| {
                crate::model::record::list_items(t)
                    .next()
                    .map(str::to_string)
            })
        });
        match term {
            Some(t) => {
                li.set("academicSessionSourcedId", t);
            }
            None => {
                return Err(status(
                    Minor::InvalidData,
                    format!("lineItem/context: no course section '{class}' with a term"),
                ))
            }
        }
    }
    // Result value.
    if let Some(rv) = &refs.result_value {
        if let Some(other) = rv.strip_suffix(RANGE) {
            if other != id {
                let Some(src) = stored(ctx, Entity::LineItems, other)? else {
                    return Err(status(
                        Minor::InvalidData,
                        format!("lineItem/resultValueSourcedId: no result value '{rv}'"),
                    ));
                };
                for f in ["resultValueMin", "resultValueMax"] {
                    li.set(f, src.cell(f).unwrap_or_default());
                }
            }
        } else if stored(ctx, Entity::ScoreScales, rv)?.is_some() {
            let mut link = Record::new(Entity::LineItemScoreScales, format!("{id}:{rv}"));
            link.set("lineItemSourcedId", id)
                .set("scoreScaleSourcedId", rv.as_str());
            out.push(link);
        } else {
            return Err(status(
                Minor::InvalidData,
                format!("lineItem/resultValueSourcedId: no result value '{rv}' (a score scale, or '<lineItem>{RANGE}')"),
            ));
        }
    }
    out.push(li);
    // The line item before its links.
    out.sort_by_key(|r| r.entity);
    write_delta(ctx, op, out)
}

pub(super) struct LineItem;

impl Kind for LineItem {
    const NAME: &'static str = "LineItem";
    const WHAT: &'static str = "line item";
    const RECORD: &'static Tag<'static> = tag!("lineItemRecord");
    const RECORD_NAME: &'static str = "lineItemRecord";
    const RECORD_SET: &'static Tag<'static> = tag!("lineItemRecordSet");
    const HIGH_WATER: Entity = Entity::LineItems;

    fn by_ids(ctx: &mut Ctx<'_>, ids: &[String], tombstones: bool) -> Result<Vec<Record>, OpError> {
        by_ids(ctx, Entity::LineItems, ids, tombstones)
    }
    fn all_ids(ctx: &mut Ctx<'_>) -> Result<Vec<String>, OpError> {
        active_ids(ctx, Entity::LineItems, Vec::new())
    }
    fn discover(ctx: &mut Ctx<'_>, query: &str) -> Result<Vec<String>, OpError> {
        discover(ctx, Entity::LineItems, query)
    }
    fn changed_since(ctx: &mut Ctx<'_>, from: &str) -> Result<Vec<Record>, OpError> {
        changed(ctx, &[Entity::LineItems], from)
    }
    /// The line items' categories are read once, for the types' display names.
    fn writer(ctx: &mut Ctx<'_>, records: &[Record]) -> Result<RecordWriter, OpError> {
        let mut cats: Vec<String> = records
            .iter()
            .filter_map(|r| r.get("categorySourcedId").map(str::to_string))
            .collect();
        cats.sort();
        cats.dedup();
        let found = by_ids(&mut unrestricted(ctx), Entity::Categories, &cats, true)?;
        let by: std::collections::HashMap<String, Record> = found
            .into_iter()
            .map(|c| (c.sourced_id.clone(), c))
            .collect();
        Ok(Box::new(move |r, tag, o| {
            let cat = r.get("categorySourcedId").and_then(|c| by.get(c));
            outcome::line_item_to_lis(r, cat).write_value(tag, o)
        }))
    }
    fn save(
        ctx: &mut Ctx<'_>,
        op: &str,
        id: &str,
        body: &Node,
        partial: bool,
    ) -> Result<(), OpError> {
        let record: oms::LineItemRecord = record_of::<LineItem, _>(body)?;
        save_line_item(ctx, op, id, &record.line_item, partial)
    }
    fn delete(ctx: &mut Ctx<'_>, op: &str, id: &str) -> Result<(), OpError> {
        tombstone(ctx, op, Entity::LineItems, id)
    }
    fn change_id(ctx: &mut Ctx<'_>, op: &str, old: &str, new: &str) -> Result<(), OpError> {
        change_identifier(ctx, op, Entity::LineItems, old, new)
    }
    fn special(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Option<Result<Reply, OpError>> {
        let arg = |name: &str| body.child_text(name).unwrap_or("").to_string();
        Some(match op {
            "readLineItemIdsForCourseSection" => line_items_of(ctx, &[arg("sectionSourcedId")])
                .map(|ids| ids_answer(ids, "line items")),
            "readLineItemIdsForCourseOffering" => classes_of_course(ctx, &arg("offeringSourcedId"))
                .and_then(|c| line_items_of(ctx, &c))
                .map(|ids| ids_answer(ids, "line items")),
            // The line items of the classes the person is enrolled in.
            "readLineItemIdsForPerson" => select(
                ctx,
                Entity::Enrollments,
                vec![
                    Where::Active,
                    Where::Is("userSourcedId", arg("personSourcedId")),
                ],
                false,
            )
            .and_then(|e| {
                let mut classes: Vec<String> = e
                    .iter()
                    .filter_map(|e| e.get("classSourcedId").map(str::to_string))
                    .collect();
                classes.sort();
                classes.dedup();
                line_items_of(ctx, &classes)
            })
            .map(|ids| ids_answer(ids, "line items")),
            // Line items of a category (the type's value: a category id).
            "readLineItemIdsWithLineItemType" => {
                let category = body
                    .child(&["lineItemType"])
                    .and_then(|t| t.child(&["lineItemTypeValue"]))
                    .and_then(|v| v.child_text("textString"))
                    .unwrap_or("")
                    .to_string();
                active_ids(
                    ctx,
                    Entity::LineItems,
                    vec![Where::Is("categorySourcedId", category)],
                )
                .map(|ids| ids_answer(ids, "line items"))
            }
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Results.

pub(super) struct Result_;

impl Kind for Result_ {
    const NAME: &'static str = "Result";
    const WHAT: &'static str = "result";
    const RECORD: &'static Tag<'static> = tag!("resultRecord");
    const RECORD_NAME: &'static str = "resultRecord";
    const RECORD_SET: &'static Tag<'static> = tag!("resultRecordSet");
    const HIGH_WATER: Entity = Entity::Results;

    fn by_ids(ctx: &mut Ctx<'_>, ids: &[String], tombstones: bool) -> Result<Vec<Record>, OpError> {
        by_ids(ctx, Entity::Results, ids, tombstones)
    }
    fn all_ids(ctx: &mut Ctx<'_>) -> Result<Vec<String>, OpError> {
        active_ids(ctx, Entity::Results, Vec::new())
    }
    fn discover(ctx: &mut Ctx<'_>, query: &str) -> Result<Vec<String>, OpError> {
        discover(ctx, Entity::Results, query)
    }
    fn changed_since(ctx: &mut Ctx<'_>, from: &str) -> Result<Vec<Record>, OpError> {
        changed(ctx, &[Entity::Results], from)
    }
    fn writer(_: &mut Ctx<'_>, _: &[Record]) -> Result<RecordWriter, OpError> {
        Ok(Box::new(|r, tag, o| {
            outcome::result_to_lis(r).write_value(tag, o)
        }))
    }
    fn save(
        ctx: &mut Ctx<'_>,
        op: &str,
        id: &str,
        body: &Node,
        partial: bool,
    ) -> Result<(), OpError> {
        let record: oms::ResultRecord = record_of::<Result_, _>(body)?;
        let base = if partial {
            stored(ctx, Entity::Results, id)?
        } else {
            None
        };
        let rec = outcome::result_from_lis(id, &record.result, base.as_ref(), &today())
            .map_err(invalid_data)?;
        write_delta(ctx, op, vec![rec])
    }
    fn delete(ctx: &mut Ctx<'_>, op: &str, id: &str) -> Result<(), OpError> {
        tombstone(ctx, op, Entity::Results, id)
    }
    fn change_id(ctx: &mut Ctx<'_>, op: &str, old: &str, new: &str) -> Result<(), OpError> {
        change_identifier(ctx, op, Entity::Results, old, new)
    }
    fn special(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Option<Result<Reply, OpError>> {
        let arg = |name: &str| body.child_text(name).unwrap_or("").to_string();
        Some(match op {
            // The draft's spelling: lineItemSourcedid.
            "readResultIdsForLineItem" => {
                let li = body
                    .child_text("lineItemSourcedid")
                    .or(body.child_text("lineItemSourcedId"))
                    .unwrap_or("")
                    .to_string();
                results_of(ctx, &[li]).map(|ids| ids_answer(ids, "results"))
            }
            "readResultIdsForPerson" => active_ids(
                ctx,
                Entity::Results,
                vec![Where::Is("studentSourcedId", arg("personSourcedId"))],
            )
            .map(|ids| ids_answer(ids, "results")),
            "readResultIdsForCourseSection" => line_items_of(ctx, &[arg("courseSectionSourcedId")])
                .and_then(|l| results_of(ctx, &l))
                .map(|ids| ids_answer(ids, "results")),
            "readResultIdsForCourseOffering" => {
                classes_of_course(ctx, &arg("courseOfferingSourcedId"))
                    .and_then(|c| line_items_of(ctx, &c))
                    .and_then(|l| results_of(ctx, &l))
                    .map(|ids| ids_answer(ids, "results"))
            }
            "readResultIdsForCourseSectionWithStatus" => {
                let st = body
                    .child(&["resultStatus"])
                    .and_then(|s| s.child(&["resultStatusValue"]))
                    .and_then(|v| v.child_text("textString"))
                    .unwrap_or("");
                match outcome::score_status(st) {
                    None => Err(status(
                        Minor::InvalidData,
                        format!("resultStatus: '{st}' is not a score status"),
                    )),
                    Some(s) => line_items_of(ctx, &[arg("courseSectionSourcedId")])
                        .and_then(|l| {
                            let mut ids = Vec::new();
                            for li in l {
                                ids.extend(active_ids(
                                    ctx,
                                    Entity::Results,
                                    vec![
                                        Where::Is("lineItemSourcedId", li),
                                        Where::Is("scoreStatus", s.to_string()),
                                    ],
                                )?);
                            }
                            Ok(ids)
                        })
                        .map(|ids| ids_answer(ids, "results")),
                }
            }
            // Draft-WSDL bug (LIS.md §4.11): the id set sits in the request and the response is
            // empty; the results of the context's line items of that type (and status) travel
            // comma-separated in imsx_description, as for readMembershipIdsForPersonWithRole.
            "readResultIdsForLineItemsWithLineItemType" => {
                let category = body
                    .child(&["lineItemType"])
                    .and_then(|t| t.child(&["lineItemTypeValue"]))
                    .and_then(|v| v.child_text("textString"))
                    .unwrap_or("")
                    .to_string();
                let class = arg("contextSourcedId");
                active_ids(
                    ctx,
                    Entity::LineItems,
                    vec![
                        Where::Is("classSourcedId", class),
                        Where::Is("categorySourcedId", category),
                    ],
                )
                .and_then(|l| results_of(ctx, &l))
                .map(|ids| {
                    let st = success_for(ids.len(), "results");
                    Reply::with(
                        Status {
                            description: ids.join(","),
                            ..st
                        },
                        EmptyBody,
                    )
                })
            }
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Result values.

/// Result values by id: `<lineItem>:rv` ids are line items' ranges (the line item record under
/// that id), the others score scales.
fn result_values(
    ctx: &mut Ctx<'_>,
    ids: &[String],
    tombstones: bool,
) -> Result<Vec<Record>, OpError> {
    let (ranges, scales): (Vec<&String>, Vec<&String>) =
        ids.iter().partition(|id| id.ends_with(RANGE));
    let items: Vec<String> = ranges
        .iter()
        .filter_map(|id| id.strip_suffix(RANGE).map(str::to_string))
        .collect();
    let mut found: Vec<Record> = by_ids(ctx, Entity::LineItems, &items, tombstones)?
        .into_iter()
        .map(|mut li| {
            li.sourced_id.push_str(RANGE);
            li
        })
        .collect();
    let scales: Vec<String> = scales.into_iter().cloned().collect();
    found.extend(by_ids(ctx, Entity::ScoreScales, &scales, tombstones)?);
    let mut by: std::collections::HashMap<String, Record> = found
        .into_iter()
        .map(|r| (r.sourced_id.clone(), r))
        .collect();
    Ok(ids.iter().filter_map(|id| by.remove(id)).collect())
}

pub(super) struct ResultValue;

impl Kind for ResultValue {
    const NAME: &'static str = "ResultValue";
    const WHAT: &'static str = "result value";
    const RECORD: &'static Tag<'static> = tag!("resultValueRecord");
    // The draft's spelling of the request element (LIS.md §4.11).
    const RECORD_NAME: &'static str = "resultValuesRecord";
    const RECORD_SET: &'static Tag<'static> = tag!("resultValueRecordSet");
    const HIGH_WATER: Entity = Entity::LineItems;

    fn by_ids(ctx: &mut Ctx<'_>, ids: &[String], tombstones: bool) -> Result<Vec<Record>, OpError> {
        result_values(ctx, ids, tombstones)
    }
    fn all_ids(ctx: &mut Ctx<'_>) -> Result<Vec<String>, OpError> {
        let mut ids: Vec<String> = active_ids(ctx, Entity::LineItems, Vec::new())?
            .into_iter()
            .map(|id| format!("{id}{RANGE}"))
            .collect();
        ids.extend(active_ids(ctx, Entity::ScoreScales, Vec::new())?);
        Ok(ids)
    }
    fn discover(ctx: &mut Ctx<'_>, query: &str) -> Result<Vec<String>, OpError> {
        discover(ctx, Entity::ScoreScales, query)
    }
    fn changed_since(ctx: &mut Ctx<'_>, from: &str) -> Result<Vec<Record>, OpError> {
        let mut rows: Vec<Record> = changed(ctx, &[Entity::LineItems], from)?
            .into_iter()
            .map(|mut li| {
                li.sourced_id.push_str(RANGE);
                li
            })
            .collect();
        rows.extend(changed(ctx, &[Entity::ScoreScales], from)?);
        rows.sort_by(|a, b| {
            (&a.date_last_modified, &a.sourced_id).cmp(&(&b.date_last_modified, &b.sourced_id))
        });
        Ok(rows)
    }
    fn writer(_: &mut Ctx<'_>, _: &[Record]) -> Result<RecordWriter, OpError> {
        Ok(Box::new(|r, tag, o| {
            outcome::result_value_to_lis(r).write_value(tag, o)
        }))
    }
    /// A line item's range sets its `resultValueMin`/`Max`; a stored score scale takes the
    /// value list's grades and the label. A new score scale cannot be made here: OneRoster
    /// needs its class or course, which a result value does not name (create it over REST).
    fn save(
        ctx: &mut Ctx<'_>,
        op: &str,
        id: &str,
        body: &Node,
        _partial: bool,
    ) -> Result<(), OpError> {
        let record: oms::ResultValueRecord = record_of::<ResultValue, _>(body)?;
        let v = &record.result_value;
        if let Some(li) = id.strip_suffix(RANGE) {
            let Some(mut rec) = stored(ctx, Entity::LineItems, li)? else {
                return Err(status(
                    Minor::InvalidData,
                    format!("no line item '{li}' for result value '{id}'"),
                ));
            };
            let range = v.value_range.clone().unwrap_or_default();
            outcome::set_range(&mut rec, &range, "resultValue/valueRange").map_err(invalid_data)?;
            return write_delta(ctx, op, vec![rec]);
        }
        let Some(mut scale) = stored(ctx, Entity::ScoreScales, id)? else {
            return Err(status(
                Minor::InvalidData,
                format!("no score scale '{id}': a new score scale needs its class or course, which a LIS result value does not name; create it over REST (PUT /scoreScales/{id}) or name '<lineItem>{RANGE}'"),
            ));
        };
        if let Some(list) = &v.value_list {
            scale.set("scoreScaleValue", outcome::scale_values(list));
        }
        if let Some(l) = v.label.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            scale.set("title", l);
        }
        write_delta(ctx, op, vec![scale])
    }
    fn delete(ctx: &mut Ctx<'_>, op: &str, id: &str) -> Result<(), OpError> {
        if let Some(li) = id.strip_suffix(RANGE) {
            let Some(mut rec) = by_ids(ctx, Entity::LineItems, &[li.to_string()], false)?.pop()
            else {
                return Err(status(
                    Minor::UnknownObject,
                    format!("no result value '{id}'"),
                ));
            };
            rec.set("resultValueMin", "").set("resultValueMax", "");
            return write_delta(ctx, op, vec![rec]);
        }
        tombstone(ctx, op, Entity::ScoreScales, id)
    }
    fn change_id(ctx: &mut Ctx<'_>, op: &str, old: &str, new: &str) -> Result<(), OpError> {
        if old.ends_with(RANGE) || new.ends_with(RANGE) {
            return Err(status(
                Minor::InvalidData,
                format!("'{old}' is a line item's own range: its id follows the line item's"),
            ));
        }
        change_identifier(ctx, op, Entity::ScoreScales, old, new)
    }
    fn special(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Option<Result<Reply, OpError>> {
        let found = |ctx: &mut Ctx<'_>, li: &str| -> Result<Option<String>, OpError> {
            Ok(by_ids(ctx, Entity::LineItems, &[li.to_string()], false)?
                .pop()
                .map(|l| format!("{}{RANGE}", l.sourced_id)))
        };
        let unknown = |what: String| status(Minor::UnknownObject, format!("no {what}"));
        Some(match op {
            "readResultValueIdForLineItem" => {
                let li = body
                    .child_text("lineItemSourcedId")
                    .unwrap_or("")
                    .to_string();
                found(ctx, &li).and_then(|rv| {
                    let rv = rv.ok_or_else(|| unknown(format!("line item '{li}'")))?;
                    Ok(Reply::with(
                        Status::success(format!("result value {rv}")),
                        oms::ReadResultValueIdForLineItemResponse {
                            result_value_sourced_id: Some(rv.into()),
                        },
                    ))
                })
            }
            "readResultValueIdForResult" => {
                let r = body.child_text("resultSourcedId").unwrap_or("").to_string();
                by_ids(ctx, Entity::Results, std::slice::from_ref(&r), false).and_then(|res| {
                    let li = res
                        .first()
                        .and_then(|x| x.get("lineItemSourcedId"))
                        .map(str::to_string);
                    let rv = match li {
                        Some(li) => found(ctx, &li)?,
                        None => None,
                    };
                    // The draft's spelling of this answer: resultValueSourceId.
                    let rv = rv.ok_or_else(|| unknown(format!("result '{r}'")))?;
                    Ok(Reply::with(
                        Status::success(format!("result value {rv}")),
                        oms::ReadResultValueIdForResultResponse {
                            result_value_source_id: Some(rv.into()),
                        },
                    ))
                })
            }
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Dispatch.

const LINE_ITEM_OWN: &[&str] = &[
    "readLineItemIdsForPerson",
    "readLineItemIdsForCourseOffering",
    "readLineItemIdsForCourseSection",
    "readLineItemIdsWithLineItemType",
];
const RESULT_OWN: &[&str] = &[
    "readResultIdsForPerson",
    "readResultIdsForLineItem",
    "readResultIdsForCourseOffering",
    "readResultIdsForCourseSection",
    "readResultIdsForCourseSectionWithStatus",
    "readResultIdsForLineItemsWithLineItemType",
];
const VALUE_OWN: &[&str] = &["readResultValueIdForLineItem", "readResultValueIdForResult"];

/// The three port types, in the order `outcomes` matches them (`ResultValue` before
/// `Result`, whose name it starts with).
const PORTS: &[Port] = &[
    Port {
        name: "LineItem",
        own: LINE_ITEM_OWN,
    },
    Port {
        name: "ResultValue",
        own: VALUE_OWN,
    },
    Port {
        name: "Result",
        own: RESULT_OWN,
    },
];

static TABLES: std::sync::LazyLock<Ports> =
    std::sync::LazyLock::new(|| Ports::new(oms::OPERATIONS, PORTS));

/// The Outcomes Management Service: each operation to its port's kind.
pub fn outcomes(ctx: &mut Ctx<'_>, op: &str, body: &Node) -> Reply {
    let t = &*TABLES;
    match t.port_of(op) {
        Some(i @ 0) => serve::<LineItem>(ctx, t.table(i), op, body),
        Some(i @ 1) => serve::<ResultValue>(ctx, t.table(i), op, body),
        Some(i @ 2) => serve::<Result_>(ctx, t.table(i), op, body),
        _ => Reply::fail(
            Minor::UnsupportedOperation,
            format!("{op} is not an Outcomes Management operation"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_oms_operation_has_a_port() {
        assert_eq!(oms::OPERATIONS.len(), 48);
        for (op, _) in oms::OPERATIONS {
            assert!(TABLES.port_of(op).is_some(), "{op}");
        }
        assert_eq!(TABLES.table(0).len(), 16);
        assert_eq!(TABLES.table(2).len(), 18);
        assert_eq!(TABLES.table(1).len(), 14);
        for (table, own) in [
            (TABLES.table(0), LINE_ITEM_OWN),
            (TABLES.table(2), RESULT_OWN),
            (TABLES.table(1), VALUE_OWN),
        ] {
            let mut none: Vec<&str> = table
                .iter()
                .filter(|(_, f)| f.is_none())
                .map(|(o, _)| *o)
                .collect();
            none.sort();
            let mut own = own.to_vec();
            own.sort();
            assert_eq!(none, own);
        }
    }
}
