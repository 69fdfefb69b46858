DROP TABLE grade_outbox;
DROP TABLE sync_state;
