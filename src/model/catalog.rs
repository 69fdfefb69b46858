//! The entity catalogue: every OneRoster entity the store keeps, its fields, their kinds, and the
//! CSV layouts of versions 1.1 and 1.2. This one table drives the migrations' shape (checked by a
//! test), CSV validation, import, export and the generator; later it drives REST and SOAP too.

/// One stored entity. The order of [`Entity::ALL`] is the dependency order used for import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    Orgs,
    AcademicSessions,
    Courses,
    Classes,
    Users,
    UserProfiles,
    Roles,
    Enrollments,
    Demographics,
    Resources,
    ClassResources,
    CourseResources,
    UserResources,
    Categories,
    ScoreScales,
    LineItems,
    LineItemLearningObjectiveIds,
    LineItemScoreScales,
    Results,
    ResultLearningObjectiveIds,
    ResultScoreScales,
    /// The 1.2 Assessment Results profile (REST only: no CSV file in either version); its
    /// learning objectives are association rows like a line item's.
    AssessmentLineItems,
    AssessmentLineItemLearningObjectiveIds,
    AssessmentResults,
    AssessmentResultLearningObjectiveIds,
    /// LIS section associations (cross-listings): kept so they round-trip over SOAP; OneRoster
    /// has no such object, so no REST route and no CSV file shows them.
    SectionAssociations,
}

/// How a field's value is written in CSV and checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Text,
    /// `YYYY-MM-DD`
    Date,
    /// `YYYY`
    Year,
    /// `true` / `false` (read case-insensitively, stored lower case)
    Bool,
    Float,
    Enum(&'static [&'static str], bool),
    EnumList(&'static [&'static str], bool),
    Ref(Entity),
    RefList(Entity),
    List,
    /// `{type:identifier}` items
    UserIds,
    /// `{lhs:rhs}` items
    ScoreScaleValue,
}

impl Kind {
    /// Whether the field holds several values; those are also indexed in `list_values`.
    pub fn is_list(self) -> bool {
        matches!(
            self,
            Kind::EnumList(..)
                | Kind::RefList(_)
                | Kind::List
                | Kind::UserIds
                | Kind::ScoreScaleValue
        )
    }
    pub fn is_float(self) -> bool {
        matches!(self, Kind::Float)
    }
    pub fn target(self) -> Option<Entity> {
        match self {
            Kind::Ref(e) | Kind::RefList(e) => Some(e),
            _ => None,
        }
    }
}

/// A stored field: its 1.2 CSV column name (also its name in the domain) and SQL column.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub column: &'static str,
    pub kind: Kind,
    /// Required in the 1.2 CSV binding.
    pub required: bool,
    /// Index this column (beyond references, which are always indexed).
    pub indexed: bool,
}

const fn f(name: &'static str, column: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        name,
        column,
        kind,
        required,
        indexed: false,
    }
}
const fn fi(name: &'static str, column: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        name,
        column,
        kind,
        required,
        indexed: true,
    }
}

pub const ORG_TYPES: &[&str] = &[
    "department",
    "district",
    "local",
    "national",
    "school",
    "state",
];
pub const SESSION_TYPES: &[&str] = &["gradingPeriod", "semester", "schoolYear", "term"];
pub const CLASS_TYPES: &[&str] = &["homeroom", "scheduled"];
pub const ROLES_V12: &[&str] = &[
    "aide",
    "counselor",
    "districtAdministrator",
    "guardian",
    "parent",
    "principal",
    "proctor",
    "relative",
    "siteAdministrator",
    "student",
    "systemAdministrator",
    "teacher",
];
pub const ROLES_V11: &[&str] = &[
    "administrator",
    "aide",
    "guardian",
    "parent",
    "proctor",
    "relative",
    "student",
    "teacher",
];
pub const ENROLLMENT_ROLES: &[&str] = &["administrator", "proctor", "student", "teacher"];
pub const ROLE_TYPES: &[&str] = &["primary", "secondary"];
pub const SEXES_V12: &[&str] = &["male", "female", "unspecified", "other"];
pub const SEXES_V11: &[&str] = &["male", "female"];
pub const SCORE_STATUSES: &[&str] = &[
    "exempt",
    "fully graded",
    "not submitted",
    "partially graded",
    "submitted",
];
pub const IMPORTANCE: &[&str] = &["primary", "secondary"];
pub const LO_SOURCES: &[&str] = &["case", "unknown"];

