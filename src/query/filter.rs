//! `filter` grammar (ONEROSTER.md §4.3) → AST. A superset of the spec: up to
//! [`MAX_CLAUSES`] clauses joined by one logical operator (`AND` or `OR`, not mixed), dotted
//! field names, single-quoted values with `''` as an escaped quote.

/// Most clauses one filter may chain.
pub const MAX_CLAUSES: usize = 20;
/// Longest value accepted in a clause.
pub const MAX_VALUE_CHARS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logical {
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The field path, e.g. `["school", "sourcedId"]`.
    pub path: Vec<String>,
    pub op: Op,
    pub value: String,
}

impl Clause {
    pub fn field(&self) -> String {
        self.path.join(".")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub logical: Logical,
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("filter syntax error at character {pos}: {message}")]
    Syntax { pos: usize, message: String },
    #[error("unknown filter field '{0}'")]
    UnknownField(String),
    #[error("invalid value for filter field '{field}': {message}")]
    Value { field: String, message: String },
}

fn syntax(pos: usize, message: impl Into<String>) -> FilterError {
    FilterError::Syntax {
        pos: pos + 1,
        message: message.into(),
    }
}

/// Parse a `filter` parameter (already URL-decoded).
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    let mut clauses = Vec::new();
    let mut logical: Option<Logical> = None;
    loop {
        // field
        let start = i;
        while i < chars.len()
            && chars
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        {
            i += 1;
        }
        let field: String = chars
            .get(start..i)
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        if field.is_empty() {
            return Err(syntax(i, "expected a field name"));
        }
        let path: Vec<String> = field.split('.').map(str::to_string).collect();
        if path
            .iter()
            .any(|p| p.is_empty() || !p.starts_with(|c: char| c.is_ascii_alphabetic()))
        {
            return Err(syntax(start, format!("malformed field name '{field}'")));
        }
        // predicate, longest match first
        let two: String = chars
            .get(i..i + 2)
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        let (op, len) = match (two.as_str(), chars.get(i)) {
            ("!=", _) => (Op::Ne, 2),
            (">=", _) => (Op::Ge, 2),
            ("<=", _) => (Op::Le, 2),
            (_, Some('=')) => (Op::Eq, 1),
            (_, Some('>')) => (Op::Gt, 1),
            (_, Some('<')) => (Op::Lt, 1),
            (_, Some('~')) => (Op::Contains, 1),
            _ => {
                return Err(syntax(
                    i,
                    format!("expected one of = != > >= < <= ~ after '{field}'"),
                ))
            }
        };
        i += len;
        // quoted value with '' escapes
        if chars.get(i) != Some(&'\'') {
            return Err(syntax(i, "expected a value in single quotes"));
        }
        i += 1;
        let mut value = String::new();
        loop {
            match chars.get(i) {
                None => return Err(syntax(i, "unterminated quoted value")),
                Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                    value.push('\'');
                    i += 2;
                }
                Some('\'') => {
                    i += 1;
                    break;
                }
                Some(c) => {
                    value.push(*c);
                    i += 1;
                }
            }
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(FilterError::Value {
                field,
                message: format!("longer than {MAX_VALUE_CHARS} characters"),
            });
        }
        clauses.push(Clause { path, op, value });
        if i == chars.len() {
            break;
        }
        // " AND " / " OR "
        let rest: String = chars
            .get(i..)
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        let (l, len) = if rest.starts_with(" AND ") {
            (Logical::And, 5)
        } else if rest.starts_with(" OR ") {
            (Logical::Or, 4)
        } else {
            return Err(syntax(i, "expected ' AND ' or ' OR ' between clauses"));
        };
        if logical.is_some_and(|x| x != l) {
            return Err(syntax(i, "AND and OR cannot be mixed in one filter"));
        }
        logical = Some(l);
        i += len;
        if clauses.len() >= MAX_CLAUSES {
            return Err(syntax(i, format!("at most {MAX_CLAUSES} clauses")));
        }
    }
    Ok(Filter {
        logical: logical.unwrap_or(Logical::And),
        clauses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_operators_chains_dotted_fields_and_escaped_quotes() {
        let f = parse(
            "familyName~'O''Connor' OR school.sourcedId!='s1' OR dateLastModified>='2024-01-01'",
        )
        .expect("parses");
        assert_eq!(f.logical, Logical::Or);
        assert_eq!(f.clauses.len(), 3);
        assert_eq!(
            f.clauses[0],
            Clause {
                path: vec!["familyName".into()],
                op: Op::Contains,
                value: "O'Connor".into()
            }
        );
        assert_eq!(f.clauses[1].path, ["school", "sourcedId"]);
        assert_eq!(f.clauses[1].op, Op::Ne);
        assert_eq!(f.clauses[2].op, Op::Ge);
        for (s, op) in [
            ("a='1'", Op::Eq),
            ("a>'1'", Op::Gt),
            ("a<'1'", Op::Lt),
            ("a<='1'", Op::Le),
        ] {
            assert_eq!(parse(s).expect(s).clauses[0].op, op);
        }
        assert_eq!(
            parse("title='a AND b'").expect("and inside quotes").clauses[0].value,
            "a AND b"
        );
    }

    #[test]
    fn rejects_malformed_filters_with_a_position() {
        for bad in [
            "",
            "a",
            "a=",
            "a='x",
            "a=x",
            "a=='x'",
            "a='1' AND",
            "a='1' and b='2'",
            "a='1' AND b='2' OR c='3'",
            "(a='1')",
            ".a='1'",
            "a..b='1'",
            "a='1'b='2'",
        ] {
            assert!(
                matches!(parse(bad), Err(FilterError::Syntax { .. })),
                "{bad:?} should not parse: {:?}",
                parse(bad)
            );
        }
        let many = vec!["a='1'"; MAX_CLAUSES + 1].join(" AND ");
        assert!(parse(&many).is_err());
        assert!(parse(&vec!["a='1'"; MAX_CLAUSES].join(" AND ")).is_ok());
    }
}
