//! What an import reads: a CSV package ([`Source`]) or domain records handed over by the
//! roster service's writes. Both passes read a file's rows through [`FileRows`], so records
//! meet exactly the rules CSV rows meet: each record's values are the cells of a row of its
//! entity's 1.2 layout (sourcedId, status, dateLastModified, the fields, `metadata.*`), checked
//! and converted by the same [`RowParser`]. No CSV text is written or parsed for them.

use std::collections::BTreeMap;

use super::diag::Diags;
use super::manifest::Mode;
use super::rows::{Parsed, RowParser};
use super::source::Source;
use super::{ImportError, PlannedFile};
use crate::model::catalog::{layout, Entity, Target, Version};
use crate::model::record::Record;

/// An import's input.
pub(crate) enum Input {
    /// A package: folder, ZIP or in-memory files.
    Files(Source),
    /// Records per entity, written as a 1.2 delta (each record's `date_last_modified` is the
    /// `dateLastModified` it is imported with).
    Records(BTreeMap<Entity, Vec<Record>>),
}

/// One row as read: parsed, or refused (its problems are in the diagnostics) with the ids it
/// held, registered so that one bad row does not cascade into reference errors.
pub(crate) enum Row {
    Parsed(u64, Parsed),
    Refused(Vec<String>),
}

/// The rows of one planned file, in order.
pub(crate) enum FileRows<'s> {
    Csv {
        rdr: csv::Reader<Box<dyn std::io::Read + Send + 's>>,
        row: csv::StringRecord,
    },
    Records {
        records: std::slice::Iter<'s, Record>,
        meta_keys: Vec<String>,
        line: u64,
    },
}

impl<'s> FileRows<'s> {
    /// Open `pf` in `input` and map its header; `None` when it cannot be read at all (the
    /// reason is in `diags`).
    pub fn open(
        input: &'s mut Input,
        pf: &PlannedFile,
        version: Version,
        diags: &mut Diags,
    ) -> Result<Option<(FileRows<'s>, RowParser)>, ImportError> {
        let (rows, headers) = match input {
            Input::Files(src) => {
                let reader = src.open_file(&pf.name)?;
                let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
                let headers = match rdr.headers() {
                    Ok(h) => h.clone(),
                    Err(e) => {
                        diags.error(&pf.name, 1, "", "csv-syntax", e.to_string());
                        return Ok(None);
                    }
                };
                let row = csv::StringRecord::new();
                (FileRows::Csv { rdr, row }, headers)
            }
            Input::Records(by_entity) => {
                let records = by_entity.get(&pf.entity).map_or(&[][..], Vec::as_slice);
                let mut meta_keys: Vec<String> = records
                    .iter()
                    .flat_map(|r| r.metadata.keys().cloned())
                    .collect();
                meta_keys.sort();
                meta_keys.dedup();
                let mut headers = csv::StringRecord::new();
                for h in ["sourcedId", "status", "dateLastModified"] {
                    headers.push_field(h);
                }
                for c in layout(pf.entity, Version::V1_2) {
                    headers.push_field(c.header);
                }
                for k in &meta_keys {
                    headers.push_field(&format!("metadata.{k}"));
                }
                let rows = FileRows::Records {
                    records: records.iter(),
                    meta_keys,
                    line: 1,
                };
                (rows, headers)
            }
        };
        let records = matches!(rows, FileRows::Records { .. });
        Ok(
            RowParser::new(pf.entity, version, &pf.name, &headers, diags).map(|mut p| {
                p.records = records;
                (rows, p)
            }),
        )
    }

    /// The next row, its problems reported to `diags`; `None` at the end (or where a CSV
    /// syntax error makes the rest unreadable).
    pub fn next(&mut self, parser: &RowParser, mode: Mode, diags: &mut Diags) -> Option<Row> {
        match self {
            FileRows::Csv { rdr, row } => loop {
                match rdr.read_record(row) {
                    Ok(true) => {}
                    Ok(false) => return None,
                    Err(e) => {
                        let line = e.position().map(|p| p.line()).unwrap_or(0);
                        diags.error(&parser.file, line, "", "csv-syntax", e.to_string());
                        if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                            continue;
                        }
                        return None;
                    }
                }
                let line = row.position().map(|p| p.line()).unwrap_or(0);
                return Some(csv_row(parser, row, line, mode, diags));
            },
            FileRows::Records {
                records,
                meta_keys,
                line,
            } => {
                let rec = records.next()?;
                *line += 1;
                let cells = record_cells(parser.entity, rec, meta_keys);
                Some(match parser.parse(&cells, *line, mode, diags) {
                    Some(parsed) => Row::Parsed(*line, parsed),
                    None => Row::Refused(vec![rec.sourced_id.clone()]),
                })
            }
        }
    }
}

/// A CSV row: an unterminated quote, a refused row, or a parsed one.
fn csv_row(
    parser: &RowParser,
    row: &csv::StringRecord,
    line: u64,
    mode: Mode,
    diags: &mut Diags,
) -> Row {
    // A quote that is not closed where it should be makes the csv reader carry on to the next
    // quote, lines later (or to the end of the file), reading the rows in between into one
    // cell; the reader does not report it. A cell holding line breaks whose row then has the
    // wrong width, or whose swallowed lines look like rows, is reported as that, not as the
    // follow-on width and reference errors.
    if row.as_slice().contains('\n') {
        if let Some((cell, breaks)) = super::validate::unterminated_quote(row, parser.width()) {
            diags.error(
                &parser.file,
                line,
                &parser.header_of(cell),
                "unterminated-quote",
                format!(
                    "a quoted cell opened on line {line} is not closed there: the next {breaks} line(s) were read into it; close the quote (a quote inside a quoted cell is written \"\")"
                ),
            );
            // The swallowed rows' ids too, so their references do not cascade.
            let swallowed = row.get(cell).unwrap_or("").split('\n').skip(1);
            let ids = parser
                .raw_id(row)
                .into_iter()
                .chain(swallowed.filter_map(|l| l.split(',').next().map(str::trim)))
                .map(|id| id.trim_matches('"').to_string())
                .collect();
            return Row::Refused(ids);
        }
    }
    match parser.parse(row, line, mode, diags) {
        Some(parsed) => Row::Parsed(line, parsed),
        // Still register the id: one bad row must not cascade into reference errors.
        None => Row::Refused(parser.raw_id(row).into_iter().map(str::to_string).collect()),
    }
}

/// A record's cells in the order of [`FileRows::open`]'s header for records.
fn record_cells(entity: Entity, rec: &Record, meta_keys: &[String]) -> csv::StringRecord {
    let mut cells = csv::StringRecord::new();
    cells.push_field(&rec.sourced_id);
    cells.push_field(rec.status.as_str());
    cells.push_field(rec.date_last_modified.as_deref().unwrap_or(""));
    for c in layout(entity, Version::V1_2) {
        let cell = match c.target {
            Target::Field(i) => rec.values.get(i).map(|v| v.to_cell()).unwrap_or_default(),
            Target::V11OrgSourcedIds | Target::V11Role => String::new(),
        };
        cells.push_field(&cell);
    }
    for k in meta_keys {
        cells.push_field(rec.metadata.get(k).map_or("", String::as_str));
    }
    cells
}
