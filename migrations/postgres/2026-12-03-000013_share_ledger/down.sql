DROP TABLE share_state;
DROP TABLE share_departures;
DROP TABLE share_view;
