-- Generated from src/model/catalog.rs by src/store/ddl.rs; a test checks they agree.

CREATE TABLE section_associations (
    sourced_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    date_last_modified TEXT NOT NULL,
    sis_date_last_modified TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT,
    title TEXT,
    label TEXT,
    class_sourced_ids TEXT
);
CREATE INDEX section_associations_dlm_idx ON section_associations (date_last_modified);
CREATE INDEX section_associations_status_idx ON section_associations (status) WHERE status = 'tobedeleted';

