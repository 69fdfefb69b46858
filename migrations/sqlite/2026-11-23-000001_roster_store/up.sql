-- Generated from src/model/catalog.rs by src/store/ddl.rs; a test checks they agree.
-- Timestamps are TEXT 'YYYY-MM-DDTHH:MM:SS.sssZ' (UTC, fixed width: text order = time order).

CREATE TABLE orgs (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    name TEXT,
    type TEXT,
    identifier TEXT,
    parent_sourced_id TEXT
);
CREATE INDEX orgs_dlm_idx ON orgs (date_last_modified);
CREATE INDEX orgs_status_idx ON orgs (status) WHERE status = 'tobedeleted';
CREATE INDEX orgs_type_idx ON orgs (type);
CREATE INDEX orgs_identifier_idx ON orgs (identifier);
CREATE INDEX orgs_parent_sourced_id_idx ON orgs (parent_sourced_id);

CREATE TABLE academic_sessions (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    title TEXT,
    type TEXT,
    start_date TEXT,
    end_date TEXT,
    parent_sourced_id TEXT,
    school_year TEXT
);
CREATE INDEX academic_sessions_dlm_idx ON academic_sessions (date_last_modified);
CREATE INDEX academic_sessions_status_idx ON academic_sessions (status) WHERE status = 'tobedeleted';
CREATE INDEX academic_sessions_type_idx ON academic_sessions (type);
CREATE INDEX academic_sessions_parent_sourced_id_idx ON academic_sessions (parent_sourced_id);

CREATE TABLE courses (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    school_year_sourced_id TEXT,
    title TEXT,
    course_code TEXT,
    grades TEXT,
    org_sourced_id TEXT,
    subjects TEXT,
    subject_codes TEXT
);
CREATE INDEX courses_dlm_idx ON courses (date_last_modified);
CREATE INDEX courses_status_idx ON courses (status) WHERE status = 'tobedeleted';
CREATE INDEX courses_school_year_sourced_id_idx ON courses (school_year_sourced_id);
CREATE INDEX courses_org_sourced_id_idx ON courses (org_sourced_id);

CREATE TABLE classes (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    title TEXT,
    grades TEXT,
    course_sourced_id TEXT,
    class_code TEXT,
    class_type TEXT,
    location TEXT,
    school_sourced_id TEXT,
    term_sourced_ids TEXT,
    subjects TEXT,
    subject_codes TEXT,
    periods TEXT
);
CREATE INDEX classes_dlm_idx ON classes (date_last_modified);
CREATE INDEX classes_status_idx ON classes (status) WHERE status = 'tobedeleted';
CREATE INDEX classes_course_sourced_id_idx ON classes (course_sourced_id);
CREATE INDEX classes_class_type_idx ON classes (class_type);
CREATE INDEX classes_school_sourced_id_idx ON classes (school_sourced_id);

CREATE TABLE users (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    enabled_user TEXT,
    username TEXT,
    user_ids TEXT,
    given_name TEXT,
    family_name TEXT,
    middle_name TEXT,
    identifier TEXT,
    email TEXT,
    sms TEXT,
    phone TEXT,
    agent_sourced_ids TEXT,
    grades TEXT,
    password TEXT,
    user_master_identifier TEXT,
    preferred_given_name TEXT,
    preferred_middle_name TEXT,
    preferred_family_name TEXT,
    primary_org_sourced_id TEXT,
    pronouns TEXT
);
CREATE INDEX users_dlm_idx ON users (date_last_modified);
CREATE INDEX users_status_idx ON users (status) WHERE status = 'tobedeleted';
CREATE INDEX users_username_idx ON users (username);
CREATE INDEX users_identifier_idx ON users (identifier);
CREATE INDEX users_email_idx ON users (email);
CREATE INDEX users_primary_org_sourced_id_idx ON users (primary_org_sourced_id);

CREATE TABLE user_profiles (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    user_sourced_id TEXT,
    profile_type TEXT,
    vendor_id TEXT,
    application_id TEXT,
    description TEXT,
    credential_type TEXT,
    username TEXT,
    password TEXT
);
CREATE INDEX user_profiles_dlm_idx ON user_profiles (date_last_modified);
CREATE INDEX user_profiles_status_idx ON user_profiles (status) WHERE status = 'tobedeleted';
CREATE INDEX user_profiles_user_sourced_id_idx ON user_profiles (user_sourced_id);

CREATE TABLE user_roles (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    user_sourced_id TEXT,
    role_type TEXT,
    role TEXT,
    begin_date TEXT,
    end_date TEXT,
    org_sourced_id TEXT,
    user_profile_sourced_id TEXT
);
CREATE INDEX user_roles_dlm_idx ON user_roles (date_last_modified);
CREATE INDEX user_roles_status_idx ON user_roles (status) WHERE status = 'tobedeleted';
CREATE INDEX user_roles_user_sourced_id_idx ON user_roles (user_sourced_id);
CREATE INDEX user_roles_role_idx ON user_roles (role);
CREATE INDEX user_roles_org_sourced_id_idx ON user_roles (org_sourced_id);
CREATE INDEX user_roles_user_profile_sourced_id_idx ON user_roles (user_profile_sourced_id);