use Entity as E;
use Kind as K;

const ORGS: &[Field] = &[
    f("name", "name", K::Text, true),
    fi("type", "type", K::Enum(ORG_TYPES, true), true),
    fi("identifier", "identifier", K::Text, false),
    f(
        "parentSourcedId",
        "parent_sourced_id",
        K::Ref(E::Orgs),
        false,
    ),
];
const SESSIONS: &[Field] = &[
    f("title", "title", K::Text, true),
    fi("type", "type", K::Enum(SESSION_TYPES, true), true),
    f("startDate", "start_date", K::Date, true),
    f("endDate", "end_date", K::Date, true),
    f(
        "parentSourcedId",
        "parent_sourced_id",
        K::Ref(E::AcademicSessions),
        false,
    ),
    f("schoolYear", "school_year", K::Year, true),
];
const COURSES: &[Field] = &[
    f(
        "schoolYearSourcedId",
        "school_year_sourced_id",
        K::Ref(E::AcademicSessions),
        false,
    ),
    f("title", "title", K::Text, true),
    f("courseCode", "course_code", K::Text, false),
    f("grades", "grades", K::List, false),
    f("orgSourcedId", "org_sourced_id", K::Ref(E::Orgs), true),
    f("subjects", "subjects", K::List, false),
    f("subjectCodes", "subject_codes", K::List, false),
];
const CLASSES: &[Field] = &[
    f("title", "title", K::Text, true),
    f("grades", "grades", K::List, false),
    f(
        "courseSourcedId",
        "course_sourced_id",
        K::Ref(E::Courses),
        true,
    ),
    f("classCode", "class_code", K::Text, false),
    fi("classType", "class_type", K::Enum(CLASS_TYPES, true), true),
    f("location", "location", K::Text, false),
    f(
        "schoolSourcedId",
        "school_sourced_id",
        K::Ref(E::Orgs),
        true,
    ),
    f(
        "termSourcedIds",
        "term_sourced_ids",
        K::RefList(E::AcademicSessions),
        true,
    ),
    f("subjects", "subjects", K::List, false),
    f("subjectCodes", "subject_codes", K::List, false),
    f("periods", "periods", K::List, false),
];
const USERS: &[Field] = &[
    f("enabledUser", "enabled_user", K::Bool, true),
    fi("username", "username", K::Text, true),
    f("userIds", "user_ids", K::UserIds, false),
    f("givenName", "given_name", K::Text, true),
    f("familyName", "family_name", K::Text, true),
    f("middleName", "middle_name", K::Text, false),
    fi("identifier", "identifier", K::Text, false),
    fi("email", "email", K::Text, false),
    f("sms", "sms", K::Text, false),
    f("phone", "phone", K::Text, false),
    f(
        "agentSourcedIds",
        "agent_sourced_ids",
        K::RefList(E::Users),
        false,
    ),
    f("grades", "grades", K::List, false),
    f("password", "password", K::Text, false),
    f(
        "userMasterIdentifier",
        "user_master_identifier",
        K::Text,
        false,
    ),
    f("preferredGivenName", "preferred_given_name", K::Text, false),
    f(
        "preferredMiddleName",
        "preferred_middle_name",
        K::Text,
        false,
    ),
    f(
        "preferredFamilyName",
        "preferred_family_name",
        K::Text,
        false,
    ),
    f(
        "primaryOrgSourcedId",
        "primary_org_sourced_id",
        K::Ref(E::Orgs),
        false,
    ),
    f("pronouns", "pronouns", K::Text, false),
];
const USER_PROFILES: &[Field] = &[
    f("userSourcedId", "user_sourced_id", K::Ref(E::Users), true),
    f("profileType", "profile_type", K::Text, true),
    f("vendorId", "vendor_id", K::Text, true),
    f("applicationId", "application_id", K::Text, false),
    f("description", "description", K::Text, false),
    f("credentialType", "credential_type", K::Text, true),
    f("username", "username", K::Text, true),
    f("password", "password", K::Text, false),
];
const ROLES: &[Field] = &[
    f("userSourcedId", "user_sourced_id", K::Ref(E::Users), true),
    f("roleType", "role_type", K::Enum(ROLE_TYPES, false), true),
    fi("role", "role", K::Enum(ROLES_V12, true), true),
    f("beginDate", "begin_date", K::Date, false),
    f("endDate", "end_date", K::Date, false),
    f("orgSourcedId", "org_sourced_id", K::Ref(E::Orgs), true),
    f(
        "userProfileSourcedId",
        "user_profile_sourced_id",
        K::Ref(E::UserProfiles),
        false,
    ),
];
const ENROLLMENTS: &[Field] = &[
    f(
        "classSourcedId",
        "class_sourced_id",
        K::Ref(E::Classes),
        true,
    ),
    f(
        "schoolSourcedId",
        "school_sourced_id",
        K::Ref(E::Orgs),
        true,
    ),
    f("userSourcedId", "user_sourced_id", K::Ref(E::Users), true),
    fi("role", "role", K::Enum(ENROLLMENT_ROLES, true), true),
    f("primary", "is_primary", K::Bool, false),
    f("beginDate", "begin_date", K::Date, false),
    f("endDate", "end_date", K::Date, false),
];
const BOOL_O: Kind = K::Bool;
const DEMOGRAPHICS: &[Field] = &[
    f("birthDate", "birth_date", K::Date, false),
    f("sex", "sex", K::Enum(SEXES_V12, true), false),
    f(
        "americanIndianOrAlaskaNative",
        "american_indian_or_alaska_native",
        BOOL_O,
        false,
    ),
    f("asian", "asian", BOOL_O, false),
    f(
        "blackOrAfricanAmerican",
        "black_or_african_american",
        BOOL_O,
        false,
    ),
    f(
        "nativeHawaiianOrOtherPacificIslander",
        "native_hawaiian_or_other_pacific_islander",
        BOOL_O,
        false,
    ),
    f("white", "white", BOOL_O, false),
    f(
        "demographicRaceTwoOrMoreRaces",
        "demographic_race_two_or_more_races",
        BOOL_O,
        false,
    ),
    f(
        "hispanicOrLatinoEthnicity",
        "hispanic_or_latino_ethnicity",
        BOOL_O,
        false,
    ),
    f(
        "countryOfBirthCode",
        "country_of_birth_code",
        K::Text,
        false,
    ),
    f(
        "stateOfBirthAbbreviation",
        "state_of_birth_abbreviation",
        K::Text,
        false,
    ),
    f("cityOfBirth", "city_of_birth", K::Text, false),
    f(
        "publicSchoolResidenceStatus",
        "public_school_residence_status",
        K::Text,
        false,
    ),
];
const RESOURCES: &[Field] = &[
    f("vendorResourceId", "vendor_resource_id", K::Text, true),
    f("title", "title", K::Text, false),
    f("roles", "roles", K::EnumList(ROLES_V11, true), false),
    f(
        "importance",
        "importance",
        K::Enum(IMPORTANCE, false),
        false,
    ),
    f("vendorId", "vendor_id", K::Text, false),
    f("applicationId", "application_id", K::Text, false),
];
const CLASS_RESOURCES: &[Field] = &[
    f("title", "title", K::Text, false),
    f(
        "classSourcedId",
        "class_sourced_id",
        K::Ref(E::Classes),
        true,
    ),
    f(
        "resourceSourcedId",
        "resource_sourced_id",
        K::Ref(E::Resources),
        true,
    ),
];
const COURSE_RESOURCES: &[Field] = &[
    f("title", "title", K::Text, false),
    f(
        "courseSourcedId",
        "course_sourced_id",
        K::Ref(E::Courses),
        true,
    ),
    f(
        "resourceSourcedId",
        "resource_sourced_id",
        K::Ref(E::Resources),
        true,
    ),
];
const USER_RESOURCES: &[Field] = &[
    f("userSourcedId", "user_sourced_id", K::Ref(E::Users), true),
    f("orgSourcedId", "org_sourced_id", K::Ref(E::Orgs), false),
    f(
        "classSourcedId",
        "class_sourced_id",
        K::Ref(E::Classes),
        false,
    ),
    f(
        "resourceSourcedId",
        "resource_sourced_id",
        K::Ref(E::Resources),
        true,
    ),
];
const CATEGORIES: &[Field] = &[
    f("title", "title", K::Text, true),
    f("weight", "weight", K::Float, false),
];
const SCORE_SCALES: &[Field] = &[
    f("title", "title", K::Text, true),
    f("type", "type", K::Text, true),
    f("orgSourcedId", "org_sourced_id", K::Ref(E::Orgs), true),
    f(
        "courseSourcedId",
        "course_sourced_id",
        K::Ref(E::Courses),
        true,
    ),
    f(
        "classSourcedId",
        "class_sourced_id",
        K::Ref(E::Classes),
        true,
    ),
    f(
        "scoreScaleValue",
        "score_scale_value",
        K::ScoreScaleValue,
        true,
    ),
];
const LINE_ITEMS: &[Field] = &[
    f("title", "title", K::Text, true),
    f("description", "description", K::Text, false),
    f("assignDate", "assign_date", K::Date, true),
    f("dueDate", "due_date", K::Date, true),
    f(
        "classSourcedId",
        "class_sourced_id",
        K::Ref(E::Classes),
        true,
    ),
    f(
        "categorySourcedId",
        "category_sourced_id",
        K::Ref(E::Categories),
        true,
    ),
    f(
        "academicSessionSourcedId",
        "academic_session_sourced_id",
        K::Ref(E::AcademicSessions),
        true,
    ),
    f("resultValueMin", "result_value_min", K::Float, false),
    f("resultValueMax", "result_value_max", K::Float, false),
    f(
        "schoolSourcedId",
        "school_sourced_id",
        K::Ref(E::Orgs),
        true,
    ),
];
const LI_LOS: &[Field] = &[
    f(
        "lineItemSourcedId",
        "line_item_sourced_id",
        K::Ref(E::LineItems),
        true,
    ),
    f("source", "source", K::Enum(LO_SOURCES, true), true),
    f(
        "learningObjectiveId",
        "learning_objective_id",
        K::Text,
        true,
    ),
];
const LI_SCALES: &[Field] = &[
    f("title", "title", K::Text, false),
    f(
        "lineItemSourcedId",
        "line_item_sourced_id",
        K::Ref(E::LineItems),
        true,
    ),
    f(
        "scoreScaleSourcedId",
        "score_scale_sourced_id",
        K::Ref(E::ScoreScales),
        true,
    ),
];
const RESULTS: &[Field] = &[
    f(
        "lineItemSourcedId",
        "line_item_sourced_id",
        K::Ref(E::LineItems),
        true,
    ),
    f(
        "studentSourcedId",
        "student_sourced_id",
        K::Ref(E::Users),
        true,
    ),
    f(
        "scoreStatus",
        "score_status",
        K::Enum(SCORE_STATUSES, true),
        true,
    ),
    f("score", "score", K::Float, false),
    f("scoreDate", "score_date", K::Date, true),
    f("comment", "comment", K::Text, false),
    f("textScore", "text_score", K::Text, false),
    f(
        "classSourcedId",
        "class_sourced_id",
        K::Ref(E::Classes),
        false,
    ),
    f("inProgress", "in_progress", K::Bool, false),
    f("incomplete", "incomplete", K::Bool, false),
    f("late", "late", K::Bool, false),
    f("missing", "missing", K::Bool, false),
];
const RESULT_LOS: &[Field] = &[
    f(
        "resultSourcedId",
        "result_sourced_id",
        K::Ref(E::Results),
        true,
    ),
    f("source", "source", K::Enum(LO_SOURCES, true), true),
    f(
        "learningObjectiveId",
        "learning_objective_id",
        K::Text,
        true,
    ),
    f("score", "score", K::Float, false),
    f("textScore", "text_score", K::Text, false),
];
const RESULT_SCALES: &[Field] = &[
    f("title", "title", K::Text, false),
    f(
        "resultSourcedId",
        "result_sourced_id",
        K::Ref(E::Results),
        true,
    ),
    f(
        "scoreScaleSourcedId",
        "score_scale_sourced_id",
        K::Ref(E::ScoreScales),
        true,
    ),
];

