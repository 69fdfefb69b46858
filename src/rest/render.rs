//! Stored records → OneRoster 1.2 JSON objects, driven by the entity catalogue: GUIDRefs with
//! `href`s on this server, arrays for multi-valued fields, string booleans, `userIds` objects,
//! and the associations the JSON embeds (a user's `roles[]`, `userProfiles[]`, `resources[]`;
//! a class's or course's `resources[]`; an org's or session's `children[]`).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use serde_json::{json, Map, Value as Json};

use crate::model::catalog::{Entity, Kind};
use crate::model::record::{id_hash, list_items, IdHasher, Record, Status, Value};
use crate::query::fields::json_name;

/// Base path of the 1.2 rostering service.
pub const V1P2_ROSTERING: &str = "/ims/oneroster/rostering/v1p2";
/// Base path of every 1.1 service.
pub const V1P1: &str = "/ims/oneroster/v1p1";

/// Keys of the 1.2 user object that 1.1 does not have (it has `role` and `orgs` instead).
pub const V11_USER_DROPPED: &[&str] = &[
    "userMasterIdentifier",
    "preferredFirstName",
    "preferredMiddleName",
    "preferredLastName",
    "pronouns",
    "userProfiles",
    "primaryOrg",
    "resources",
    "roles",
];

/// Every top-level key the JSON of `entity` can carry (what `fields` may select).
pub fn json_keys(entity: Entity, v1p1: bool) -> Vec<String> {
    let mut keys: Vec<String> = ["sourcedId", "status", "dateLastModified", "metadata"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    keys.extend(
        entity
            .fields()
            .iter()
            .filter(|f| entity.parent().map(|(_, col)| col) != Some(f.column))
            .map(json_name),
    );
    keys.extend(
        match entity {
            Entity::Users => &["roles", "userProfiles", "resources"][..],
            Entity::Classes | Entity::Courses => &["resources"][..],
            Entity::Orgs | Entity::AcademicSessions => &["children"][..],
            _ => &[][..],
        }
        .iter()
        .map(|s| s.to_string()),
    );
    if v1p1 && entity == Entity::Users {
        keys.retain(|k| !V11_USER_DROPPED.contains(&k.as_str()));
        keys.extend(["role".to_string(), "orgs".to_string()]);
    }
    keys
}

/// The JSON names of `entity`'s fields, in catalogue order (computed once).
fn json_names(entity: Entity) -> &'static [String] {
    static NAMES: std::sync::OnceLock<HashMap<Entity, Vec<String>>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            Entity::ALL
                .iter()
                .map(|e| (*e, e.fields().iter().map(json_name).collect()))
                .collect()
        })
        .get(&entity)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Collection path and GUIDRef `type` of a referenced entity.
fn target(e: Entity) -> (&'static str, &'static str) {
    match e {
        Entity::Orgs => ("orgs", "org"),
        Entity::AcademicSessions => ("academicSessions", "academicSession"),
        Entity::Courses => ("courses", "course"),
        Entity::Classes => ("classes", "class"),
        Entity::Users => ("users", "user"),
        Entity::Resources => ("resources", "resource"),
        Entity::Categories => ("categories", "category"),
        Entity::LineItems => ("lineItems", "lineItem"),
        Entity::ScoreScales => ("scoreScales", "scoreScale"),
        Entity::Results => ("results", "result"),
        Entity::UserProfiles => ("userProfiles", "userProfile"),
        other => (other.name(), other.name()),
    }
}

fn required_in_json(e: Entity, field: &str) -> bool {
    matches!(
        (e, field),
        (Entity::Orgs, "identifier") | (Entity::Courses, "courseCode")
    )
}

/// Load the associations `entity`'s JSON embeds for the records `ids` (active rows only).
pub fn load_related(
    conn: &mut crate::store::DbConnection,
    entity: Entity,
    ids: &[String],
) -> diesel::QueryResult<Related> {
    load_related_skipping(conn, entity, ids, |_, _| Ok(false))
}

/// [`load_related`], not querying the child entities for which `skip` says so (known empty).
pub fn load_related_skipping(
    conn: &mut crate::store::DbConnection,
    entity: Entity,
    ids: &[String],
    mut skip: impl FnMut(&mut crate::store::DbConnection, Entity) -> diesel::QueryResult<bool>,
) -> diesel::QueryResult<Related> {
    let mut related = Related::default();
    if ids.is_empty() {
        return Ok(related);
    }
    for (child, column) in embedded(entity) {
        if skip(conn, *child)? {
            continue;
        }
        let field = child
            .fields()
            .iter()
            .find(|f| f.column == *column)
            .map(|f| f.name)
            .unwrap_or("");
        for r in crate::store::records::active_by_column(conn, *child, column, ids)? {
            let parent = r.get(field).unwrap_or("").to_string();
            related.add(*child, &parent, r);
        }
    }
    Ok(related)
}

