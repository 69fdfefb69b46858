//! Import diagnostics: every problem names file, line, column and rule. All are counted; the
//! listing is capped so a broken 2-million-row file cannot exhaust memory.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diag {
    pub severity: Severity,
    pub file: String,
    /// 1-based line in the file (0: the file as a whole).
    pub line: u64,
    /// Column header ("" when the problem is not about one column).
    pub column: String,
    /// Short rule name, e.g. `required`, `enum`, `reference`, `duplicate-id`.
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}", self.file)?;
        if self.line > 0 {
            write!(f, " line {}", self.line)?;
        }
        if !self.column.is_empty() {
            write!(f, " column {}", self.column)?;
        }
        write!(f, " [{}]: {}", self.rule, self.message)
    }
}

/// Most errors, and most warnings, kept for listing (1,000 of each; the rest are only
/// counted), so a flood of one cannot hide the other.
pub const MAX_LISTED: usize = 1000;

#[derive(Debug, Default, Clone)]
pub struct Diags {
    pub list: Vec<Diag>,
    pub errors: u64,
    pub warnings: u64,
}

impl Diags {
    pub fn error(
        &mut self,
        file: &str,
        line: u64,
        column: &str,
        rule: &'static str,
        message: impl Into<String>,
    ) {
        self.errors += 1;
        if self.errors <= MAX_LISTED as u64 {
            self.list_one(Severity::Error, file, line, column, rule, message.into());
        }
    }

    pub fn warning(
        &mut self,
        file: &str,
        line: u64,
        column: &str,
        rule: &'static str,
        message: impl Into<String>,
    ) {
        self.warnings += 1;
        if self.warnings <= MAX_LISTED as u64 {
            self.list_one(Severity::Warning, file, line, column, rule, message.into());
        }
    }

    fn list_one(
        &mut self,
        severity: Severity,
        file: &str,
        line: u64,
        column: &str,
        rule: &'static str,
        message: String,
    ) {
        let (file, column) = (file.to_string(), column.to_string());
        self.list.push(Diag {
            severity,
            file,
            line,
            column,
            rule,
            message,
        });
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diag> {
        self.list.iter().filter(|d| d.severity == Severity::Error)
    }
}
