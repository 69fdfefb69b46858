-- The console's user search: family name, given name and e-mail prefixes in any case are
-- answered from these expression indexes (store::views::Where::UserNamed) instead of a scan of
-- every user.
CREATE INDEX users_family_name_lower_idx ON users (LOWER(family_name));
CREATE INDEX users_given_name_lower_idx ON users (LOWER(given_name));
CREATE INDEX users_email_lower_idx ON users (LOWER(email));
