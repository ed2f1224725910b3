-- model_tags: models.tags, one row per entry, so that ?tag=key:value filters
-- use an index. ("key" is reserved in MySQL, hence tag_key/tag_value.)
-- The (tag_key, tag_value) index takes a 512-character prefix of the value:
-- InnoDB keys are at most 3072 bytes and utf8mb4 needs up to 4 per character.
CREATE TABLE model_tags (
    model_id  BIGINT        NOT NULL,
    tag_key   VARCHAR(128)  NOT NULL,
    tag_value VARCHAR(1024) NOT NULL,
    PRIMARY KEY (model_id, tag_key),
    KEY ix_model_tags_key_value (tag_key, tag_value(512)),
    CONSTRAINT fk_model_tags_model FOREIGN KEY (model_id) REFERENCES models (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