const ASSESSMENT_LINE_ITEMS: &[Field] = &[
    f("title", "title", K::Text, true),
    f("description", "description", K::Text, false),
    f(
        "classSourcedId",
        "class_sourced_id",
        K::Ref(E::Classes),
        false,
    ),
    f(
        "parentAssessmentLineItemSourcedId",
        "parent_assessment_line_item_sourced_id",
        K::Ref(E::AssessmentLineItems),
        false,
    ),
    f(
        "scoreScaleSourcedId",
        "score_scale_sourced_id",
        K::Ref(E::ScoreScales),
        false,
    ),
    f("resultValueMin", "result_value_min", K::Float, false),
    f("resultValueMax", "result_value_max", K::Float, false),
];
const ASSESSMENT_RESULTS: &[Field] = &[
    f(
        "assessmentLineItemSourcedId",
        "assessment_line_item_sourced_id",
        K::Ref(E::AssessmentLineItems),
        true,
    ),
    f(
        "studentSourcedId",
        "student_sourced_id",
        K::Ref(E::Users),
        true,
    ),
    f("score", "score", K::Float, false),
    f("textScore", "text_score", K::Text, false),
    f("scoreDate", "score_date", K::Date, true),
    f(
        "scoreScaleSourcedId",
        "score_scale_sourced_id",
        K::Ref(E::ScoreScales),
        false,
    ),
    f("scorePercentile", "score_percentile", K::Float, false),
    f(
        "scoreStatus",
        "score_status",
        K::Enum(SCORE_STATUSES, true),
        true,
    ),
    f("comment", "comment", K::Text, false),
    f("inProgress", "in_progress", K::Bool, false),
    f("incomplete", "incomplete", K::Bool, false),
    f("late", "late", K::Bool, false),
    f("missing", "missing", K::Bool, false),
];

