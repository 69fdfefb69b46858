-- Old nonces of every client are purged by time (store::clients::record_nonce).
CREATE INDEX oauth1_nonces_ts_idx ON oauth1_nonces (ts);
