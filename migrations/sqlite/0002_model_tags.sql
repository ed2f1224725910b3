-- model_tags: models.tags, one row per entry, for ?tag=key:value filters.
CREATE TABLE model_tags (
    model_id  INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    tag_key   TEXT    NOT NULL,
    tag_value TEXT    NOT NULL,
    PRIMARY KEY (model_id, tag_key)
);
CREATE INDEX ix_model_tags_key_value ON model_tags (tag_key, tag_value);