const ASSESSMENT_LI_LOS: &[Field] = &[
    f(
        "assessmentLineItemSourcedId",
        "assessment_line_item_sourced_id",
        K::Ref(E::AssessmentLineItems),
        true,
    ),
    f("source", "source", K::Enum(LO_SOURCES, true), true),
    f(
        "learningObjectiveId",
        "learning_objective_id",
        K::Text,
        true,
    ),
];
const ASSESSMENT_RESULT_LOS: &[Field] = &[
    f(
        "assessmentResultSourcedId",
        "assessment_result_sourced_id",
        K::Ref(E::AssessmentResults),
        true,
    ),
    f("source", "source", K::Enum(LO_SOURCES, true), true),
    f(
        "learningObjectiveId",
        "learning_objective_id",
        K::Text,
        true,
    ),
    f("score", "score", K::Float, false),
    f("textScore", "text_score", K::Text, false),
];

const SECTION_ASSOCIATIONS: &[Field] = &[
    f("title", "title", K::Text, false),
    f("label", "label", K::Text, false),
    // Plain ids, not references: SIS send cross-listings before all their sections.
    f("classSourcedIds", "class_sourced_ids", K::List, false),
];

impl Entity {
    /// The entities of the initial schema (migration 000001), in dependency order: all but
    /// the assessment results profile's (migration 000006).
    pub const INITIAL: &'static [Entity] = Entity::ALL.as_slice().split_at(21).0;

