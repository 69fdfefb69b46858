DROP TABLE client_usage;
ALTER TABLE clients DROP COLUMN disabled_at;
DROP TABLE console_sessions;
