-- OAuth 1.0a: a client's secret is derived from the server key and this salt (so HMAC can be
-- verified while the store keeps only the secret's argon2id hash); NULL for clients registered
-- before, which can use OAuth 2 only.
ALTER TABLE clients ADD COLUMN secret_salt TEXT;

-- Nonces seen within the timestamp window, for replay protection.
CREATE TABLE oauth1_nonces (
    client_id TEXT NOT NULL,
    ts BIGINT NOT NULL,
    nonce TEXT NOT NULL,
    PRIMARY KEY (client_id, ts, nonce)
);
