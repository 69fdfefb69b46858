//! One CSV file's header mapping and row parsing: header checks, cell rules per field kind,
//! lifecycle columns per mode, and conversion of a row into a [`Record`].

use std::collections::BTreeMap;

use super::diag::Diags;
use super::manifest::Mode;
use crate::model::catalog::{layout, Column, Entity, Kind, Target, Version};
use crate::model::record::{Record, Status, Value};
use crate::model::time;

/// A parsed row.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub record: Record,
    /// 1.1 `users.orgSourcedIds`, in order.
    pub v11_orgs: Vec<String>,
    /// 1.1 `users.role`.
    pub v11_role: Option<String>,
}

pub struct RowParser {
    pub entity: Entity,
    pub file: String,
    id_idx: Option<usize>,
    status_idx: Option<usize>,
    dlm_idx: Option<usize>,
    cols: Vec<(usize, Column)>,
    meta: Vec<(usize, String)>,
    width: usize,
    subjects: Option<(usize, usize)>,
    /// Rows are domain records (a REST or LIS write), not CSV: text is kept exactly as sent
    /// (no trimming), and the references `derive` fills from a class are not required (when
    /// it could not, the class reference is the error to report).
    pub(crate) records: bool,
}

/// Headers real exports misspell, read as the standard name (with a warning).
const HEADER_ALIASES: &[(&str, &str)] = &[
    ("prefferedGivenName", "preferredGivenName"),
    ("prefferedMiddleName", "preferredMiddleName"),
    ("prefferedFamilyName", "preferredFamilyName"),
];

fn is_ext(v: &str) -> bool {
    v.strip_prefix("ext:").is_some_and(|r| {
        !r.is_empty()
            && r.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    })
}

impl RowParser {
    /// Map `headers`; header problems go to `diags`. `None` when the file cannot be read at all.
    pub fn new(
        entity: Entity,
        version: Version,
        file: &str,
        headers: &csv::StringRecord,
        diags: &mut Diags,
    ) -> Option<RowParser> {
        let spec = layout(entity, version);
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut parser = RowParser {
            entity,
            file: file.to_string(),
            id_idx: None,
            status_idx: None,
            dlm_idx: None,
            cols: Vec::new(),
            meta: Vec::new(),
            width: headers.len(),
            subjects: None,
            records: false,
        };
        let mut order: Vec<&str> = Vec::new();
        for (pos, raw) in headers.iter().enumerate() {
            let name = raw.trim_start_matches('\u{feff}').trim();
            if name.is_empty() {
                diags.error(
                    file,
                    1,
                    &format!("#{}", pos + 1),
                    "header",
                    "empty column name",
                );
                continue;
            }
            if seen.insert(name.to_string(), pos).is_some() {
                diags.error(file, 1, name, "header", "column name appears twice");
                continue;
            }
            if let Some(key) = name.strip_prefix("metadata.") {
                parser.meta.push((pos, key.to_string()));
                continue;
            }
            let mut std_name = match name {
                "sourcedId" | "status" | "dateLastModified" => Some(name),
                _ => spec.iter().find(|c| c.header == name).map(|c| c.header),
            };
            if std_name.is_none() {
                let alias = HEADER_ALIASES
                    .iter()
                    .find(|(a, _)| *a == name)
                    .map(|(_, s)| *s);
                let ci = ["sourcedId", "status", "dateLastModified"]
                    .into_iter()
                    .chain(spec.iter().map(|c| c.header))
                    .find(|h| h.eq_ignore_ascii_case(name));
                if let Some(s) = alias.or(ci) {
                    diags.warning(file, 1, name, "lenient-header", format!("read as '{s}'"));
                    std_name = Some(s);
                }
            }
            match std_name {
                Some("sourcedId") => parser.id_idx = Some(pos),
                Some("status") => parser.status_idx = Some(pos),
                Some("dateLastModified") => parser.dlm_idx = Some(pos),
                Some(h) => {
                    if let Some(c) = spec.iter().find(|c| c.header == h) {
                        parser.cols.push((pos, *c));
                    }
                }
                None => match version {
                    Version::V1_2 => diags.error(
                        file,
                        1,
                        name,
                        "unknown-column",
                        "not a column of this file (extensions must be named metadata.*)",
                    ),
                    Version::V1_1 => diags.warning(
                        file,
                        1,
                        name,
                        "unknown-column",
                        "not a column of this file: ignored",
                    ),
                },
            }
            if let Some(s) = std_name {
                order.push(s);
            }
        }
        if parser.id_idx.is_none() {
            diags.error(file, 1, "sourcedId", "header", "required column is missing");
            return None;
        }
        for c in &spec {
            if c.required && !parser.cols.iter().any(|(_, pc)| pc.header == c.header) {
                diags.error(file, 1, c.header, "header", "required column is missing");
            }
        }
        let expected: Vec<&str> = ["sourcedId", "status", "dateLastModified"]
            .into_iter()
            .chain(spec.iter().map(|c| c.header))
            .filter(|h| order.contains(h))
            .collect();
        if expected != order {
            diags.warning(
                file,
                1,
                "",
                "column-order",
                "columns are not in specification order (mapped by name)",
            );
        }
        let find = |h: &str| parser.cols.iter().position(|(_, c)| c.header == h);
        if let (Some(a), Some(b)) = (find("subjects"), find("subjectCodes")) {
            parser.subjects = Some((a, b));
        }
        Some(parser)
    }

