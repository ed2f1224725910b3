-- See mysql/0045_versions_alias_names.sql.
ALTER TABLE versions ADD COLUMN alias_names TEXT NULL;