/// Renders records for one server (its absolute base URL, e.g. `https://rb.example.org`).
pub struct Renderer<'a> {
    pub base_url: &'a str,
}

/// The associations of a page of records, loaded by the caller in a few queries
/// (keyed by the parent's sourcedId; only active rows).
#[derive(Debug, Default)]
pub struct Related {
    /// Keyed by child entity and the parent's [`id_hash`]: a lookup per rendered record
    /// allocates nothing and does not SipHash a string (6 % of a 10,000-user page).
    by_parent: HashMap<(Entity, u128), Vec<Record>, BuildHasherDefault<IdHasher>>,
}

impl Related {
    pub fn of(&self, child: Entity, parent: &str) -> &[Record] {
        self.by_parent
            .get(&(child, id_hash(parent)))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn add(&mut self, child: Entity, parent: &str, rec: Record) {
        self.by_parent
            .entry((child, id_hash(parent)))
            .or_default()
            .push(rec);
    }
}

/// What the 1.2 JSON of `entity` embeds: (child entity, column pointing at the parent).
pub fn embedded(entity: Entity) -> &'static [(Entity, &'static str)] {
    match entity {
        Entity::Users => &[
            (Entity::Roles, "user_sourced_id"),
            (Entity::UserProfiles, "user_sourced_id"),
            (Entity::UserResources, "user_sourced_id"),
        ],
        Entity::Classes => &[(Entity::ClassResources, "class_sourced_id")],
        Entity::Courses => &[(Entity::CourseResources, "course_sourced_id")],
        Entity::Orgs => &[(Entity::Orgs, "parent_sourced_id")],
        Entity::AcademicSessions => &[(Entity::AcademicSessions, "parent_sourced_id")],
        _ => &[],
    }
}

