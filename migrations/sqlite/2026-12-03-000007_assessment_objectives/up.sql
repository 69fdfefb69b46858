-- Generated from src/model/catalog.rs by src/store/ddl.rs; a test checks they agree.

CREATE TABLE assessment_line_item_learning_objective_ids (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    assessment_line_item_sourced_id TEXT,
    source TEXT,
    learning_objective_id TEXT
);
CREATE INDEX assessment_line_item_learning_objective_ids_dlm_idx ON assessment_line_item_learning_objective_ids (date_last_modified);
CREATE INDEX assessment_line_item_learning_objective_ids_status_idx ON assessment_line_item_learning_objective_ids (status) WHERE status = 'tobedeleted';
CREATE INDEX assessment_line_item_learning_objective_ids_assessment_line_item_sourced_id_idx ON assessment_line_item_learning_objective_ids (assessment_line_item_sourced_id);

CREATE TABLE assessment_result_learning_objective_ids (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    assessment_result_sourced_id TEXT,
    source TEXT,
    learning_objective_id TEXT,
    score REAL,
    text_score TEXT
);
CREATE INDEX assessment_result_learning_objective_ids_dlm_idx ON assessment_result_learning_objective_ids (date_last_modified);
CREATE INDEX assessment_result_learning_objective_ids_status_idx ON assessment_result_learning_objective_ids (status) WHERE status = 'tobedeleted';
CREATE INDEX assessment_result_learning_objective_ids_assessment_result_sourced_id_idx ON assessment_result_learning_objective_ids (assessment_result_sourced_id);

