-- version_tags: versions.tags, one row per entry, for filters on tags.<key>.
-- See mysql/0020_version_tags.sql.
CREATE TABLE version_tags (
    version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    model_id   INTEGER NOT NULL,
    tag_key    TEXT    NOT NULL,
    tag_value  TEXT    NOT NULL,
    PRIMARY KEY (version_id, tag_key)
);
CREATE INDEX ix_version_tags_search ON version_tags (model_id, tag_key, tag_value, version_id);
