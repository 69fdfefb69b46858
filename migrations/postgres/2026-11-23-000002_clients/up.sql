-- API clients (apps) and their OAuth 2 access tokens. Secrets and tokens are stored hashed only:
-- client secrets as argon2id PHC strings, tokens as SHA-256 hex digests.
CREATE TABLE clients (
    client_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    -- space-separated scope URIs the client may be granted
    scopes TEXT NOT NULL,
    -- comma-separated org sourcedIds the client is restricted to; NULL: every org
    orgs TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX access_tokens_client_idx ON access_tokens (client_id);
CREATE INDEX access_tokens_expires_idx ON access_tokens (expires_at);
