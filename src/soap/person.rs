//! LIS Person ↔ OneRoster user (+ roles, + demographics): the field mapping of
//! `docs/LIS-MAPPING.md`, in both directions, between the domain records and the generated
//! PMS types. Fields OneRoster has and LIS lacks travel as `oneroster.<field>` extension
//! fields (one generic rule over the catalogue); LIS parts OneRoster lacks (addresses, extra
//! name parts, foreign extension fields) are kept in the user's `metadata` under `lis.*`, so
//! replace-then-read round-trips.

use super::bind::{self, Out, Str, XmlValue};
use super::gen::pms::{
    Address, Agent, BaseValueSingle, BaseValueToken, ContactInfo, Demographics, EnterpriseRoles,
    ExtensionField, FormName, Gender, ImsExtension, InstitutionRole, Name, Person, PersonCore,
    PersonRecord, SourcedGuid, Text, UserId,
};
use crate::model::catalog::Entity;
use crate::model::record::{list_items, FieldOf, Record, Status};

/// The user and role fields the person mapping reads for every person, positions resolved once.
static GIVEN: FieldOf = FieldOf::new(Entity::Users, "givenName");
static MIDDLE: FieldOf = FieldOf::new(Entity::Users, "middleName");
static FAMILY: FieldOf = FieldOf::new(Entity::Users, "familyName");
static EMAIL: FieldOf = FieldOf::new(Entity::Users, "email");
static PHONE: FieldOf = FieldOf::new(Entity::Users, "phone");
static SMS: FieldOf = FieldOf::new(Entity::Users, "sms");
static USERNAME: FieldOf = FieldOf::new(Entity::Users, "username");
static AGENTS: FieldOf = FieldOf::new(Entity::Users, "agentSourcedIds");
static ROLE_TYPE: FieldOf = FieldOf::new(Entity::Roles, "roleType");
static ROLE: FieldOf = FieldOf::new(Entity::Roles, "role");
static ROLE_ORG: FieldOf = FieldOf::new(Entity::Roles, "orgSourcedId");

/// Vocabulary of rosterbridge's extension fields.
pub const EXTENSION_VOCABULARY: &str = "urn:rosterbridge:lis:extension";
/// Prefix of extension fields carrying OneRoster user fields.
pub const ONEROSTER: &str = "oneroster.";

/// User fields the Person structure itself carries (everything else is an extension field).
const STRUCTURAL: &[&str] = &[
    "givenName",
    "familyName",
    "middleName",
    "email",
    "phone",
    "sms",
    "username",
    "agentSourcedIds",
    // never exposed over LIS
    "password",
];

/// `oneroster.<field>` for every user field (by catalogue position) that travels as an
/// extension field, `None` for the [`STRUCTURAL`] ones: built once, so the extension field
/// names of every person are constants and no field name is compared per person.
fn oneroster_names() -> &'static [Option<String>] {
    static NAMES: std::sync::OnceLock<Vec<Option<String>>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        Entity::Users
            .fields()
            .iter()
            .map(|f| (!STRUCTURAL.contains(&f.name)).then(|| format!("{ONEROSTER}{}", f.name)))
            .collect()
    })
}

/// A `Text` in en-US: borrowed when `s` is a constant, owned for data.
fn text(s: impl Into<Str>) -> Text {
    Text {
        language: Str::Borrowed("en-US"),
        text_string: s.into(),
    }
}

/// An instance identifier: the small numbers every person uses are constants.
fn ident(n: usize) -> Text {
    const SMALL: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    match SMALL.get(n) {
        Some(s) => text(*s),
        None => text(n.to_string()),
    }
}

/// The full URL of a LIS PMS vocabulary, as a constant.
macro_rules! vocab {
    ($name:literal) => {
        concat!(
            "http://www.imsglobal.org/vdex/lis/pmsv2p0/",
            $name,
            "vocabularyv1p0.xml"
        )
    };
}

fn token(id: usize, vocab: &'static str, value: impl Into<Str>) -> BaseValueToken {
    BaseValueToken {
        instance_identifier: ident(id),
        instance_vocabulary: Str::Borrowed(vocab),
        instance_value: text(value),
    }
}

