DROP INDEX oauth1_nonces_ts_idx;
