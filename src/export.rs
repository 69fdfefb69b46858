//! Store → OneRoster CSV package (1.1 or 1.2; bulk, or delta with `--since`), and the package
//! writer shared with the generator: spec column order, `metadata.*` columns, manifest.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::ingest::Mode;
use crate::model::catalog::{layout, Column, Entity, Target, Version};
use crate::model::record::Record;
use crate::model::time;
use crate::model::v11;
use crate::store::records::{self, Scan};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}: {1}")]
    Io(String, io::Error),
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("--since: '{0}' is not a date or date-time")]
    Since(String),
}

enum Out {
    Dir(PathBuf),
    Zip(Box<zip::ZipWriter<BufWriter<File>>>),
}

/// Writes one package: files in any order, then the manifest.
pub struct PackageWriter {
    out: Out,
    path: PathBuf,
    version: Version,
    modes: BTreeMap<Entity, Mode>,
}

/// One CSV file being written.
pub struct CsvSink<'a> {
    w: csv::Writer<Box<dyn Write + 'a>>,
    cols: Vec<Column>,
    meta_keys: Vec<String>,
    delta: bool,
    buf: Vec<String>,
    pub rows: u64,
}

impl PackageWriter {
    /// `path` ending in `.zip` writes an archive, anything else a folder.
    pub fn create(path: &Path, version: Version) -> Result<PackageWriter, ExportError> {
        let shown = path.display().to_string();
        let out = if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
        {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| ExportError::Io(shown.clone(), e))?;
            }
            let f = File::create(path).map_err(|e| ExportError::Io(shown.clone(), e))?;
            Out::Zip(Box::new(zip::ZipWriter::new(BufWriter::new(f))))
        } else {
            std::fs::create_dir_all(path).map_err(|e| ExportError::Io(shown.clone(), e))?;
            Out::Dir(path.to_path_buf())
        };
        Ok(PackageWriter {
            out,
            path: path.to_path_buf(),
            version,
            modes: BTreeMap::new(),
        })
    }

    fn open(&mut self, name: &str) -> Result<Box<dyn Write + '_>, ExportError> {
        match &mut self.out {
            Out::Dir(dir) => {
                let p = dir.join(name);
                let f =
                    File::create(&p).map_err(|e| ExportError::Io(p.display().to_string(), e))?;
                Ok(Box::new(BufWriter::with_capacity(1 << 16, f)))
            }
            Out::Zip(z) => {
                let opts = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .large_file(true);
                z.start_file(name, opts)?;
                Ok(Box::new(&mut **z))
            }
        }
    }

    /// Start `entity`'s file, declared `bulk` or `delta` in the manifest.
    pub fn file(
        &mut self,
        entity: Entity,
        mode: Mode,
        meta_keys: &[String],
    ) -> Result<CsvSink<'_>, ExportError> {
        self.modes.insert(entity, mode);
        let cols = layout(entity, self.version);
        let delta = mode == Mode::Delta;
        let w = self.open(&format!("{}.csv", entity.name()))?;
        let mut w = csv::WriterBuilder::new().from_writer(w);
        let mut header: Vec<&str> = vec!["sourcedId", "status", "dateLastModified"];
        header.extend(cols.iter().map(|c| c.header));
        let meta_headers: Vec<String> = meta_keys.iter().map(|k| format!("metadata.{k}")).collect();
        header.extend(meta_headers.iter().map(String::as_str));
        w.write_record(&header)?;
        Ok(CsvSink {
            w,
            cols,
            meta_keys: meta_keys.to_vec(),
            delta,
            buf: Vec::new(),
            rows: 0,
        })
    }

    /// Write `manifest.csv` and close the package.
    pub fn finish(mut self) -> Result<PathBuf, ExportError> {
        self.write_manifest()?;
        if let Out::Zip(z) = self.out {
            let mut inner = z.finish()?;
            inner
                .flush()
                .map_err(|e| ExportError::Io(self.path.display().to_string(), e))?;
        }
        Ok(self.path)
    }

    fn write_manifest(&mut self) -> Result<(), ExportError> {
        let mut m = String::from("propertyName,value\nmanifest.version,1.0\n");
        m.push_str(&format!("oneroster.version,{}\n", self.version.as_str()));
        for e in Entity::ALL
            .into_iter()
            .filter(|e| e.in_version(self.version))
        {
            let mode = self.modes.get(&e).copied().unwrap_or(Mode::Absent);
            m.push_str(&format!("file.{},{}\n", e.name(), mode.as_str()));
        }
        m.push_str("source.systemName,rosterbridge\n");
        {
            let mut w = self.open("manifest.csv")?;
            w.write_all(m.as_bytes())
                .map_err(|e| ExportError::Io("manifest.csv".into(), e))?;
            w.flush()
                .map_err(|e| ExportError::Io("manifest.csv".into(), e))?;
        }
        Ok(())
    }
}

