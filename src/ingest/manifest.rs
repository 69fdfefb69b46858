//! `manifest.csv`: versions and per-file modes, with the documented leniencies
//! (`manifest.version` `1`, starred `file.roles*` keys, missing `file.*` rows read as absent).

use std::collections::BTreeMap;
use std::io::Read;

use super::diag::Diags;
use crate::model::catalog::{Entity, Version};

/// How a file is supplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Bulk,
    Delta,
    Absent,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bulk" => Some(Mode::Bulk),
            "delta" => Some(Mode::Delta),
            "absent" => Some(Mode::Absent),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Bulk => "bulk",
            Mode::Delta => "delta",
            Mode::Absent => "absent",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Manifest {
    pub version: Version,
    pub files: BTreeMap<Entity, Mode>,
    pub properties: BTreeMap<String, String>,
}

impl Manifest {
    pub fn mode(&self, e: Entity) -> Mode {
        self.files.get(&e).copied().unwrap_or(Mode::Absent)
    }
}

const FILE: &str = "manifest.csv";

/// Parse and check `manifest.csv`; problems go to `diags`. `None` when unusable.
pub fn parse(reader: impl Read, diags: &mut Diags) -> Option<Manifest> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(reader);
    let mut props: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut rec = csv::StringRecord::new();
    let mut first = true;
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                diags.error(FILE, line, "", "csv-syntax", e.to_string());
                return None;
            }
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let key = rec
            .get(0)
            .unwrap_or("")
            .trim_start_matches('\u{feff}')
            .trim()
            .to_string();
        let value = rec.get(1).unwrap_or("").trim().to_string();
        if first {
            first = false;
            if key != "propertyName" || value != "value" {
                diags.error(
                    FILE,
                    line,
                    "",
                    "header",
                    "header must be 'propertyName,value'",
                );
                return None;
            }
            continue;
        }
        if rec.len() != 2 {
            diags.error(
                FILE,
                line,
                "",
                "row-width",
                format!("{} cells, expected 2", rec.len()),
            );
            continue;
        }
        if props.contains_key(&key) {
            diags.error(
                FILE,
                line,
                "propertyName",
                "duplicate-property",
                format!("'{key}' appears twice"),
            );
            continue;
        }
        props.insert(key, (value, line));
    }
    match props.get("manifest.version") {
        None => diags.error(
            FILE,
            0,
            "propertyName",
            "required",
            "manifest.version is missing",
        ),
        Some((v, _)) if v == "1.0" => {}
        Some((v, l)) if v == "1" => diags.warning(
            FILE,
            *l,
            "value",
            "lenient-manifest-version",
            "manifest.version '1' read as '1.0'",
        ),
        Some((v, l)) => diags.error(
            FILE,
            *l,
            "value",
            "manifest-version",
            format!("unsupported manifest.version '{v}'"),
        ),
    }
    let version = match props.get("oneroster.version") {
        None => {
            diags.error(
                FILE,
                0,
                "propertyName",
                "required",
                "oneroster.version is missing",
            );
            return None;
        }
        Some((v, l)) => match Version::parse(v) {
            Some(v) => v,
            None => {
                diags.error(
                    FILE,
                    *l,
                    "value",
                    "oneroster-version",
                    format!("unsupported oneroster.version '{v}' (1.1 or 1.2)"),
                );
                return None;
            }
        },
    };
    let mut files = BTreeMap::new();
    for (key, (value, line)) in &props {
        if key == "manifest.version" || key == "oneroster.version" || key.starts_with("source.") {
            continue;
        }
        let Some(name) = key.strip_prefix("file.") else {
            diags.error(
                FILE,
                *line,
                "propertyName",
                "unknown-property",
                format!("unknown property '{key}'"),
            );
            continue;
        };
        let (name, starred) = match name.strip_suffix('*') {
            Some(n) => (n, true),
            None => (name, false),
        };
        let Some(entity) = Entity::from_name(name).filter(|e| e.in_version(version)) else {
            diags.error(
                FILE,
                *line,
                "propertyName",
                "unknown-property",
                format!("'{key}' is not a OneRoster {} file", version.as_str()),
            );
            continue;
        };
        if starred {
            diags.warning(
                FILE,
                *line,
                "propertyName",
                "lenient-starred-key",
                format!("'{key}' read as 'file.{name}'"),
            );
        }
        if value.is_empty() {
            diags.warning(
                FILE,
                *line,
                "value",
                "lenient-blank-mode",
                format!("'{key}' has no value: read as absent"),
            );
            files.insert(entity, Mode::Absent);
            continue;
        }
        match Mode::parse(value) {
            Some(m) => {
                files.insert(entity, m);
            }
            None => diags.error(
                FILE,
                *line,
                "value",
                "enum",
                format!("'{value}' is not bulk, delta or absent"),
            ),
        }
    }
    for e in Entity::ALL.into_iter().filter(|e| e.in_version(version)) {
        if !files.contains_key(&e) {
            diags.warning(
                FILE,
                0,
                "propertyName",
                "missing-file-property",
                format!("file.{} missing: read as absent", e.name()),
            );
        }
    }
    Some(Manifest {
        version,
        files,
        properties: props.into_iter().map(|(k, (v, _))| (k, v)).collect(),
    })
}