impl Renderer<'_> {
    pub fn guid_ref(&self, e: Entity, id: &str) -> Json {
        self.guid_ref_at(V1P2_ROSTERING, e, id)
    }

    fn guid_ref_at(&self, base: &str, e: Entity, id: &str) -> Json {
        let (path, ty) = target(e);
        json!({
            "href": format!("{}{base}/{path}/{id}", self.base_url),
            "sourcedId": id,
            "type": ty,
        })
    }

    /// The 1.1 JSON object of `rec`: the 1.2 object with 1.1 `href`s, and for users a single
    /// `role` (the primary org's, in the 1.1 vocabulary) and `orgs[]` (primary org first) in
    /// place of `roles[]`, without the fields 1.1 does not have (ONEROSTER.md §3.5).
    pub fn v1p1(&self, rec: &Record, related: &Related) -> Json {
        let mut j = self.v1p2(rec, related);
        rebase_hrefs(&mut j, self.base_url, V1P2_ROSTERING, V1P1);
        if rec.entity == Entity::Users {
            if let Some(o) = j.as_object_mut() {
                for k in V11_USER_DROPPED {
                    o.remove(*k);
                }
                let roles: Vec<&Record> = related
                    .of(Entity::Roles, &rec.sourced_id)
                    .iter()
                    .filter(|r| r.status == Status::Active)
                    .collect();
                let orgs = crate::model::v11::orgs(rec, &roles);
                let role = crate::model::v11::role(rec, &roles);
                o.insert("role".into(), json!(role));
                o.insert(
                    "orgs".into(),
                    Json::Array(
                        orgs.iter()
                            .map(|org| self.guid_ref_at(V1P1, Entity::Orgs, org))
                            .collect(),
                    ),
                );
            }
        }
        j
    }

    /// The 1.2 JSON object of `rec`.
    pub fn v1p2(&self, rec: &Record, related: &Related) -> Json {
        // Sized up front: growing the ordered map rehashed it several times per record.
        let mut o = Map::with_capacity(rec.values.len() + 8);
        o.insert("sourcedId".into(), json!(rec.sourced_id));
        o.insert("status".into(), json!(rec.status.as_str()));
        o.insert(
            "dateLastModified".into(),
            json!(rec.date_last_modified.as_deref().unwrap_or("")),
        );
        let mut meta: Map<String, Json> = rec
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        if let Some(sis) = &rec.sis_date_last_modified {
            meta.insert("sisDateLastModified".into(), json!(sis));
        }
        if !meta.is_empty() {
            o.insert("metadata".into(), Json::Object(meta));
        }
        let names = json_names(rec.entity);
        for (i, (f, v)) in rec.entity.fields().iter().zip(&rec.values).enumerate() {
            let text = match v {
                // Optional in CSV, required in 1.2 JSON (ONEROSTER.md §3.2).
                Value::Null if required_in_json(rec.entity, f.name) => "",
                Value::Null => continue,
                Value::Float(x) => {
                    o.insert(
                        names.get(i).cloned().unwrap_or_else(|| json_name(f)),
                        json!(x),
                    );
                    continue;
                }
                Value::Text(s) => s.as_str(),
            };
            let value = match f.kind {
                Kind::Ref(e) => self.guid_ref(e, text),
                Kind::RefList(e) => {
                    Json::Array(list_items(text).map(|id| self.guid_ref(e, id)).collect())
                }
                Kind::List | Kind::EnumList(..) => {
                    Json::Array(list_items(text).map(|s| json!(s)).collect())
                }
                Kind::UserIds => Json::Array(
                    list_items(text)
                        .filter_map(|item| {
                            item.strip_prefix('{')?.strip_suffix('}')?.split_once(':')
                        })
                        .map(|(t, id)| json!({"type": t, "identifier": id}))
                        .collect(),
                ),
                _ => json!(text),
            };
            o.insert(names.get(i).cloned().unwrap_or_else(|| json_name(f)), value);
        }
        match rec.entity {
            Entity::Users => self.user_associations(&mut o, rec, related),
            Entity::Classes | Entity::Courses => {
                let child = if rec.entity == Entity::Classes {
                    Entity::ClassResources
                } else {
                    Entity::CourseResources
                };
                let res: Vec<Json> = related
                    .of(child, &rec.sourced_id)
                    .iter()
                    .filter_map(|r| r.get("resourceSourcedId"))
                    .map(|id| self.guid_ref(Entity::Resources, id))
                    .collect();
                if !res.is_empty() {
                    o.insert("resources".into(), Json::Array(res));
                }
            }
            Entity::Orgs | Entity::AcademicSessions => {
                let children: Vec<Json> = related
                    .of(rec.entity, &rec.sourced_id)
                    .iter()
                    .map(|c| self.guid_ref(rec.entity, &c.sourced_id))
                    .collect();
                if !children.is_empty() {
                    o.insert("children".into(), Json::Array(children));
                }
            }
            _ => {}
        }
        Json::Object(o)
    }

    fn user_associations(&self, o: &mut Map<String, Json>, user: &Record, related: &Related) {
        let active = |e| {
            related
                .of(e, &user.sourced_id)
                .iter()
                .filter(|r| r.status == Status::Active)
        };
        let roles: Vec<Json> = active(Entity::Roles)
            .map(|r| {
                let mut m = Map::new();
                m.insert("roleType".into(), json!(r.get("roleType").unwrap_or("")));
                m.insert("role".into(), json!(r.get("role").unwrap_or("")));
                m.insert(
                    "org".into(),
                    self.guid_ref(Entity::Orgs, r.get("orgSourcedId").unwrap_or("")),
                );
                if let Some(p) = r.get("userProfileSourcedId") {
                    m.insert("userProfile".into(), json!(p));
                }
                for (k, f) in [("beginDate", "beginDate"), ("endDate", "endDate")] {
                    if let Some(d) = r.get(f) {
                        m.insert(k.into(), json!(d));
                    }
                }
                Json::Object(m)
            })
            .collect();
        o.insert("roles".into(), Json::Array(roles));
        let profiles: Vec<Json> = active(Entity::UserProfiles)
            .map(|p| {
                let mut m = Map::new();
                m.insert("profileId".into(), json!(p.sourced_id));
                for k in ["profileType", "vendorId", "applicationId", "description"] {
                    if let Some(v) = p.get(k) {
                        m.insert(k.into(), json!(v));
                    }
                }
                let mut cred = Map::new();
                cred.insert("type".into(), json!(p.get("credentialType").unwrap_or("")));
                cred.insert("username".into(), json!(p.get("username").unwrap_or("")));
                if let Some(pw) = p.get("password") {
                    cred.insert("password".into(), json!(pw));
                }
                m.insert("credentials".into(), json!([Json::Object(cred)]));
                Json::Object(m)
            })
            .collect();
        if !profiles.is_empty() {
            o.insert("userProfiles".into(), Json::Array(profiles));
        }
        let res: Vec<Json> = active(Entity::UserResources)
            .filter_map(|r| r.get("resourceSourcedId"))
            .map(|id| self.guid_ref(Entity::Resources, id))
            .collect();
        if !res.is_empty() {
            o.insert("resources".into(), Json::Array(res));
        }
    }
}

/// Rewrite every `href` under `from` to `to` (same server).
fn rebase_hrefs(j: &mut Json, base_url: &str, from: &str, to: &str) {
    match j {
        Json::Object(o) => {
            for (k, v) in o.iter_mut() {
                match v {
                    Json::String(s) if k == "href" => {
                        let prefix = format!("{base_url}{from}");
                        if let Some(rest) = s.strip_prefix(&prefix) {
                            *s = format!("{base_url}{to}{rest}");
                        }
                    }
                    _ => rebase_hrefs(v, base_url, from, to),
                }
            }
        }
        Json::Array(a) => a
            .iter_mut()
            .for_each(|v| rebase_hrefs(v, base_url, from, to)),
        _ => {}
    }
}