fn single(
    id: usize,
    vocab: &'static str,
    name: impl Into<Str>,
    value: impl Into<Str>,
) -> BaseValueSingle {
    BaseValueSingle {
        instance_identifier: ident(id),
        instance_vocabulary: Str::Borrowed(vocab),
        instance_name: text(name),
        instance_value: text(value),
    }
}

/// OneRoster 1.2 role → LIS institution role (LIS-MAPPING.md).
pub fn lis_role(role: &str) -> &'static str {
    match role {
        "student" => "Student",
        "teacher" => "Faculty",
        "administrator" | "districtAdministrator" | "siteAdministrator" | "systemAdministrator" => {
            "Administrator"
        }
        "aide" | "proctor" => "Staff",
        "parent" | "guardian" | "relative" => "Observer",
        _ => "Other",
    }
}

/// LIS institution role (or a Moodle/Banner role name) → OneRoster 1.2 role.
pub fn oneroster_role(lis: &str) -> Option<&'static str> {
    Some(match lis.trim().to_ascii_lowercase().as_str() {
        "student" | "learner" => "student",
        "faculty" | "instructor" | "teacher" | "editingteacher" => "teacher",
        "administrator" => "administrator",
        "staff" | "teachingassistant" => "aide",
        "observer" | "mentor" => "guardian",
        "parent" => "parent",
        "guardian" => "guardian",
        _ => return None,
    })
}

/// `demographics.sex` → LIS gender.
fn gender(sex: &str) -> Gender {
    match sex {
        "male" => Gender::Male,
        "female" => Gender::Female,
        "other" => Gender::Other,
        _ => Gender::Unknown,
    }
}

/// One active role of a user, as the `oneroster.roles` extension item `roleType:role@org`.
fn push_role_item(out: &mut String, r: &Record) {
    out.push_str(ROLE_TYPE.get(r).unwrap_or(""));
    out.push(':');
    out.push_str(ROLE.get(r).unwrap_or(""));
    out.push('@');
    out.push_str(ROLE_ORG.get(r).unwrap_or(""));
}

fn formatted_name(user: &Record) -> String {
    let mut name = String::with_capacity(32);
    for part in [&GIVEN, &MIDDLE, &FAMILY]
        .iter()
        .filter_map(|f| f.get(user))
    {
        if !name.is_empty() {
            name.push(' ');
        }
        name.push_str(part);
    }
    name
}

/// Serialise LIS values kept in `metadata` (an XML fragment in the service namespace).
fn keep<T: XmlValue>(tag: &bind::Tag<'_>, values: &[T]) -> Option<String> {
    if values.is_empty() {
        return None;
    }
    let mut out = Out::default();
    out.buf.push_str(&format!(
        "<keep xmlns:tns=\"{}\">",
        super::gen::pms::NAMESPACE
    ));
    bind::write_vec(values, tag, &mut out);
    out.buf.push_str("</keep>");
    Some(out.into_string())
}

fn kept<T: XmlValue>(name: &str, xml: Option<&String>) -> Vec<T> {
    xml.and_then(|x| bind::parse(x.as_bytes(), super::xml::Limits::default()).ok())
        .and_then(|n| bind::read_vec(&n, &[name]).ok())
        .unwrap_or_default()
}

