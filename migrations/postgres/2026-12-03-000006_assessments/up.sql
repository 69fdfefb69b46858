-- Generated from src/model/catalog.rs by src/store/ddl.rs; a test checks they agree.

CREATE TABLE assessment_line_items (
    sourced_id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    title TEXT,
    description TEXT,
    class_sourced_id TEXT COLLATE "C",
    parent_assessment_line_item_sourced_id TEXT COLLATE "C",
    score_scale_sourced_id TEXT COLLATE "C",
    result_value_min DOUBLE PRECISION,
    result_value_max DOUBLE PRECISION
);
CREATE INDEX assessment_line_items_dlm_idx ON assessment_line_items (date_last_modified);
CREATE INDEX assessment_line_items_status_idx ON assessment_line_items (status) WHERE status = 'tobedeleted';
CREATE INDEX assessment_line_items_class_sourced_id_idx ON assessment_line_items (class_sourced_id);
CREATE INDEX assessment_line_items_parent_assessment_line_item_sourced_id_idx ON assessment_line_items (parent_assessment_line_item_sourced_id);
CREATE INDEX assessment_line_items_score_scale_sourced_id_idx ON assessment_line_items (score_scale_sourced_id);

CREATE TABLE assessment_results (
    sourced_id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    assessment_line_item_sourced_id TEXT COLLATE "C",
    student_sourced_id TEXT COLLATE "C",
    score DOUBLE PRECISION,
    text_score TEXT,
    score_date TEXT,
    score_scale_sourced_id TEXT COLLATE "C",
    score_percentile DOUBLE PRECISION,
    score_status TEXT,
    comment TEXT,
    in_progress TEXT,
    incomplete TEXT,
    late TEXT,
    missing TEXT
);
CREATE INDEX assessment_results_dlm_idx ON assessment_results (date_last_modified);
CREATE INDEX assessment_results_status_idx ON assessment_results (status) WHERE status = 'tobedeleted';
CREATE INDEX assessment_results_assessment_line_item_sourced_id_idx ON assessment_results (assessment_line_item_sourced_id);
CREATE INDEX assessment_results_student_sourced_id_idx ON assessment_results (student_sourced_id);
CREATE INDEX assessment_results_score_scale_sourced_id_idx ON assessment_results (score_scale_sourced_id);

