-- What each import changed, so that it can be undone (`rosterbridge imports undo`): one row per
-- record it created (`prior` NULL) or changed (`prior`: the record as it was, JSON), or one row
-- with sourced_id '*' for an entity whose table was empty before it (everything in it is new).
CREATE TABLE import_changes (
    import_id BIGINT NOT NULL,
    entity TEXT NOT NULL,
    sourced_id TEXT NOT NULL,
    prior TEXT,
    PRIMARY KEY (import_id, entity, sourced_id)
);
CREATE INDEX import_changes_record_idx ON import_changes (entity, sourced_id);
