DROP TABLE section_associations;