    /// The columns that reference other entities: (header, target, is list, column slot).
    pub fn reference_columns(&self) -> impl Iterator<Item = (&'static str, Entity, Target)> + '_ {
        self.cols
            .iter()
            .filter_map(|(_, c)| c.kind.target().map(|t| (c.header, t, c.target)))
    }

    /// The row's sourcedId cell, trimmed (also for rows that fail validation, so that one bad
    /// row does not cascade into reference errors elsewhere).
    pub fn raw_id<'r>(&self, row: &'r csv::StringRecord) -> Option<&'r str> {
        self.id_idx
            .and_then(|i| row.get(i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// The header of column `i` (`column N` for one we do not read).
    /// Cells in the header.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    pub(crate) fn header_of(&self, i: usize) -> String {
        let fixed = [
            (self.id_idx, "sourcedId"),
            (self.status_idx, "status"),
            (self.dlm_idx, "dateLastModified"),
        ];
        if let Some((_, name)) = fixed.iter().find(|(x, _)| *x == Some(i)) {
            return name.to_string();
        }
        if let Some((_, c)) = self.cols.iter().find(|(x, _)| *x == i) {
            return c.header.to_string();
        }
        if let Some((_, m)) = self.meta.iter().find(|(x, _)| *x == i) {
            return format!("metadata.{m}");
        }
        format!("column {}", i + 1)
    }

    /// Parse one row. Problems go to `diags`; `None` when the row cannot become a record.
    pub fn parse(
        &self,
        row: &csv::StringRecord,
        line: u64,
        mode: Mode,
        diags: &mut Diags,
    ) -> Option<Parsed> {
        let file = self.file.as_str();
        let extra_blank =
            row.len() > self.width && row.iter().skip(self.width).all(|c| c.trim().is_empty());
        if extra_blank {
            diags.warning(
                file,
                line,
                "",
                "lenient-row-width",
                format!(
                    "{} cells, header has {}: trailing blank cells ignored",
                    row.len(),
                    self.width
                ),
            );
        } else if row.len() != self.width {
            diags.error(
                file,
                line,
                "",
                "row-width",
                format!("{} cells, header has {}", row.len(), self.width),
            );
            return None;
        }
        // NUL is no character of CSV text, and PostgreSQL cannot store it in TEXT: refused
        // here, so both backends hold the same data.
        if row.as_slice().contains('\0') {
            let at = row.iter().position(|c| c.contains('\0')).unwrap_or(0);
            diags.error(
                file,
                line,
                &self.header_of(at),
                "nul-byte",
                "the cell contains a NUL (0x00) byte",
            );
            return None;
        }
        let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).unwrap_or("");
        let id = cell(self.id_idx).trim();
        if id.is_empty() {
            diags.error(file, line, "sourcedId", "required", "sourcedId is blank");
            return None;
        }
        let mut rec = Record::new(self.entity, id);
        let mut ok = true;
        let status_cell = cell(self.status_idx).trim();
        let dlm_cell = cell(self.dlm_idx).trim();
        match mode {
            Mode::Delta => {
                match status_cell {
                    "active" => {}
                    "tobedeleted" => rec.status = Status::ToBeDeleted,
                    "inactive" => {
                        diags.warning(
                            file,
                            line,
                            "status",
                            "lenient-status",
                            "1.0 'inactive' read as 'tobedeleted'",
                        );
                        rec.status = Status::ToBeDeleted;
                    }
                    "" => {
                        diags.error(
                            file,
                            line,
                            "status",
                            "required",
                            "status is required in a delta file",
                        );
                        ok = false;
                    }
                    s => {
                        diags.error(
                            file,
                            line,
                            "status",
                            "enum",
                            format!("'{s}' is not active or tobedeleted"),
                        );
                        ok = false;
                    }
                }
                match time::parse_lenient(dlm_cell) {
                    _ if dlm_cell.is_empty() => {
                        diags.error(
                            file,
                            line,
                            "dateLastModified",
                            "required",
                            "dateLastModified is required in a delta file",
                        );
                        ok = false;
                    }
                    Some((t, bare)) => {
                        if bare {
                            diags.warning(
                                file,
                                line,
                                "dateLastModified",
                                "lenient-datetime",
                                "a date without time, read as midnight UTC",
                            );
                        }
                        // A write's records carry the store's own stamp, not a SIS's.
                        if !self.records {
                            rec.sis_date_last_modified = Some(t);
                        }
                    }
                    None => {
                        diags.error(
                            file,
                            line,
                            "dateLastModified",
                            "datetime",
                            format!("'{dlm_cell}' is not YYYY-MM-DDTHH:MM:SS.sssZ"),
                        );
                        ok = false;
                    }
                }
            }
            _ => {
                if !status_cell.is_empty() || !dlm_cell.is_empty() {
                    diags.warning(
                        file,
                        line,
                        "status",
                        "lifecycle-in-bulk",
                        "status/dateLastModified should be blank in a bulk file",
                    );
                }
                if status_cell == "tobedeleted" {
                    rec.status = Status::ToBeDeleted;
                }
                if !dlm_cell.is_empty() {
                    match time::parse_lenient(dlm_cell) {
                        Some((t, _)) => rec.sis_date_last_modified = Some(t),
                        None => diags.warning(
                            file,
                            line,
                            "dateLastModified",
                            "datetime",
                            format!("'{dlm_cell}' is not a date-time: ignored in a bulk file"),
                        ),
                    }
                }
            }
        }
        let deleting = rec.status == Status::ToBeDeleted;
        let mut out = Parsed {
            record: rec,
            v11_orgs: Vec::new(),
            v11_role: None,
        };
        for (pos, col) in &self.cols {
            let raw = row.get(*pos).unwrap_or("");
            let exact = self.records && col.kind == Kind::Text && !raw.trim().is_empty();
            let v = if exact { raw } else { raw.trim() };
            if v.is_empty() {
                let derived = self.records && super::derive::is_derived(self.entity, col.header);
                if col.required && !deleting && !derived {
                    diags.error(
                        file,
                        line,
                        col.header,
                        "required",
                        "required value is blank",
                    );
                    ok = false;
                }
                continue;
            }
            match self.cell(col, v, line, diags) {
                Some(val) => match col.target {
                    Target::Field(i) => {
                        if let Some(slot) = out.record.values.get_mut(i) {
                            *slot = val;
                        }
                    }
                    Target::V11OrgSourcedIds => {
                        out.v11_orgs = val
                            .as_str()
                            .unwrap_or("")
                            .split(',')
                            .map(str::to_string)
                            .collect()
                    }
                    Target::V11Role => out.v11_role = val.as_str().map(str::to_string),
                },
                None => ok = false,
            }
        }
        if let Some((a, b)) = self.subjects {
            let count = |i: usize| {
                self.cols.get(i).and_then(|(_, c)| match c.target {
                    Target::Field(f) => out
                        .record
                        .values
                        .get(f)
                        .and_then(Value::as_str)
                        .map(|s| s.split(',').count()),
                    _ => None,
                })
            };
            if let (Some(x), Some(y)) = (count(a), count(b)) {
                if x != y {
                    diags.error(
                        file,
                        line,
                        "subjectCodes",
                        "subject-count",
                        format!("{y} subjectCodes for {x} subjects"),
                    );
                    ok = false;
                }
            }
        }
        for (pos, key) in &self.meta {
            let v = row.get(*pos).unwrap_or("");
            if !v.is_empty() {
                out.record.metadata.insert(key.clone(), v.to_string());
            }
        }
        ok.then_some(out)
    }

