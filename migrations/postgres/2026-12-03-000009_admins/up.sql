-- Console administrators (passwords as argon2id PHC strings only) and the audit log of
-- administrative changes: who, what, when.
CREATE TABLE admins (
    name TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
