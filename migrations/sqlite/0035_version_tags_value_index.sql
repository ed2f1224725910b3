-- See mysql/0035_version_tags_value_index.sql.
DROP INDEX ix_version_tags_search;
CREATE INDEX ix_version_tags_value ON version_tags (model_id, tag_key, tag_value_head, version_number);