    fn cell(&self, col: &Column, v: &str, line: u64, diags: &mut Diags) -> Option<Value> {
        let file = self.file.as_str();
        let h = col.header;
        let text = |s: &str| Some(Value::Text(s.to_string()));
        match col.kind {
            Kind::Text | Kind::Ref(_) => text(v),
            Kind::Date => match time::parse_date(v) {
                Some(_) => text(v),
                None => {
                    diags.error(
                        file,
                        line,
                        h,
                        "date",
                        format!("'{v}' is not a date YYYY-MM-DD"),
                    );
                    None
                }
            },
            Kind::Year => {
                if v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit()) {
                    text(v)
                } else {
                    diags.error(file, line, h, "year", format!("'{v}' is not a year YYYY"));
                    None
                }
            }
            Kind::Bool => {
                if v.eq_ignore_ascii_case("true") {
                    text("true")
                } else if v.eq_ignore_ascii_case("false") {
                    text("false")
                } else {
                    diags.error(
                        file,
                        line,
                        h,
                        "boolean",
                        format!("'{v}' is not true or false"),
                    );
                    None
                }
            }
            Kind::Float => match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Some(Value::Float(x)),
                _ => {
                    diags.error(
                        file,
                        line,
                        h,
                        "float",
                        format!("'{v}' is not a finite number"),
                    );
                    None
                }
            },
            Kind::Enum(values, ext) => self
                .enum_value(h, values, ext, v, line, diags)
                .map(Value::Text),
            Kind::EnumList(values, ext) => {
                let items = self.list(h, v, line, diags)?;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.enum_value(h, values, ext, item, line, diags)?);
                }
                Some(Value::Text(out.join(",")))
            }
            Kind::List | Kind::RefList(_) => self
                .list(h, v, line, diags)
                .map(|items| Value::Text(items.join(","))),
            Kind::UserIds | Kind::ScoreScaleValue => {
                let items = self.list(h, v, line, diags)?;
                for item in &items {
                    let inner = item.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
                    if !inner.is_some_and(|s| {
                        s.split_once(':')
                            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
                    }) {
                        let form = if col.kind == Kind::UserIds {
                            "{type:identifier}"
                        } else {
                            "{itemValueLHS:itemValueRHS}"
                        };
                        diags.error(
                            file,
                            line,
                            h,
                            "list-item",
                            format!("'{item}' is not of the form {form}"),
                        );
                        return None;
                    }
                }
                Some(Value::Text(items.join(",")))
            }
        }
    }

    fn list<'v>(&self, h: &str, v: &'v str, line: u64, diags: &mut Diags) -> Option<Vec<&'v str>> {
        let items: Vec<&str> = v.split(',').map(str::trim).collect();
        if items.iter().any(|i| i.is_empty()) {
            diags.error(
                &self.file,
                line,
                h,
                "list",
                format!("'{v}' has an empty list item"),
            );
            return None;
        }
        Some(items)
    }

    fn enum_value(
        &self,
        h: &str,
        values: &[&str],
        ext: bool,
        v: &str,
        line: u64,
        diags: &mut Diags,
    ) -> Option<String> {
        if values.contains(&v) || (ext && is_ext(v)) {
            return Some(v.to_string());
        }
        if let Some(canon) = values.iter().find(|x| x.eq_ignore_ascii_case(v)) {
            diags.warning(
                &self.file,
                line,
                h,
                "lenient-enum-case",
                format!("'{v}' read as '{canon}'"),
            );
            return Some(canon.to_string());
        }
        let allowed = values.join(", ");
        let extra = if ext { " or ext:<name>" } else { "" };
        diags.error(
            &self.file,
            line,
            h,
            "enum",
            format!("'{v}' is not one of {allowed}{extra}"),
        );
        None
    }
}
