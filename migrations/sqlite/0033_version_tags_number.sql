-- See mysql/0033_version_tags_number.sql. SQLite adds a generated column as
-- VIRTUAL only; the index of 0035 stores its values all the same.
ALTER TABLE version_tags ADD COLUMN version_number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE version_tags ADD COLUMN tag_value_head TEXT GENERATED ALWAYS AS (substr(tag_value, 1, 255)) VIRTUAL;