    /// Every entity, in dependency order (import order).
    pub const ALL: [Entity; 26] = [
        E::Orgs,
        E::AcademicSessions,
        E::Courses,
        E::Classes,
        E::Users,
        E::UserProfiles,
        E::Roles,
        E::Enrollments,
        E::Demographics,
        E::Resources,
        E::ClassResources,
        E::CourseResources,
        E::UserResources,
        E::Categories,
        E::ScoreScales,
        E::LineItems,
        E::LineItemLearningObjectiveIds,
        E::LineItemScoreScales,
        E::Results,
        E::ResultLearningObjectiveIds,
        E::ResultScoreScales,
        E::AssessmentLineItems,
        E::AssessmentLineItemLearningObjectiveIds,
        E::AssessmentResults,
        E::AssessmentResultLearningObjectiveIds,
        E::SectionAssociations,
    ];

    /// CSV file stem and manifest key (`file.<name>`); also the entity's name in `list_values`.
    pub fn name(self) -> &'static str {
        match self {
            E::Orgs => "orgs",
            E::AcademicSessions => "academicSessions",
            E::Courses => "courses",
            E::Classes => "classes",
            E::Users => "users",
            E::UserProfiles => "userProfiles",
            E::Roles => "roles",
            E::Enrollments => "enrollments",
            E::Demographics => "demographics",
            E::Resources => "resources",
            E::ClassResources => "classResources",
            E::CourseResources => "courseResources",
            E::UserResources => "userResources",
            E::Categories => "categories",
            E::ScoreScales => "scoreScales",
            E::LineItems => "lineItems",
            E::LineItemLearningObjectiveIds => "lineItemLearningObjectiveIds",
            E::LineItemScoreScales => "lineItemScoreScales",
            E::Results => "results",
            E::ResultLearningObjectiveIds => "resultLearningObjectiveIds",
            E::ResultScoreScales => "resultScoreScales",
            E::AssessmentLineItems => "assessmentLineItems",
            E::AssessmentLineItemLearningObjectiveIds => "assessmentLineItemLearningObjectiveIds",
            E::AssessmentResults => "assessmentResults",
            E::AssessmentResultLearningObjectiveIds => "assessmentResultLearningObjectiveIds",
            E::SectionAssociations => "sectionAssociations",
        }
    }

    /// SQL table name.
    pub fn table(self) -> &'static str {
        match self {
            E::Orgs => "orgs",
            E::AcademicSessions => "academic_sessions",
            E::Courses => "courses",
            E::Classes => "classes",
            E::Users => "users",
            E::UserProfiles => "user_profiles",
            E::Roles => "user_roles",
            E::Enrollments => "enrollments",
            E::Demographics => "demographics",
            E::Resources => "resources",
            E::ClassResources => "class_resources",
            E::CourseResources => "course_resources",
            E::UserResources => "user_resources",
            E::Categories => "categories",
            E::ScoreScales => "score_scales",
            E::LineItems => "line_items",
            E::LineItemLearningObjectiveIds => "line_item_learning_objective_ids",
            E::LineItemScoreScales => "line_item_score_scales",
            E::Results => "results",
            E::ResultLearningObjectiveIds => "result_learning_objective_ids",
            E::ResultScoreScales => "result_score_scales",
            E::AssessmentLineItems => "assessment_line_items",
            E::AssessmentLineItemLearningObjectiveIds => {
                "assessment_line_item_learning_objective_ids"
            }
            E::AssessmentResults => "assessment_results",
            E::AssessmentResultLearningObjectiveIds => "assessment_result_learning_objective_ids",
            E::SectionAssociations => "section_associations",
        }
    }

    pub fn from_name(name: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Stored fields (the 1.2 superset), in 1.2 CSV column order.
    pub fn fields(self) -> &'static [Field] {
        match self {
            E::Orgs => ORGS,
            E::AcademicSessions => SESSIONS,
            E::Courses => COURSES,
            E::Classes => CLASSES,
            E::Users => USERS,
            E::UserProfiles => USER_PROFILES,
            E::Roles => ROLES,
            E::Enrollments => ENROLLMENTS,
            E::Demographics => DEMOGRAPHICS,
            E::Resources => RESOURCES,
            E::ClassResources => CLASS_RESOURCES,
            E::CourseResources => COURSE_RESOURCES,
            E::UserResources => USER_RESOURCES,
            E::Categories => CATEGORIES,
            E::ScoreScales => SCORE_SCALES,
            E::LineItems => LINE_ITEMS,
            E::LineItemLearningObjectiveIds => LI_LOS,
            E::LineItemScoreScales => LI_SCALES,
            E::Results => RESULTS,
            E::ResultLearningObjectiveIds => RESULT_LOS,
            E::ResultScoreScales => RESULT_SCALES,
            E::AssessmentLineItems => ASSESSMENT_LINE_ITEMS,
            E::AssessmentLineItemLearningObjectiveIds => ASSESSMENT_LI_LOS,
            E::AssessmentResults => ASSESSMENT_RESULTS,
            E::AssessmentResultLearningObjectiveIds => ASSESSMENT_RESULT_LOS,
            E::SectionAssociations => SECTION_ASSOCIATIONS,
        }
    }

    pub fn field_index(self, name: &str) -> Option<usize> {
        self.fields().iter().position(|f| f.name == name)
    }

    /// For association entities that the JSON bindings render inside another record (a user's
    /// `roles[]`, `userProfiles[]` and `resources[]`, a class's or course's `resources[]`, a line
    /// item's or result's score scale and learning objectives): that record's entity and the
    /// SQL column pointing at it. A change to such a row is a change to its parent.
    pub fn parent(self) -> Option<(Entity, &'static str)> {
        match self {
            E::Roles | E::UserProfiles | E::UserResources => Some((E::Users, "user_sourced_id")),
            E::ClassResources => Some((E::Classes, "class_sourced_id")),
            E::CourseResources => Some((E::Courses, "course_sourced_id")),
            E::LineItemLearningObjectiveIds | E::LineItemScoreScales => {
                Some((E::LineItems, "line_item_sourced_id"))
            }
            E::ResultLearningObjectiveIds | E::ResultScoreScales => {
                Some((E::Results, "result_sourced_id"))
            }
            E::AssessmentLineItemLearningObjectiveIds => {
                Some((E::AssessmentLineItems, "assessment_line_item_sourced_id"))
            }
            E::AssessmentResultLearningObjectiveIds => {
                Some((E::AssessmentResults, "assessment_result_sourced_id"))
            }
            _ => None,
        }
    }

    /// For association entities ([`Entity::parent`]): the parent's entity and the field of this
    /// entity naming the parent record.
    pub fn parent_field(self) -> Option<(Entity, &'static Field)> {
        let (parent, column) = self.parent()?;
        let field = self.fields().iter().find(|f| f.column == column)?;
        Some((parent, field))
    }

    /// The association entities a gradebook record's 1.2 JSON carries inline: its
    /// `scoreScale` link rows (line items and results; an assessment line item's or result's
    /// score scale is a field of its own) and its `learningObjectiveSet` rows.
    pub fn gradebook_links(self) -> (Option<Entity>, Option<Entity>) {
        match self {
            E::LineItems => (
                Some(E::LineItemScoreScales),
                Some(E::LineItemLearningObjectiveIds),
            ),
            E::Results => (
                Some(E::ResultScoreScales),
                Some(E::ResultLearningObjectiveIds),
            ),
            E::AssessmentLineItems => (None, Some(E::AssessmentLineItemLearningObjectiveIds)),
            E::AssessmentResults => (None, Some(E::AssessmentResultLearningObjectiveIds)),
            _ => (None, None),
        }
    }

    /// The assessment results profile's entities (REST only: no CSV file in either version).
    pub fn is_assessment(self) -> bool {
        matches!(
            self,
            E::AssessmentLineItems
                | E::AssessmentLineItemLearningObjectiveIds
                | E::AssessmentResults
                | E::AssessmentResultLearningObjectiveIds
        )
    }

    /// Whether the entity exists as a CSV file in the given version.
    pub fn in_version(self, v: Version) -> bool {
        match v {
            Version::V1_2 => !self.is_assessment() && self != E::SectionAssociations,
            Version::V1_1 => matches!(
                self,
                E::Orgs
                    | E::AcademicSessions
                    | E::Courses
                    | E::Classes
                    | E::Users
                    | E::Enrollments
                    | E::Demographics
                    | E::Resources
                    | E::ClassResources
                    | E::CourseResources
                    | E::Categories
                    | E::LineItems
                    | E::Results
            ),
        }
    }
}

