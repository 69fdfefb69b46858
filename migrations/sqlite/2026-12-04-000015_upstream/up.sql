-- Upstream pull (`rosterbridge sync`): per upstream base URL, the high-water mark of the last
-- successful sync (the largest dateLastModified it received) and when the last runs finished.
CREATE TABLE sync_state (
    upstream TEXT PRIMARY KEY NOT NULL,
    high_water TEXT,
    last_sync_at TEXT,
    last_full_at TEXT
);
-- Grade push outbox: gradebook records apps wrote through the API bindings (REST, LIS), queued
-- in the write's own transaction and removed once the upstream accepted them; a failed push
-- keeps its row with the error and the attempts, and is retried on the next run.
CREATE TABLE grade_outbox (
    entity TEXT NOT NULL,
    sourced_id TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (entity, sourced_id)
);