CREATE TABLE enrollments (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    class_sourced_id TEXT,
    school_sourced_id TEXT,
    user_sourced_id TEXT,
    role TEXT,
    is_primary TEXT,
    begin_date TEXT,
    end_date TEXT
);
CREATE INDEX enrollments_dlm_idx ON enrollments (date_last_modified);
CREATE INDEX enrollments_status_idx ON enrollments (status) WHERE status = 'tobedeleted';
CREATE INDEX enrollments_class_sourced_id_idx ON enrollments (class_sourced_id);
CREATE INDEX enrollments_school_sourced_id_idx ON enrollments (school_sourced_id);
CREATE INDEX enrollments_user_sourced_id_idx ON enrollments (user_sourced_id);
CREATE INDEX enrollments_role_idx ON enrollments (role);

CREATE TABLE demographics (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    birth_date TEXT,
    sex TEXT,
    american_indian_or_alaska_native TEXT,
    asian TEXT,
    black_or_african_american TEXT,
    native_hawaiian_or_other_pacific_islander TEXT,
    white TEXT,
    demographic_race_two_or_more_races TEXT,
    hispanic_or_latino_ethnicity TEXT,
    country_of_birth_code TEXT,
    state_of_birth_abbreviation TEXT,
    city_of_birth TEXT,
    public_school_residence_status TEXT
);
CREATE INDEX demographics_dlm_idx ON demographics (date_last_modified);
CREATE INDEX demographics_status_idx ON demographics (status) WHERE status = 'tobedeleted';

CREATE TABLE resources (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    vendor_resource_id TEXT,
    title TEXT,
    roles TEXT,
    importance TEXT,
    vendor_id TEXT,
    application_id TEXT
);
CREATE INDEX resources_dlm_idx ON resources (date_last_modified);
CREATE INDEX resources_status_idx ON resources (status) WHERE status = 'tobedeleted';

CREATE TABLE class_resources (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    title TEXT,
    class_sourced_id TEXT,
    resource_sourced_id TEXT
);
CREATE INDEX class_resources_dlm_idx ON class_resources (date_last_modified);
CREATE INDEX class_resources_status_idx ON class_resources (status) WHERE status = 'tobedeleted';
CREATE INDEX class_resources_class_sourced_id_idx ON class_resources (class_sourced_id);
CREATE INDEX class_resources_resource_sourced_id_idx ON class_resources (resource_sourced_id);

CREATE TABLE course_resources (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    title TEXT,
    course_sourced_id TEXT,
    resource_sourced_id TEXT
);
CREATE INDEX course_resources_dlm_idx ON course_resources (date_last_modified);
CREATE INDEX course_resources_status_idx ON course_resources (status) WHERE status = 'tobedeleted';
CREATE INDEX course_resources_course_sourced_id_idx ON course_resources (course_sourced_id);
CREATE INDEX course_resources_resource_sourced_id_idx ON course_resources (resource_sourced_id);

CREATE TABLE user_resources (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    user_sourced_id TEXT,
    org_sourced_id TEXT,
    class_sourced_id TEXT,
    resource_sourced_id TEXT
);
CREATE INDEX user_resources_dlm_idx ON user_resources (date_last_modified);
CREATE INDEX user_resources_status_idx ON user_resources (status) WHERE status = 'tobedeleted';
CREATE INDEX user_resources_user_sourced_id_idx ON user_resources (user_sourced_id);
CREATE INDEX user_resources_org_sourced_id_idx ON user_resources (org_sourced_id);
CREATE INDEX user_resources_class_sourced_id_idx ON user_resources (class_sourced_id);
CREATE INDEX user_resources_resource_sourced_id_idx ON user_resources (resource_sourced_id);

CREATE TABLE categories (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    title TEXT,
    weight REAL
);
CREATE INDEX categories_dlm_idx ON categories (date_last_modified);
CREATE INDEX categories_status_idx ON categories (status) WHERE status = 'tobedeleted';

CREATE TABLE score_scales (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    title TEXT,
    type TEXT,
    org_sourced_id TEXT,
    course_sourced_id TEXT,
    class_sourced_id TEXT,
    score_scale_value TEXT
);
CREATE INDEX score_scales_dlm_idx ON score_scales (date_last_modified);
CREATE INDEX score_scales_status_idx ON score_scales (status) WHERE status = 'tobedeleted';
CREATE INDEX score_scales_org_sourced_id_idx ON score_scales (org_sourced_id);
CREATE INDEX score_scales_course_sourced_id_idx ON score_scales (course_sourced_id);
CREATE INDEX score_scales_class_sourced_id_idx ON score_scales (class_sourced_id);