/// OneRoster CSV binding version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1_1,
    V1_2,
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        match s.trim() {
            "1.1" => Some(Version::V1_1),
            "1.2" | "1.2.1" => Some(Version::V1_2),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }
}

/// Where a CSV column's value goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// A stored field, by index into [`Entity::fields`].
    Field(usize),
    /// 1.1 `users.orgSourcedIds`: becomes `roles` records.
    V11OrgSourcedIds,
    /// 1.1 `users.role`: becomes `roles` records.
    V11Role,
}

/// One column of a CSV layout (after the three lifecycle columns).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub target: Target,
    pub kind: Kind,
    pub required: bool,
}

/// The columns of `entity`'s CSV file in `version`, in spec order, after
/// `sourcedId,status,dateLastModified`.
pub fn layout(entity: Entity, version: Version) -> Vec<Column> {
    let fields = entity.fields();
    let by_name = |name: &'static str| -> Column {
        let i = entity.field_index(name).unwrap_or(usize::MAX);
        let fd = fields.get(i).copied().unwrap_or(Field {
            name,
            column: "",
            kind: K::Text,
            required: false,
            indexed: false,
        });
        Column {
            header: name,
            target: Target::Field(i),
            kind: fd.kind,
            required: fd.required,
        }
    };
    let all12 = || {
        fields
            .iter()
            .enumerate()
            .map(|(i, fd)| Column {
                header: fd.name,
                target: Target::Field(i),
                kind: fd.kind,
                required: fd.required,
            })
            .collect::<Vec<_>>()
    };
    if version == Version::V1_2 {
        return all12();
    }
    let req = |mut c: Column, r: bool| {
        c.required = r;
        c
    };
    let kind = |mut c: Column, k: Kind| {
        c.kind = k;
        c
    };
    match entity {
        E::Users => vec![
            by_name("enabledUser"),
            Column {
                header: "orgSourcedIds",
                target: Target::V11OrgSourcedIds,
                kind: K::RefList(E::Orgs),
                required: true,
            },
            Column {
                header: "role",
                target: Target::V11Role,
                kind: K::Enum(ROLES_V11, false),
                required: true,
            },
            by_name("username"),
            by_name("userIds"),
            by_name("givenName"),
            by_name("familyName"),
            by_name("middleName"),
            by_name("identifier"),
            by_name("email"),
            by_name("sms"),
            by_name("phone"),
            by_name("agentSourcedIds"),
            by_name("grades"),
            by_name("password"),
        ],
        E::Categories => vec![by_name("title")],
        E::LineItems => {
            let mut gp = by_name("academicSessionSourcedId");
            gp.header = "gradingPeriodSourcedId";
            vec![
                by_name("title"),
                by_name("description"),
                by_name("assignDate"),
                by_name("dueDate"),
                by_name("classSourcedId"),
                by_name("categorySourcedId"),
                gp,
                req(by_name("resultValueMin"), true),
                req(by_name("resultValueMax"), true),
            ]
        }
        E::Results => vec![
            by_name("lineItemSourcedId"),
            by_name("studentSourcedId"),
            kind(by_name("scoreStatus"), K::Enum(SCORE_STATUSES, false)),
            req(by_name("score"), true),
            by_name("scoreDate"),
            by_name("comment"),
        ],
        E::Demographics => {
            let mut v = all12();
            if let Some(c) = v.iter_mut().find(|c| c.header == "sex") {
                c.kind = K::Enum(SEXES_V11, false);
            }
            v
        }
        E::Enrollments => {
            let mut v = all12();
            if let Some(c) = v.iter_mut().find(|c| c.header == "role") {
                // The 2017 1.1 text allowed every user role here; accept the wider list.
                c.kind = K::Enum(ROLES_V11, false);
            }
            v
        }
        _ => all12()
            .into_iter()
            .map(|mut c| {
                c.kind = match c.kind {
                    K::Enum(v, _) => K::Enum(v, false),
                    K::EnumList(v, _) => K::EnumList(v, false),
                    k => k,
                };
                c
            })
            .collect(),
    }
}

