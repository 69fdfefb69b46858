//! Where a package's files come from: a folder or a ZIP archive, with bounded reading (entry
//! count, names at the root, decompressed size) and case-insensitive file lookup.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// Most entries a package ZIP may hold (21 data files + manifest, with room for stray files).
const MAX_ENTRIES: usize = 256;
/// Largest decompressed size read from one entry: bounds ZIP bombs.
pub const MAX_FILE_BYTES: u64 = 16 << 30;
/// Largest decompressed size of a whole package.
const MAX_TOTAL_BYTES: u64 = 64 << 30;
/// Entries above this size must not decompress more than [`MAX_RATIO`] times.
const RATIO_CHECK_BYTES: u64 = 32 << 20;
const MAX_RATIO: u64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: not a readable ZIP archive: {1}")]
    Zip(String, String),
    #[error("{0}: {1}")]
    Invalid(String, String),
}

pub enum Source {
    Dir(PathBuf),
    Zip(PathBuf, zip::ZipArchive<BufReader<File>>),
}

impl Source {
    pub fn open(path: &Path) -> Result<Source, SourceError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| SourceError::Io(shown.clone(), e))?;
        if meta.is_dir() {
            return Ok(Source::Dir(path.to_path_buf()));
        }
        let f = File::open(path).map_err(|e| SourceError::Io(shown.clone(), e))?;
        let mut zip = zip::ZipArchive::new(BufReader::new(f))
            .map_err(|e| SourceError::Zip(shown.clone(), e.to_string()))?;
        if zip.len() > MAX_ENTRIES {
            return Err(SourceError::Invalid(
                shown,
                format!("{} entries (at most {MAX_ENTRIES})", zip.len()),
            ));
        }
        // Bound what decompression may produce before reading anything: total size, and the
        // compression ratio of large entries (CSV compresses ~10x; a bomb, thousands of times).
        let mut total: u64 = 0;
        for i in 0..zip.len() {
            let e = zip
                .by_index_raw(i)
                .map_err(|e| SourceError::Zip(shown.clone(), e.to_string()))?;
            let (size, packed) = (e.size(), e.compressed_size().max(1));
            total = total.saturating_add(size);
            if size > MAX_FILE_BYTES || (size > RATIO_CHECK_BYTES && size / packed > MAX_RATIO) {
                return Err(SourceError::Invalid(
                    shown,
                    format!(
                        "{}: {size} bytes from {packed} compressed: refusing a likely ZIP bomb",
                        e.name()
                    ),
                ));
            }
        }
        if total > MAX_TOTAL_BYTES {
            return Err(SourceError::Invalid(
                shown,
                format!("{total} bytes decompressed (at most {MAX_TOTAL_BYTES})"),
            ));
        }
        Ok(Source::Zip(path.to_path_buf(), zip))
    }

    /// File names at the package root.
    pub fn names(&self) -> Vec<String> {
        match self {
            Source::Dir(p) => std::fs::read_dir(p)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
                        .filter_map(|e| e.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default(),
            Source::Zip(_, z) => z
                .file_names()
                .filter(|n| !n.ends_with('/'))
                .map(str::to_string)
                .collect(),
        }
    }

    /// Find `wanted` exactly, else case-insensitively (second value: the case differed).
    pub fn find(&self, wanted: &str) -> Option<(String, bool)> {
        let names = self.names();
        if names.iter().any(|n| n == wanted) {
            return Some((wanted.to_string(), false));
        }
        names
            .into_iter()
            .find(|n| n.eq_ignore_ascii_case(wanted))
            .map(|n| (n, true))
    }

    /// Read one file (bounded).
    pub fn open_file(&mut self, name: &str) -> Result<Box<dyn Read + Send + '_>, SourceError> {
        match self {
            Source::Dir(p) => {
                let path = p.join(name);
                let f = File::open(&path)
                    .map_err(|e| SourceError::Io(path.display().to_string(), e))?;
                Ok(Box::new(CrlfToLf::new(
                    BufReader::with_capacity(1 << 16, f).take(MAX_FILE_BYTES),
                )))
            }
            Source::Zip(p, z) => {
                let shown = format!("{}!{name}", p.display());
                let entry = z
                    .by_name(name)
                    .map_err(|e| SourceError::Zip(shown.clone(), e.to_string()))?;
                let declared = entry.size();
                if declared > MAX_FILE_BYTES {
                    return Err(SourceError::Invalid(shown, "entry too large".into()));
                }
                Ok(Box::new(CrlfToLf::new(BufReader::with_capacity(
                    1 << 16,
                    // Never more than the size the archive declared (and checked in `open`).
                    entry.take(declared),
                ))))
            }
        }
    }
}

/// Reads `\r\n` as `\n`. The csv crate counts a CRLF record's line one short (it consumes the
/// `\n` as part of the next record), so diagnostics on Windows-style files would name the
/// wrong line; normalising first keeps line numbers exact.
pub struct CrlfToLf<R> {
    inner: R,
    /// A `\r` held back because the buffer ended on it.
    held_cr: bool,
}

impl<R: Read> CrlfToLf<R> {
    pub fn new(inner: R) -> Self {
        CrlfToLf {
            inner,
            held_cr: false,
        }
    }
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.len() < 2 {
            return self.inner.read(buf);
        }
        loop {
            let start = usize::from(self.held_cr);
            if self.held_cr {
                if let Some(b) = buf.first_mut() {
                    *b = b'\r';
                }
            }
            let n = self.inner.read(buf.get_mut(start..).unwrap_or_default())?;
            if n == 0 {
                // End of input: a held '\r' stands alone.
                let had = self.held_cr;
                self.held_cr = false;
                return Ok(usize::from(had));
            }
            let len = start + n;
            self.held_cr = false;
            let read = buf.get(..len).unwrap_or_default();
            // Fast path (LF files): `contains` on bytes is a memchr.
            if !read.contains(&b'\r') {
                return Ok(len);
            }
            // Bytes before the first '\r' are already in place.
            let first = read.iter().position(|&b| b == b'\r').unwrap_or(0);
            let mut w = first;
            let mut i = first;
            while i < len {
                let b = buf.get(i).copied().unwrap_or(0);
                if b == b'\r' {
                    match buf.get(i + 1).copied() {
                        Some(b'\n') if i + 1 < len => {
                            i += 1;
                            continue;
                        }
                        None | Some(_) if i + 1 == len => {
                            self.held_cr = true;
                            i += 1;
                            continue;
                        }
                        _ => {}
                    }
                }
                if let Some(slot) = buf.get_mut(w) {
                    *slot = b;
                }
                w += 1;
                i += 1;
            }
            if w > 0 {
                return Ok(w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(input: &[u8], chunk: usize) -> Vec<u8> {
        struct Chunked<'a>(&'a [u8], usize);
        impl Read for Chunked<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.1.min(buf.len()).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        CrlfToLf::new(Chunked(input, chunk))
            .read_to_end(&mut out)
            .expect("read");
        out
    }

    #[test]
    fn crlf_becomes_lf_across_any_buffer_boundary() {
        let input = b"a,b\r\nc,\"d\r\ne\"\r\nlone\rcr\r";
        for chunk in 1..input.len() + 1 {
            assert_eq!(
                through(input, chunk),
                b"a,b\nc,\"d\ne\"\nlone\rcr\r".to_vec(),
                "chunk {chunk}"
            );
        }
    }
}