CREATE TABLE line_items (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    title TEXT,
    description TEXT,
    assign_date TEXT,
    due_date TEXT,
    class_sourced_id TEXT,
    category_sourced_id TEXT,
    academic_session_sourced_id TEXT,
    result_value_min REAL,
    result_value_max REAL,
    school_sourced_id TEXT
);
CREATE INDEX line_items_dlm_idx ON line_items (date_last_modified);
CREATE INDEX line_items_status_idx ON line_items (status) WHERE status = 'tobedeleted';
CREATE INDEX line_items_class_sourced_id_idx ON line_items (class_sourced_id);
CREATE INDEX line_items_category_sourced_id_idx ON line_items (category_sourced_id);
CREATE INDEX line_items_academic_session_sourced_id_idx ON line_items (academic_session_sourced_id);
CREATE INDEX line_items_school_sourced_id_idx ON line_items (school_sourced_id);

CREATE TABLE line_item_learning_objective_ids (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    line_item_sourced_id TEXT,
    source TEXT,
    learning_objective_id TEXT
);
CREATE INDEX line_item_learning_objective_ids_dlm_idx ON line_item_learning_objective_ids (date_last_modified);
CREATE INDEX line_item_learning_objective_ids_status_idx ON line_item_learning_objective_ids (status) WHERE status = 'tobedeleted';
CREATE INDEX line_item_learning_objective_ids_line_item_sourced_id_idx ON line_item_learning_objective_ids (line_item_sourced_id);

CREATE TABLE line_item_score_scales (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    title TEXT,
    line_item_sourced_id TEXT,
    score_scale_sourced_id TEXT
);
CREATE INDEX line_item_score_scales_dlm_idx ON line_item_score_scales (date_last_modified);
CREATE INDEX line_item_score_scales_status_idx ON line_item_score_scales (status) WHERE status = 'tobedeleted';
CREATE INDEX line_item_score_scales_line_item_sourced_id_idx ON line_item_score_scales (line_item_sourced_id);
CREATE INDEX line_item_score_scales_score_scale_sourced_id_idx ON line_item_score_scales (score_scale_sourced_id);

CREATE TABLE results (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    line_item_sourced_id TEXT,
    student_sourced_id TEXT,
    score_status TEXT,
    score REAL,
    score_date TEXT,
    comment TEXT,
    text_score TEXT,
    class_sourced_id TEXT,
    in_progress TEXT,
    incomplete TEXT,
    late TEXT,
    missing TEXT
);
CREATE INDEX results_dlm_idx ON results (date_last_modified);
CREATE INDEX results_status_idx ON results (status) WHERE status = 'tobedeleted';
CREATE INDEX results_line_item_sourced_id_idx ON results (line_item_sourced_id);
CREATE INDEX results_student_sourced_id_idx ON results (student_sourced_id);
CREATE INDEX results_class_sourced_id_idx ON results (class_sourced_id);

CREATE TABLE result_learning_objective_ids (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    result_sourced_id TEXT,
    source TEXT,
    learning_objective_id TEXT,
    score REAL,
    text_score TEXT
);
CREATE INDEX result_learning_objective_ids_dlm_idx ON result_learning_objective_ids (date_last_modified);
CREATE INDEX result_learning_objective_ids_status_idx ON result_learning_objective_ids (status) WHERE status = 'tobedeleted';
CREATE INDEX result_learning_objective_ids_result_sourced_id_idx ON result_learning_objective_ids (result_sourced_id);

CREATE TABLE result_score_scales (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    title TEXT,
    result_sourced_id TEXT,
    score_scale_sourced_id TEXT
);
CREATE INDEX result_score_scales_dlm_idx ON result_score_scales (date_last_modified);
CREATE INDEX result_score_scales_status_idx ON result_score_scales (status) WHERE status = 'tobedeleted';
CREATE INDEX result_score_scales_result_sourced_id_idx ON result_score_scales (result_sourced_id);
CREATE INDEX result_score_scales_score_scale_sourced_id_idx ON result_score_scales (score_scale_sourced_id);

-- Multi-valued fields (grades, subjects, terms, agents, userIds, ...), one row per item, so
-- filters such as grades~'09' or terms.sourcedId='t1' compile to EXISTS subqueries.
CREATE TABLE list_values (
    entity TEXT NOT NULL,
    owner TEXT NOT NULL,
    field TEXT NOT NULL,
    position INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (entity, owner, field, position)
) WITHOUT ROWID;
CREATE INDEX list_values_value_idx ON list_values (entity, field, value);

-- One row per import run (committed, rejected, dry-run or failed).
CREATE TABLE imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    source TEXT NOT NULL,
    oneroster_version TEXT,
    outcome TEXT NOT NULL,
    summary TEXT NOT NULL,
    errors TEXT NOT NULL,
    error_count BIGINT NOT NULL,
    warning_count BIGINT NOT NULL
);

-- A single row every import updates first: imports are serialised on both backends.
CREATE TABLE import_lock (
    id INTEGER PRIMARY KEY NOT NULL,
    held_at TEXT
);
INSERT INTO import_lock (id, held_at) VALUES (1, NULL);
