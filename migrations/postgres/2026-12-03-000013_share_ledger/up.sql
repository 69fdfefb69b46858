-- Each restricted app's view as it last was (`store::ledger`), so that delta reads stay true
-- when what it may see changes: `share_view` holds what it could see (and since when, when it
-- entered after the first look), `share_departures` what left its view (and when), and
-- `share_state` which store generation and which rules in force the view was taken under.
CREATE TABLE share_view (
    client_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    sourced_id TEXT NOT NULL,
    entered_at TEXT,
    PRIMARY KEY (client_id, entity, sourced_id)
);
CREATE INDEX share_view_entered_idx ON share_view (client_id, entity, entered_at);

CREATE TABLE share_departures (
    client_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    sourced_id TEXT NOT NULL,
    left_at TEXT NOT NULL,
    PRIMARY KEY (client_id, entity, sourced_id)
);
CREATE INDEX share_departures_left_idx ON share_departures (client_id, entity, left_at);

CREATE TABLE share_state (
    client_id TEXT PRIMARY KEY NOT NULL,
    generation BIGINT NOT NULL,
    signature TEXT NOT NULL,
    refreshed_at TEXT NOT NULL
);