/// A stored enumeration value as a 1.2 document carries it: a value of the 1.2 vocabulary
/// `values` as it is; any other (a 1.1-only value kept from a 1.1 package, such as the
/// enrollment roles `aide`, `guardian`, `parent`, `relative`) as an extension value,
/// `ext:<value>`, where the vocabulary is extensible (every 1.2 enumeration the store keeps
/// outside a fixed set is), so 1.2 responses validate against the official schema and lose
/// nothing. Values already `ext:` pass unchanged.
pub fn v12_enum_value<'a>(
    values: &[&str],
    extensible: bool,
    v: &'a str,
) -> std::borrow::Cow<'a, str> {
    if !extensible || v.is_empty() || v.starts_with("ext:") || values.contains(&v) {
        std::borrow::Cow::Borrowed(v)
    } else {
        std::borrow::Cow::Owned(format!("ext:{v}"))
    }
}

/// Map a 1.2 user role to the 1.1 vocabulary (ONEROSTER.md §3.5).
pub fn role_v12_to_v11(role: &str) -> &str {
    match role {
        "districtAdministrator"
        | "siteAdministrator"
        | "systemAdministrator"
        | "principal"
        | "counselor" => "administrator",
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_one_only_values_become_extensions_in_1_2() {
        assert_eq!(v12_enum_value(ENROLLMENT_ROLES, true, "aide"), "ext:aide");
        assert_eq!(v12_enum_value(ENROLLMENT_ROLES, true, "teacher"), "teacher");
        assert_eq!(
            v12_enum_value(ENROLLMENT_ROLES, true, "ext:tutor"),
            "ext:tutor"
        );
        assert_eq!(v12_enum_value(ENROLLMENT_ROLES, false, "aide"), "aide");
    }
}