/// The LIS view of a user. `demographics`: the user's demographics record when the client
/// may see demographics.
pub fn to_lis(user: &Record, roles: &[Record], demographics: Option<&Record>) -> PersonRecord {
    let mut person = Person::default();
    person.formname.push(FormName {
        formname_type: token(1, vocab!("formnametype"), "Full"),
        formatted_name: text(formatted_name(user)),
    });
    let mut parts = Vec::with_capacity(3);
    for (field, part) in [(&GIVEN, "First"), (&MIDDLE, "Middle"), (&FAMILY, "Last")] {
        if let Some(v) = field.get(user) {
            parts.push(single(
                parts.len() + 1,
                vocab!("partname"),
                part,
                v.to_string(),
            ));
        }
    }
    for (k, v) in &user.metadata {
        if let Some(part) = k.strip_prefix("lis.partName.") {
            let (part, v) = (part.to_string(), v.clone());
            parts.push(single(parts.len() + 1, vocab!("partname"), part, v));
        }
    }
    person.name.push(Name {
        name_type: token(1, vocab!("nametype"), "Contact"),
        part_name: parts,
    });
    person.address = kept::<Address>("address", user.metadata.get("lis.address"));
    for (field, kind) in [
        (&EMAIL, "EmailPrimary"),
        (&PHONE, "TelephonePrimary"),
        (&SMS, "Mobile"),
    ] {
        if let Some(v) = field.get(user) {
            person.contactinfo.push(ContactInfo {
                contactinfo_type: token(
                    person.contactinfo.len() + 1,
                    vocab!("contactinfotype"),
                    kind,
                ),
                contactinfo_value: text(v.to_string()),
            });
        }
    }
    if let Some(d) = demographics.filter(|d| d.status == Status::Active) {
        let mut demo = Demographics {
            demographics_type: token(1, vocab!("demographicstype"), "Demographics"),
            ..Demographics::default()
        };
        if let Some(b) = d.get("birthDate") {
            demo.event_date
                .push(single(1, vocab!("eventdate"), "Birth", b.to_string()));
        }
        demo.gender = d.get("sex").map(gender);
        for (i, f) in d.entity.fields().iter().enumerate() {
            if matches!(f.name, "birthDate" | "sex") {
                continue;
            }
            if let Some(v) = d.values.get(i).and_then(|v| v.as_str()) {
                let n = demo.demographic_info.len() + 1;
                demo.demographic_info.push(single(
                    n,
                    vocab!("demographicinfo"),
                    f.name,
                    v.to_string(),
                ));
            }
        }
        person.demographics.push(demo);
    }
    if let Some(agents) = AGENTS.get(user) {
        for (i, id) in list_items(agents).enumerate() {
            person.agent.push(Agent {
                agent_type: token(i + 1, vocab!("agenttype"), "Agent"),
                agent_id: text(id.to_string()),
                agent_domain: text("sourcedId"),
                description: None,
            });
        }
    }
    let active = || roles.iter().filter(|r| r.status == Status::Active);
    let mut institution: Vec<InstitutionRole> = Vec::new();
    for r in active() {
        let value = lis_role(ROLE.get(r).unwrap_or(""));
        let primary = ROLE_TYPE.get(r) == Some("primary");
        match institution
            .iter_mut()
            .find(|i| i.institutionroletype.instance_value.text_string == value)
        {
            Some(i) => i.primaryroletype |= primary,
            None => institution.push(InstitutionRole {
                institutionroletype: token(
                    institution.len() + 1,
                    vocab!("institutionroletype"),
                    value,
                ),
                primaryroletype: primary,
            }),
        }
    }
    person.roles.push(EnterpriseRoles {
        enterpriseroles_type: single(1, vocab!("epriserolestype"), "Member", "Member"),
        system_role: None,
        institution_role: institution,
        user_id: vec![UserId {
            user_id_value: text(USERNAME.get(user).unwrap_or("").to_string()),
            user_id_type: Some(text("username")),
            ..UserId::default()
        }],
    });
    // Extension: OneRoster fields LIS has no place for, metadata, status and timestamp.
    let mut fields: Vec<ExtensionField> = Vec::with_capacity(user.entity.fields().len() + 4);
    let mut push = |name: Str, ty: &'static str, value: Str| {
        fields.push(ExtensionField {
            field_name: name,
            field_type: Str::Borrowed(ty),
            field_value: value,
        })
    };
    push(
        Str::Borrowed("oneroster.status"),
        "String",
        Str::Borrowed(user.status.as_str()),
    );
    if let Some(d) = &user.date_last_modified {
        push(
            Str::Borrowed("oneroster.dateLastModified"),
            "DateTime",
            Str::Owned(d.clone()),
        );
    }
    let names: &[Option<String>] = if user.entity == Entity::Users {
        oneroster_names()
    } else {
        &[]
    };
    for (i, f) in user.entity.fields().iter().enumerate() {
        let name = match names.get(i) {
            Some(Some(n)) => Str::Borrowed(n.as_str()),
            Some(None) => continue,
            None if STRUCTURAL.contains(&f.name) => continue,
            None => Str::Owned(format!("{ONEROSTER}{}", f.name)),
        };
        if let Some(v) = user.values.get(i).filter(|v| !v.is_null()) {
            let ty = if f.name == "enabledUser" {
                "Boolean"
            } else {
                "String"
            };
            push(name, ty, Str::Owned(v.to_cell()));
        }
    }
    let mut items = String::new();
    for r in active() {
        if !items.is_empty() {
            items.push(',');
        }
        push_role_item(&mut items, r);
    }
    if !items.is_empty() {
        push(
            Str::Borrowed("oneroster.roles"),
            "String",
            Str::Owned(items),
        );
    }
    for (k, v) in &user.metadata {
        if let Some(name) = k.strip_prefix("lis.ext.") {
            push(
                Str::Owned(name.to_string()),
                "String",
                Str::Owned(v.clone()),
            );
        } else if !is_lis_metadata(k) {
            push(
                Str::Owned(format!("metadata.{k}")),
                "String",
                Str::Owned(v.clone()),
            );
        }
    }
    person.extension = Some(ImsExtension {
        extension_name_vocabulary: EXTENSION_VOCABULARY.into(),
        extension_value_vocabulary: EXTENSION_VOCABULARY.into(),
        extension_field: fields,
    });
    PersonRecord {
        sourced_guid: SourcedGuid {
            ref_agent_instance_id: None,
            sourced_id: user.sourced_id.clone().into(),
        },
        person: Some(person),
    }
}

