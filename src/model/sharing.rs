//! Sharing rules and field masks: what part of the roster an app is licensed for, in domain
//! form (no SQL; `store::views` compiles an app's rules in force into its visibility).
//!
//! A rule is written `org=ID,ID;course=ID;class=ID;grades=09,10;classType=scheduled;
//! from=DATE;until=DATE`: every part optional, parts AND-ed, the values of a part OR-ed. An
//! app's rules are OR-ed. What a rule shares:
//! * **orgs only** (`org=…`, perhaps with a date window): those orgs whole, with every org below
//!   them — their users (by role), classes, courses, terms, enrollments — as `--orgs` always did;
//! * **any class part** (`course`, `class`, `grades`, `classType`, perhaps within `org`): the
//!   classes it selects, and with them their courses, terms and schools, their enrollments, the
//!   users actively enrolled in them and those students' agents (guardians), and their
//!   gradebook and resources; not the schools' other staff. `grades` matches a class's own
//!   grades, or its course's when the class lists none;
//! * **nothing but a date window** (or nothing at all): the whole roster while in force.
//!
//! `from`/`until` say when the rule is in force (the licence period, inclusive dates), not
//! which terms' classes it selects.

use std::fmt;

use super::catalog::{Entity, Kind};

/// One sharing rule (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    pub orgs: Vec<String>,
    pub courses: Vec<String>,
    pub classes: Vec<String>,
    pub grades: Vec<String>,
    pub class_types: Vec<String>,
    /// First day in force (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Last day in force (`YYYY-MM-DD`).
    pub until: Option<String>,
}

impl Rule {
    /// A rule sharing these orgs whole.
    pub fn orgs(orgs: &[String]) -> Rule {
        Rule {
            orgs: orgs.to_vec(),
            ..Rule::default()
        }
    }

    /// Parse one rule; the error names the part and what is wrong with it.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let mut rule = Rule::default();
        let text = text.trim();
        if text.is_empty() {
            return Err("a rule is empty (use `all` to share everything)".into());
        }
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, values) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}': a part is written name=value,value"))?;
            let values: Vec<String> = values
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .collect();
            if values.is_empty() {
                return Err(format!("'{part}': no value"));
            }
            let one_date = |values: &[String]| -> Result<Option<String>, String> {
                match values {
                    [d] if super::time::parse_date(d).is_some() && d.len() == 10 => {
                        Ok(Some(d.clone()))
                    }
                    _ => Err(format!("'{part}': a date is written YYYY-MM-DD")),
                }
            };
            let slot = match key.trim() {
                "org" | "orgs" => &mut rule.orgs,
                "course" | "courses" => &mut rule.courses,
                "class" | "classes" => &mut rule.classes,
                "grades" | "grade" => &mut rule.grades,
                "classType" => {
                    for v in &values {
                        if v != "homeroom" && v != "scheduled" && !v.starts_with("ext:") {
                            return Err(format!(
                                "'{part}': a class type is homeroom, scheduled or ext:…"
                            ));
                        }
                    }
                    &mut rule.class_types
                }
                "from" => {
                    rule.from = one_date(&values)?;
                    continue;
                }
                "until" => {
                    rule.until = one_date(&values)?;
                    continue;
                }
                other => {
                    return Err(format!(
                    "unknown part '{other}' (org, course, class, grades, classType, from, until)"
                ))
                }
            };
            if !slot.is_empty() {
                return Err(format!("'{part}': the part is given twice"));
            }
            *slot = values;
        }
        if let (Some(f), Some(u)) = (&rule.from, &rule.until) {
            if f > u {
                return Err(format!("from={f} is after until={u}"));
            }
        }
        Ok(rule)
    }

    /// Whether the rule is in force on `today` (`YYYY-MM-DD`).
    pub fn in_force(&self, today: &str) -> bool {
        self.from.as_deref().is_none_or(|f| f <= today)
            && self.until.as_deref().is_none_or(|u| today <= u)
    }

    /// Whether the rule selects classes (has a class part).
    pub fn selects_classes(&self) -> bool {
        !(self.courses.is_empty()
            && self.classes.is_empty()
            && self.grades.is_empty()
            && self.class_types.is_empty())
    }

    /// Whether the rule shares the whole roster (no org and no class part).
    pub fn shares_all(&self) -> bool {
        self.orgs.is_empty() && !self.selects_classes()
    }

    /// The sourcedIds the rule names, by entity (for checking they exist).
    pub fn named(&self) -> [(Entity, &[String]); 3] {
        [
            (Entity::Orgs, &self.orgs),
            (Entity::Courses, &self.courses),
            (Entity::Classes, &self.classes),
        ]
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        for (name, values) in [
            ("org", &self.orgs),
            ("course", &self.courses),
            ("class", &self.classes),
            ("grades", &self.grades),
            ("classType", &self.class_types),
        ] {
            if !values.is_empty() {
                parts.push(format!("{name}={}", values.join(",")));
            }
        }
        if let Some(d) = &self.from {
            parts.push(format!("from={d}"));
        }
        if let Some(d) = &self.until {
            parts.push(format!("until={d}"));
        }
        if parts.is_empty() {
            return f.write_str("all");
        }
        f.write_str(&parts.join(";"))
    }
}

