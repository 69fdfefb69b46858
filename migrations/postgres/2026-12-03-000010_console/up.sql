-- The web console: administrator sessions (the cookie's token stored as a SHA-256 digest
-- only, so several instances on one database share them), apps that can be disabled, and each
-- app's usage per day.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    admin TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX console_sessions_admin_idx ON console_sessions (admin);

ALTER TABLE clients ADD COLUMN disabled_at TEXT;

CREATE TABLE client_usage (
    client_id TEXT NOT NULL,
    day TEXT NOT NULL,
    requests BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    last_call TEXT NOT NULL,
    PRIMARY KEY (client_id, day)
);
