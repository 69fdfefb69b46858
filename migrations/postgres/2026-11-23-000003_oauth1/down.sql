DROP TABLE oauth1_nonces;
ALTER TABLE clients DROP COLUMN secret_salt;