/// An app's rules from their texts (`--share` values, or the stored lines): `None` when they
/// share everything (`all`, or no rule at all).
pub fn parse_rules<S: AsRef<str>>(texts: &[S]) -> Result<Option<Vec<Rule>>, String> {
    let mut rules = Vec::new();
    for t in texts {
        let t = t.as_ref().trim();
        if t == "all" {
            return if texts.len() == 1 {
                Ok(None)
            } else {
                Err("`all` shares everything: give it alone".into())
            };
        }
        rules.push(Rule::parse(t).map_err(|e| format!("rule '{t}': {e}"))?);
    }
    Ok(if rules.is_empty() { None } else { Some(rules) })
}

/// The stored form of an app's rules: one per line (`None`: everything).
pub fn rules_text(rules: Option<&[Rule]>) -> Option<String> {
    rules.map(|rs| {
        rs.iter()
            .map(Rule::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The JSON field names a mask may name: every field of the personal entities (users and
/// their demographics) except their ids, and `metadata` (extension fields, on every entity).
pub fn maskable() -> Vec<&'static str> {
    let mut out = vec!["metadata"];
    for e in [Entity::Users, Entity::Demographics] {
        for f in e.fields() {
            if f.name != "sourcedId"
                && !matches!(f.kind, Kind::Ref(_) | Kind::RefList(_))
                && !out.contains(&f.name)
            {
                out.push(f.name);
            }
        }
    }
    out
}

/// A mask from its text (`phone,sms,birthDate`; empty: nothing masked); the error names an
/// unknown field and lists the maskable ones.
pub fn parse_mask(text: &str) -> Result<Vec<String>, String> {
    let allowed = maskable();
    let mut out: Vec<String> = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !allowed.contains(&name) {
            return Err(format!(
                "'{name}' cannot be masked (maskable: {})",
                allowed.join(", ")
            ));
        }
        if !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_print_and_refuse() {
        let r = Rule::parse("org=s1,s2; course=c1;grades=09,10;classType=scheduled;from=2027-01-04;until=2027-06-30")
            .expect("valid");
        assert_eq!(r.orgs, ["s1", "s2"]);
        assert_eq!(r.grades, ["09", "10"]);
        assert!(r.selects_classes());
        assert_eq!(
            r.to_string(),
            "org=s1,s2;course=c1;grades=09,10;classType=scheduled;from=2027-01-04;until=2027-06-30"
        );
        assert_eq!(Rule::parse(&r.to_string()).expect("valid"), r);
        assert!(!r.in_force("2027-01-03"));
        assert!(r.in_force("2027-01-04"));
        assert!(r.in_force("2027-06-30"));
        assert!(!r.in_force("2027-07-01"));
        assert!(!Rule::parse("org=s1").expect("valid").selects_classes());
        assert!(Rule::parse("from=2027-01-01").expect("valid").shares_all());
        for bad in [
            "org",
            "org=",
            "school=s1",
            "classType=lab",
            "from=2027-1-1",
            "from=2027-02-01;until=2027-01-01",
            "org=a;org=b",
            "",
        ] {
            assert!(Rule::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(parse_rules(&["all"]).expect("valid"), None);
        assert!(parse_rules(&["all", "org=x"]).is_err());
        assert_eq!(
            parse_rules(&["org=x", "class=k"])
                .expect("valid")
                .expect("valid")
                .len(),
            2
        );
    }

    #[test]
    fn masks_name_personal_fields_only() {
        assert_eq!(
            parse_mask("phone, sms,birthDate,phone").expect("valid"),
            ["phone", "sms", "birthDate"]
        );
        assert!(parse_mask("email,metadata,userIds").is_ok());
        let e = parse_mask("sourcedId").expect_err("refused");
        assert!(e.contains("maskable"), "{e}");
        assert!(parse_mask("title").is_err());
    }
}
