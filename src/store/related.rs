//! The associations a record's OneRoster JSON (and its LIS form) embeds, loaded for a page of
//! parent records in one query per child entity: a user's roles, profiles and resource links;
//! a class's or course's resource links; an org's or session's children. Shared by both
//! bindings (REST renders them, LIS builds person records from them).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::model::catalog::Entity;
use crate::model::record::{id_hash, IdHasher, Record};
use crate::store::DbConnection;

/// Load the associations `entity`'s JSON embeds for the records `ids` (active rows only).
pub fn load_related(
    conn: &mut DbConnection,
    entity: Entity,
    ids: &[String],
) -> diesel::QueryResult<Related> {
    load_related_skipping(conn, entity, ids, |_, _| Ok(false))
}

/// [`load_related`], not querying the child entities for which `skip` says so (known empty).
pub fn load_related_skipping(
    conn: &mut DbConnection,
    entity: Entity,
    ids: &[String],
    mut skip: impl FnMut(&mut DbConnection, Entity) -> diesel::QueryResult<bool>,
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
        Entity::LineItems => &[
            (Entity::LineItemLearningObjectiveIds, "line_item_sourced_id"),
            (Entity::LineItemScoreScales, "line_item_sourced_id"),
        ],
        Entity::Results => &[
            (Entity::ResultLearningObjectiveIds, "result_sourced_id"),
            (Entity::ResultScoreScales, "result_sourced_id"),
        ],
        Entity::AssessmentLineItems => &[(
            Entity::AssessmentLineItemLearningObjectiveIds,
            "assessment_line_item_sourced_id",
        )],
        Entity::AssessmentResults => &[(
            Entity::AssessmentResultLearningObjectiveIds,
            "assessment_result_sourced_id",
        )],
        _ => &[],
    }
}
