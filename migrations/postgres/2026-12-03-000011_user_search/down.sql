DROP INDEX users_email_lower_idx;
DROP INDEX users_given_name_lower_idx;
DROP INDEX users_family_name_lower_idx;
