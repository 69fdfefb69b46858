-- References hold ids: give them the ids' byte-order collation ("C"), so that a comparison
-- with a sourced_id (collation "C") can use the reference's index. With the default
-- collation, `t.line_item_sourced_id IN (SELECT li.sourced_id ...)` compared in "C" and
-- PostgreSQL scanned every result for a class's results (GET /classes/{id}/results: 8 req/s
-- on the 100,000-student district); the same held for every visibility subquery.
ALTER TABLE academic_sessions ALTER COLUMN parent_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE class_resources ALTER COLUMN class_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN resource_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE classes ALTER COLUMN course_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN school_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE course_resources ALTER COLUMN course_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN resource_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE courses ALTER COLUMN school_year_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN org_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE enrollments ALTER COLUMN class_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN school_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN user_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE line_item_learning_objective_ids ALTER COLUMN line_item_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE line_item_score_scales ALTER COLUMN line_item_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN score_scale_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE line_items ALTER COLUMN class_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN category_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN academic_session_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN school_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE orgs ALTER COLUMN parent_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE result_learning_objective_ids ALTER COLUMN result_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE result_score_scales ALTER COLUMN result_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN score_scale_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE results ALTER COLUMN line_item_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN student_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN class_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE score_scales ALTER COLUMN org_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN course_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN class_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE user_profiles ALTER COLUMN user_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE user_resources ALTER COLUMN user_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN org_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN class_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN resource_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE user_roles ALTER COLUMN user_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN org_sourced_id TYPE TEXT COLLATE "C", ALTER COLUMN user_profile_sourced_id TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN primary_org_sourced_id TYPE TEXT COLLATE "C";
