-- PostgreSQL only (references take the ids' collation); SQLite compares bytes already.
SELECT 1;
