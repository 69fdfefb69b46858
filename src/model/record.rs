//! A stored roster record in domain form: one row of any catalogue entity, independent of CSV,
//! JSON, XML and Diesel. Values line up with [`Entity::fields`].

use std::collections::BTreeMap;

use super::catalog::{Entity, Kind};

/// `active` or `tobedeleted` (a tombstone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    ToBeDeleted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::ToBeDeleted => "tobedeleted",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "active" => Some(Status::Active),
            "tobedeleted" => Some(Status::ToBeDeleted),
            _ => None,
        }
    }
}

/// One field value. Lists are kept in their canonical CSV form (`a,b,c`, no blanks around items).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Float(f64),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// The CSV cell text of this value.
    pub fn to_cell(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Text(s) => s.clone(),
            Value::Float(x) => format_float(*x),
        }
    }
}

/// Shortest text that reads back as the same `f64` (`95`, `87.5`).
pub fn format_float(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// Split a canonical list cell into items.
pub fn list_items(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').filter(|x| !x.is_empty())
}

/// A field of one entity with its position resolved on first use, for code that reads the
/// same few fields of many records (the LIS person mapping) without comparing field names for
/// each record. A record of another entity is read by name.
#[derive(Debug)]
pub struct FieldOf {
    entity: Entity,
    name: &'static str,
    index: std::sync::OnceLock<Option<usize>>,
}

impl FieldOf {
    pub const fn new(entity: Entity, name: &'static str) -> FieldOf {
        FieldOf {
            entity,
            name,
            index: std::sync::OnceLock::new(),
        }
    }

    /// The field's text in `r` (like [`Record::get`]).
    pub fn get<'a>(&self, r: &'a Record) -> Option<&'a str> {
        if r.entity != self.entity {
            return r.get(self.name);
        }
        let i = (*self
            .index
            .get_or_init(|| self.entity.field_index(self.name)))?;
        r.values.get(i).and_then(Value::as_str)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub entity: Entity,
    pub sourced_id: String,
    pub status: Status,
    /// When rosterbridge recorded the last change (`YYYY-MM-DDTHH:MM:SS.sssZ`); `None` before storing.
    pub date_last_modified: Option<String>,
    /// The dateLastModified the SIS sent, kept apart from ours (rendered under `metadata`).
    pub sis_date_last_modified: Option<String>,
    pub values: Vec<Value>,
    /// Extension values (`metadata.*` CSV columns), sorted by key.
    pub metadata: BTreeMap<String, String>,
}

impl Record {
    pub fn new(entity: Entity, sourced_id: impl Into<String>) -> Record {
        Record {
            entity,
            sourced_id: sourced_id.into(),
            status: Status::Active,
            date_last_modified: None,
            sis_date_last_modified: None,
            values: vec![Value::Null; entity.fields().len()],
            metadata: BTreeMap::new(),
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        let i = self.entity.field_index(field)?;
        self.values.get(i).and_then(Value::as_str)
    }

    /// A field's value as CSV text, whatever its kind (numbers too); `None` when unset.
    pub fn cell(&self, field: &str) -> Option<String> {
        let i = self.entity.field_index(field)?;
        self.values
            .get(i)
            .filter(|v| !v.is_null())
            .map(Value::to_cell)
    }

    /// Set a field by name; an empty string stores NULL. Floats are parsed. Unknown names are ignored.
    pub fn set(&mut self, field: &str, v: impl Into<String>) -> &mut Self {
        let v: String = v.into();
        if let Some(i) = self.entity.field_index(field) {
            let kind = self.entity.fields().get(i).map(|f| f.kind);
            let val = if v.is_empty() {
                Value::Null
            } else if kind == Some(Kind::Float) {
                v.parse().map(Value::Float).unwrap_or(Value::Text(v))
            } else {
                Value::Text(v)
            };
            if let Some(slot) = self.values.get_mut(i) {
                *slot = val;
            }
        }
        self
    }

    /// Stable 128-bit hash of the content (fields and metadata; not status, not timestamps).
    pub fn content_hash(&self) -> u128 {
        let mut buf: Vec<u8> = Vec::with_capacity(256);
        for v in &self.values {
            match v {
                Value::Null => buf.push(0),
                Value::Text(s) => {
                    buf.push(1);
                    buf.extend_from_slice(s.as_bytes());
                }
                Value::Float(x) => {
                    buf.push(2);
                    buf.extend_from_slice(&x.to_bits().to_le_bytes());
                }
            }
            buf.push(0x1f);
        }
        for (k, v) in &self.metadata {
            buf.push(3);
            buf.extend_from_slice(k.as_bytes());
            buf.push(0x1e);
            buf.extend_from_slice(v.as_bytes());
        }
        xxhash_rust::xxh3::xxh3_128(&buf)
    }
}

/// Hashes an [`id_hash`] value for hash sets and maps: it is already a uniform 128-bit hash,
/// so its low 64 bits are used as they are (SipHash again was a visible share of validating
/// and applying a 1.8-million-row package).
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for non-u128 keys; fold the bytes in.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u128(&mut self, n: u128) {
        // Truncation intended: the low half of a uniform hash.
        self.0 ^= n as u64;
    }
}

/// A set of [`id_hash`] values.
pub type IdSet = std::collections::HashSet<u128, std::hash::BuildHasherDefault<IdHasher>>;
/// A map keyed by [`id_hash`] values.
pub type IdMap<V> = std::collections::HashMap<u128, V, std::hash::BuildHasherDefault<IdHasher>>;

/// Hash of an id, used for memory-light id sets.
pub fn id_hash(id: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resolved_field_reads_like_get_and_falls_back_to_the_name_for_other_entities() {
        static FAMILY: FieldOf = FieldOf::new(Entity::Users, "familyName");
        static NOPE: FieldOf = FieldOf::new(Entity::Users, "noSuchField");
        let mut u = Record::new(Entity::Users, "u1");
        u.set("familyName", "Lewis").set("givenName", "Ann");
        for _ in 0..2 {
            assert_eq!(FAMILY.get(&u), Some("Lewis"));
            assert_eq!(NOPE.get(&u), None);
        }
        u.set("familyName", "");
        assert_eq!(FAMILY.get(&u), None);
        // Another entity's record: by name, at its own position.
        let mut d = Record::new(Entity::Demographics, "u1");
        d.set("sex", "female");
        let sex = FieldOf::new(Entity::Users, "sex");
        assert_eq!(sex.get(&d), Some("female"));
        assert_eq!(FAMILY.get(&d), None);
    }
}