/// `readPersonCore`: id, formatted name, username.
pub fn core(user: &Record) -> PersonCore {
    PersonCore {
        sourced_id: user.sourced_id.clone().into(),
        formname: FormName {
            formname_type: token(1, vocab!("formnametype"), "Full"),
            formatted_name: text(formatted_name(user)),
        },
        user_id: UserId {
            user_id_value: text(USERNAME.get(user).unwrap_or("").to_string()),
            user_id_type: Some(text("username")),
            ..UserId::default()
        },
    }
}

/// A person to write: the user, its complete set of active roles (when the request says
/// anything about roles), and its demographics (when the request carries any).
#[derive(Debug, Clone)]
pub struct PersonWrite {
    pub user: Record,
    /// Role assignments `(roleType, role, org)`; `None`: leave the roles as they are.
    pub roles: Option<Vec<(String, String, String)>>,
    pub demographics: Option<Record>,
}

/// A problem with the request's data: the LIS path and what is wrong (→ `invaliddata`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct Invalid {
    pub path: String,
    pub message: String,
}

impl Invalid {
    pub fn new(path: &str, message: impl Into<String>) -> Invalid {
        Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Build the user to store from a LIS person. `base`: the stored user and its active roles
/// (`updatePerson` starts from them and changes only what the request carries; `replace`
/// passes `None` for the user but still the roles' orgs, to place roles LIS gives without an
/// org). `default_orgs`: where new roles go when neither the request nor the store says.
pub fn from_lis(
    id: &str,
    p: &Person,
    base: Option<&Record>,
    existing_roles: &[Record],
    default_orgs: &[String],
) -> Result<PersonWrite, Invalid> {
    let mut user = base
        .cloned()
        .unwrap_or_else(|| Record::new(Entity::Users, id));
    user.sourced_id = id.to_string();
    user.status = Status::Active;
    if base.is_none() {
        user.set("enabledUser", "true");
    }
    // Names: the parts of every name element; the first of each kind wins.
    if !p.name.is_empty() {
        for f in ["givenName", "middleName", "familyName"] {
            user.set(f, "");
        }
        user.metadata.retain(|k, _| !k.starts_with("lis.partName."));
        for name in &p.name {
            for part in &name.part_name {
                let kind = part.instance_name.text_string.trim();
                let value = part.instance_value.text_string.trim();
                let field = match kind.to_ascii_lowercase().as_str() {
                    "first" | "given" => Some("givenName"),
                    "middle" => Some("middleName"),
                    "last" | "family" | "surname" => Some("familyName"),
                    _ => None,
                };
                match field {
                    Some(f) if user.get(f).is_none() => {
                        user.set(f, value);
                    }
                    Some(_) => {}
                    None if !kind.is_empty() && !value.is_empty() => {
                        user.metadata
                            .entry(format!("lis.partName.{kind}"))
                            .or_insert_with(|| value.to_string());
                    }
                    None => {}
                }
            }
        }
    }
    // A formatted name alone: split it (first word given, last word family).
    if user.get("givenName").is_none() || user.get("familyName").is_none() {
        if let Some(f) = p.formname.first() {
            let words: Vec<&str> = f.formatted_name.text_string.split_whitespace().collect();
            if let (Some(first), Some(last)) = (words.first(), words.last()) {
                if user.get("givenName").is_none() {
                    user.set("givenName", *first);
                }
                if user.get("familyName").is_none() && words.len() > 1 {
                    user.set("familyName", *last);
                }
            }
        }
    }
    for (field, path) in [
        ("givenName", "person/name/partName[First]"),
        ("familyName", "person/name/partName[Last]"),
    ] {
        if user.get(field).is_none() {
            return Err(Invalid::new(path, format!("a {field} is required")));
        }
    }
    if !p.address.is_empty() {
        match keep(bind::tag!("address"), &p.address) {
            Some(x) => user.metadata.insert("lis.address".into(), x),
            None => user.metadata.remove("lis.address"),
        };
    }
    // Contact information by type.
    if !p.contactinfo.is_empty() {
        for f in ["email", "phone", "sms"] {
            user.set(f, "");
        }
        for c in &p.contactinfo {
            let kind = c
                .contactinfo_type
                .instance_value
                .text_string
                .trim()
                .to_ascii_lowercase();
            let field = if kind.starts_with("email") {
                "email"
            } else if kind.contains("mobile") || kind.contains("sms") {
                "sms"
            } else if kind.contains("phone") {
                "phone"
            } else {
                continue;
            };
            if user.get(field).is_none() {
                user.set(field, c.contactinfo_value.text_string.trim());
            }
        }
    }
    if !p.agent.is_empty() {
        let ids: Vec<&str> = p
            .agent
            .iter()
            .map(|a| a.agent_id.text_string.trim())
            .filter(|s| !s.is_empty())
            .collect();
        user.set("agentSourcedIds", ids.join(","));
    }
    // User ids: the logon id is the username; the others are userIds.
    let mut roles_out: Option<Vec<(String, String, String)>> = None;
    let user_ids: Vec<&UserId> = p.roles.iter().flat_map(|r| &r.user_id).collect();
    if !user_ids.is_empty() {
        let mut username: Option<String> = None;
        let mut others: Vec<String> = Vec::new();
        for u in &user_ids {
            let value = u.user_id_value.text_string.trim();
            if value.is_empty() {
                continue;
            }
            let ty = u
                .user_id_type
                .as_ref()
                .map(|t| t.text_string.trim().to_string())
                .unwrap_or_default();
            let is_login = matches!(
                ty.to_ascii_lowercase().as_str(),
                "" | "username" | "logon id" | "login id" | "logonid"
            );
            if is_login && username.is_none() {
                username = Some(value.to_string());
            } else {
                let ty = if ty.is_empty() { "LIS" } else { ty.as_str() };
                others.push(format!(
                    "{{{}:{}}}",
                    ty.replace([',', '{', '}', ':'], " "),
                    value.replace([',', '{', '}'], " ")
                ));
            }
        }
        if username.is_none() && !others.is_empty() {
            // No logon id: the first identifier is the username.
            username = others.first().and_then(|o| {
                o.trim_matches(|c| c == '{' || c == '}')
                    .split_once(':')
                    .map(|(_, v)| v.to_string())
            });
        }
        if let Some(u) = username {
            user.set("username", u);
        }
        user.set("userIds", others.join(","));
    }
    if user.get("username").is_none() {
        return Err(Invalid::new(
            "person/roles/userId",
            "a userId (the username) is required",
        ));
    }
    // Institution roles (without orgs in LIS): placed at the orgs the user already has roles
    // at, else at the default orgs.
    let institution: Vec<&InstitutionRole> =
        p.roles.iter().flat_map(|r| &r.institution_role).collect();
    if !institution.is_empty() {
        let mut orgs: Vec<String> = existing_roles
            .iter()
            .filter_map(|r| r.get("orgSourcedId").map(str::to_string))
            .collect();
        orgs.sort();
        orgs.dedup();
        if orgs.is_empty() {
            orgs = default_orgs.to_vec();
        }
        let mut set = Vec::new();
        for (i, r) in institution.iter().enumerate() {
            let value = r.institutionroletype.instance_value.text_string.trim();
            // An institution role without a value (Blackboard's sample sends one beside the
            // real one) says nothing: it is skipped, not refused.
            if value.is_empty() {
                continue;
            }
            let role = oneroster_role(value).ok_or_else(|| {
                Invalid::new(
                    &format!("person/roles/institutionRole[{}]/institutionroletype", i + 1),
                    format!("'{value}' has no OneRoster role (Student, Learner, Faculty, Instructor, Administrator, Staff, Observer, Mentor, Parent, Guardian)"),
                )
            })?;
            let ty = if r.primaryroletype {
                "primary"
            } else {
                "secondary"
            };
            for org in &orgs {
                set.push((ty.to_string(), role.to_string(), org.clone()));
            }
        }
        roles_out = Some(set);
    }
    // Extension fields: oneroster.* fields, metadata.*, and foreign ones kept as lis.ext.*.
    let mut demographics: Option<Record> = None;
    if let Some(ext) = &p.extension {
        user.metadata.retain(|k, _| !k.starts_with("lis.ext."));
        for f in &ext.extension_field {
            let name = f.field_name.trim();
            let value = f.field_value.trim();
            if let Some(field) = name.strip_prefix(ONEROSTER) {
                match field {
                    "status" | "dateLastModified" => {}
                    "roles" => {
                        let mut set = Vec::new();
                        for item in list_items(value) {
                            let parsed = item.split_once('@').and_then(|(tr, org)| {
                                let (t, r) = tr.split_once(':')?;
                                Some((t.to_string(), r.to_string(), org.to_string()))
                            });
                            set.push(parsed.ok_or_else(|| {
                                Invalid::new(
                                    "person/extension/extensionField[oneroster.roles]",
                                    format!("'{item}' is not roleType:role@org"),
                                )
                            })?);
                        }
                        roles_out = Some(set);
                    }
                    f if STRUCTURAL.contains(&f) => {}
                    f if Entity::Users.field_index(f).is_some() => {
                        user.set(f, value);
                    }
                    other => {
                        return Err(Invalid::new(
                            "person/extension/extensionField",
                            format!("'{ONEROSTER}{other}' is not a OneRoster user field"),
                        ))
                    }
                }
            } else if let Some(key) = name.strip_prefix("metadata.") {
                user.metadata.insert(key.to_string(), value.to_string());
            } else if !name.is_empty() {
                user.metadata
                    .insert(format!("lis.ext.{name}"), value.to_string());
            }
        }
    }
    if let Some(d) = p.demographics.first() {
        let mut rec = Record::new(Entity::Demographics, id);
        if let Some(b) = d.event_date.iter().find(|e| {
            e.instance_name
                .text_string
                .trim()
                .eq_ignore_ascii_case("birth")
        }) {
            rec.set("birthDate", b.instance_value.text_string.trim());
        }
        if let Some(g) = d.gender {
            rec.set(
                "sex",
                match g {
                    Gender::Male => "male",
                    Gender::Female => "female",
                    Gender::Other => "other",
                    Gender::Unknown => "unspecified",
                },
            );
        }
        for info in &d.demographic_info {
            let field = info.instance_name.text_string.trim();
            if Entity::Demographics.field_index(field).is_some() {
                rec.set(field, info.instance_value.text_string.trim());
            }
        }
        demographics = Some(rec);
    }
    Ok(PersonWrite {
        user,
        roles: roles_out,
        demographics,
    })
}

/// Metadata keys this module manages (never shown as `metadata.*` extension fields).
fn is_lis_metadata(key: &str) -> bool {
    key.starts_with("lis.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The extension fields of a person by name.
    fn extension_map(p: &Person) -> BTreeMap<String, String> {
        p.extension
            .iter()
            .flat_map(|e| &e.extension_field)
            .map(|f| (f.field_name.to_string(), f.field_value.to_string()))
            .collect()
    }

    fn user() -> (Record, Vec<Record>) {
        let mut u = Record::new(Entity::Users, "u1");
        u.set("givenName", "Ada")
            .set("middleName", "B.")
            .set("familyName", "Lovelace")
            .set("username", "ada")
            .set("email", "ada@example.edu")
            .set("enabledUser", "true")
            .set("grades", "09,10")
            .set("userIds", "{LDAP:ada1}")
            .set("password", "secret");
        u.metadata
            .insert("lis.partName.Prefix".into(), "Ms.".into());
        u.metadata.insert("house".into(), "blue".into());
        u.date_last_modified = Some("2026-01-01T00:00:00.000Z".into());
        let mut r = Record::new(Entity::Roles, "r1");
        r.set("userSourcedId", "u1")
            .set("roleType", "primary")
            .set("role", "student")
            .set("orgSourcedId", "s1");
        (u, vec![r])
    }

    #[test]
    fn a_user_round_trips_through_lis() {
        let (u, roles) = user();
        let rec = to_lis(&u, &roles, None);
        let p = rec.person.clone().expect("person");
        assert_eq!(p.formname[0].formatted_name.text_string, "Ada B. Lovelace");
        let ext = extension_map(&p);
        assert_eq!(
            ext.get("oneroster.grades").map(String::as_str),
            Some("09,10")
        );
        assert_eq!(
            ext.get("oneroster.roles").map(String::as_str),
            Some("primary:student@s1")
        );
        assert_eq!(ext.get("metadata.house").map(String::as_str), Some("blue"));
        assert!(
            !ext.contains_key("oneroster.password"),
            "passwords never leave"
        );
        let back = from_lis("u1", &p, None, &[], &[]).expect("maps back");
        let mut expected = u.clone();
        expected.set("password", "");
        expected.date_last_modified = None;
        let mut got = back.user.clone();
        got.date_last_modified = None;
        assert_eq!(got, expected);
        assert_eq!(
            back.roles,
            Some(vec![("primary".into(), "student".into(), "s1".into())])
        );
        // and the XML itself round-trips through the generated types
        let mut out = Out::default();
        out.buf.push_str(&format!(
            "<w xmlns:tns=\"{}\">",
            super::super::gen::pms::NAMESPACE
        ));
        rec.write_value(bind::tag!("personRecord"), &mut out);
        out.buf.push_str("</w>");
        let text = out.into_string();
        let n = bind::parse(text.as_bytes(), super::super::xml::Limits::default()).expect("xml");
        let again: PersonRecord = bind::read_one(&n, &["personRecord"]).expect("reads");
        assert_eq!(again, rec);
    }

    #[test]
    fn missing_names_and_unknown_roles_are_invalid() {
        let (u, roles) = user();
        let mut p = to_lis(&u, &roles, None).person.expect("person");
        p.roles[0].institution_role[0]
            .institutionroletype
            .instance_value = text("Alumni");
        p.extension = None;
        let e = from_lis("u1", &p, None, &roles, &[]).expect_err("Alumni");
        assert!(e.path.contains("institutionroletype"), "{e}");
        p.name.clear();
        p.formname.clear();
        p.roles[0].institution_role.clear();
        let e = from_lis("u1", &p, None, &roles, &[]).expect_err("no names");
        assert!(e.message.contains("givenName"), "{e}");
    }
}
