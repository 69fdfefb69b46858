DROP TABLE assessment_results;
DROP TABLE assessment_line_items;