impl CsvSink<'_> {
    /// Write one record. `roles` are the user's active roles (used only for 1.1 `users.csv`).
    pub fn write(&mut self, rec: &Record, roles: &[Record]) -> Result<(), ExportError> {
        self.buf.clear();
        self.buf.push(rec.sourced_id.clone());
        if self.delta {
            self.buf.push(rec.status.as_str().to_string());
            self.buf
                .push(rec.date_last_modified.clone().unwrap_or_else(time::now));
        } else {
            self.buf.push(String::new());
            self.buf.push(String::new());
        }
        for c in &self.cols {
            let cell = match c.target {
                Target::Field(i) => rec.values.get(i).map(|v| v.to_cell()).unwrap_or_default(),
                Target::V11OrgSourcedIds => {
                    v11::orgs(rec, &roles.iter().collect::<Vec<_>>()).join(",")
                }
                Target::V11Role => v11::role(rec, &roles.iter().collect::<Vec<_>>()).to_string(),
            };
            self.buf.push(cell);
        }
        for k in &self.meta_keys {
            self.buf
                .push(rec.metadata.get(k).cloned().unwrap_or_default());
        }
        self.w.write_record(&self.buf)?;
        self.rows += 1;
        Ok(())
    }

    /// Write one row given as its cells: `sourcedId, status, dateLastModified`, the layout's
    /// columns, then the metadata keys' (the caller keeps to the header it opened the file with).
    pub fn write_cells(&mut self, cells: &[String]) -> Result<(), ExportError> {
        self.w.write_record(cells)?;
        self.rows += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Result<u64, ExportError> {
        self.w
            .flush()
            .map_err(|e| ExportError::Io("csv".into(), e))?;
        Ok(self.rows)
    }
}

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub version: Version,
    /// Delta since this date or date-time; bulk when `None`.
    pub since: Option<String>,
}

/// Export the store to `out`; returns rows written per file.
pub fn export(
    store: &Store,
    out: &Path,
    opts: &ExportOptions,
) -> Result<Vec<(Entity, u64)>, ExportError> {
    let since = match &opts.since {
        Some(s) => Some(
            time::parse_lenient(s)
                .map(|(t, _)| t)
                .ok_or_else(|| ExportError::Since(s.clone()))?,
        ),
        None => None,
    };
    let mode = if since.is_some() {
        Mode::Delta
    } else {
        Mode::Bulk
    };
    let scan = Scan {
        active_only: since.is_none(),
        since,
        column_in: None,
    };
    let mut conn = store.conn()?;
    let conn = &mut *conn;
    let mut pw = PackageWriter::create(out, opts.version)?;
    let mut summary = Vec::new();
    for e in Entity::ALL
        .into_iter()
        .filter(|e| e.in_version(opts.version))
    {
        if records::page(conn, e, &scan, "", 1)?.is_empty() {
            continue;
        }
        let keys: Vec<String> = records::metadata_keys(conn, e, &scan)?
            .into_iter()
            .collect();
        let mut sink = pw.file(e, mode, &keys)?;
        let mut failed: Option<ExportError> = None;
        let with_roles = e == Entity::Users && opts.version == Version::V1_1;
        records::scan(conn, e, &scan, |c, page| {
            let mut roles: BTreeMap<String, Vec<Record>> = BTreeMap::new();
            if with_roles {
                let ids: Vec<String> = page.iter().map(|r| r.sourced_id.clone()).collect();
                let rs = Scan {
                    active_only: true,
                    since: None,
                    column_in: Some(("user_sourced_id", ids)),
                };
                records::scan(c, Entity::Roles, &rs, |_, rp| {
                    for r in rp {
                        roles
                            .entry(r.get("userSourcedId").unwrap_or("").to_string())
                            .or_default()
                            .push(r);
                    }
                    Ok(())
                })?;
            }
            for r in &page {
                if failed.is_some() {
                    break;
                }
                let ur = roles.get(&r.sourced_id).map(Vec::as_slice).unwrap_or(&[]);
                if let Err(err) = sink.write(r, ur) {
                    failed = Some(err);
                }
            }
            Ok(())
        })?;
        if let Some(err) = failed {
            return Err(err);
        }
        summary.push((e, sink.finish()?));
    }
    pw.finish()?;
    Ok(summary)
}
