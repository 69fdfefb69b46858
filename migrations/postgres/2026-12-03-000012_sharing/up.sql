-- Sharing rules and field masks per app: `sharing` holds the app's rules, one per line
-- (`org=…;course=…;grades=…;from=…;until=…`; NULL: the `orgs` column decides, as before),
-- `mask` the JSON field names removed from everything the app receives (comma-separated).
ALTER TABLE clients ADD COLUMN sharing TEXT;
ALTER TABLE clients ADD COLUMN mask TEXT;
